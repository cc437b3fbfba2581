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

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

const roleAddr = "tablestore_delivery_role.this"

func roleConfig(e *testExecutor, attrs string) string {
	return e.providerBlock() + `
resource "tablestore_delivery_role" "this" {
  oss_access_key_id = "` + testKeyID + `"
` + attrs + `
}
`
}

func TestAccDeliveryRole_lifecycle(t *testing.T) {
	e := startExecutor(t)
	defaultARN := task.RoleARN(task.DefaultAccountID, task.DefaultRoleName)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: roleConfig(e, `  oss_access_key_secret = "`+testKeySecret+`"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(roleAddr, tfjsonpath.New("name"), knownvalue.StringExact(task.DefaultRoleName)),
					statecheck.ExpectKnownValue(roleAddr, tfjsonpath.New("arn"), knownvalue.StringExact(defaultARN)),
					statecheck.ExpectKnownValue(roleAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
				},
			},
			{
				// Import by name. The executor never returns the secret or
				// the key id, so those cannot round-trip.
				ResourceName:                         roleAddr,
				ImportState:                          true,
				ImportStateId:                        task.DefaultRoleName,
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "name",
				ImportStateVerifyIgnore:              []string{"oss_access_key_secret"},
			},
			{
				// The description updates in place.
				Config: roleConfig(e, `
  oss_access_key_secret = "`+testKeySecret+`"
  description           = "writes the lake"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(roleAddr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					got, err := e.Client.GetRole(context.Background(), task.DefaultRoleName)
					if err != nil {
						return err
					}
					if got.Description != "writes the lake" {
						return fmt.Errorf("description on the executor: %q", got.Description)
					}
					return nil
				},
			},
			{
				// Switching to the write-only secret is an in-place update,
				// and the secret is then absent from the state.
				Config: roleConfig(e, `
  oss_access_key_secret_wo         = "`+testKeySecret+`"
  oss_access_key_secret_wo_version = 1
  description                      = "writes the lake"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(roleAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(roleAddr, tfjsonpath.New("oss_access_key_secret"), knownvalue.Null()),
					statecheck.ExpectKnownValue(roleAddr, tfjsonpath.New("oss_access_key_secret_wo"), knownvalue.Null()),
				},
			},
			{
				// Rotating: a new version sends the secret again.
				Config: roleConfig(e, `
  oss_access_key_secret_wo         = "`+testKeySecret+`"
  oss_access_key_secret_wo_version = 2
  description                      = "writes the lake"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(roleAddr, plancheck.ResourceActionUpdate),
				}},
			},
			{
				// The description changed through the REST API shows as drift.
				PreConfig: func() {
					if _, err := e.Client.PutRole(context.Background(), task.DefaultRoleName, task.RoleInput{
						OSSAccessKeyID: testKeyID, OSSAccessKeySecret: testKeySecret, Description: "changed by hand",
					}); err != nil {
						t.Fatalf("out-of-band PUT: %v", err)
					}
				},
				Config: roleConfig(e, `
  oss_access_key_secret_wo         = "`+testKeySecret+`"
  oss_access_key_secret_wo_version = 2
  description                      = "writes the lake"`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// The access key id changed through the REST API shows as drift
				// too (the executor returns the id, never the secret).
				PreConfig: func() {
					if _, err := e.Client.PutRole(context.Background(), task.DefaultRoleName, task.RoleInput{
						OSSAccessKeyID: "rotated-by-hand", OSSAccessKeySecret: testKeySecret, Description: "writes the lake",
					}); err != nil {
						t.Fatalf("out-of-band PUT: %v", err)
					}
				},
				Config: roleConfig(e, `
  oss_access_key_secret_wo         = "`+testKeySecret+`"
  oss_access_key_secret_wo_version = 2
  description                      = "writes the lake"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(roleAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(roleAddr, tfjsonpath.New("oss_access_key_id"), knownvalue.StringExact(testKeyID)),
				}},
				Check: func(*terraform.State) error {
					got, err := e.Client.GetRole(context.Background(), task.DefaultRoleName)
					if err != nil {
						return err
					}
					if got.OSSAccessKeyID != testKeyID {
						return fmt.Errorf("key id on the executor after apply: %q, want %q", got.OSSAccessKeyID, testKeyID)
					}
					return nil
				},
			},
			{
				// Deleted outside Terraform: planned for creation again.
				PreConfig: func() {
					if err := e.Client.DeleteRole(context.Background(), task.DefaultRoleName); err != nil {
						t.Fatalf("out-of-band delete: %v", err)
					}
				},
				Config: roleConfig(e, `
  oss_access_key_secret_wo         = "`+testKeySecret+`"
  oss_access_key_secret_wo_version = 2
  description                      = "writes the lake"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(roleAddr, plancheck.ResourceActionCreate),
				}},
			},
			{
				// A new name is a new role.
				Config: roleConfig(e, `
  name                             = "lake-writer"
  oss_access_key_secret_wo         = "`+testKeySecret+`"
  oss_access_key_secret_wo_version = 2`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(roleAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(roleAddr, tfjsonpath.New("arn"),
						knownvalue.StringExact(task.RoleARN(task.DefaultAccountID, "lake-writer"))),
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			roles, err := e.Client.ListRoles(context.Background())
			if err != nil {
				return err
			}
			if len(roles) != 0 {
				return fmt.Errorf("%d roles left after destroy", len(roles))
			}
			return nil
		},
	})
}

func TestAccDeliveryRole_invalidConfig(t *testing.T) {
	provider := `
provider "tablestore" {
  endpoint = "http://127.0.0.1:9"
  token    = "unused"
}
`
	cases := []struct {
		name, attrs string
		want        *regexp.Regexp
	}{
		{"no secret", ``, regexp.MustCompile(`(?s)oss_access_key_secret.*oss_access_key_secret_wo`)},
		{"both secrets", `
  oss_access_key_secret    = "a"
  oss_access_key_secret_wo = "b"`, regexp.MustCompile(`(?s)Invalid Attribute Combination`)},
		{"version without write-only secret", `
  oss_access_key_secret            = "a"
  oss_access_key_secret_wo_version = 1`, regexp.MustCompile(`(?s)oss_access_key_secret_wo.*must be specified`)},
		{"empty key id", `
  oss_access_key_secret = "a"`, regexp.MustCompile(`oss_access_key_id: is required`)},
		{"name", `
  name                  = "-bad"
  oss_access_key_secret = "a"`, regexp.MustCompile(`name: "-bad" must be 1-64 characters`)},
	}
	for _, tc := range cases {
		keyID := "id"
		if tc.name == "empty key id" {
			keyID = ""
		}
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: provider + `
resource "tablestore_delivery_role" "bad" {
  oss_access_key_id = "` + keyID + `"
` + tc.attrs + `
}
`,
					PlanOnly:    true,
					ExpectError: tc.want,
				}},
			})
		})
	}
}
