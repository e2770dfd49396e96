variable "region" {
  description = "AWS region for the whole platform."
  type        = string
  default     = "us-east-1"
}

variable "cluster_name" {
  description = "Name of the EKS cluster; also prefixes every other name."
  type        = string
  default     = "llm-platform"
}

variable "kubernetes_version" {
  type    = string
  default = "1.31"
}

variable "vpc_cidr" {
  type    = string
  default = "10.40.0.0/16"
}

variable "zone_count" {
  description = "How many availability zones the VPC spans (one subnet each)."
  type        = number
  default     = 3
}

variable "bucket_suffix" {
  description = "Makes the weights bucket's name globally unique."
  type        = string
  default     = "example"
}

variable "system_pool_sizes" {
  type = object({ min = number, desired = number, max = number })
  default = {
    min     = 2
    desired = 2
    max     = 4
  }
}

variable "gpu_pools" {
  description = "GPU node pools by name: instance types, ON_DEMAND or SPOT, and sizes."
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    sizes          = object({ min = number, desired = number, max = number })
  }))
  default = {
    h100-ondemand = {
      instance_types = ["p5.48xlarge"]
      capacity_type  = "ON_DEMAND"
      sizes          = { min = 0, desired = 1, max = 4 }
    }
    a10g-spot = {
      instance_types = ["g5.2xlarge"]
      capacity_type  = "SPOT"
      sizes          = { min = 0, desired = 2, max = 8 }
    }
  }

  validation {
    condition     = alltrue([for p in values(var.gpu_pools) : contains(["ON_DEMAND", "SPOT"], p.capacity_type)])
    error_message = "Each GPU pool's capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "interruptible_pools" {
  description = "The GPU pools that run only work that can be preempted (batch jobs, checkpointed training): their nodes are labelled plinth.dev/interruptible, which examples/policies/spot_interruptible.rego requires of SPOT GPU pools."
  type        = set(string)
  default     = ["a10g-spot"]
}
