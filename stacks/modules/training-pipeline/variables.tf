variable "name" {
  description = "Names every object of the pipeline."
  type        = string
}

variable "namespace" {
  type = string
}

variable "run_id" {
  description = "One run of the pipeline: a new value runs every step again (Jobs run once)."
  type        = string
}

variable "image" {
  description = "The image with the pipeline's code (python -m pipeline.prepare|finetune|evaluate)."
  type        = string
}

variable "base_model" {
  description = "The Hugging Face id of the model to fine-tune."
  type        = string
}

variable "source_data" {
  description = "Where the raw training data is (s3://...)."
  type        = string
}

variable "weights_bucket" {
  description = "The bucket the dataset, checkpoints and reports are written to."
  type        = string
}

variable "gpus" {
  description = "GPUs for the fine-tuning step."
  type        = number
  default     = 8

  validation {
    condition     = contains([1, 2, 4, 8], var.gpus)
    error_message = "gpus must be 1, 2, 4 or 8 (one node's worth)."
  }
}

variable "gpu_type" {
  description = "The GPU model the fine-tuning step runs on (the nodes' nvidia.com/gpu.product label); null for any."
  type        = string
  default     = null
}

variable "hf_token_secret" {
  description = "The secret and key holding a Hugging Face token, for gated base models."
  type        = object({ name = string, key = string })
  default     = null
}

variable "step_timeout" {
  description = "How long plinth waits for each step to complete."
  type        = string
  default     = "6h"
}

variable "nightly_eval_schedule" {
  description = "A cron schedule re-running the evaluation; null for none."
  type        = string
  default     = null
}
