//! Checks Terraform's configuration loader makes before anything is evaluated, each
//! the smallest stack that shows it: the diagnostics plinth's loader gives (summary
//! and `file:line:column`), and, where Terraform v1.0.3 has the rule,
//! `terraform validate` on the same stack agreeing. Rules added or relaxed after
//! 1.0 follow Terraform 1.9's loader.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{local_provider_dir, Run};

/// Each diagnostic of loading `files`: (is an error, summary, where).
fn load(files: &[(&str, &str)]) -> Vec<(bool, String, String)> {
    let dir = common::stack(files);
    load_dir(dir.path())
}

fn load_dir(dir: &Path) -> Vec<(bool, String, String)> {
    let mut sources = plinth::diag::Sources::default();
    let (_, diags) = plinth::config::load_stack(dir, &mut sources);
    diags
        .items
        .iter()
        .map(|d| {
            let at = d.span.map(|s| sources.location(s)).unwrap_or_default();
            (d.is_error(), d.summary.clone(), at)
        })
        .collect()
}

fn errors(files: &[(&str, &str)]) -> Vec<(String, String)> {
    load(files)
        .into_iter()
        .filter(|d| d.0)
        .map(|(_, summary, at)| (summary, at))
        .collect()
}

fn error_pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(s, a)| (s.to_string(), a.to_string()))
        .collect()
}

fn main_tf(text: &str) -> Vec<(&str, &str)> {
    vec![("main.tf", text)]
}

fn terraform_binary() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/terraform-path");
    let out = Command::new(script).output().expect("run terraform-path");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Terraform v1.0.3's `terraform validate` fails on `files` with each of `summaries`.
fn terraform_refuses(files: &[(&str, &str)], summaries: &[&str]) {
    let dir = common::stack(files);
    let out = Command::new(terraform_binary())
        .args(["validate", "-no-color"])
        .current_dir(dir.path())
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("run terraform");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "terraform accepted it");
    for s in summaries {
        assert!(stderr.contains(s), "terraform lacks {s:?}:\n{stderr}");
    }
}

// provider blocks and provider references

#[test]
fn provider_blocks_reserve_meta_argument_names() {
    let files = main_tf(
        r#"provider "test" {
  alias     = "foo"
  version   = "1.0.0"
  arbitrary = true
  count     = 3
  source    = "foo.example.com/baz/bar"
  lifecycle {}
}
"#,
    );
    let all = load(&files);
    assert!(
        all.contains(&(
            false,
            "Version constraints inside provider configuration blocks are deprecated".into(),
            "main.tf:3:15".into()
        )),
        "{all:#?}"
    );
    assert_eq!(
        errors(&files),
        error_pairs(&[
            ("Reserved argument name in provider block", "main.tf:5:3"),
            ("Reserved argument name in provider block", "main.tf:6:3"),
            ("Reserved block type name in provider block", "main.tf:7:3"),
        ])
    );
    terraform_refuses(
        &files,
        &[
            "Reserved argument name in provider block",
            "Reserved block type name in provider block",
        ],
    );
}

#[test]
fn a_provider_reference_names_a_valid_local_name() {
    for kind in ["resource", "data"] {
        let text = format!("{kind} \"test_resource\" \"t\" {{\n  provider = my_test\n}}\n");
        let files = main_tf(&text);
        assert_eq!(
            errors(&files),
            error_pairs(&[("Invalid provider local name", "main.tf:2:14")])
        );
        terraform_refuses(&files, &["Invalid provider local name"]);
    }
}

// lifecycle blocks

#[test]
fn a_data_resource_lifecycle_holds_only_conditions() {
    let files = main_tf(
        r#"data "example" "example" {
  lifecycle {
    ignore_changes = []
    postcondition {
      condition     = self.id != ""
      error_message = "Needs an id."
    }
  }
}
"#,
    );
    assert_eq!(
        errors(&files),
        error_pairs(&[("Invalid data resource lifecycle argument", "main.tf:3:5")])
    );
}

