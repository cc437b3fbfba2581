# The secret as a write-only value (Terraform 1.11+, OpenTofu 1.11+): it never
# reaches the plan or the state. Bump the version to send a new secret.
variable "oss_access_key_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "tablestore_delivery_role" "delivery" {
  oss_access_key_id                = "local-dev-key"
  oss_access_key_secret_wo         = var.oss_access_key_secret
  oss_access_key_secret_wo_version = 1
  description                      = "Lets delivery tasks write to the lake bucket"
}

# On older CLIs, the secret as a sensitive attribute (kept in the state).
resource "tablestore_delivery_role" "reporting" {
  name                  = "reporting-writer"
  oss_access_key_id     = "local-dev-key"
  oss_access_key_secret = "local-dev-secret"
}
