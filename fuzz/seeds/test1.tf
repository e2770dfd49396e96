
resource "aws_instance" "x" {}
output "n" {
  value = length([aws_instance.x.id, "b", aws_instance.x.arn])
}
