# Variables, locals and outputs: the sizing of a vLLM service, checked before
# anything is created.

variable "model" {
  description = "Hugging Face model to serve."
  type        = string
  default     = "meta-llama/Llama-3.1-70B-Instruct"
}

variable "gpus_per_replica" {
  description = "GPUs each replica gets; vLLM's tensor parallelism is set to match."
  type        = number
  default     = 4

  validation {
    condition     = contains([1, 2, 4, 8], var.gpus_per_replica)
    error_message = "gpus_per_replica must be 1, 2, 4 or 8 so tensor parallelism divides the attention heads."
  }
}

variable "replicas" {
  type = object({
    min = number
    max = optional(number, 4)
  })
  default = { min = 2 }

  validation {
    condition     = var.replicas.min >= 1 && var.replicas.min <= var.replicas.max
    error_message = "replicas.min must be at least 1 and at most replicas.max."
  }
}

variable "hf_token" {
  description = "Token for gated models."
  type        = string
  default     = "hf_example_not_a_real_token"
  sensitive   = true
}
