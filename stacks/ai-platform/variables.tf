variable "region" {
  type    = string
  default = "us-east-1"
}

variable "cluster_name" {
  type    = string
  default = "ai-platform"
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
