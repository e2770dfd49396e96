
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
variable "pools" {
  type    = list(number)
  default = []
}
output "all" { value = [var.a, var.b, var.c, var.d, var.e] }
output "pools" { value = var.pools }
