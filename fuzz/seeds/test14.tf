variable "cluster_name" {}
output "n" {
  value = var.clustername
}
