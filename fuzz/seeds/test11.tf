
variable "ports" { default = [80, 443] }
resource "aws_security_group" "web" {
  name = "web"
  dynamic "ingress" {
    for_each = var.ports
    iterator = port
    content {
      from_port = port.value
      to_port   = port.value
      index     = port.key
    }
  }
  dynamic "egress" {
    for_each = { all = "0.0.0.0/0" }
    content {
      cidr = egress.value
      name = egress.key
    }
  }
}
