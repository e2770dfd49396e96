output "cluster_endpoint" {
  value = module.cluster.endpoint
}

output "repository_url" {
  value = module.registry.repository_url
}

output "weights_bucket" {
  value = module.weights.bucket
}

output "llm_endpoints" {
  value = module.serving.endpoints
}

output "pipeline_steps" {
  value = module.serving.pipeline_steps
}
