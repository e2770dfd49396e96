
resource "aws_instance" "x" {}
output "c" {
  value = aws_instance.x.public ? 1 : "two"
}
output "known" {
  value = true ? 1 : "two"
}
