resource "terraform_data" "x" {}
output "n" {
  value = terraform_data.x.ouput
}
