
variable "token" {
  default   = "s3cr3t"
  sensitive = true
}
locals {
  header  = "Bearer ${var.token}"
  headers = [for h in ["a", "b"] : "${h}: ${var.token}"]
  upper   = upper(var.token)
  len     = length(var.token)
}
output "header" {
  value     = local.header
  sensitive = true
}
