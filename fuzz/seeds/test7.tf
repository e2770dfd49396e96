
locals {
  names = ["a", "b"]
}
output "t1"     { value = "x %{ if true }yes%{ else }no%{ endif } y" }
output "t2"     { value = "[%{ for i, n in local.names ~}  ${i}=${n}  %{~ endfor ~}  ]" }
output "t3" {
  value = <<EOT
  keep ${"indent"}
EOT
}
output "t4"     { value = "%{ if false ~}   a   %{~ else ~}   b   %{~ endif ~}   c" }
output "t5"     { value = "$${literal} %%{literal}" }
output "splat"  { value = [{ id = 1 }, { id = 2 }][*].id }
output "splat2" { value = { id = 3 }[*].id }
output "splat3" { value = [[1, 2], [3, 4]][*][0] }
output "group"  { value = { for s in ["aa", "ab", "b"] : substr_key(s) => s... } }
