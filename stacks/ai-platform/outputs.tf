output "cluster_endpoint" {
  value = module.aws.cluster_endpoint
}

output "repository_url" {
  value = module.aws.repository_url
}

output "weights_bucket" {
  value = module.aws.weights_bucket
}

output "llm_endpoints" {
  value = module.serving.endpoints
}

output "pipeline_steps" {
  value = module.serving.pipeline_steps
}
