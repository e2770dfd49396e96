output "endpoints" {
  description = "The cluster-local URL of each LLM service (OpenAI-compatible API)."
  value = {
    (kubernetes_llm_service.small.name) = kubernetes_llm_service.small.endpoint
    (kubernetes_llm_service.large.name) = kubernetes_llm_service.large.endpoint
  }
}

output "gpus_per_replica" {
  value = {
    (kubernetes_llm_service.small.name) = kubernetes_llm_service.small.tensor_parallel_size
    (kubernetes_llm_service.large.name) = kubernetes_llm_service.large.tensor_parallel_size
  }
}

output "pipeline_steps" {
  value = module.fine_tune.steps
}

output "checkpoint" {
  value = module.fine_tune.checkpoint
}