#[test]
fn a_condition_may_not_name_its_own_resource() {
    let files = main_tf(
        r#"data "example" "d" {
  lifecycle {
    precondition {
      condition     = data.example.d.foo == 5
      error_message = "Must be five."
    }
  }
}
resource "example" "r" {
  lifecycle {
    postcondition {
      condition     = self.foo == 5
      error_message = "Must be five, but is ${example.r.foo}."
    }
    precondition {
      condition     = data.example.d.foo == 5
      error_message = "Another resource is fine."
    }
  }
}
"#,
    );
    assert_eq!(
        errors(&files),
        error_pairs(&[
            ("Invalid reference in precondition", "main.tf:4:23"),
            ("Invalid reference in postcondition", "main.tf:13:47"),
        ])
    );
}

#[test]
fn replace_triggered_by_names_one_resource_with_count_index_or_each_key() {
    let ok = main_tf(
        r#"resource "test" "a" {
  for_each = {}
  lifecycle {
    replace_triggered_by = [test.b[each.key].id, test.c[count.index], test.d]
  }
}
"#,
    );
    assert_eq!(errors(&ok), Vec::new());
    let bad = main_tf(
        r#"resource "test" "a" {
  for_each = {}
  lifecycle {
    replace_triggered_by = [
      test.b[each.value],
      test.b[each.val],
      not_a_reference,
      var.x,
      [test.b, test.c],
    ]
  }
}
"#,
    );
    let got = errors(&bad);
    for want in [
        (
            "Invalid each reference in replace_triggered_by expression",
            "main.tf:5:14",
        ),
        ("Invalid \"each\" attribute", "main.tf:6:18"),
        ("Invalid reference", "main.tf:7:7"),
        (
            "Invalid reference in replace_triggered_by expression",
            "main.tf:8:7",
        ),
        ("Invalid replace_triggered_by expression", "main.tf:8:7"),
        ("Invalid replace_triggered_by expression", "main.tf:9:7"),
    ] {
        assert!(
            got.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} not in {got:#?}"
        );
    }
}

#[test]
fn replace_triggered_by_in_json_must_be_references() {
    let files = [(
        "main.tf.json",
        r#"{"resource": {"test_object": {"b": {"lifecycle": {
  "replace_triggered_by": [{"test_object.a[count.index].test_string": "nope"}]
}}}}}"#,
    )];
    let got = errors(&files);
    assert!(
        got.iter()
            .any(|(s, at)| s == "Invalid replace_triggered_by expression"
                && at.starts_with("main.tf.json:2:")),
        "{got:#?}"
    );
}

// variables

#[test]
fn a_validation_condition_must_refer_to_its_variable() {
    let files = main_tf(
        r#"variable "v" {
  validation {
    condition     = true
    error_message = "Must be true."
  }
}
"#,
    );
    assert_eq!(
        errors(&files),
        error_pairs(&[("Invalid variable validation condition", "main.tf:3:21")])
    );
    terraform_refuses(&files, &["Invalid variable validation condition"]);
    // Terraform 1.9 lets a condition refer to other objects, beside its variable.
    let other = main_tf(
        r#"locals {
  allowed = ["a", "b"]
}
variable "v" {
  validation {
    condition     = contains(local.allowed, var.v)
    error_message = "Not allowed."
  }
}
variable "w" {
  validation {
    condition     = local.allowed != []
    error_message = "Needs var.w."
  }
}
"#,
    );
    assert_eq!(
        errors(&other),
        error_pairs(&[("Invalid variable validation condition", "main.tf:12:21")])
    );
}

// terraform blocks

#[test]
fn the_language_edition_is_tf2021() {
    assert_eq!(
        errors(&main_tf("terraform {\n  language = TF2021\n}\n")),
        Vec::new()
    );
    assert_eq!(
        errors(&main_tf("terraform {\n  language = TF2050\n}\n")),
        error_pairs(&[("Unsupported language edition", "main.tf:2:14")])
    );
    assert_eq!(
        errors(&main_tf("terraform {\n  language = \"TF2021\"\n}\n")),
        error_pairs(&[("Invalid language edition", "main.tf:2:14")])
    );
}

#[test]
fn experiments_are_for_alpha_releases_only() {
    assert_eq!(
        errors(&main_tf(
            "terraform {\n  experiments = [everything_is_a_plan]\n}\n"
        )),
        error_pairs(&[("Module uses experimental features", "main.tf:2:3")])
    );
}

