terraform {
  required_version = ">= 1.0"
}

locals {
  model_slug = replace(lower(var.model), "/", "-")
  name       = "vllm-${local.model_slug}"

  args = [
    "--model=${var.model}",
    "--tensor-parallel-size=${var.gpus_per_replica}",
    "--max-model-len=8192",
  ]

  labels = {
    "app.kubernetes.io/name"      = local.name
    "app.kubernetes.io/component" = "llm-serving"
  }

  env = {
    HF_TOKEN              = var.hf_token
    VLLM_WORKER_MULTIPROC = "spawn"
  }

  total_gpus_at_peak = var.gpus_per_replica * var.replicas.max
  shm_size           = "${var.gpus_per_replica * 8}Gi"
}

output "name" {
  value = local.name
}

output "args" {
  value = local.args
}

output "gpus_at_peak" {
  value = local.total_gpus_at_peak
}

output "shm_size" {
  value = local.shm_size
}

output "env" {
  value     = local.env
  sensitive = true
}
