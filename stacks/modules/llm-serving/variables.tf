variable "namespace" {
  type    = string
  default = "serving"
}

variable "training_namespace" {
  type    = string
  default = "training"
}

variable "hf_token" {
  description = "A Hugging Face token that may read the Llama 3.1 models."
  type        = string
  sensitive   = true
}

variable "weights_bucket" {
  description = "The bucket datasets and fine-tuned weights live in."
  type        = string
}

variable "small_replicas" {
  type    = number
  default = 2
}

variable "large_max_replicas" {
  type    = number
  default = 4
}

variable "storage_class" {
  description = "The storage class of the 70B model's cache volume: one that serves ReadWriteMany (on EKS, EFS through the EFS CSI driver)."
  type        = string
  default     = "efs-sc"
}

variable "training_image" {
  type    = string
  default = "ghcr.io/example/llm-pipeline:1.0"
}

variable "training_run_id" {
  description = "A new value runs the fine-tuning pipeline again."
  type        = string
  default     = "r1"
}

variable "rollout_timeout" {
  description = "How long apply waits for an LLM service's replicas to be available."
  type        = string
  default     = "30m"
}

variable "step_timeout" {
  description = "How long apply waits for each pipeline step."
  type        = string
  default     = "6h"
}
