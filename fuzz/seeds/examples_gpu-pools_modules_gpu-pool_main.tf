variable "cluster_name" {
  type = string
}

variable "name" {
  type = string
}

variable "instance_type" {
  type = string
}

variable "gpus_per_node" {
  type = number
}

variable "nodes" {
  type = number

  validation {
    condition     = var.nodes >= 0 && var.nodes <= 64
    error_message = "A pool has between 0 and 64 nodes."
  }
}

variable "capacity_type" {
  type    = string
  default = "ON_DEMAND"
}

locals {
  labels = {
    "plinth.dev/pool"                = var.name
    "nvidia.com/gpu.count"           = tostring(var.gpus_per_node)
    "eks.amazonaws.com/capacityType" = var.capacity_type
  }
}

resource "terraform_data" "node" {
  count = var.nodes

  input = {
    name          = "${var.cluster_name}-${var.name}-${count.index}"
    instance_type = var.instance_type
    labels        = local.labels
    taints        = ["nvidia.com/gpu=true:NoSchedule"]
  }
}

output "total_gpus" {
  value = var.nodes * var.gpus_per_node
}

output "labels" {
  value = local.labels
}

output "node_names" {
  value = terraform_data.node[*].output.name
}
