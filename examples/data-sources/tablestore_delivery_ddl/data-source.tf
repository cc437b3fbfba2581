# The statement that makes a task's objects queryable, for several engines.
data "tablestore_delivery_ddl" "hive" {
  table_name = tablestore_delivery_task.orders.table_name
  task_name  = tablestore_delivery_task.orders.name
}

data "tablestore_delivery_ddl" "duckdb" {
  table_name = tablestore_delivery_task.orders.table_name
  task_name  = tablestore_delivery_task.orders.name
  dialect    = "duckdb"
}

output "hive_ddl" {
  value = data.tablestore_delivery_ddl.hive.statement
}
