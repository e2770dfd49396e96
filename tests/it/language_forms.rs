//! Forms of today's Terraform language that real public modules use, loaded as
//! Terraform loads them: each case is the smallest stack showing the form, and where
//! Terraform v1.0.3 has the feature, its `terraform validate` is run on the same stack
//! and must agree (success, or the same error summary).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{plinth, stack, Run};

fn terraform_binary() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/terraform-path");
        let out = Command::new(script).output().expect("run terraform-path");
        assert!(
            out.status.success(),
            "terraform-path failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
    .clone()
}

fn terraform_validate(dir: &Path) -> Run {
    let out = Command::new(terraform_binary())
        .args(["validate", "-no-color"])
        .current_dir(dir)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .output()
        .expect("run terraform");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Validates `files` with plinth, and with Terraform v1.0.3 when `oracle` is set
/// (stacks that need no provider, so Terraform needs no `init`); both must agree on
/// success, and each `errors` summary must appear in both outputs.
fn validate(files: &[(&str, &str)], oracle: bool, errors: &[&str]) -> Run {
    let dir = stack(files);
    let run = plinth(dir.path(), &["validate"]);
    let expect_ok = errors.is_empty();
    assert_eq!(
        run.code == 0,
        expect_ok,
        "plinth validate:\n{}{}",
        run.stdout,
        run.stderr
    );
    for e in errors {
        assert!(
            run.stderr.contains(e),
            "plinth lacks {e:?}:\n{}",
            run.stderr
        );
    }
    if oracle {
        let tf = terraform_validate(dir.path());
        assert_eq!(
            tf.code == 0,
            expect_ok,
            "terraform validate:\n{}{}",
            tf.stdout,
            tf.stderr
        );
        for e in errors {
            assert!(
                tf.stderr.contains(e),
                "terraform lacks {e:?}:\n{}",
                tf.stderr
            );
        }
    }
    run
}

fn main_tf(text: &str) -> Vec<(&str, &str)> {
    vec![("main.tf", text)]
}

// provider_meta

#[test]
fn provider_meta_is_accepted() {
    validate(
        &main_tf(
            r#"
terraform {
  provider_meta "aws" {
    user_agent = ["github.com/example/module"]
  }
}
"#,
        ),
        true,
        &[],
    );
}

#[test]
fn provider_meta_twice_for_one_provider_is_an_error() {
    let run = validate(
        &main_tf(
            r#"
terraform {
  provider_meta "aws" {
    a = 1
  }
  provider_meta "aws" {
    a = 2
  }
}
"#,
        ),
        true,
        &["Duplicate provider_meta block"],
    );
    assert!(run.stderr.contains("main.tf:6:"), "{}", run.stderr);
}

#[test]
fn provider_meta_takes_constants_and_no_blocks() {
    validate(
        &main_tf(
            r#"
variable "x" {}
terraform {
  provider_meta "aws" {
    user_agent = [var.x]
  }
}
"#,
        ),
        true,
        &["Variables not allowed"],
    );
    validate(
        &main_tf("terraform {\n  provider_meta \"aws\" {\n    nested {}\n  }\n}\n"),
        true,
        &["Unexpected \"nested\" block"],
    );
}

#[test]
fn provider_local_names_must_be_normalized() {
    validate(
        &main_tf(
            r#"
terraform {
  required_providers {
    Foo = { source = "hashicorp/foo" }
  }
  provider_meta "Bar" {}
}
provider "a--b" {}
"#,
        ),
        true,
        &[
            "Invalid provider local name",
            "Replace \"Foo\" with \"foo\"",
            "Replace \"Bar\" with \"bar\"",
            "multiple consecutive",
        ],
    );
}

// A module directory called several times

#[test]
fn a_module_called_twice_reports_its_file_errors_once() {
    let run = validate(
        &[
            (
                "main.tf",
                "module \"a\" {\n  source = \"./child\"\n}\nmodule \"b\" {\n  source = \"./child\"\n}\n",
            ),
            ("child/main.tf", "bogus {}\nlocals {\n  x = \n"),
            ("child/other.tf", "bogus {}\n"),
        ],
        false,
        &["Unsupported block type", "Syntax error"],
    );
    assert_eq!(
        run.stderr.matches("Syntax error").count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("Unsupported block type").count(),
        1,
        "{}",
        run.stderr
    );
}

// Override files

#[test]
fn override_files_merge_into_primary_blocks() {
    let dir = stack(&[
        (
            "main.tf",
            "variable \"v\" {\n  default = \"a\"\n}\nlocals {\n  l = 1\n}\noutput \"o\" {\n  value = \"${var.v}-${local.l}\"\n}\n",
        ),
        ("override.tf", "variable \"v\" {\n  default = \"b\"\n}\n"),
        ("z_override.tf", "locals {\n  l = 2\n}\n"),
    ]);
    let loaded = common::evaluate(dir.path());
    assert_eq!(common::output(&loaded, "o").as_str(), Some("b-2"));
    assert_eq!(terraform_validate(dir.path()).code, 0);
}

#[test]
fn overriding_what_does_not_exist_is_an_error_at_the_override() {
    let run = validate(
        &[
            ("main.tf", "locals {\n  l = 1\n}\n"),
            (
                "override.tf",
                "variable \"nov\" {}\nlocals {\n  nol = 2\n}\noutput \"noo\" {\n  value = 2\n}\nprovider \"aws\" {\n  alias = \"w\"\n}\n",
            ),
        ],
        true,
        &[
            "Missing base variable declaration to override",
            "Missing base local value definition to override",
            "Missing base output definition to override",
            "Missing base provider configuration for override",
        ],
    );
    assert!(run.stderr.contains("override.tf:1:"), "{}", run.stderr);
}

#[test]
fn depends_on_may_not_be_overridden() {
    validate(
        &[
            (
                "main.tf",
                "locals {\n  a = 1\n}\noutput \"o\" {\n  value = 1\n}\n",
            ),
            (
                "override.tf",
                "output \"o\" {\n  depends_on = [local.a]\n}\n",
            ),
        ],
        true,
        &["Unsupported override"],
    );
}

#[test]
fn two_required_providers_blocks_are_an_error() {
    validate(
        &main_tf(
            "terraform {\n  required_providers {\n  }\n}\nterraform {\n  required_providers {\n  }\n}\n",
        ),
        true,
        &["Duplicate required providers configuration"],
    );
}

// JSON syntax (*.tf.json)

const TWIN_TF: &str = r#"terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}
variable "names" {
  type    = list(string)
  default = ["a", "b"]
}
locals {
  prefix = "f-${length(var.names)}"
}
resource "local_file" "f" {
  count           = length(var.names)
  filename        = "./${local.prefix}-${var.names[count.index]}.txt"
  content         = "hello ${var.names[count.index]}\n"
  file_permission = "0644"
  lifecycle {
    ignore_changes = [content]
  }
}
resource "local_file" "g" {
  filename   = "./g.txt"
  content    = jsonencode({ a = 1 })
  depends_on = [local_file.f]
}
output "files" {
  value = local_file.f[*].filename
}
"#;

const TWIN_JSON: &str = r#"{
  "//": "the same stack in JSON",
  "terraform": {
    "required_providers": {
      "local": { "source": "plinth/local" }
    }
  },
  "variable": {
    "names": { "type": "list(string)", "default": ["a", "b"] }
  },
  "locals": { "prefix": "f-${length(var.names)}" },
  "resource": {
    "local_file": {
      "f": {
        "count": "${length(var.names)}",
        "filename": "./${local.prefix}-${var.names[count.index]}.txt",
        "content": "hello ${var.names[count.index]}\n",
        "file_permission": "0644",
        "lifecycle": { "ignore_changes": ["content"] }
      },
      "g": [{
        "filename": "./g.txt",
        "content": "${jsonencode({ a = 1 })}",
        "depends_on": ["local_file.f"]
      }]
    }
  },
  "output": { "files": { "value": "${local_file.f[*].filename}" } }
}
"#;

