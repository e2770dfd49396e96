//! `plinth validate` with Terraform's semantics: every module's input variables (the
//! root's too) are unknowns of their declared types, `count` and `for_each` are not
//! expanded, pre- and postconditions are evaluated for errors only, and an unknown
//! condition reports neither branch's errors; plan still evaluates everything.
//! Conditional results unify by HCL's rules in every command. Checked against
//! Terraform v1.0.3 where it has the feature.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common;

fn terraform(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(crate::json_plan::terraform_binary())
        .args(args)
        .current_dir(dir)
        .env("TF_IN_AUTOMATION", "1")
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

/// The lines of main.tf that errors are reported at, in Terraform's text
/// (`on main.tf line 21`) or plinth's (`main.tf:21:30`).
fn error_lines(text: &str) -> Vec<u32> {
    let mut lines: Vec<u32> = text
        .match_indices("main.tf")
        .filter_map(|(i, _)| {
            let rest = &text[i + "main.tf".len()..];
            let digits = rest
                .strip_prefix(" line ")
                .or_else(|| rest.strip_prefix(':'))?;
            digits
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

/// Root variables with defaults that would fail (`null` in a template, `coalesce` of
/// nothing, `sum` of an empty list, an index into an empty list behind a condition)
/// validate, as in Terraform, and fail in plan at the same lines as Terraform's plan.
#[test]
fn root_variables_are_unknowns_in_validate_and_values_in_plan() {
    let main = r#"variable "c" {
  type    = bool
  default = true
}
variable "name" {
  type    = string
  default = null
}
variable "other" {
  type    = string
  default = ""
}
variable "l" {
  type    = list(string)
  default = []
}
locals {
  empty = []
}
output "b" {
  value = var.c ? local.empty[0] : "x"
}
output "n" {
  value = "${var.name}-x"
}
output "o" {
  value = coalesce(var.name, var.other)
}
output "s" {
  value = var.c ? toset(var.l) : []
}
output "m" {
  value = var.c ? { a = 1 } : {}
}
output "t" {
  value = sum(var.l[*])
}
"#;
    let dir = common::stack(&[("main.tf", main)]);
    let (code, init) = terraform(dir.path(), &["init", "-backend=false", "-no-color"]);
    assert_eq!(code, 0, "{init}");
    let (code, theirs) = terraform(dir.path(), &["validate", "-no-color"]);
    assert_eq!(code, 0, "{theirs}");
    let ours = common::plinth(dir.path(), &["validate"]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);

    let (code, theirs) = terraform(dir.path(), &["plan", "-no-color", "-input=false"]);
    assert_eq!(code, 1, "{theirs}");
    let ours = common::plinth(dir.path(), &["plan"]);
    assert_eq!(ours.code, 1, "{}", ours.stdout);
    assert_eq!(
        error_lines(&ours.stderr),
        error_lines(&theirs),
        "{}",
        ours.stderr
    );
    assert_eq!(error_lines(&theirs), [21, 24, 27, 36]);
}

/// `cond ? a : b` takes the type both results convert to, as HCL's unification does:
/// same-kind types kind by kind, and across kinds the first collection type the other
/// converts to. Each expression's value printed by `plinth console` equals Terraform
/// v1.0.3's; the ones without a common type are errors in both.
#[test]
fn conditional_results_unify_as_in_terraform() {
    let expressions = [
        r#"true ? toset(["a", "a"]) : []"#,
        r#"false ? toset(["a"]) : []"#,
        "false ? { a = 1 } : {}",
        "true ? { a = 1 } : {}",
        r#"length(true ? tolist(["a", "a"]) : toset(["b"]))"#,
        r#"length(true ? toset(["a", "a"]) : tolist(["b"]))"#,
        "true ? [] : null",
        r#"true ? ["a", 1] : tolist(["x"])"#,
        r#"true ? { a = "x" } : tomap({ b = 1 })"#,
        r#"true ? { a = "x" } : { a = 1, b = 2 }"#,
        r#"true ? [1] : ["a", "b"]"#,
        r#"true ? toset([1]) : ["a"]"#,
        r#"true ? tomap({ a = 1 }) : { b = "x" }"#,
        r#"true ? { a = 1 } : ["x"]"#,
        "true ? 1 : true",
        r#"true ? toset(["a"]) : { a = "b" }"#,
        "true ? tolist([]) : tomap({})",
        r#"true ? tolist(["a"]) : [["b"]]"#,
    ];
    let dir = common::stack(&[("main.tf", "")]);
    let console = |program: &Path, args: &[&str], expression: &str| {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start console");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{expression}\n").as_bytes())
            .expect("write");
        let out = child.wait_with_output().expect("console");
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if stderr.contains("Inconsistent conditional result types") {
            "Inconsistent conditional result types".to_string()
        } else {
            format!("{stdout}{}", stderr.trim())
        }
    };
    let terraform = crate::json_plan::terraform_binary();
    let plinth = Path::new(env!("CARGO_BIN_EXE_plinth"));
    for expression in expressions {
        let theirs = console(&terraform, &["console"], expression);
        let ours = console(plinth, &["--no-color", "console"], expression);
        assert_eq!(ours, theirs, "{expression}");
    }
}

/// What only later Terraform has, checked against its documented validate rules:
/// repeated resources are one unknown instance (any key, splat or length is fine),
/// preconditions are not failed, a resource of a provider that is not installed is
/// an unknown of any shape, and `nonsensitive` of a plain value is that value
/// (Terraform 1.7). plan evaluates the same stack and fails where the values do.
#[test]
fn validate_neither_expands_nor_checks_conditions() {
    let main = r#"variable "cidr" {
  type    = string
  default = ""
}
resource "terraform_data" "x" {
  count = 2
  lifecycle {
    precondition {
      condition     = length(var.cidr) > 6
      error_message = "cidr is required."
    }
  }
}
resource "terraform_data" "y" {
  for_each = { a = 1 }
}
output "a" {
  value = [terraform_data.x[5].id, terraform_data.y["zzz"].id, length(terraform_data.x), terraform_data.x[*].id]
}
output "e" {
  value = nonsensitive("plain")
}
"#;
    let schemaless = "resource \"aws_instance\" \"z\" {\n  ami = \"x\"\n}\noutput \"d\" {\n  value = aws_instance.z.anything[0].foo\n}\n";
    let dir = common::stack(&[("main.tf", main), ("aws.tf", schemaless)]);
    let validate = common::plinth(dir.path(), &["validate"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
    assert!(
        validate.stderr.contains("Provider not installed"),
        "{}",
        validate.stderr
    );

    std::fs::remove_file(dir.path().join("aws.tf")).expect("remove");
    let plan = common::plinth(dir.path(), &["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    assert!(
        plan.stderr.contains("Resource precondition failed")
            && plan.stderr.contains("cidr is required.")
            && plan.stderr.contains("Invalid index")
            && plan.stderr.contains("main.tf:18"),
        "{}",
        plan.stderr
    );
}

/// validate still checks the `count` it does not expand: a string is not a number.
#[test]
fn validate_still_checks_what_it_can_know() {
    let dir = common::main_tf("resource \"terraform_data\" \"x\" {\n  count = \"many\"\n}\n");
    let run = common::plinth(dir.path(), &["validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Invalid count argument") && run.stderr.contains("main.tf:2"),
        "{}",
        run.stderr
    );
}

/// In validate a module call is an unknown object with its outputs' names (a list of
/// them for `count`, a map for `for_each`), neither typed nor marked: a sensitive
/// child output in a plain root output, or an index into a child's list output, is
/// found by plan, not by validate, in Terraform v1.0.3 and in plinth.
#[test]
fn module_calls_are_unknown_objects_in_validate() {
    let module = "output \"secret\" {\n  value     = \"s\"\n  sensitive = true\n}\noutput \"list\" {\n  value = []\n}\n";
    let main = "module \"m\" {\n  source = \"./mod\"\n}\nmodule \"n\" {\n  source = \"./mod\"\n  count  = 1\n}\noutput \"o\" {\n  value = module.m.secret\n}\noutput \"p\" {\n  value = [module.m.list[3], module.n[5].list, length(module.n)]\n}\n";
    let dir = common::stack(&[("main.tf", main), ("mod/main.tf", module)]);
    let (code, init) = terraform(dir.path(), &["init", "-backend=false", "-no-color"]);
    assert_eq!(code, 0, "{init}");
    let (code, theirs) = terraform(dir.path(), &["validate", "-no-color"]);
    assert_eq!(code, 0, "{theirs}");
    let ours = common::plinth(dir.path(), &["validate"]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);

    let (code, theirs) = terraform(dir.path(), &["plan", "-no-color", "-input=false"]);
    assert_eq!(code, 1, "{theirs}");
    let ours = common::plinth(dir.path(), &["plan"]);
    assert_eq!(ours.code, 1, "{}", ours.stdout);
    for error in ["Output refers to sensitive values", "Invalid index"] {
        assert!(
            theirs.contains(error) && ours.stderr.contains(error),
            "{error}: {}",
            ours.stderr
        );
    }

    // An output the child does not declare is still an error.
    std::fs::write(
        dir.path().join("main.tf"),
        "module \"m\" {\n  source = \"./mod\"\n}\noutput \"o\" {\n  value = module.m.nope\n}\n",
    )
    .expect("write");
    let ours = common::plinth(dir.path(), &["validate"]);
    assert_eq!(ours.code, 1, "{}", ours.stdout);
    assert!(ours.stderr.contains("main.tf:5"), "{}", ours.stderr);
}

/// A validation rule that cannot be evaluated for a root variable's default
/// (`contains` of a null) is not an error in validate, which checks the rule for any
/// value of the variable's type, and is one in plan: as in Terraform v1.0.3. (A
/// default the rule rejects is still reported by plinth's validate:
/// validate_errors::failing_validation_of_a_default.)
#[test]
fn validation_rules_are_checked_for_any_value_in_validate() {
    let main = "variable \"mode\" {\n  type    = string\n  default = null\n  validation {\n    condition     = contains([\"A\", \"B\"], var.mode)\n    error_message = \"The mode is A or B.\"\n  }\n}\noutput \"mode\" {\n  value = var.mode\n}\n";
    let dir = common::stack(&[("main.tf", main)]);
    let (code, init) = terraform(dir.path(), &["init", "-backend=false", "-no-color"]);
    assert_eq!(code, 0, "{init}");
    let (code, theirs) = terraform(dir.path(), &["validate", "-no-color"]);
    assert_eq!(code, 0, "{theirs}");
    let ours = common::plinth(dir.path(), &["validate"]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let (code, theirs) = terraform(dir.path(), &["plan", "-no-color", "-input=false"]);
    assert_eq!(code, 1, "{theirs}");
    let ours = common::plinth(dir.path(), &["plan"]);
    assert_eq!(ours.code, 1, "{}", ours.stdout);
    assert_eq!(
        error_lines(&ours.stderr),
        error_lines(&theirs),
        "{}",
        ours.stderr
    );
}

/// With an unknown condition, results that have no common type are still an error in
/// validate (object and tuple, number and bool, list and object, map and list), and
/// the rest are not: the same lines as Terraform v1.0.3's validate.
#[test]
fn conditional_types_are_checked_for_unknown_conditions() {
    let main = r#"variable "c" {
  type = bool
}
variable "l" {
  type = list(string)
}
variable "m" {
  type = map(string)
}
output "a" {
  value = var.c ? { a = 1 } : ["x"]
}
output "b" {
  value = var.c ? 1 : true
}
output "c" {
  value = var.c ? var.l : toset(var.l)
}
output "d" {
  value = var.c ? var.m : { a = "x" }
}
output "e" {
  value = var.c ? var.l : {}
}
output "f" {
  value = var.c ? [for x in var.l : x] : null
}
output "g" {
  value = var.c ? var.m : var.l
}
"#;
    let dir = common::stack(&[("main.tf", main)]);
    let (code, init) = terraform(dir.path(), &["init", "-backend=false", "-no-color"]);
    assert_eq!(code, 0, "{init}");
    let (code, theirs) = terraform(dir.path(), &["validate", "-no-color"]);
    assert_eq!(code, 1, "{theirs}");
    let ours = common::plinth(dir.path(), &["validate"]);
    assert_eq!(ours.code, 1, "{}", ours.stdout);
    assert_eq!(
        error_lines(&ours.stderr),
        error_lines(&theirs),
        "{}",
        ours.stderr
    );
    assert_eq!(error_lines(&theirs), [11, 14, 23, 29]);
}
