
module "pool" {
  source   = "./pool"
  for_each = { a100 = 8, h100 = 4 }
  gpus     = each.value
  name     = each.key
}
output "gpus" {
  value = { for k, m in module.pool : k => m.total }
}
