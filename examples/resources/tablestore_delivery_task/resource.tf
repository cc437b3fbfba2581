resource "tablestore_delivery_role" "this" {
  oss_access_key_id     = "local-dev-key"
  oss_access_key_secret = "local-dev-secret"
}

# A differential task (existing rows, then every change) with an explicit
# schema and Hive-style daily partitions.
resource "tablestore_delivery_task" "orders" {
  name        = "orders-lake"
  table_name  = "orders"
  bucket      = "lake"
  prefix      = "orders/year=$yyyy/month=$MM/day=$dd"
  sync_mode   = "differential"
  role_arn    = tablestore_delivery_role.this.arn
  schema_mode = "manual"

  column {
    source = "id"
    type   = "INT64"
  }
  column {
    source   = "customer"
    name     = "customer_name"
    type     = "UTF8"
    encoding = "PLAIN_DICTIONARY"
  }
  column {
    source = "price"
    type   = "DOUBLE"
  }

  # Partition by the order's own timestamp instead of the write time,
  # by the calendar day in Shanghai rather than in UTC.
  event_time_column {
    name   = "ordered_at"
    format = "RFC3339"
  }
  time_zone = "Asia/Shanghai"

  dirty_prefix           = "dirty/orders"
  compression            = "zstd"
  flush_interval_seconds = 60
  target_object_size_mb  = 128

  timeouts {
    create = "5m"
    delete = "5m"
  }
}

# An automatic schema: the executor resolves the columns from the table.
resource "tablestore_delivery_task" "events" {
  name       = "events-raw"
  table_name = "events"
  bucket     = "lake"
  prefix     = "events/dt=$yyyy$MM$dd/hour=$HH"
  role_arn   = tablestore_delivery_role.this.arn
}

output "orders_ddl" {
  value = tablestore_delivery_task.orders.create_table_ddl
}