fn plan_json(files: &[(&str, &str)]) -> serde_json::Value {
    let dir = stack(files);
    let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args([
            "-C",
            dir.path().to_str().expect("path"),
            "--no-color",
            "plan",
            "--json",
        ])
        .env("PLINTH_PLUGIN_DIR", common::local_provider_dir())
        .env("PLINTH_CACHE_DIR", dir.path().join(".cache"))
        .output()
        .expect("run plinth");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan json");
    // When the plan was made is the one thing two plans of one stack may differ in.
    plan.as_object_mut()
        .expect("plan object")
        .remove("timestamp");
    plan
}

#[test]
fn a_json_stack_plans_as_its_native_twin() {
    let native = plan_json(&[("main.tf", TWIN_TF)]);
    let json = plan_json(&[("main.tf.json", TWIN_JSON)]);
    assert_eq!(native, json);
    assert_eq!(native["resource_changes"].as_array().map(Vec::len), Some(3));
}

#[test]
fn json_labels_arrays_comments_and_json_overrides() {
    let dir = stack(&[
        (
            "main.tf.json",
            r#"{
  "//": "comment",
  "variable": [
    { "a": { "type": "string", "default": "x" } },
    { "b": { "type": "map(number)", "default": { "k": 1 },
             "validation": { "condition": "${length(var.b) > 0}", "error_message": "Empty." } } }
  ],
  "locals": { "l": "${var.a}-${var.b.k}", "n": 1.5, "t": [true, null] },
  "output": { "o": { "value": "${local.l}-${local.n}", "depends_on": [] } }
}
"#,
        ),
        (
            "x_override.tf.json",
            r#"{ "locals": { "l": "over-${var.a}" } }"#,
        ),
    ]);
    let loaded = common::evaluate(dir.path());
    assert_eq!(common::output(&loaded, "o").as_str(), Some("over-x-1.5"));
    assert_eq!(terraform_validate(dir.path()).code, 0);
}