#[test]
fn a_module_has_one_backend_and_an_override_file_one_of_each_kind() {
    let two =
        main_tf("terraform {\n  backend \"local\" {}\n}\nterraform {\n  backend \"s3\" {}\n}\n");
    assert_eq!(
        errors(&two),
        error_pairs(&[("Duplicate backend configuration", "main.tf:5:3")])
    );
    terraform_refuses(&two, &["Duplicate backend configuration"]);
    let both = main_tf("terraform {\n  backend \"local\" {}\n  cloud {}\n}\n");
    assert_eq!(
        errors(&both),
        error_pairs(&[(
            "Both a backend and cloud configuration are present",
            "main.tf:3:3"
        )])
    );
    let overridden = [
        ("main.tf", "terraform {\n  cloud {\n    organization = \"foo\"\n  }\n}\n"),
        (
            "override.tf",
            "terraform {\n  cloud {\n    organization = \"foo\"\n  }\n}\n\nterraform {\n  cloud {\n    organization = \"bar\"\n  }\n}\n",
        ),
    ];
    assert_eq!(
        errors(&overridden),
        error_pairs(&[("Duplicate HCP Terraform configurations", "override.tf:8:3")])
    );
    let replaced = [
        ("main.tf", "terraform {\n  cloud {}\n}\n"),
        ("override.tf", "terraform {\n  backend \"local\" {}\n}\n"),
    ];
    assert_eq!(errors(&replaced), Vec::new());
}

// override files

#[test]
fn override_files_replace_a_module_calls_source_arguments_and_providers() {
    let dir = common::stack(&[
        (
            "primary.tf",
            r#"module "example" {
  source = "./example2"
  kept   = "primary kept"
  foo    = "primary foo"
  providers = {
    test = test.foo
  }
}
"#,
        ),
        (
            "a_override.tf",
            r#"module "example" {
  source = "./example2-a_override"
  foo    = "a_override foo"
  new    = "a_override new"
  providers = {
    test = test.a_override
  }
}
"#,
        ),
        (
            "b_override.tf",
            r#"module "example" {
  new   = "b_override new"
  newer = "b_override newer"
  providers = {
    test = test.b_override
  }
}
"#,
        ),
    ]);
    std::fs::create_dir(dir.path().join("example2-a_override")).expect("dir");
    let mut sources = plinth::diag::Sources::default();
    let (config, diags) = plinth::config::load_stack(dir.path(), &mut sources);
    assert!(!diags.has_errors(), "{:#?}", diags.items);
    let call = &config.modules[0].module_calls[0];
    assert_eq!(call.source, "./example2-a_override");
    let inputs: Vec<(String, String)> = call
        .inputs
        .iter()
        .map(|a| {
            let span = a.expr.span().expect("span");
            (a.name.clone(), sources.text(span).to_string())
        })
        .collect();
    let want = [
        ("kept", "\"primary kept\""),
        ("foo", "\"a_override foo\""),
        ("new", "\"b_override new\""),
        ("newer", "\"b_override newer\""),
    ];
    for (name, text) in want {
        assert!(
            inputs.contains(&(name.to_string(), text.to_string())),
            "{name} = {text} not in {inputs:?}"
        );
    }
    let providers: Vec<String> = call
        .providers
        .iter()
        .map(|(child, p)| format!("{child}={}.{}", p.name, p.alias.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(providers, ["test=test.b_override"]);
}

// import blocks

#[test]
fn import_blocks_with_for_each_load_and_their_addresses_are_checked() {
    let ok = main_tf(
        r#"import {
  for_each = { a = "id-a", b = "id-b" }
  to       = test.x[each.key]
  id       = each.value
}
import {
  for_each = ["one"]
  to       = module.m.test.y[each.value]
  id       = each.value
}
resource "test" "x" {
  for_each = { a = 1, b = 2 }
}
"#,
    );
    assert_eq!(errors(&ok), Vec::new());
    let bad = main_tf(
        r#"import {
  for_each = { a = "id-a" }
  to       = test.x
  id       = each.value
}
import {
  for_each = { a = "id-a" }
  to       = test.x[var.k]
  id       = each.value
}
import {
  to = test.y
  id = "one"
}
import {
  to = test.y
  id = "two"
}
import {
  to = data.test.z
  id = "three"
}
"#,
    );
    assert_eq!(
        errors(&bad),
        error_pairs(&[
            ("Invalid import address", "main.tf:3:14"),
            ("Invalid import address", "main.tf:8:21"),
            ("Invalid import address", "main.tf:20:8"),
            (
                "Duplicate import configuration for \"test.y\"",
                "main.tf:16:8"
            ),
        ])
    );
}

