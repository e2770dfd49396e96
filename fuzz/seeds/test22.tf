resouce "terraform_data" "x" {}
