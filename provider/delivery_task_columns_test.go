package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// A column block added after the last one is an in-place update (PATCH);
// reordering the columns is a replacement. Both decided by task.Diff.
func TestAccDeliveryTask_appendColumnInPlace(t *testing.T) {
	e := startExecutor(t)
	e.createTable(t, "orders")
	const prefix = "orders/$yyyy"
	noteColumn := `
  column {
    source = "note"
    type   = "UTF8"
  }`
	timestamp := knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`))
	var createdID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: taskConfig(e, "orders", prefix, ""),
				Check: func(*terraform.State) error {
					got, err := e.Client.GetTask(context.Background(), "orders", "orders-lake")
					if err != nil {
						return err
					}
					createdID = got.CreatedAt.String()
					return nil
				},
			},
			{
				// The DDL data source, read after the update, gives the
				// statement that brings an older lake table up to date.
				Config: taskConfig(e, "orders", prefix, noteColumn) + `
data "tablestore_delivery_ddl" "orders" {
  table_name = tablestore_delivery_task.orders.table_name
  task_name  = tablestore_delivery_task.orders.name
  dialect    = "spark"
  depends_on = [tablestore_delivery_task.orders]
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("column").AtSliceIndex(2).AtMapKey("name"), knownvalue.StringExact("note")),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("resolved_columns"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("resolved_columns").AtSliceIndex(2).AtMapKey("source"), knownvalue.StringExact("note")),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("resolved_columns").AtSliceIndex(2).AtMapKey("added_at"), timestamp),
					statecheck.ExpectKnownValue("data.tablestore_delivery_ddl.orders", tfjsonpath.New("alter_statement"),
						knownvalue.StringExact("ALTER TABLE `orders` ADD COLUMNS (\n  `note` string\n);\n")),
					statecheck.ExpectKnownValue("data.tablestore_delivery_ddl.orders", tfjsonpath.New("statement"),
						knownvalue.StringRegexp(regexp.MustCompile("`note` string"))),
				},
				Check: func(*terraform.State) error {
					got, err := e.Client.GetTask(context.Background(), "orders", "orders-lake")
					if err != nil {
						return err
					}
					if got.CreatedAt.String() != createdID {
						return fmt.Errorf("the task was created again (%s, first %s)", got.CreatedAt, createdID)
					}
					if len(got.Columns) != 3 || len(got.Status.ResolvedColumns) != 3 {
						return fmt.Errorf("executor holds %d columns, %d resolved", len(got.Columns), len(got.Status.ResolvedColumns))
					}
					if r := got.Status.ResolvedColumns; !r[2].AddedAt.After(*r[0].AddedAt) {
						return fmt.Errorf("appended column added at %v, first at %v", r[2].AddedAt, r[0].AddedAt)
					}
					return nil
				},
			},
			{
				// Anything but an append (here: dropping the appended column
				// again) replaces the task.
				Config: taskConfig(e, "orders", prefix, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("resolved_columns"), knownvalue.ListSizeExact(2)),
				},
			},
		},
	})
}
