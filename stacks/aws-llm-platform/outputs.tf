output "cluster_endpoint" {
  description = "The Kubernetes API endpoint."
  value       = module.cluster.endpoint
}

output "repository_url" {
  description = "Push serving images here."
  value       = module.registry.repository_url
}

output "weights_bucket" {
  value = module.weights.bucket
}

output "gpu_pools" {
  description = "Each GPU pool's node group and the GPUs one node carries."
  value = {
    for name, pool in module.gpu_pools : name => {
      node_group = pool.node_group_name
      gpus       = pool.gpus_per_node
      gpu_model  = pool.gpu_model
    }
  }
}

output "cluster_name" {
  value = module.cluster.name
}

output "cluster_certificate_authority" {
  description = "The cluster's CA certificate, base64-encoded PEM."
  value       = module.cluster.certificate_authority
}
