terraform {
  required_providers {
    tablestore = {
      source = "tablestore-delivery/tablestore"
    }
  }
}

# Against an executor started with `delivery-executor serve --embedded`.
# Both settings can come from TABLESTORE_DELIVERY_ENDPOINT and
# TABLESTORE_DELIVERY_TOKEN instead.
provider "tablestore" {
  endpoint = "http://127.0.0.1:8470"
  token    = "local-dev-token"
}
