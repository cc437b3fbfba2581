import {
  to = tablestore_delivery_task.orders
  identity = {
    table_name = "orders"
    name       = "orders-lake"
  }
}
