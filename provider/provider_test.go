package provider

import (
	"context"
	"reflect"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// The framework checks the schemas (e.g. write-only attributes must not be
// computed, defaults need computed) when it serves them.
func TestProviderSchemasAreValid(t *testing.T) {
	server, err := testAccProtoV6ProviderFactories["tablestore"]()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range resp.Diagnostics {
		t.Errorf("schema diagnostic: %s: %s", d.Summary, d.Detail)
	}
	for _, name := range []string{"tablestore_delivery_task", "tablestore_delivery_role"} {
		if _, ok := resp.ResourceSchemas[name]; !ok {
			t.Errorf("resource %s is not served", name)
		}
	}
	if _, ok := resp.DataSourceSchemas["tablestore_delivery_ddl"]; !ok {
		t.Error("data source tablestore_delivery_ddl is not served")
	}
	ids, err := server.GetResourceIdentitySchemas(context.Background(), &tfprotov6.GetResourceIdentitySchemasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ids.IdentitySchemas["tablestore_delivery_task"]; !ok {
		t.Error("tablestore_delivery_task has no identity schema")
	}
}

// Every task attribute that the executor cannot change in place must force
// a replacement, and no mutable one may: compare with the task package's list.
func TestImmutableTaskAttributesRequireReplace(t *testing.T) {
	server, err := testAccProtoV6ProviderFactories["tablestore"]()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	s := resp.ResourceSchemas["tablestore_delivery_task"]
	present := map[string]bool{}
	for _, a := range s.Block.Attributes {
		present[a.Name] = true
	}
	for _, b := range s.Block.BlockTypes {
		present[b.TypeName] = true
	}
	for _, field := range task.SpecFields {
		p, ok := attributePathForField(field)
		if !ok {
			t.Fatalf("no attribute path for field %q", field)
		}
		if !present[p.String()] {
			t.Errorf("TaskSpec field %q has no attribute %s", field, p)
		}
	}
}

func TestAttributePathForField(t *testing.T) {
	cases := map[string]path.Path{
		"name":                     path.Root("name"),
		"table":                    path.Root("table_name"),
		"columns":                  path.Root("column"),
		"columns[2].encoding":      path.Root("column").AtListIndex(2).AtName("encoding"),
		"event_time_column.format": path.Root("event_time_column").AtName("format"),
		"flush_interval_seconds":   path.Root("flush_interval_seconds"),
	}
	for field, want := range cases {
		got, ok := attributePathForField(field)
		if !ok || !got.Equal(want) {
			t.Errorf("attributePathForField(%q) = %s, %v; want %s", field, got, ok, want)
		}
	}
	for _, bad := range []string{"", "Columns[x]", "a.b.c", "columns[1]x"} {
		if _, ok := attributePathForField(bad); ok {
			t.Errorf("attributePathForField(%q) accepted a malformed field", bad)
		}
	}
}

func TestPatchForSendsOnlyChangedInPlaceFields(t *testing.T) {
	old := task.Spec{Name: "t", Table: "x", RoleARN: "acs:ram::1:role/a", Compression: task.CompressionSnappy,
		FlushIntervalSeconds: 120, TargetObjectSizeMB: 64}
	if p := task.PatchFor(old, old); !p.Empty() {
		t.Errorf("no change gave a non-empty patch: %+v", p)
	}
	updated := old
	updated.FlushIntervalSeconds = 30
	updated.DirtyPrefix = "dirty"
	p := task.PatchFor(old, updated)
	if p.FlushIntervalSeconds == nil || *p.FlushIntervalSeconds != 30 || p.DirtyPrefix == nil || *p.DirtyPrefix != "dirty" {
		t.Errorf("patch lacks the changed fields: %+v", p)
	}
	if p.Compression != nil || p.RoleARN != nil || p.TargetObjectSizeMB != nil {
		t.Errorf("patch carries unchanged fields: %+v", p)
	}
	if got := p.Apply(old); !reflect.DeepEqual(got, updated) {
		t.Errorf("applying the patch gives %+v, want %+v", got, updated)
	}
}

func TestAccProvider_environmentFallback(t *testing.T) {
	e := startExecutor(t)
	t.Setenv(EnvEndpoint, e.APIURL)
	t.Setenv(EnvToken, testToken)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			// No provider block at all: both settings come from the environment.
			Config: `
resource "tablestore_delivery_role" "this" {
  name                  = "from-env"
  oss_access_key_id     = "` + testKeyID + `"
  oss_access_key_secret = "` + testKeySecret + `"
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("tablestore_delivery_role.this", tfjsonpath.New("arn"),
					knownvalue.StringExact(task.RoleARN(task.DefaultAccountID, "from-env"))),
			},
		}},
	})
}

func TestAccProvider_missingAndUnknownSettings(t *testing.T) {
	t.Setenv(EnvEndpoint, "")
	t.Setenv(EnvToken, "")
	role := `
resource "tablestore_delivery_role" "this" {
  oss_access_key_id     = "id"
  oss_access_key_secret = "secret"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      `provider "tablestore" {}` + role,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Missing executor endpoint.*Missing executor token|Missing executor token.*Missing executor endpoint`),
			},
			{
				// terraform_data's id is unknown until apply.
				Config: `
resource "terraform_data" "later" {}

provider "tablestore" {
  endpoint = "http://${terraform_data.later.id}"
  token    = "t"
}
` + role,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Unknown executor endpoint`),
			},
		},
	})
}
