//! Checks Terraform's configuration loader makes before anything is evaluated, each
//! the smallest stack that shows it: the diagnostics plinth's loader gives (summary
//! and `file:line:column`), and, where Terraform v1.0.3 has the rule,
//! `terraform validate` on the same stack agreeing. Rules added or relaxed after
//! 1.0 follow Terraform 1.9's loader.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

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
