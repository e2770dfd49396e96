//! Forms found by running `plinth init` and `plinth validate` over widely used public
//! module repositories (terraform-aws-modules, terraform-google-modules, Azure), each
//! as the smallest stack that shows it; Terraform v1.0.3 is run on the same stack where
//! it has the feature.

use std::process::Command;

use crate::common::{plinth, stack};

fn terraform(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(crate::json_plan::terraform_binary())
        .args(args)
        .current_dir(dir)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("run terraform");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// An object constructor may set a key twice; the last value wins (terraform-aws-alb's
/// and terraform-google-network's examples do it by accident).
#[test]
fn an_object_key_set_twice_keeps_the_last_value() {
    let main = r#"locals {
  x = {
    a = 1
    b = 2
    a = 3
    "q" = "first"
    "q" = "second"
  }
}
output "a" {
  value = local.x.a
}
output "q" {
  value = local.x.q
}
output "keys" {
  value = keys(local.x)
}
"#;
    let dir = stack(&[("main.tf", main)]);
    let validate = plinth(dir.path(), &["validate"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    let (code, out) = terraform(dir.path(), &["validate", "-no-color"]);
    assert_eq!(code, 0, "terraform validate:\n{out}");

    let apply = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    let (code, tf) = terraform(dir.path(), &["apply", "-auto-approve", "-no-color"]);
    assert_eq!(code, 0, "terraform apply:\n{tf}");
    for wanted in ["a = 3", "q = \"second\""] {
        assert!(
            apply.stdout.contains(wanted),
            "plinth lacks {wanted:?}:\n{}",
            apply.stdout
        );
        assert!(tf.contains(wanted), "terraform lacks {wanted:?}:\n{tf}");
    }
    let keys = |text: &str| {
        let at = text.rfind("keys = ").map(|i| &text[i..]).unwrap_or("");
        at.split(']')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect::<String>()
    };
    assert_eq!(keys(&apply.stdout), keys(&tf), "{}\n{tf}", apply.stdout);
}

/// `replace_triggered_by` may index a resource by `each.key` or `count.index`, which
/// `validate` leaves unknown (terraform-azurerm-aks; Terraform 1.2 added the argument).
#[test]
fn replace_triggered_by_indexed_by_each_key_validates() {
    let main = r#"variable "pools" {
  type = map(string)
}
resource "null_resource" "keeper" {
  for_each = var.pools
}
resource "null_resource" "pool" {
  for_each = var.pools
  lifecycle {
    replace_triggered_by = [
      null_resource.keeper[each.key],
      null_resource.keeper[each.key].id,
    ]
  }
}
resource "null_resource" "counted" {
  count = 2
  lifecycle {
    replace_triggered_by = [null_resource.keeper[count.index]]
  }
}
"#;
    let dir = stack(&[("main.tf", main)]);
    let validate = plinth(dir.path(), &["validate"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
}

/// Since Terraform 1.9 a validation may refer to other objects of its module
/// (terraform-azurerm-aks: `var.a == null || var.b == null`); each must be declared,
/// and `count`, `each` and `self` have no value there.
#[test]
fn a_validation_may_refer_to_other_variables_and_locals() {
    let ok = r#"variable "cidrs" {
  type    = list(string)
  default = null
  validation {
    condition     = var.cidrs == null || var.cidr == null || try(var.cidrs[0] == var.cidr, false)
    error_message = "cidr must be the first of cidrs (${local.hint})."
  }
}
variable "cidr" {
  type    = string
  default = null
}
locals {
  hint = "see the docs"
}
"#;
    let dir = stack(&[("main.tf", ok)]);
    let validate = plinth(dir.path(), &["validate"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    let plan = plinth(dir.path(), &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);

    let bad = r#"variable "a" {
  type = string
  validation {
    condition     = var.a != var.missing && var.a != count.index
    error_message = "a is wrong."
  }
}
"#;
    let dir = stack(&[("main.tf", bad)]);
    let validate = plinth(dir.path(), &["validate"]);
    assert_ne!(validate.code, 0, "{}", validate.stdout);
    for wanted in [
        "Reference to undeclared input variable",
        "Invalid reference in variable validation",
    ] {
        assert!(
            validate.stderr.contains(wanted),
            "lacks {wanted:?}:\n{}",
            validate.stderr
        );
    }
}

/// `fmt` formats a file whose object sets a key twice, keeping both items, as
/// `terraform fmt` does.
#[test]
fn fmt_keeps_both_items_of_a_key_set_twice() {
    let dir = stack(&[(
        "main.tf",
        "locals {\n  x = {\n    a = 1\n    bb = 2\n    a = 3\n  }\n}\n",
    )]);
    let fmt = plinth(dir.path(), &["fmt"]);
    assert_eq!(fmt.code, 0, "{}", fmt.stderr);
    let text = std::fs::read_to_string(dir.path().join("main.tf")).expect("read main.tf");
    assert_eq!(
        text,
        "locals {\n  x = {\n    a  = 1\n    bb = 2\n    a  = 3\n  }\n}\n"
    );
}
