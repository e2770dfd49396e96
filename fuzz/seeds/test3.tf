
resource "aws_instance" "x" {}
locals {
  u = aws_instance.x.size
}
output "sum"    { value = local.u + 1 }
output "cmp"    { value = local.u > 1 }
output "not"    { value = !local.u }
output "for"    { value = [for v in local.u : v] }
output "forin"  { value = [for v in [1, local.u] : v * 2] }
output "splat"  { value = local.u[*].id }
output "index"  { value = [1, 2][local.u] }
output "eq"     { value = local.u == "a" }
