
variable "gpus" { type = number }
variable "name" { type = string }
resource "terraform_data" "node" {
  count = 2
  input = "${var.name}-${count.index}"
}
output "total" { value = var.gpus * 2 }
