# The serving layer alone, on a cluster that already exists: the kubeconfig file and
# context (or KUBE_HOST and KUBE_TOKEN) say which.

terraform {
  required_providers {
    kubernetes = {
      source = "plinth/kubernetes"
    }
  }
}

provider "kubernetes" {
  config_path    = var.kubeconfig
  config_context = var.kube_context
}

module "serving" {
  source = "../modules/llm-serving"

  hf_token        = var.hf_token
  weights_bucket  = var.weights_bucket
  rollout_timeout = var.rollout_timeout
  step_timeout    = var.step_timeout
}

variable "kubeconfig" {
  description = "The kubeconfig file; null to use KUBE_CONFIG_PATH or KUBE_HOST."
  type        = string
  default     = null
}

variable "kube_context" {
  type    = string
  default = null
}

variable "hf_token" {
  type      = string
  sensitive = true
}

variable "weights_bucket" {
  type = string
}

variable "rollout_timeout" {
  type    = string
  default = "30m"
}

variable "step_timeout" {
  type    = string
  default = "6h"
}

output "endpoints" {
  value = module.serving.endpoints
}

output "pipeline_steps" {
  value = module.serving.pipeline_steps
}
