# Quickstart: deliver one Tablestore table to OSS as Parquet, partitioned by
# day, against the embedded executor (`delivery-executor serve --embedded`).
# The source table and the bucket must exist before `terraform apply`.

terraform {
  required_providers {
    tablestore = {
      source = "tablestore-delivery/tablestore"
    }
  }
}

variable "endpoint" {
  description = "The executor's API URL."
  type        = string
  default     = "http://127.0.0.1:8470"
}

variable "token" {
  description = "The executor's API token."
  type        = string
  default     = "local-dev-token"
  sensitive   = true
}

variable "table" {
  description = "The source Tablestore table."
  type        = string
  default     = "orders"
}

variable "bucket" {
  description = "The destination OSS bucket."
  type        = string
  default     = "lake"
}

variable "oss_access_key_id" {
  description = "OSS AccessKey ID the delivery role writes with."
  type        = string
  default     = "local-dev-key"
}

variable "oss_access_key_secret" {
  description = "OSS AccessKey secret the delivery role writes with."
  type        = string
  default     = "local-dev-secret"
  sensitive   = true
}

provider "tablestore" {
  endpoint = var.endpoint
  token    = var.token
}

resource "tablestore_delivery_role" "this" {
  oss_access_key_id     = var.oss_access_key_id
  oss_access_key_secret = var.oss_access_key_secret
  description           = "quickstart delivery role"
}

resource "tablestore_delivery_task" "orders" {
  name       = "orders-lake"
  table_name = var.table
  bucket     = var.bucket
  prefix     = "${var.table}/year=$yyyy/month=$MM/day=$dd"
  sync_mode  = "differential"
  role_arn   = tablestore_delivery_role.this.arn

  # Small buffers so the first objects appear quickly in a demo.
  flush_interval_seconds = 10
  target_object_size_mb  = 1
}

data "tablestore_delivery_ddl" "orders" {
  table_name = tablestore_delivery_task.orders.table_name
  task_name  = tablestore_delivery_task.orders.name
}

output "task_id" {
  value = tablestore_delivery_task.orders.id
}

# The task's phase, last_synced_at and error_code change on the executor all
# the time; read them with `terraform state show tablestore_delivery_task.orders`
# (after a refresh) rather than as outputs, which would make every plan show a change.
output "columns" {
  value = tablestore_delivery_task.orders.resolved_columns
}

output "create_table_ddl" {
  value = data.tablestore_delivery_ddl.orders.statement
}
