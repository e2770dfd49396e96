# The whole AI platform in one stack and one apply: the AWS platform (VPC, EKS with
# CPU and GPU pools, ECR, the weights bucket) and, on the cluster it creates, the
# serving layer (two vLLM services and the fine-tuning pipeline).
#
# The Kubernetes provider is configured from the cluster this same stack creates.
# Terraform cannot plan that in one run; plinth plans and applies the AWS part, then
# plans and applies the rest, in the same `apply`. Against an emulator,
# kubernetes_host points the provider at it instead.

terraform {
  required_providers {
    aws = {
      source = "plinth/aws"
    }
    kubernetes = {
      source = "plinth/kubernetes"
    }
  }
}

# The same settings as stacks/aws-llm-platform's own provider block (which that stack
# uses when it is applied alone).
provider "aws" {
  region = var.region

  default_tags {
    tags = {
      platform   = var.cluster_name
      managed-by = "plinth"
    }
  }
}

module "aws" {
  source = "../aws-llm-platform"

  region        = var.region
  cluster_name  = var.cluster_name
  bucket_suffix = var.bucket_suffix
}

provider "kubernetes" {
  host                   = var.kubernetes_host != null ? var.kubernetes_host : module.aws.cluster_endpoint
  cluster_ca_certificate = var.kubernetes_host != null ? null : base64decode(module.aws.cluster_certificate_authority)
  token                  = var.kubernetes_token

  # How EKS clusters are reached: a token from the AWS CLI, for the caller's identity.
  dynamic "exec" {
    for_each = var.kubernetes_host != null ? [] : [module.aws.cluster_name]
    content {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", exec.value, "--region", var.region]
    }
  }
}

module "serving" {
  source = "../modules/llm-serving"

  hf_token        = var.hf_token
  weights_bucket  = module.aws.weights_bucket
  rollout_timeout = var.rollout_timeout
  step_timeout    = var.step_timeout
}
