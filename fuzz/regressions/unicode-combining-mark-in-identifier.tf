
resource "aws_ineta"n cs"x" {}
output "c" {
  value = aws_instancėяublic ? 1 : "two"
}
output "known" {
  value = true ? 1 : "two"
}
