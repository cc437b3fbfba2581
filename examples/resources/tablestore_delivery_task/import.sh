# A task is imported by "<table_name>/<name>".
terraform import tablestore_delivery_task.orders orders/orders-lake