fn run_with(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("path"), "--no-color"])
        .args(args)
        .env("PLINTH_PLUGIN_DIR", local_provider_dir())
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .output()
        .expect("run plinth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const LOCAL_PROVIDER: &str = r#"terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}
"#;

#[test]
fn import_with_for_each_plans_and_applies_one_import_per_element() {
    let text = format!(
        "{LOCAL_PROVIDER}{}",
        r#"variable "names" {
  type    = list(string)
  default = ["a", "b"]
}
locals {
  files = { for n in var.names : n => "./existing/${n}.txt" }
}
import {
  for_each = local.files
  to       = local_file.f[each.key]
  id       = each.value
}
resource "local_file" "f" {
  for_each        = local.files
  filename        = each.value
  content         = "${each.key}\n"
  file_permission = "0644"
}
"#
    );
    let dir = common::stack(&main_tf(&text));
    let d = dir.path();
    std::fs::create_dir(d.join("existing")).expect("dir");
    use std::os::unix::fs::PermissionsExt;
    for name in ["a", "b"] {
        let path = d.join("existing").join(format!("{name}.txt"));
        std::fs::write(&path, format!("{name}\n")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let plan = run_with(d, &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    for name in ["a", "b"] {
        let line = format!("# local_file.f[\"{name}\"] will be imported");
        assert!(plan.stdout.contains(&line), "{}", plan.stdout);
    }
    assert!(
        plan.stdout
            .contains("Plan: 2 to import, 0 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    let apply = run_with(d, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(
        apply.stdout.contains("2 imported, 0 added, 0 changed"),
        "{}",
        apply.stdout
    );
    let quiet = run_with(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(quiet.code, 0, "{}{}", quiet.stdout, quiet.stderr);
}

#[test]
fn import_for_each_must_be_known_and_name_each_instance_once() {
    let unknown = format!(
        "{LOCAL_PROVIDER}{}",
        r#"resource "local_file" "seed" {
  filename = "./seed.txt"
  content  = "seed"
}
resource "local_file" "f" {
  for_each = toset(["a"])
  filename = "./${each.key}.txt"
  content  = each.key
}
import {
  for_each = toset([local_file.seed.id])
  to       = local_file.f[each.key]
  id       = each.value
}
"#
    );
    let dir = common::stack(&main_tf(&unknown));
    let plan = run_with(dir.path(), &["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    assert!(
        plan.stderr.contains("Invalid for_each argument"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("main.tf:18:"), "{}", plan.stderr);

    let twice = format!(
        "{LOCAL_PROVIDER}{}",
        r#"resource "local_file" "f" {
  for_each = toset(["a"])
  filename = "./${each.key}.txt"
  content  = each.key
}
import {
  for_each = { first = "a", second = "a" }
  to       = local_file.f[each.value]
  id       = "./${each.value}.txt"
}
"#
    );
    let dir = common::stack(&main_tf(&twice));
    let plan = run_with(dir.path(), &["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    assert!(
        plan.stderr
            .contains("Duplicate import configuration for \"local_file.f[\\\"a\\\"]\""),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("main.tf:15:"), "{}", plan.stderr);

    let missing = format!(
        "{LOCAL_PROVIDER}{}",
        r#"resource "local_file" "f" {
  for_each = toset(["a"])
  filename = "./${each.key}.txt"
  content  = each.key
}
resource "local_file" "single" {
  filename = "./single.txt"
  content  = "single"
}
import {
  for_each = toset(["b"])
  to       = local_file.f[each.key]
  id       = "./${each.value}.txt"
}
import {
  to = local_file.single[0]
  id = "./single.txt"
}
"#
    );
    let dir = common::stack(&main_tf(&missing));
    let plan = run_with(dir.path(), &["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    for line in ["main.tf:19:", "main.tf:23:"] {
        assert!(
            plan.stderr
                .contains("Configuration for import target does not exist")
                && plan.stderr.contains(line),
            "{line}: {}",
            plan.stderr
        );
    }
}
