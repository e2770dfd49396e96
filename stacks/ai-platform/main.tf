# The whole AI platform in one stack and one apply: the AWS platform (VPC, EKS with
# CPU and GPU pools, ECR, the weights bucket; the modules of stacks/aws-llm-platform)
# and, on the cluster it creates, the serving layer (two vLLM services and the
# fine-tuning pipeline).
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

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      platform   = var.cluster_name
      managed-by = "plinth"
    }
  }
}

# The AWS platform, from the same modules as stacks/aws-llm-platform.
module "network" {
  source     = "../modules/network"
  name       = var.cluster_name
  cidr_block = var.vpc_cidr
  zone_count = 3
}

module "cluster" {
  source             = "../modules/eks-cluster"
  name               = var.cluster_name
  kubernetes_version = var.kubernetes_version
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.subnet_ids
}

module "system_pool" {
  source         = "../modules/node-pool"
  cluster_name   = module.cluster.name
  name           = "system"
  node_role_arn  = module.cluster.node_role_arn
  subnet_ids     = module.network.subnet_ids
  instance_types = ["m6i.xlarge"]
  ami_type       = "AL2_x86_64"
  capacity_type  = "ON_DEMAND"
  sizes          = { min = 2, desired = 2, max = 4 }
}

# One pool for each GPU the serving layer asks for: H100 for the 70B model and the
# fine-tuning step, A10G (spot) for the 8B model.
module "gpu_pools" {
  source   = "../modules/node-pool"
  for_each = var.gpu_pools

  cluster_name   = module.cluster.name
  name           = each.key
  node_role_arn  = module.cluster.node_role_arn
  subnet_ids     = module.network.subnet_ids
  instance_types = each.value.instance_types
  ami_type       = "AL2_x86_64_GPU"
  capacity_type  = each.value.capacity_type
  interruptible  = contains(var.interruptible_pools, each.key)
  sizes          = each.value.sizes
  gpu            = true
}

module "registry" {
  source      = "../modules/model-registry"
  name        = "${var.cluster_name}/serving"
  keep_images = 30
}

module "weights" {
  source      = "../modules/weights-bucket"
  bucket_name = "${var.cluster_name}-model-weights-${var.bucket_suffix}"
}

provider "kubernetes" {
  host                   = var.kubernetes_host != null ? var.kubernetes_host : module.cluster.endpoint
  cluster_ca_certificate = var.kubernetes_host != null ? null : base64decode(module.cluster.certificate_authority)
  token                  = var.kubernetes_token

  # How EKS clusters are reached: a token from the AWS CLI, for the caller's identity.
  dynamic "exec" {
    for_each = var.kubernetes_host != null ? [] : [module.cluster.name]
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
  weights_bucket  = module.weights.bucket
  rollout_timeout = var.rollout_timeout
  step_timeout    = var.step_timeout
}
