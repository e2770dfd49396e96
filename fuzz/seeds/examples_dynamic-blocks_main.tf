# dynamic blocks: one ingress rule per port of each exposed service, and one
# toleration per GPU taint, generated from data instead of written out by hand.

variable "services" {
  type = map(object({
    port     = number
    internal = optional(bool, true)
  }))
  default = {
    vllm       = { port = 8000 }
    prometheus = { port = 9090 }
    gateway    = { port = 443, internal = false }
  }
}

variable "gpu_taints" {
  type    = list(string)
  default = ["nvidia.com/gpu", "plinth.dev/dedicated"]
}

resource "aws_security_group" "serving" {
  name        = "llm-serving"
  description = "Traffic to the model servers"

  dynamic "ingress" {
    for_each = var.services
    iterator = svc
    content {
      description = "${svc.key} on ${svc.value.port}"
      from_port   = svc.value.port
      to_port     = svc.value.port
      protocol    = "tcp"
      cidr_blocks = svc.value.internal ? ["10.0.0.0/8"] : ["0.0.0.0/0"]
    }
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "kubernetes_deployment" "vllm" {
  metadata {
    name = "vllm"
  }

  spec {
    template {
      spec {
        dynamic "toleration" {
          for_each = var.gpu_taints
          content {
            key      = toleration.value
            operator = "Exists"
            effect   = "NoSchedule"
          }
        }
      }
    }
  }
}

output "public_ports" {
  value = [for name, s in var.services : s.port if !s.internal]
}
