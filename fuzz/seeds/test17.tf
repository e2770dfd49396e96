variable "gpus" {
  type    = number
  default = "eight"
}
