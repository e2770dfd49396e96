//! `check` blocks (Terraform 1.5) and `removed` blocks (Terraform 1.7) through the
//! binary with plinth/local, and the JSON plan's `checks`. Terraform v1.0.3 has none
//! of these, so the cases follow the language reference and the JSON output format
//! documentation of the later releases.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{stack, Run};

const PROVIDER: &str = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}
"#;

fn run(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("utf-8 path"), "--no-color"])
        .args(args)
        .env("PLINTH_PLUGIN_DIR", common::local_provider_dir())
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .env_remove("NO_COLOR")
        .output()
        .expect("run plinth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(dir: &Path, args: &[&str]) -> Run {
    let r = run(dir, args);
    assert_eq!(r.code, 0, "plinth {args:?}:\n{}{}", r.stdout, r.stderr);
    r
}

fn plan_json(dir: &Path) -> serde_json::Value {
    let r = ok(dir, &["plan", "--json"]);
    serde_json::from_str(&r.stdout).expect("plan json")
}

/// (to_display, status) of each entry of the JSON plan's `checks`.
fn statuses(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["address"]["to_display"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                        c["status"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const CHECKED: &str = r#"
variable "want" {
  default = "hello"
}

resource "local_file" "f" {
  filename = "${path.module}/out.txt"
  content  = "hi"
}

check "content" {
  data "local_file" "read" {
    filename = local_file.f.filename
  }

  assert {
    condition     = data.local_file.read.content == var.want
    error_message = "the file holds ${data.local_file.read.content}"
  }
}

check "static" {
  assert {
    condition     = var.want == "nope"
    error_message = "want is not nope"
  }
}
"#;

#[test]
fn failed_assertions_are_warnings_at_their_line_in_plan_and_after_apply() {
    let dir = stack(&[("main.tf", &format!("{PROVIDER}{CHECKED}"))]);
    let plan = ok(dir.path(), &["plan"]);
    // The static assertion is known while planning; the other reads a file that
    // only exists after apply.
    assert!(
        plan.stderr.contains("Check block assertion failed"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("want is not nope"), "{}", plan.stderr);
    assert!(plan.stderr.contains("main.tf:29:21"), "{}", plan.stderr);
    assert!(!plan.stderr.contains("the file holds"), "{}", plan.stderr);
    assert!(!plan.stderr.contains("Error"), "{}", plan.stderr);

    let json = plan_json(dir.path());
    assert_eq!(
        statuses(&json),
        vec![
            ("check.content".to_string(), "unknown".to_string()),
            ("check.static".to_string(), "fail".to_string()),
        ]
    );

    let apply = ok(dir.path(), &["apply", "--auto-approve"]);
    assert!(apply.stdout.contains("Apply complete!"), "{}", apply.stdout);
    assert!(
        apply.stderr.contains("the file holds hi"),
        "{}",
        apply.stderr
    );
    assert!(apply.stderr.contains("main.tf:22:21"), "{}", apply.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.txt"))
            .ok()
            .as_deref(),
        Some("hi")
    );

    // With the file in place, planning reads the scoped data source at once, and
    // plans to read it again during apply for the check, as Terraform does.
    let plan = ok(dir.path(), &["plan"]);
    assert!(
        plan.stdout.contains(
            "# data.local_file.read will be read during apply\n  # (config will be reloaded to verify a check block)"
        ),
        "{}",
        plan.stdout
    );
    let json = plan_json(dir.path());
    let read = json["resource_changes"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["address"] == "data.local_file.read"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        read["change"]["actions"],
        serde_json::json!(["read"]),
        "{read}"
    );
    assert_eq!(read["action_reason"], "read_because_check_nested", "{read}");
    assert_eq!(read["change"]["after"]["content"], "hi", "{read}");
    assert_eq!(
        statuses(&json),
        vec![
            ("check.content".to_string(), "fail".to_string()),
            ("check.static".to_string(), "fail".to_string()),
        ]
    );
    assert_eq!(
        json["checks"][0]["instances"][0]["problems"],
        serde_json::json!([{ "message": "the file holds hi" }])
    );
}

#[test]
fn a_failing_scoped_data_source_is_a_warning_and_fails_its_check() {
    let dir = stack(&[(
        "main.tf",
        &format!(
            r#"{PROVIDER}
check "missing" {{
  data "local_file" "gone" {{
    filename = "${{path.module}}/nowhere.txt"
  }}

  assert {{
    condition     = data.local_file.gone.content == ""
    error_message = "never"
  }}
}}

resource "local_file" "f" {{
  filename = "${{path.module}}/made.txt"
  content  = "x"
}}
"#
        ),
    )]);
    let plan = ok(dir.path(), &["plan"]);
    assert!(plan.stderr.contains("Cannot read file"), "{}", plan.stderr);
    assert!(plan.stderr.contains("main.tf:8:3"), "{}", plan.stderr);
    assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);
    let json = plan_json(dir.path());
    assert_eq!(
        statuses(&json),
        vec![("check.missing".to_string(), "fail".to_string())]
    );
    let problems = &json["checks"][0]["instances"][0]["problems"];
    assert!(
        problems[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Cannot read file: ")),
        "{problems}"
    );
    let apply = ok(dir.path(), &["apply", "--auto-approve"]);
    assert!(
        apply.stderr.contains("Cannot read file"),
        "{}",
        apply.stderr
    );
    assert!(dir.path().join("made.txt").exists());
}

#[test]
fn a_scoped_data_source_is_only_visible_inside_its_check() {
    let dir = stack(&[(
        "main.tf",
        r#"
check "c" {
  data "local_file" "inside" {
    filename = "x"
  }
  assert {
    condition     = data.local_file.inside.content != ""
    error_message = "empty"
  }
}

check "d" {
  assert {
    condition     = data.local_file.inside.content != ""
    error_message = "empty"
  }
}

output "leak" {
  value = data.local_file.inside.content
}
"#,
    )]);
    let r = run(dir.path(), &["validate"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stderr.matches("Reference to scoped resource").count(),
        2,
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("main.tf:14:21"), "{}", r.stderr);
    assert!(r.stderr.contains("main.tf:20:11"), "{}", r.stderr);
}

#[test]
fn validate_does_not_run_check_blocks() {
    let dir = stack(&[(
        "main.tf",
        r#"
check "never" {
  assert {
    condition     = 1 == 2
    error_message = "one is not two"
  }
}
"#,
    )]);
    let r = ok(dir.path(), &["validate"]);
    assert!(!r.stderr.contains("one is not two"), "{}", r.stderr);
    let r = ok(dir.path(), &["plan"]);
    assert!(r.stderr.contains("one is not two"), "{}", r.stderr);
}

#[test]
fn json_checks_have_terraforms_shape_for_every_checkable_object() {
    let dir = stack(&[
        (
            "main.tf",
            r#"
variable "n" {
  default = 2
  validation {
    condition     = var.n > 0
    error_message = "n must be positive"
  }
}

resource "terraform_data" "r" {
  count = var.n
  input = count.index
  lifecycle {
    precondition {
      condition     = count.index < 1
      error_message = "only one may be made"
    }
  }
}

output "o" {
  value = var.n
  precondition {
    condition     = var.n == 2
    error_message = "n is not 2"
  }
}

module "m" {
  source = "./mod"
}

check "later" {
  assert {
    condition     = terraform_data.r[0].id == "x"
    error_message = "not x"
  }
}
"#,
        ),
        (
            "mod/main.tf",
            r#"
check "inner" {
  assert {
    condition     = true
    error_message = "never"
  }
}
"#,
        ),
    ]);
    // A failed precondition stops the plan, so the JSON is that of a passing one
    // and the failure is asserted through the text.
    let failed = run(dir.path(), &["plan"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("only one may be made"),
        "{}",
        failed.stderr
    );

    std::fs::write(
        dir.path().join("main.tf"),
        std::fs::read_to_string(dir.path().join("main.tf"))
            .expect("main.tf")
            .replace("count.index < 1", "count.index < 5"),
    )
    .expect("write");
    let json = plan_json(dir.path());
    let want = serde_json::json!([
        {
            "address": { "kind": "check", "name": "later", "to_display": "check.later" },
            "status": "unknown",
            "instances": [{ "address": { "to_display": "check.later" }, "status": "unknown" }]
        },
        {
            "address": {
                "kind": "check", "name": "inner", "module": "module.m",
                "to_display": "module.m.check.inner"
            },
            "status": "pass",
            "instances": [{
                "address": { "module": "module.m", "to_display": "module.m.check.inner" },
                "status": "pass"
            }]
        },
        {
            "address": { "kind": "output_value", "name": "o", "to_display": "output.o" },
            "status": "pass",
            "instances": [{ "address": { "to_display": "output.o" }, "status": "pass" }]
        },
        {
            "address": {
                "kind": "resource", "mode": "managed", "type": "terraform_data", "name": "r",
                "to_display": "terraform_data.r"
            },
            "status": "pass",
            "instances": [
                { "address": { "instance_key": 0, "to_display": "terraform_data.r[0]" }, "status": "pass" },
                { "address": { "instance_key": 1, "to_display": "terraform_data.r[1]" }, "status": "pass" }
            ]
        },
        {
            "address": { "kind": "var", "name": "n", "to_display": "var.n" },
            "status": "pass",
            "instances": [{ "address": { "to_display": "var.n" }, "status": "pass" }]
        }
    ]);
    assert_eq!(json["checks"], want);
}

#[test]
fn a_stack_without_conditions_has_no_checks_member() {
    let dir = stack(&[("main.tf", "resource \"terraform_data\" \"a\" {}\n")]);
    let json = plan_json(dir.path());
    assert!(json.get("checks").is_none(), "{json}");
}

const THREE_FILES: &str = r#"
resource "local_file" "keep" {
  filename = "${path.module}/keep.txt"
  content  = "k"
}

resource "local_file" "drop" {
  count    = 2
  filename = "${path.module}/drop${count.index}.txt"
  content  = "d"
}

resource "local_file" "gone" {
  filename = "${path.module}/gone.txt"
  content  = "g"
}
"#;

const REMOVED: &str = r#"
resource "local_file" "keep" {
  filename = "${path.module}/keep.txt"
  content  = "k"
}

removed {
  from = local_file.drop
  lifecycle {
    destroy = false
  }
}

removed {
  from = local_file.gone
  lifecycle {
    destroy = true
  }
}
"#;

#[test]
fn removed_with_destroy_false_forgets_and_destroy_true_destroys() {
    let dir = stack(&[("main.tf", &format!("{PROVIDER}{THREE_FILES}"))]);
    ok(dir.path(), &["apply", "--auto-approve"]);
    std::fs::write(dir.path().join("main.tf"), format!("{PROVIDER}{REMOVED}")).expect("write");

    let plan = ok(dir.path(), &["plan"]);
    assert!(
        plan.stdout
            .contains("# local_file.drop[0] will no longer be managed by plinth"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("# local_file.gone will be destroyed"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 1 to destroy, 2 to forget."),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stderr
            .contains("Some objects will no longer be managed by plinth"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains(" - local_file.drop[1]"),
        "{}",
        plan.stderr
    );

    let json = plan_json(dir.path());
    let actions: Vec<(String, serde_json::Value)> = json["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap_or("").to_string(),
                c["change"]["actions"].clone(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            (
                "local_file.drop[0]".to_string(),
                serde_json::json!(["forget"])
            ),
            (
                "local_file.drop[1]".to_string(),
                serde_json::json!(["forget"])
            ),
            ("local_file.gone".to_string(), serde_json::json!(["delete"])),
            ("local_file.keep".to_string(), serde_json::json!(["no-op"])),
        ]
    );
    let forget = &json["resource_changes"][0];
    assert_eq!(forget["change"]["after"], serde_json::Value::Null);
    assert_eq!(forget["change"]["before"]["content"], "d");
    assert!(forget.get("action_reason").is_none(), "{forget}");

    // Applied from a saved plan file: the forget action survives the file.
    ok(dir.path(), &["plan", "--out", "tfplan"]);
    let apply = ok(dir.path(), &["apply", "tfplan"]);
    assert!(
        !apply.stdout.contains("local_file.drop[0]: Destroying"),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stdout.contains("local_file.gone: Destroying"),
        "{}",
        apply.stdout
    );
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 0 added, 0 changed, 1 destroyed, 2 forgotten."),
        "{}",
        apply.stdout
    );
    assert!(dir.path().join("drop0.txt").exists());
    assert!(dir.path().join("drop1.txt").exists());
    assert!(!dir.path().join("gone.txt").exists());
    let list = ok(dir.path(), &["state", "list"]);
    assert_eq!(list.stdout.trim(), "local_file.keep");

    let again = ok(dir.path(), &["plan"]);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn removed_module_call_forgets_everything_inside_it() {
    let module = r#"
resource "local_file" "inner" {
  filename = "${path.root}/inner.txt"
  content  = "i"
}
"#;
    let dir = stack(&[
        (
            "main.tf",
            &format!("{PROVIDER}\nmodule \"old\" {{\n  source = \"./old\"\n}}\n"),
        ),
        ("old/main.tf", module),
    ]);
    ok(dir.path(), &["apply", "--auto-approve"]);
    std::fs::write(
        dir.path().join("main.tf"),
        format!("{PROVIDER}\nremoved {{\n  from = module.old\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"),
    )
    .expect("write");
    let plan = ok(dir.path(), &["plan"]);
    assert!(
        plan.stdout
            .contains("# module.old.local_file.inner will no longer be managed by plinth"),
        "{}",
        plan.stdout
    );
    ok(dir.path(), &["apply", "--auto-approve"]);
    assert!(dir.path().join("inner.txt").exists());
    let list = ok(dir.path(), &["state", "list"]);
    assert_eq!(list.stdout.trim(), "");
}

#[test]
fn removed_blocks_that_contradict_the_configuration_are_refused() {
    let cases = [
        (
            "resource \"terraform_data\" \"a\" {}\nremoved {\n  from = terraform_data.a\n  lifecycle {\n    destroy = false\n  }\n}\n",
            "Removed resource still exists",
            "main.tf:1:1",
        ),
        (
            "module \"m\" {\n  source = \"./m\"\n}\nremoved {\n  from = module.m\n}\n",
            "Removed module still exists",
            "main.tf:1:1",
        ),
        (
            "resource \"terraform_data\" \"b\" {}\nmoved {\n  from = terraform_data.a\n  to   = terraform_data.b\n}\nremoved {\n  from = terraform_data.a\n  lifecycle {\n    destroy = false\n  }\n}\n",
            "Conflicting moved and removed blocks",
            "main.tf:7:10",
        ),
        (
            "module \"m\" {\n  source = \"./m\"\n}\nremoved {\n  from = module.m.terraform_data.inner\n  lifecycle {\n    destroy = false\n  }\n}\n",
            "Removed resource still exists",
            "m/main.tf:1:1",
        ),
        (
            "removed {\n  from = terraform_data.a[0]\n  lifecycle {\n    destroy = false\n  }\n}\n",
            "Invalid \"from\" address",
            "main.tf:2:10",
        ),
    ];
    for (text, summary, at) in cases {
        let dir = stack(&[
            ("main.tf", text),
            ("m/main.tf", "resource \"terraform_data\" \"inner\" {}\n"),
        ]);
        let r = run(dir.path(), &["validate"]);
        assert_eq!(r.code, 1, "{text}\n{}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(summary), "{text}\n{}", r.stderr);
        assert!(r.stderr.contains(at), "{text}\n{}", r.stderr);
    }
}

#[test]
fn postconditions_see_self_and_are_checks_of_their_resource() {
    let dir = stack(&[(
        "main.tf",
        r#"
resource "terraform_data" "r" {
  count = 2
  input = "v${count.index}"
  lifecycle {
    postcondition {
      condition     = self.input == "v${count.index}"
      error_message = "input is off"
    }
    postcondition {
      condition     = self.id != ""
      error_message = "no id"
    }
  }
}

resource "terraform_data" "bad" {
  input = "x"
  lifecycle {
    postcondition {
      condition     = self.input == "y"
      error_message = "input is ${self.input}, not y"
    }
  }
}
"#,
    )]);
    let failed = run(dir.path(), &["plan"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("Resource postcondition failed"),
        "{}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("input is x, not y"),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains("main.tf:21:23"), "{}", failed.stderr);

    let main = dir.path().join("main.tf");
    let text = std::fs::read_to_string(&main).expect("main.tf");
    std::fs::write(&main, text.replace("== \"y\"", "== \"x\"")).expect("write");
    // The id is known only after apply, so r's instances are unknown until then.
    let json = plan_json(dir.path());
    assert_eq!(
        statuses(&json),
        vec![
            ("terraform_data.bad".to_string(), "pass".to_string()),
            ("terraform_data.r".to_string(), "unknown".to_string()),
        ]
    );
    ok(dir.path(), &["apply", "--auto-approve"]);
    let json = plan_json(dir.path());
    assert_eq!(
        statuses(&json),
        vec![
            ("terraform_data.bad".to_string(), "pass".to_string()),
            ("terraform_data.r".to_string(), "pass".to_string()),
        ]
    );
}

#[test]
fn removed_blocks_in_a_child_module_and_for_a_child_modules_resource() {
    let two = r#"
resource "local_file" "a" {
  filename = "${path.root}/a.txt"
  content  = "a"
}

resource "local_file" "b" {
  filename = "${path.root}/b.txt"
  content  = "b"
}
"#;
    let call = format!("{PROVIDER}\nmodule \"m\" {{\n  source = \"./m\"\n}}\n");
    let dir = stack(&[("main.tf", &call), ("m/main.tf", two)]);
    ok(dir.path(), &["apply", "--auto-approve"]);
    std::fs::write(
        dir.path().join("m/main.tf"),
        "removed {\n  from = local_file.a\n  lifecycle {\n    destroy = false\n  }\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("main.tf"),
        format!("{call}\nremoved {{\n  from = module.m.local_file.b\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"),
    )
    .expect("write");
    let plan = ok(dir.path(), &["plan"]);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to destroy, 2 to forget."),
        "{}",
        plan.stdout
    );
    ok(dir.path(), &["apply", "--auto-approve"]);
    assert!(dir.path().join("a.txt").exists());
    assert!(dir.path().join("b.txt").exists());
    assert_eq!(ok(dir.path(), &["state", "list"]).stdout.trim(), "");
}
