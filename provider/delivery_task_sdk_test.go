package provider

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// sdkTaskConfig is HCL for the task TestAccDeliveryTask_importFromSDK
// creates through the Tablestore SDK, written as its user would write it,
// plus a task Terraform creates itself.
func sdkTaskConfig(e *testExecutor) string {
	role := task.RoleARN(task.DefaultAccountID, task.DefaultRoleName)
	return e.providerBlock() + fmt.Sprintf(`
resource "tablestore_delivery_task" "sdk_made" {
  name       = "sdk-lake"
  table_name = "orders"
  bucket     = "lake"
  prefix     = "sdk/year=$yyyy/month=$MM"
  sync_mode  = "differential"
  role_arn   = %[1]q

  column {
    source = "id"
    name   = "id"
    type   = "INT64"
  }
  column {
    source   = "price"
    name     = "amount"
    type     = "DOUBLE"
    encoding = "PLAIN_DICTIONARY"
  }
}

resource "tablestore_delivery_task" "tf_made" {
  name       = "tf-lake"
  table_name = "orders"
  bucket     = "lake"
  prefix     = "tf"
  sync_mode  = "full"
  role_arn   = %[1]q
  column {
    source = "id"
    type   = "INT64"
  }
}
`, role)
}

// TestAccDeliveryTask_importFromSDK creates a task with the Tablestore SDK's
// CreateDeliveryTask (the managed service's API, served by `serve
// --embedded`), imports it into Terraform, and checks that the import
// round-trips (no changes planned for the configuration that describes it)
// and that a task Terraform creates is visible to DescribeDeliveryTask.
func TestAccDeliveryTask_importFromSDK(t *testing.T) {
	e := startExecutor(t)
	e.createTable(t, "orders")
	ots := tablestore.NewClient(e.TablestoreURL, testInstance, testKeyID, testKeySecret)
	_, err := ots.CreateDeliveryTask(&tablestore.CreateDeliveryTaskRequest{
		TableName: "orders", TaskName: "sdk-lake", TaskType: tablestore.BaseIncTask,
		TaskConfig: &tablestore.OSSTaskConfig{
			OssPrefix: "sdk/year=$yyyy/month=$MM", OssBucket: "lake", OssEndpoint: "oss-cn-hangzhou.aliyuncs.com",
			OssRoleName: task.RoleARN(task.DefaultAccountID, task.DefaultRoleName),
			Schema: []*tablestore.TaskSchema{
				{ColumnName: "id", OssColumnName: "id", Type: tablestore.ParquetInt64},
				{ColumnName: "price", OssColumnName: "amount", Type: tablestore.ParquetDouble, Encode: tablestore.EncodingPlainDictionary},
			},
		},
	})
	if err != nil {
		t.Fatalf("CreateDeliveryTask through the SDK: %v", err)
	}
	describe := func(name string) (*tablestore.DescribeDeliveryTaskResponse, error) {
		return ots.DescribeDeliveryTask(&tablestore.DescribeDeliveryTaskRequest{TableName: "orders", TaskName: name})
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:             sdkTaskConfig(e),
				ResourceName:       "tablestore_delivery_task.sdk_made",
				ImportState:        true,
				ImportStateId:      "orders/sdk-lake",
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("imported %d resources, want 1", len(states))
					}
					for k, want := range map[string]string{
						"id": "orders/sdk-lake", "name": "sdk-lake", "table_name": "orders", "bucket": "lake",
						"prefix": "sdk/year=$yyyy/month=$MM", "sync_mode": "differential", "region": "cn-hangzhou",
						"schema_mode": "manual", "column.#": "2", "column.1.source": "price", "column.1.name": "amount",
						"column.1.encoding": "PLAIN_DICTIONARY",
					} {
						if got := states[0].Attributes[k]; got != want {
							return fmt.Errorf("imported %s = %q, want %q", k, got, want)
						}
					}
					return nil
				},
			},
			{
				// The configuration that describes the imported task plans
				// no change to it; the Terraform-made task is created.
				Config: sdkTaskConfig(e),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("tablestore_delivery_task.sdk_made", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("tablestore_delivery_task.tf_made", plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					d, err := describe("tf-lake")
					if err != nil {
						return fmt.Errorf("DescribeDeliveryTask of the Terraform-made task: %w", err)
					}
					if d.TaskType != tablestore.BaseTask || d.TaskConfig.OssPrefix != "tf" || len(d.TaskConfig.Schema) != 1 {
						return fmt.Errorf("Terraform-made task through the SDK: type %v, config %+v", d.TaskType, d.TaskConfig)
					}
					list, err := ots.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: "orders"})
					if err != nil || len(list.Tasks) != 2 {
						return fmt.Errorf("ListDeliveryTask: %v, %w", list, err)
					}
					return nil
				},
			},
		},
		CheckDestroy: func(*terraform.State) error {
			for _, name := range []string{"sdk-lake", "tf-lake"} {
				var oe *tablestore.OtsError
				if _, err := describe(name); !errors.As(err, &oe) || oe.Code != "OTSObjectNotExist" {
					return fmt.Errorf("after destroy, DescribeDeliveryTask %s = %w, want OTSObjectNotExist", name, err)
				}
			}
			return nil
		},
	})
}
