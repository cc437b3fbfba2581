# A role is imported by its name. The executor never returns the secret: set
# it in the configuration; the next apply sends it again.
terraform import tablestore_delivery_role.delivery AliyunServiceRoleForOTSDataDelivery
