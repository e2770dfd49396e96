locals {
  region = "us-east-1"
  zone   = "${local.regoin}a"
}
