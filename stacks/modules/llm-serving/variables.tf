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

variable "small_instance_type" {
  description = "The instance type of the nodes the 8B model runs on (the A10G pool's); null leaves it to the GPU label alone."
  type        = string
  default     = "g5.2xlarge"
}

variable "large_instance_type" {
  description = "The instance type of the nodes the 70B model runs on (the H100 pool's); null leaves it to the GPU label alone."
  type        = string
  default     = "p5.48xlarge"
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
