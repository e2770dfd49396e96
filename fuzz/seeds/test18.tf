locals {
  a = local.b
  b = local.c + 1
  c = local.a
}
