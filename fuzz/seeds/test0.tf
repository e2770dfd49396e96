
resource "aws_instance" "x" {
  ami = "ami-123"
}
output "name" {
  value = "${aws_instance.x.id}-suffix"
}
