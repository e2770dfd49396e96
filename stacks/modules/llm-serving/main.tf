# The serving layer of the AI platform on any Kubernetes cluster: a namespace, the
# Hugging Face token as a secret, two vLLM services (an 8B model on one A10G, a 70B
# model on four H100) and the fine-tuning pipeline in its own namespace. plinth checks
# at plan time that each model's weights fit on the GPUs it asks for.

terraform {
  required_providers {
    kubernetes = {
      source = "plinth/kubernetes"
    }
  }
}

resource "kubernetes_namespace_v1" "serving" {
  metadata {
    name   = var.namespace
    labels = { "app.kubernetes.io/part-of" = "ai-platform" }
  }
}

resource "kubernetes_namespace_v1" "training" {
  metadata {
    name   = var.training_namespace
    labels = { "app.kubernetes.io/part-of" = "ai-platform" }
  }
}

resource "kubernetes_secret_v1" "hf_token" {
  for_each = toset([var.namespace, var.training_namespace])

  metadata {
    name      = "hf-token"
    namespace = each.key == var.namespace ? kubernetes_namespace_v1.serving.metadata[0].name : kubernetes_namespace_v1.training.metadata[0].name
  }

  data = {
    token = var.hf_token
  }
}

resource "kubernetes_llm_service" "small" {
  name      = "llama-8b"
  namespace = kubernetes_namespace_v1.serving.metadata[0].name
  model     = "meta-llama/Llama-3.1-8B-Instruct"
  replicas  = var.small_replicas

  gpu {
    type  = "A10G"
    count = 1
  }

  # The GPU, and the instance type its nodes are (the kubelet's own label), so
  # `plinth cost` can price the service.
  node_selector = merge(
    { "nvidia.com/gpu.product" = "A10G" },
    var.small_instance_type == null ? {} : { "node.kubernetes.io/instance-type" = var.small_instance_type },
  )

  vllm {
    max_model_len          = 8192
    gpu_memory_utilization = 0.90
    dtype                  = "bfloat16"
  }

  hf_token_secret {
    name = kubernetes_secret_v1.hf_token[var.namespace].metadata[0].name
    key  = "token"
  }

  timeouts {
    create = var.rollout_timeout
    update = var.rollout_timeout
  }
}

resource "kubernetes_llm_service" "large" {
  name      = "llama-70b"
  namespace = kubernetes_namespace_v1.serving.metadata[0].name
  model     = "meta-llama/Llama-3.1-70B-Instruct"

  gpu {
    type  = "H100"
    count = 4
  }

  node_selector = merge(
    { "nvidia.com/gpu.product" = "H100" },
    var.large_instance_type == null ? {} : { "node.kubernetes.io/instance-type" = var.large_instance_type },
  )

  autoscaling {
    min_replicas           = 1
    max_replicas           = var.large_max_replicas
    target_cpu_utilization = 70
  }

  vllm {
    max_model_len          = 8192
    gpu_memory_utilization = 0.90
    dtype                  = "bfloat16"
    extra_args             = ["--enable-prefix-caching"]
  }

  hf_token_secret {
    name = kubernetes_secret_v1.hf_token[var.namespace].metadata[0].name
    key  = "token"
  }

  # One cache shared by every replica the autoscaler runs, on any node: a
  # ReadWriteMany volume.
  model_cache {
    size          = "200Gi"
    storage_class = var.storage_class
    access_mode   = "ReadWriteMany"
  }

  timeouts {
    create = var.rollout_timeout
    update = var.rollout_timeout
  }
}

module "fine_tune" {
  source = "../training-pipeline"

  name           = "llama-8b-support"
  namespace      = kubernetes_namespace_v1.training.metadata[0].name
  run_id         = var.training_run_id
  image          = var.training_image
  base_model     = "meta-llama/Llama-3.1-8B-Instruct"
  source_data    = "s3://${var.weights_bucket}/datasets/support-tickets"
  weights_bucket = var.weights_bucket
  gpus           = 8
  gpu_type       = "H100"
  step_timeout   = var.step_timeout

  hf_token_secret = {
    name = kubernetes_secret_v1.hf_token[var.training_namespace].metadata[0].name
    key  = "token"
  }
}
