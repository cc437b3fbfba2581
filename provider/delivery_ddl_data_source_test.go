package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func TestAccDeliveryDDLDataSource(t *testing.T) {
	e := startExecutor(t)
	e.createTable(t, "orders")
	config := taskConfig(e, "orders", "orders/year=$yyyy/month=$MM/day=$dd", "") + `
data "tablestore_delivery_ddl" "hive" {
  table_name = tablestore_delivery_task.orders.table_name
  task_name  = tablestore_delivery_task.orders.name
}

data "tablestore_delivery_ddl" "duckdb" {
  table_name = tablestore_delivery_task.orders.table_name
  task_name  = tablestore_delivery_task.orders.name
  dialect    = "duckdb"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.tablestore_delivery_ddl.hive", tfjsonpath.New("dialect"), knownvalue.StringExact("hive")),
					statecheck.ExpectKnownValue("data.tablestore_delivery_ddl.hive", tfjsonpath.New("statement"),
						knownvalue.StringRegexp(regexp.MustCompile(`(?s)CREATE EXTERNAL TABLE.*price.*PARTITIONED BY \(.*year.*month.*day.*STORED AS PARQUET.*LOCATION 'oss://lake/orders/'.*MSCK REPAIR TABLE`))),
					statecheck.ExpectKnownValue("data.tablestore_delivery_ddl.duckdb", tfjsonpath.New("statement"),
						knownvalue.StringRegexp(regexp.MustCompile(`(?s)read_parquet\(.*hive_partitioning`))),
				},
			},
		},
	})
}

func TestAccDeliveryDDLDataSource_invalidDialect(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "tablestore" {
  endpoint = "http://127.0.0.1:9"
  token    = "unused"
}

data "tablestore_delivery_ddl" "bad" {
  table_name = "orders"
  task_name  = "orders-lake"
  dialect    = "oracle"
}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`dialect: "oracle" must be one of hive, spark, trino, duckdb`),
		}},
	})
}
