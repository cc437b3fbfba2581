package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"

	"github.com/tablestore-delivery/terraform-provider-tablestore/internal/testsupport"
)

// taskConfig is a role and a manual-schema differential task with a
// Hive-style time-partitioned prefix, plus extra HCL inside the task.
func taskConfig(e *testExecutor, table, prefix, extra string) string {
	return e.providerBlock() + fmt.Sprintf(`
resource "tablestore_delivery_role" "this" {
  oss_access_key_id     = %q
  oss_access_key_secret = %q
}

resource "tablestore_delivery_task" "orders" {
  name        = "orders-lake"
  table_name  = %q
  bucket      = "lake"
  prefix      = %q
  sync_mode   = "differential"
  role_arn    = tablestore_delivery_role.this.arn

  # schema_mode is left out: column blocks make it manual.
  column {
    source = "id"
    name   = "id"
    type   = "INT64"
  }
  column {
    source = "price"
    type   = "DOUBLE"
  }
%s
}
`, testKeyID, testKeySecret, table, prefix, extra)
}

const taskAddr = "tablestore_delivery_task.orders"

func TestAccDeliveryTask_lifecycle(t *testing.T) {
	e := startExecutor(t)
	e.createTable(t, "orders")
	e.createTable(t, "orders2")
	const prefix = "orders/year=$yyyy/month=$MM/day=$dd"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Create: server defaults are planned or computed, status is
				// filled, the task left INIT before apply returned.
				Config: taskConfig(e, "orders", prefix, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("id"), knownvalue.StringExact("orders/orders-lake")),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("region"), knownvalue.StringExact("cn-hangzhou")),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("schema_mode"), knownvalue.StringExact("manual")),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("compression"), knownvalue.StringExact(string(task.DefaultCompression))),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("flush_interval_seconds"), knownvalue.Int64Exact(task.DefaultFlushIntervalSeconds)),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("column").AtSliceIndex(1).AtMapKey("name"), knownvalue.StringExact("price")),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("column").AtSliceIndex(1).AtMapKey("encoding"), knownvalue.StringExact("PLAIN")),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("phase"), knownvalue.StringRegexp(regexp.MustCompile(`^(FULL|INCR)$`))),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("error_code"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("resolved_columns"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"source": knownvalue.StringExact("id"), "name": knownvalue.StringExact("id"),
							"type": knownvalue.StringExact("INT64"), "encoding": knownvalue.StringExact("PLAIN"),
							"added_at": knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`)),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"source": knownvalue.StringExact("price"), "name": knownvalue.StringExact("price"),
							"type": knownvalue.StringExact("DOUBLE"), "encoding": knownvalue.StringExact("PLAIN"),
							"added_at": knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`)),
						}),
					})),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("create_table_ddl"),
						knownvalue.StringRegexp(regexp.MustCompile(`(?s)CREATE EXTERNAL TABLE.*PARTITIONED BY \(.*year`))),
					statecheck.CompareValuePairs(taskAddr, tfjsonpath.New("role_arn"),
						"tablestore_delivery_role.this", tfjsonpath.New("arn"), compare.ValuesSame()),
				},
				Check: func(*terraform.State) error {
					got, err := e.Client.GetTask(context.Background(), "orders", "orders-lake")
					if err != nil {
						return err
					}
					if got.Prefix != prefix || len(got.Columns) != 2 {
						return fmt.Errorf("executor holds prefix %q with %d columns", got.Prefix, len(got.Columns))
					}
					return nil
				},
			},
			{
				// Import by "<table>/<name>" gives back the same state.
				ResourceName:      taskAddr,
				ImportState:       true,
				ImportStateId:     "orders/orders-lake",
				ImportStateVerify: true,
				// Status attributes move on their own between the two reads.
				ImportStateVerifyIgnore: []string{"phase", "last_synced_at", "error_code", "error_detail"},
			},
			{
				// Mutable fields update in place through PATCH.
				Config: taskConfig(e, "orders", prefix, `
  flush_interval_seconds = 30
  compression            = "zstd"
  dirty_prefix           = "dirty/orders"
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					got, err := e.Client.GetTask(context.Background(), "orders", "orders-lake")
					if err != nil {
						return err
					}
					if got.FlushIntervalSeconds != 30 || got.Compression != task.CompressionZstd || got.DirtyPrefix != "dirty/orders" {
						return fmt.Errorf("PATCH not applied: flush %d, compression %s, dirty prefix %q",
							got.FlushIntervalSeconds, got.Compression, got.DirtyPrefix)
					}
					return nil
				},
			},
			{
				// Removing an optional attribute returns it to its default.
				Config: taskConfig(e, "orders", prefix, `
  compression  = "zstd"
  dirty_prefix = "dirty/orders"
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(taskAddr, tfjsonpath.New("flush_interval_seconds"), knownvalue.Int64Exact(task.DefaultFlushIntervalSeconds)),
				}},
			},
			{
				// Timeouts are Terraform's own: an update that sends nothing.
				Config: taskConfig(e, "orders", prefix, `
  compression  = "zstd"
  dirty_prefix = "dirty/orders"
  timeouts {
    create = "3m"
    delete = "2m"
  }
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("timeouts").AtMapKey("delete"), knownvalue.StringExact("2m")),
				},
			},
			{
				// An immutable field (the prefix) replaces the task.
				Config: taskConfig(e, "orders", "orders/dt=$yyyy$MM$dd", `
  compression  = "zstd"
  dirty_prefix = "dirty/orders"
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("prefix"), knownvalue.StringExact("orders/dt=$yyyy$MM$dd")),
				},
			},
			{
				// So does the table.
				Config: taskConfig(e, "orders2", "orders/dt=$yyyy$MM$dd", `
  compression  = "zstd"
  dirty_prefix = "dirty/orders"
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("id"), knownvalue.StringExact("orders2/orders-lake")),
				},
				Check: func(*terraform.State) error {
					if _, err := e.Client.GetTask(context.Background(), "orders", "orders-lake"); err == nil {
						return fmt.Errorf("the replaced task orders/orders-lake still exists")
					}
					return nil
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			tasks, err := e.Client.ListTasks(context.Background(), "")
			if err != nil {
				return err
			}
			if len(tasks) != 0 {
				return fmt.Errorf("%d tasks left after destroy", len(tasks))
			}
			return nil
		},
	})
}

func TestAccDeliveryTask_drift(t *testing.T) {
	e := startExecutor(t)
	e.createTable(t, "orders")
	config := taskConfig(e, "orders", "orders/year=$yyyy/month=$MM", "")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			{
				// Someone changes the task through the REST API: refresh
				// sees it, the plan shows an update back to the config.
				PreConfig: func() {
					flush := 900
					if _, err := e.Client.UpdateTask(context.Background(), "orders", "orders-lake",
						task.Patch{FlushIntervalSeconds: &flush}); err != nil {
						t.Fatalf("out-of-band PATCH: %v", err)
					}
				},
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(taskAddr, tfjsonpath.New("flush_interval_seconds"), knownvalue.Int64Exact(task.DefaultFlushIntervalSeconds)),
				}},
				Check: func(*terraform.State) error {
					got, err := e.Client.GetTask(context.Background(), "orders", "orders-lake")
					if err != nil {
						return err
					}
					if got.FlushIntervalSeconds != task.DefaultFlushIntervalSeconds {
						return fmt.Errorf("apply did not restore flush_interval_seconds: %d", got.FlushIntervalSeconds)
					}
					return nil
				},
			},
			{
				// Someone deletes the task: it leaves the state and the
				// plan creates it again.
				PreConfig: func() {
					if err := e.Client.DeleteTask(context.Background(), "orders", "orders-lake"); err != nil {
						t.Fatalf("out-of-band DELETE: %v", err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(taskAddr, plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					_, err := e.Client.GetTask(context.Background(), "orders", "orders-lake")
					return err
				},
			},
		},
	})
}

func TestAccDeliveryTask_errorWithoutRole(t *testing.T) {
	e := startExecutor(t)
	e.createTable(t, "orders")
	// Rows to deliver, so the pipeline tries to write and meets the
	// missing role; they also give the automatic schema its columns.
	e.putRows(t, "orders", 5)
	missingRole := task.RoleARN(task.DefaultAccountID, "no-such-role")
	config := e.providerBlock() + fmt.Sprintf(`
resource "tablestore_delivery_task" "orders" {
  name       = "orders-lake"
  table_name = "orders"
  bucket     = "lake"
  prefix     = "orders"
  role_arn   = %q

  flush_interval_seconds = 1
}
`, missingRole)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// The task is accepted: a missing role is a runtime error
				// the task reports and retries, as in the reference.
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("role_arn"), knownvalue.StringExact(missingRole)),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("schema_mode"), knownvalue.StringExact("auto")),
					// id from the primary key, price and note from the rows.
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("resolved_columns"), knownvalue.ListSizeExact(3)),
				},
			},
			{
				PreConfig: func() {
					testsupport.WaitOK(t, time.Minute, "error_code UnAuthorized", func(ctx context.Context) (bool, error) {
						got, err := e.Client.GetTask(ctx, "orders", "orders-lake")
						return err == nil && got.Status.ErrorCode == task.ErrUnauthorized, err
					})
				},
				// Nothing to change; the refresh brings the error into state.
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("error_code"), knownvalue.StringExact(string(task.ErrUnauthorized))),
					statecheck.ExpectKnownValue(taskAddr, tfjsonpath.New("error_detail"), knownvalue.NotNull()),
				},
			},
		},
	})
}

// A task initializes for a moment after it is created, and the executor
// refuses to delete it then (409 TaskInitializing). A CLI cannot reliably
// destroy inside that window (create waits for INIT to end), so this test
// calls the resource's Delete right after an out-of-band create, through a
// client whose transport records the executor's answers, and repeats with
// new tasks until one delete has met the 409.
func TestAccDeliveryTask_deleteDuringInit(t *testing.T) {
	e := startExecutor(t)
	e.createTable(t, "orders")
	// An automatic schema samples up to 1000 rows while the task is in
	// INIT: enough rows make the window wide enough to hit.
	e.putRows(t, "orders", 1000)
	ctx := context.Background()

	rec := &statusRecorder{next: http.DefaultTransport}
	c, err := client.New(e.APIURL, testToken, client.WithHTTPClient(&http.Client{Transport: rec, Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	r := &deliveryTaskResource{client: c}

	for attempt := 1; attempt <= 10; attempt++ {
		name := fmt.Sprintf("init-%d", attempt)
		spec := task.Spec{Name: name, Table: "orders", Bucket: "lake", Prefix: "orders/" + name,
			SchemaMode: task.SchemaAuto}
		created, err := e.Client.CreateTask(ctx, spec)
		if err != nil {
			t.Fatalf("creating %s out of band: %v", name, err)
		}
		rec.reset()
		resp := deleteThroughResource(t, r, created.Table, created.Name)
		if resp.Diagnostics.HasError() {
			t.Fatalf("Delete of %s failed: %v", name, resp.Diagnostics)
		}
		if _, err := e.Client.GetTask(ctx, "orders", name); err == nil {
			t.Fatalf("task %s still exists after Delete", name)
		}
		if conflicts := rec.count(http.MethodDelete, http.StatusConflict); conflicts > 0 {
			if rec.count(http.MethodDelete, http.StatusNoContent) != 1 {
				t.Fatalf("Delete of %s never got its 204 after %d conflicts", name, conflicts)
			}
			t.Logf("attempt %d: Delete retried through %d TaskInitializing answers", attempt, conflicts)
			return
		}
	}
	t.Fatal("no delete met the INIT phase in 10 attempts: the retry path was not exercised")
}

// deleteThroughResource runs the resource's Delete with a state holding the
// task's identifying attributes and a 1-minute delete timeout.
func deleteThroughResource(t *testing.T, r *deliveryTaskResource, table, name string) *fwresource.DeleteResponse {
	t.Helper()
	ctx := context.Background()
	var schemaResp fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &schemaResp)
	state := tfsdk.State{Schema: schemaResp.Schema,
		Raw: tftypes.NewValue(schemaResp.Schema.Type().TerraformType(ctx), nil)}
	colType := types.ObjectType{AttrTypes: columnAttrTypes}
	timeoutsValue, d := types.ObjectValue(timeoutsAttrTypes, map[string]attr.Value{
		"create": types.StringNull(), "delete": types.StringValue("1m"),
	})
	if d.HasError() {
		t.Fatal(d)
	}
	m := deliveryTaskModel{
		ID: types.StringValue(table + "/" + name), TableName: types.StringValue(table), Name: types.StringValue(name),
		Column: types.ListNull(colType), ResolvedColumns: types.ListNull(types.ObjectType{AttrTypes: resolvedColumnAttrTypes}),
		EventTimeColumn: types.ObjectNull(eventTimeColumnAttrTypes),
		Timeouts:        timeouts.Value{Object: timeoutsValue},
	}
	if d := state.Set(ctx, &m); d.HasError() {
		t.Fatal(d)
	}
	resp := &fwresource.DeleteResponse{State: state}
	r.Delete(ctx, fwresource.DeleteRequest{State: state}, resp)
	return resp
}

// statusRecorder is an http.RoundTripper that counts the executor's answers.
type statusRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen map[string]int
}

func (s *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err == nil {
		s.mu.Lock()
		if s.seen == nil {
			s.seen = map[string]int{}
		}
		s.seen[fmt.Sprintf("%s %d", req.Method, resp.StatusCode)]++
		s.mu.Unlock()
	}
	return resp, err
}

func (s *statusRecorder) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = nil
}

func (s *statusRecorder) count(method string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[fmt.Sprintf("%s %d", method, status)]
}

func TestAccDeliveryTask_importByIdentity(t *testing.T) {
	e := startExecutor(t)
	e.createTable(t, "orders")
	config := taskConfig(e, "orders", "orders/year=$yyyy", "")

	resource.Test(t, resource.TestCase{
		// Resource identity needs Terraform 1.12 / OpenTofu 1.12 or later.
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentity(taskAddr, map[string]knownvalue.Check{
						"table_name": knownvalue.StringExact("orders"),
						"name":       knownvalue.StringExact("orders-lake"),
					}),
				},
			},
			{
				ResourceName:    taskAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
			},
		},
	})
}

func TestAccDeliveryTask_invalidConfig(t *testing.T) {
	// Plan-time validation needs no executor: the endpoint is never called.
	base := func(attrs string) string {
		return `
provider "tablestore" {
  endpoint = "http://127.0.0.1:9"
  token    = "unused"
}

resource "tablestore_delivery_task" "bad" {
  table_name = "orders"
  bucket     = "lake"
` + attrs + `
}
`
	}
	cases := []struct {
		name, attrs string
		want        *regexp.Regexp
	}{
		{"name", `
  name   = "Orders_Lake"
  prefix = "orders"`, regexp.MustCompile(`(?s)name: "Orders_Lake" must be 3-16 characters`)},
		{"prefix variable", `
  name   = "orders-lake"
  prefix = "orders/$yy"`, regexp.MustCompile(`(?s)prefix: "orders/\$yy"`)},
		{"sync mode", `
  name      = "orders-lake"
  prefix    = "orders"
  sync_mode = "sometimes"`, regexp.MustCompile(`sync_mode: "sometimes" must be one of full, incremental, differential`)},
		{"flush range", `
  name                   = "orders-lake"
  prefix                 = "orders"
  flush_interval_seconds = 0`, regexp.MustCompile(`flush_interval_seconds: 0 must be between 1 and 3600`)},
		{"object size range", `
  name                  = "orders-lake"
  prefix                = "orders"
  target_object_size_mb = 4096`, regexp.MustCompile(`target_object_size_mb: 4096 must be between 1 and 1024`)},
		{"duplicate column", `
  name   = "orders-lake"
  prefix = "orders"
  column {
    source = "id"
    type   = "INT64"
  }
  column {
    source = "other"
    name   = "ID"
    type   = "UTF8"
  }`, regexp.MustCompile(`columns\[1\]\.name: "ID" is already the name of columns\[0\]`)},
		{"encoding for type", `
  name   = "orders-lake"
  prefix = "orders"
  column {
    source   = "flag"
    type     = "BOOL"
    encoding = "DELTA_BINARY_PACKED"
  }`, regexp.MustCompile(`DELTA_BINARY_PACKED is not valid for type BOOL`)},
		{"columns with auto schema", `
  name        = "orders-lake"
  prefix      = "orders"
  schema_mode = "auto"
  column {
    source = "id"
    type   = "INT64"
  }`, regexp.MustCompile(`columns: must be empty when schema_mode is auto`)},
		{"event time format", `
  name   = "orders-lake"
  prefix = "orders/$yyyy"
  event_time_column {
    name   = "ts"
    format = "ISO8601"
  }`, regexp.MustCompile(`event_time_column.format: "ISO8601" must be one of RFC822`)},
		{"dirty prefix overlap", `
  name         = "orders-lake"
  prefix       = "orders/$yyyy"
  dirty_prefix = "orders/dirty"`, regexp.MustCompile(`dirty_prefix: "orders/dirty" must not overlap the prefix`)},
		{"time zone", `
  name      = "orders-lake"
  prefix    = "orders/$yyyy"
  time_zone = "Europe/Atlantis"`, regexp.MustCompile(`time_zone: "Europe/Atlantis" is not an IANA time zone name`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      base(tc.attrs),
					PlanOnly:    true,
					ExpectError: tc.want,
				}},
			})
		})
	}
}

// Rules that need the executor (the table exists) fail at apply, with the
// executor's message attached to the attribute it names.
func TestAccDeliveryTask_missingTable(t *testing.T) {
	e := startExecutor(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      taskConfig(e, "no_such_table", "orders", ""),
			ExpectError: regexp.MustCompile(`(?s)table_name\s+=\s+"no_such_table".*table: "no_such_table" does not exist\s+in\s+the\s+source\s+instance`),
		}},
	})
}
