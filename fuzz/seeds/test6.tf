
output "big"  { value = 9223372036854775807 + 1 }
output "dec"  { value = 0.1 + 0.2 }
output "str"  { value = "v${10 / 4}" }
output "bare" { value = "${10 / 4}" }
