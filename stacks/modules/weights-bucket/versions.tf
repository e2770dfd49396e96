terraform {
  required_providers {
    aws = {
      source = "plinth/aws"
    }
  }
}
