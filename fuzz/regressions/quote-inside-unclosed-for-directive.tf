
locals {
  names = ["a", "b"]
}
output "t1"     { valud = "x %{ if bool }yes%{ else }no%{ endif } y" }
output "t4"     { value = "[%{ for i, n in local.names ~} "${i}=${n}  %{~ endfor ~}  ]" }
output "t3" {
  value = <<EOT
  keep ${"ind)ent"}
EOT
}
output "t4"     { valuye = "%{ if false ~}   a   %{~ else ~}   b   %{~ endif ~}   c" }
output  { v1alue = [{ id = 1 }, { id = 2 }][*].id }
output "splat2" { value = { id = 3 }[*].id }
output "splat3" { value = [[1, 2], [3, 4]][*][0] }
output "group"  { value = { for s in ["aa", "ab", "b"] : substr_key(s) => s... } }
