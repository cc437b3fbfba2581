import {
  to = tablestore_delivery_task.orders
  id = "orders/orders-lake"
}
