# One managed node group. GPU pools get the nvidia.com/gpu taint, so only pods that
# ask for GPUs land there, and labels saying which GPU and how many each node has.

variable "cluster_name" {
  type = string
}

variable "name" {
  type = string
}

variable "node_role_arn" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "instance_types" {
  type = list(string)
}

variable "ami_type" {
  type = string
}

variable "capacity_type" {
  type = string
}

variable "sizes" {
  type = object({ min = number, desired = number, max = number })
}

variable "gpu" {
  type    = bool
  default = false
}

variable "interruptible" {
  description = "Whether the pool runs only work that can be preempted (what SPOT capacity is for): its nodes are labelled plinth.dev/interruptible."
  type        = bool
  default     = false
}

data "aws_ec2_instance_type" "node" {
  instance_type = var.instance_types[0]
}

locals {
  gpus      = one(data.aws_ec2_instance_type.node.gpus[*].count)
  gpu_model = one(data.aws_ec2_instance_type.node.gpus[*].name)
  gpu_labels = var.gpu ? {
    "nvidia.com/gpu.present" = "true"
    "nvidia.com/gpu.count"   = tostring(local.gpus)
    "nvidia.com/gpu.product" = local.gpu_model
  } : {}
}

resource "aws_eks_node_group" "this" {
  cluster_name    = var.cluster_name
  node_group_name = var.name
  node_role_arn   = var.node_role_arn
  subnet_ids      = var.subnet_ids
  instance_types  = var.instance_types
  ami_type        = var.ami_type
  capacity_type   = var.capacity_type

  scaling_config {
    min_size     = var.sizes.min
    desired_size = var.sizes.desired
    max_size     = var.sizes.max
  }

  update_config {
    max_unavailable = 1
  }

  labels = merge(
    { "plinth.dev/pool" = var.name },
    local.gpu_labels,
    var.interruptible ? { "plinth.dev/interruptible" = "true" } : {},
  )

  dynamic "taint" {
    for_each = var.gpu ? ["nvidia.com/gpu"] : []
    content {
      key    = taint.value
      value  = "true"
      effect = "NO_SCHEDULE"
    }
  }

  tags = {
    Name = "${var.cluster_name}-${var.name}"
  }
}

output "node_group_name" {
  value = aws_eks_node_group.this.node_group_name
}

output "gpus_per_node" {
  value = var.gpu ? local.gpus : 0
}

output "gpu_model" {
  value = var.gpu ? local.gpu_model : null
}
