# A local module called once per GPU pool with for_each; each pool's nodes are
# expanded with count, giving addresses such as
# module.pool["h100"].terraform_data.node[3].

variable "cluster_name" {
  type    = string
  default = "llm-platform"
}

variable "pools" {
  type = map(object({
    instance_type = string
    gpus_per_node = number
    nodes         = number
    spot          = optional(bool, false)
  }))
  default = {
    h100 = { instance_type = "p5.48xlarge", gpus_per_node = 8, nodes = 2 }
    a10g = { instance_type = "g5.12xlarge", gpus_per_node = 4, nodes = 3, spot = true }
  }
}

module "pool" {
  source   = "./modules/gpu-pool"
  for_each = var.pools

  cluster_name  = var.cluster_name
  name          = each.key
  instance_type = each.value.instance_type
  gpus_per_node = each.value.gpus_per_node
  nodes         = each.value.nodes
  capacity_type = each.value.spot ? "SPOT" : "ON_DEMAND"
}

output "gpus_by_pool" {
  value = { for name, pool in module.pool : name => pool.total_gpus }
}

output "total_gpus" {
  value = sum([for pool in module.pool : pool.total_gpus])
}

output "node_labels" {
  value = module.pool["h100"].labels
}
