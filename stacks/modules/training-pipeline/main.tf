# A fine-tuning pipeline as Kubernetes Jobs: prepare the data, fine-tune on GPUs,
# evaluate. Each step is a kubernetes_job_v1 that plinth waits on
# (wait_for_completion), and each depends on the step before it, so plinth's
# dependency graph is the pipeline's DAG: apply runs the steps in order and stops at
# the first that fails. Every step reads and writes the weights bucket. A CronJob
# re-runs the evaluation on a schedule.

terraform {
  required_providers {
    kubernetes = {
      source = "plinth/kubernetes"
    }
  }
}

locals {
  labels = {
    "app.kubernetes.io/part-of"    = var.name
    "app.kubernetes.io/managed-by" = "plinth"
  }
  run_prefix   = "s3://${var.weights_bucket}/runs/${var.name}/${var.run_id}"
  dataset_uri  = "${local.run_prefix}/dataset"
  checkpoint   = "${local.run_prefix}/checkpoint"
  eval_report  = "${local.run_prefix}/eval.json"
  gpu_selector = var.gpu_type == null ? {} : { "nvidia.com/gpu.product" = var.gpu_type }
}

resource "kubernetes_config_map_v1" "pipeline" {
  metadata {
    name      = "${var.name}-config"
    namespace = var.namespace
    labels    = local.labels
  }

  data = {
    BASE_MODEL     = var.base_model
    SOURCE_DATA    = var.source_data
    WEIGHTS_BUCKET = var.weights_bucket
    RUN_PREFIX     = local.run_prefix
  }
}

resource "kubernetes_job_v1" "prepare" {
  metadata {
    name      = "${var.name}-prepare-${var.run_id}"
    namespace = var.namespace
    labels    = merge(local.labels, { "plinth.dev/step" = "prepare" })
  }

  spec {
    backoff_limit = 2
    template {
      metadata {
        labels = merge(local.labels, { "plinth.dev/step" = "prepare" })
      }
      spec {
        restart_policy = "Never"
        container {
          name    = "prepare"
          image   = var.image
          command = ["python", "-m", "pipeline.prepare"]
          args    = ["--source", var.source_data, "--output", local.dataset_uri]
          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.pipeline.metadata[0].name
            }
          }
          resources {
            requests = { cpu = "2", memory = "8Gi" }
            limits   = { cpu = "4", memory = "16Gi" }
          }
        }
      }
    }
  }

  wait_for_completion = true
  timeouts {
    create = var.step_timeout
  }
}

# Each step runs after the one whose output it reads.
resource "kubernetes_job_v1" "finetune" {
  depends_on = [kubernetes_job_v1.prepare]

  metadata {
    name      = "${var.name}-finetune-${var.run_id}"
    namespace = var.namespace
    labels    = merge(local.labels, { "plinth.dev/step" = "finetune" })
  }

  spec {
    backoff_limit = 1
    template {
      metadata {
        labels = merge(local.labels, { "plinth.dev/step" = "finetune" })
      }
      spec {
        restart_policy = "Never"
        node_selector  = local.gpu_selector
        toleration {
          key      = "nvidia.com/gpu"
          operator = "Exists"
          effect   = "NoSchedule"
        }
        container {
          name    = "finetune"
          image   = var.image
          command = ["torchrun", "--nproc-per-node=${var.gpus}", "-m", "pipeline.finetune"]
          args = [
            "--base-model", var.base_model,
            "--dataset", local.dataset_uri,
            "--output", local.checkpoint,
          ]
          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.pipeline.metadata[0].name
            }
          }
          dynamic "env" {
            for_each = var.hf_token_secret == null ? [] : [var.hf_token_secret]
            content {
              name = "HF_TOKEN"
              value_from {
                secret_key_ref {
                  name = env.value.name
                  key  = env.value.key
                }
              }
            }
          }
          resources {
            limits = { "nvidia.com/gpu" = tostring(var.gpus) }
          }
          volume_mount {
            name       = "shm"
            mount_path = "/dev/shm"
          }
        }
        volume {
          name = "shm"
          empty_dir {
            medium     = "Memory"
            size_limit = "${8 * var.gpus}Gi"
          }
        }
      }
    }
  }

  wait_for_completion = true
  timeouts {
    create = var.step_timeout
  }
}

resource "kubernetes_job_v1" "evaluate" {
  depends_on = [kubernetes_job_v1.finetune]

  metadata {
    name      = "${var.name}-evaluate-${var.run_id}"
    namespace = var.namespace
    labels    = merge(local.labels, { "plinth.dev/step" = "evaluate" })
  }

  spec {
    backoff_limit = 1
    template {
      metadata {
        labels = merge(local.labels, { "plinth.dev/step" = "evaluate" })
      }
      spec {
        restart_policy = "Never"
        container {
          name    = "evaluate"
          image   = var.image
          command = ["python", "-m", "pipeline.evaluate"]
          args = [
            "--checkpoint", local.checkpoint,
            "--report", local.eval_report,
          ]
          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.pipeline.metadata[0].name
            }
          }
        }
      }
    }
  }

  wait_for_completion = true
  timeouts {
    create = var.step_timeout
  }
}

resource "kubernetes_cron_job_v1" "nightly_eval" {
  count = var.nightly_eval_schedule == null ? 0 : 1

  metadata {
    name      = "${var.name}-nightly-eval"
    namespace = var.namespace
    labels    = local.labels
  }

  spec {
    schedule           = var.nightly_eval_schedule
    concurrency_policy = "Forbid"
    job_template {
      metadata {
        labels = local.labels
      }
      spec {
        backoff_limit = 1
        template {
          metadata {
            labels = local.labels
          }
          spec {
            restart_policy = "Never"
            container {
              name    = "evaluate"
              image   = var.image
              command = ["python", "-m", "pipeline.evaluate"]
              args    = ["--checkpoint", local.checkpoint, "--report", "${local.run_prefix}/nightly"]
            }
          }
        }
      }
    }
  }
}
