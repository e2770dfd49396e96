//! The functions of Terraform's built-in `terraform` provider (1.8), called as
//! `provider::terraform::NAME` with no `required_providers` entry, through a stack:
//! values from Terraform's own tests of them, and errors at the call's line.

use crate::common;

use common::{evaluate, main_tf, output};
use plinth::lang::Value;

#[test]
fn encode_and_decode_tfvars_and_encode_expr_evaluate_in_a_stack() {
    let dir = main_tf(
        r#"
locals {
  vars = {
    region = "us-east-1"
    zones  = ["a", "b"]
    tags   = { team = "ml" }
  }
}
output "tfvars" {
  value = provider::terraform::encode_tfvars(local.vars)
}
output "expr" {
  value = provider::terraform::encode_expr("hel${"$"}{lo")
}
output "decoded" {
  value = provider::terraform::decode_tfvars("count = 2\nname = \"x\"\n")
}
"#,
    );
    let s = evaluate(dir.path());
    assert!(!s.diagnostics.has_errors(), "{:?}", s.diagnostics);
    assert_eq!(
        output(&s, "tfvars"),
        Value::string(
            "region = \"us-east-1\"\ntags = {\n  team = \"ml\"\n}\nzones = [\"a\", \"b\"]\n"
        )
    );
    assert_eq!(output(&s, "expr"), Value::string("\"hel$${lo\""));
    let want = Value::Object(
        [
            ("count".to_string(), Value::number(2)),
            ("name".to_string(), Value::string("x")),
        ]
        .into(),
    );
    assert_eq!(output(&s, "decoded"), want);
}

#[test]
fn builtin_provider_function_errors_point_at_the_call() {
    let dir = main_tf(
        r#"
output "bad" {
  value = provider::terraform::encode_tfvars("nope")
}
output "unknown" {
  value = provider::terraform::no_such_function(1)
}
"#,
    );
    let s = evaluate(dir.path());
    let errors: Vec<String> = s
        .diagnostics
        .items
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let at = d.span.map_or(String::new(), |sp| s.sources.location(sp));
            format!("{} @ {at}: {}", d.summary, d.detail)
        })
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("@ main.tf:3:") && e.contains("must be an object")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("Call to unknown function @ main.tf:6:")),
        "{errors:#?}"
    );
}
