
variable "keys" {
  type      = list(string)
  default   = ["a", "b"]
  sensitive = true
}
locals {
  upper = [for k in var.keys : upper(k)]
}
