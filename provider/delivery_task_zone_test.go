package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// time_zone: the default (UTC) when left out, no change when written out as
// that default, and a replacement when it changes (either way), since it
// changes the layout of the objects.
func TestAccDeliveryTask_timeZone(t *testing.T) {
	e := startExecutor(t)
	e.createTable(t, "orders")
	const prefix = "orders/dt=$yyyy-$MM-$dd/hour=$HH"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: taskConfig(e, "orders", prefix, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("time_zone"), knownvalue.StringExact("UTC")),
				},
			},
			{
				// The default written out is no change at all.
				Config: taskConfig(e, "orders", prefix, `  time_zone = "UTC"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionNoop),
				}},
			},
			{
				Config: taskConfig(e, "orders", prefix, `  time_zone = "Europe/Berlin"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("time_zone"), knownvalue.StringExact("Europe/Berlin")),
				},
				Check: func(*terraform.State) error {
					got, err := e.Client.GetTask(context.Background(), "orders", "orders-lake")
					if err != nil {
						return err
					}
					if got.TimeZone != "Europe/Berlin" {
						return fmt.Errorf("executor holds time_zone %q", got.TimeZone)
					}
					return nil
				},
			},
			{
				// Left out again, it returns to the default: a new task in UTC.
				Config: taskConfig(e, "orders", prefix, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectKnownValue(taskAddr, tfjsonpath.New("time_zone"), knownvalue.StringExact("UTC")),
				}},
			},
		},
	})
}
