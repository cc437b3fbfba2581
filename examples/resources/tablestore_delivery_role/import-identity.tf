import {
  to = tablestore_delivery_role.delivery
  identity = {
    name = "AliyunServiceRoleForOTSDataDelivery"
  }
}
