# An LLM platform on AWS: a VPC across availability zones, an EKS cluster with a CPU
# pool and two GPU pools (on-demand H100, spot A10G), an ECR repository for serving
# images and an S3 bucket for model weights.
#
# The same stack applies to real AWS and to an emulator: only the endpoint and the
# credentials differ, and both come from the environment (AWS_ENDPOINT_URL,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).

terraform {
  required_providers {
    aws = {
      source = "plinth/aws"
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

module "network" {
  source     = "../modules/network"
  name       = var.cluster_name
  cidr_block = var.vpc_cidr
  zone_count = var.zone_count
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
  sizes          = var.system_pool_sizes
}

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