#[test]
fn native_syntax_in_a_json_file_is_a_syntax_error() {
    let run = validate(
        &[("main.tf.json", "locals {\n  a = 1\n}\n")],
        false,
        &["Syntax error"],
    );
    assert!(run.stderr.contains("main.tf.json:1:1"), "{}", run.stderr);
}

#[test]
fn json_errors_point_into_the_json_text() {
    let run = validate(
        &[(
            "main.tf.json",
            "{\n  \"output\": {\n    \"o\": { \"value\": \"${local.missing}\" }\n  }\n}\n",
        )],
        true,
        &["Reference to undeclared local value"],
    );
    assert!(run.stderr.contains("main.tf.json:3:"), "{}", run.stderr);
}

// Terraform 0.11 forms

#[test]
fn bare_list_and_map_types_are_any_elements() {
    let dir = stack(&[(
        "main.tf",
        "variable \"l\" {\n  type    = list\n  default = [1, 2]\n}\nvariable \"m\" {\n  type    = map\n  default = { a = \"x\" }\n}\noutput \"o\" {\n  value = \"${length(var.l)}${var.m.a}\"\n}\n",
    )]);
    assert_eq!(terraform_validate(dir.path()).code, 0);
    let loaded = common::evaluate(dir.path());
    assert_eq!(common::output(&loaded, "o").as_str(), Some("2x"));
}

#[test]
fn bare_set_and_quoted_types_are_errors() {
    validate(
        &main_tf(
            "variable \"s\" {\n  type = set\n}\nvariable \"q\" {\n  type = \"string\"\n}\nvariable \"l\" {\n  type = \"list\"\n}\n",
        ),
        true,
        &[
            "The set type constructor requires one argument",
            "Invalid quoted type constraints",
            "write list(string) instead",
        ],
    );
}

#[test]
fn quoted_references_are_deprecation_warnings() {
    let run = validate(
        &[
            (
                "main.tf",
                "locals {\n  x = 1\n}\noutput \"o\" {\n  value      = 1\n  depends_on = [\"local.x\"]\n}\nmodule \"m\" {\n  source     = \"./m\"\n  depends_on = [\"local.x\"]\n}\n",
            ),
            (
                "m/main.tf",
                "provider \"aws\" {\n  alias = \"w\"\n}\nresource \"aws_instance\" \"i\" {\n  provider = \"aws.w\"\n  lifecycle {\n    ignore_changes = [\"tags\"]\n  }\n}\n",
            ),
        ],
        false,
        &[],
    );
    assert_eq!(
        run.stderr
            .matches("Quoted references are deprecated")
            .count(),
        4,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("main.tf:6:17"), "{}", run.stderr);
    assert!(run.stderr.contains("m/main.tf:5:14"), "{}", run.stderr);
}

