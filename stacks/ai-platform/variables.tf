variable "region" {
  type    = string
  default = "us-east-1"
}

variable "cluster_name" {
  type    = string
  default = "ai-platform"
}

variable "kubernetes_version" {
  type    = string
  default = "1.31"
}

variable "vpc_cidr" {
  type    = string
  default = "10.50.0.0/16"
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
      sizes          = { min = 1, desired = 2, max = 4 }
    }
    a10g-spot = {
      instance_types = ["g5.2xlarge"]
      capacity_type  = "SPOT"
      sizes          = { min = 1, desired = 2, max = 8 }
    }
  }
}

variable "interruptible_pools" {
  description = "The GPU pools that run only work that can be preempted (batch jobs, checkpointed training): their nodes are labelled plinth.dev/interruptible, which examples/policies/spot_interruptible.rego requires of SPOT GPU pools."
  type        = set(string)
  default     = ["a10g-spot"]
}

variable "bucket_suffix" {
  description = "Makes the weights bucket's name globally unique."
  type        = string
  default     = "example"
}

variable "hf_token" {
  description = "A Hugging Face token that may read the Llama 3.1 models."
  type        = string
  sensitive   = true
}

variable "kubernetes_host" {
  description = "The Kubernetes API to use instead of the EKS cluster's (an emulator); null on AWS."
  type        = string
  default     = null
}

variable "kubernetes_token" {
  description = "A bearer token for kubernetes_host; on EKS the exec plugin gets one."
  type        = string
  default     = null
  sensitive   = true
}

variable "rollout_timeout" {
  type    = string
  default = "30m"
}

variable "step_timeout" {
  type    = string
  default = "6h"
}