#[test]
fn quoted_depends_on_warns_in_terraform_too() {
    let dir = stack(&main_tf(
        "locals {\n  x = 1\n}\noutput \"o\" {\n  value      = 1\n  depends_on = [\"local.x\"]\n}\n",
    ));
    let tf = terraform_validate(dir.path());
    assert_eq!(tf.code, 0, "{}", tf.stderr);
    assert!(
        tf.stdout.contains("Quoted references are deprecated")
            || tf.stderr.contains("Quoted references are deprecated")
    );
    let run = plinth(dir.path(), &["validate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("Quoted references are deprecated"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_star_form_of_ignore_changes_is_an_error() {
    validate(
        &main_tf("resource \"x\" \"y\" {\n  lifecycle {\n    ignore_changes = [\"*\"]\n  }\n}\n"),
        false,
        &["Invalid ignore_changes wildcard"],
    );
}

// required_version

#[test]
fn required_version_is_checked_against_the_language_version() {
    let ok = stack(&main_tf(
        "terraform {\n  required_version = \">= 1.5, < 2.0\"\n}\n",
    ));
    assert_eq!(plinth(ok.path(), &["validate"]).code, 0);
    let run = validate(
        &main_tf("terraform {\n  required_version = \"~> 0.12.0\"\n}\n"),
        true,
        &["Unsupported Terraform Core version"],
    );
    assert!(run.stderr.contains("main.tf:2:22"), "{}", run.stderr);
    assert!(run.stderr.contains("1.9.0"), "{}", run.stderr);
    validate(
        &main_tf("terraform {\n  required_version = \"banana\"\n}\n"),
        true,
        &["Invalid version constraint"],
    );
}

#[test]
fn a_child_modules_required_version_names_the_module() {
    let run = validate(
        &[
            ("main.tf", "module \"old\" {\n  source = \"./old\"\n}\n"),
            (
                "old/main.tf",
                "terraform {\n  required_version = \"< 1.0\"\n}\n",
            ),
        ],
        false,
        &["Unsupported Terraform Core version", "Module module.old"],
    );
    assert!(run.stderr.contains("old/main.tf:2:"), "{}", run.stderr);
}

// required_providers

#[test]
fn configuration_aliases_are_provider_references() {
    validate(
        &[
            (
                "main.tf",
                "provider \"local\" {\n  alias = \"x\"\n}\nmodule \"m\" {\n  source = \"./m\"\n  providers = {\n    local.second = local.x\n  }\n}\n",
            ),
            (
                "m/main.tf",
                "terraform {\n  required_providers {\n    local = {\n      source                = \"plinth/local\"\n      configuration_aliases = [local.second]\n    }\n  }\n}\n",
            ),
        ],
        false,
        &[],
    );
    validate(
        &main_tf(
            "terraform {\n  required_providers {\n    aws = {\n      source                = \"hashicorp/aws\"\n      configuration_aliases = [aws.west, google.x]\n    }\n  }\n}\n",
        ),
        false,
        &["Invalid configuration_aliases value", "Expected \"aws\", but found \"google\""],
    );
}

#[test]
fn a_terraform_provider_prefix_in_a_source_is_an_error() {
    let run = validate(
        &main_tf(
            "terraform {\n  required_providers {\n    foo = {\n      source = \"hashicorp/terraform-provider-foo\"\n    }\n  }\n}\n",
        ),
        false,
        &["Invalid provider type", "Did you mean \"hashicorp/foo\"?"],
    );
    assert!(run.stderr.contains("main.tf:4:"), "{}", run.stderr);
}

// Reserved names and removed forms

#[test]
fn reserved_variable_names_are_errors() {
    let run = validate(
        &main_tf("variable \"count\" {}\nvariable \"source\" {}\nvariable \"ok\" {}\n"),
        true,
        &["Invalid variable name", "\"count\" is reserved"],
    );
    assert_eq!(
        run.stderr.matches("Invalid variable name").count(),
        2,
        "{}",
        run.stderr
    );
}

#[test]
fn reserved_block_types_and_removed_provisioners_are_errors() {
    validate(
        &[
            ("main.tf", "module \"m\" {\n  source = \"./m\"\n  lifecycle {}\n}\nresource \"x\" \"r\" {\n  locals {}\n  provisioner \"chef\" {}\n}\n"),
            ("m/main.tf", ""),
        ],
        false,
        &[
            "Reserved block type name in module block",
            "Reserved block type name in resource block",
            "The \"chef\" provisioner has been removed",
        ],
    );
}

/// Applies `files` with plinth/local and returns each resource's provider address
/// from state.
fn applied_providers(files: &[(&str, &str)]) -> Vec<(String, String)> {
    let dir = stack(files);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_plinth"))
            .args(["-C", dir.path().to_str().expect("path"), "--no-color"])
            .args(args)
            .env("PLINTH_PLUGIN_DIR", common::local_provider_dir())
            .env("PLINTH_CACHE_DIR", dir.path().join(".cache"))
            .output()
            .expect("run plinth")
    };
    let applied = run(&["apply", "--auto-approve"]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let state: serde_json::Value =
        serde_json::from_slice(&run(&["state", "pull"]).stdout).expect("state");
    let mut out: Vec<(String, String)> = state["resources"]
        .as_object()
        .expect("resources")
        .iter()
        .map(|(k, v)| (k.clone(), v["provider"].as_str().unwrap_or("").to_string()))
        .collect();
    out.sort();
    out
}

const LOCAL_X: &str = "terraform {\n  required_providers {\n    local = { source = \"plinth/local\" }\n  }\n}\nprovider \"local\" {\n  alias = \"x\"\n}\n";

#[test]
fn a_module_uses_the_configurations_its_call_passes_in() {
    let root = format!(
        "{LOCAL_X}module \"aliased\" {{\n  source    = \"./aliased\"\n  providers = {{\n    local.second = local.x\n  }}\n}}\nmodule \"default\" {{\n  source    = \"./default\"\n  providers = {{\n    local = local.x\n  }}\n}}\n"
    );
    let providers = applied_providers(&[
        ("main.tf", &root),
        (
            "aliased/main.tf",
            "terraform {\n  required_providers {\n    local = {\n      source                = \"plinth/local\"\n      configuration_aliases = [local.second]\n    }\n  }\n}\nresource \"local_file\" \"f\" {\n  provider = local.second\n  filename = \"./a.txt\"\n  content  = \"a\"\n}\n",
        ),
        (
            "default/main.tf",
            "terraform {\n  required_providers {\n    local = { source = \"plinth/local\" }\n  }\n}\nresource \"local_file\" \"f\" {\n  filename = \"./d.txt\"\n  content  = \"d\"\n}\n",
        ),
    ]);
    let x = "provider[\"registry.terraform.io/plinth/local\"].x";
    assert_eq!(
        providers,
        [
            ("module.aliased.local_file.f".to_string(), x.to_string()),
            ("module.default.local_file.f".to_string(), x.to_string()),
        ]
    );
}

/// Terraform's test and mock files sit beside configuration and are read only by
/// `terraform test`: loading the stack leaves them alone (Terraform v1.9's loader
/// fixtures `with-tests*`).
#[test]
fn test_and_mock_files_are_not_configuration() {
    let dir = crate::common::stack(&[
        ("main.tf", "output \"x\" {\n  value = 1\n}\n"),
        (
            "main.tftest.hcl",
            "variables {\n  a = 1\n}\nrun \"first\" {\n  command = plan\n}\n",
        ),
        ("tests/other.tftest.json", "{ \"run\": { \"x\": {} } }"),
        ("mocks.tfmock.hcl", "mock_resource \"aws_s3_bucket\" {}\n"),
    ]);
    let validate = crate::common::plinth(dir.path(), &["validate"]);
    assert_eq!(validate.code, 0, "{}", validate.stderr);
}
