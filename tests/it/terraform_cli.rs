//! plinth in place of the `terraform` binary: the commands of Atlantis's default
//! workflow and of the usual GitHub Actions steps, Terraform's single-dash spellings,
//! `-chdir`, `TF_CLI_ARGS`, `TF_INPUT`, `TF_WORKSPACE`, `TF_LOG`, `show -json` of the
//! state and `version -json`, compared with Terraform v1.0.3 on the same stacks and
//! the same provider binary (plinth/local).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{local_provider_dir, Run};

/// The variables a caller's environment could set that change what these tests see.
const CLEARED: [&str; 9] = [
    "TF_CLI_ARGS",
    "TF_CLI_ARGS_plan",
    "TF_CLI_ARGS_apply",
    "TF_INPUT",
    "TF_IN_AUTOMATION",
    "TF_LOG",
    "TF_WORKSPACE",
    "PLINTH_WORKSPACE",
    "PLINTH_LOG",
];

fn finished(out: std::process::Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// plinth run in `dir` exactly as a script would run terraform: no `-C`, no
/// `--no-color` added, stdin closed.
fn plinth(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plinth"));
    cmd.args(args)
        .current_dir(dir)
        .env("PLINTH_PLUGIN_DIR", local_provider_dir())
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null());
    for var in CLEARED {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    finished(cmd.output().expect("run plinth"))
}

fn terraform_binary() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/terraform-path");
    let out = Command::new(script).output().expect("run terraform-path");
    assert!(
        out.status.success(),
        "terraform-path failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Terraform v1.0.3 in `dir`, finding plinth/local through a dev override.
fn terraform(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let config = dir.join(".terraformrc");
    if !config.exists() {
        std::fs::write(
            &config,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"plinth/local\" = {:?}\n  }}\n  direct {{}}\n}}\n",
                local_provider_dir().display().to_string()
            ),
        )
        .expect("cli config");
    }
    let mut cmd = Command::new(terraform_binary());
    cmd.args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", &config)
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(std::process::Stdio::null());
    for var in CLEARED {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    finished(cmd.output().expect("run terraform"))
}

const FILES: &str = r#"terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

variable "greeting" {
  type    = string
  default = "hello"
}

resource "local_directory" "out" {
  path = "${path.module}/out"
}

resource "local_file" "f" {
  count    = 2
  filename = "${local_directory.out.path}/f-${count.index}.txt"
  content  = "${var.greeting} ${count.index}\n"
}

output "first" {
  value = local_file.f[0].filename
}
"#;

/// Two copies of the same stack: one for plinth, one for Terraform.
fn twin(files: &[(&str, &str)]) -> (tempfile::TempDir, tempfile::TempDir) {
    (common::stack(files), common::stack(files))
}

fn ok(run: &Run, what: &str) {
    assert_eq!(run.code, 0, "{what}:\n{}\n{}", run.stdout, run.stderr);
}

#[test]
fn atlantis_default_workflow() {
    let dir = common::stack(&[("main.tf", FILES)]);
    let planfile = dir.path().join("default.tfplan");
    let planfile = planfile.to_str().expect("utf-8 path");
    let automation = [("TF_IN_AUTOMATION", "true")];

    let init = plinth(dir.path(), &["init", "-input=false"], &automation);
    ok(&init, "init");
    let plan = plinth(
        dir.path(),
        &["plan", "-input=false", "-refresh", "-out", planfile],
        &automation,
    );
    ok(&plan, "plan");
    assert!(
        plan.stdout
            .contains("Plan: 3 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("Saved the plan to: "),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("To perform exactly these actions"),
        "TF_IN_AUTOMATION leaves the next-step hint out:\n{}",
        plan.stdout
    );

    let show = plinth(dir.path(), &["show", "-json", planfile], &automation);
    ok(&show, "show -json");
    let json: serde_json::Value = serde_json::from_str(&show.stdout).expect("show -json");
    let mut addresses: Vec<&str> = json["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .filter_map(|c| c["address"].as_str())
        .collect();
    addresses.sort();
    assert_eq!(
        addresses,
        ["local_directory.out", "local_file.f[0]", "local_file.f[1]"]
    );

    let apply = plinth(dir.path(), &["apply", planfile], &automation);
    ok(&apply, "apply");
    assert!(
        apply
            .stdout
            .contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."),
        "{}",
        apply.stdout
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/f-1.txt")).expect("made"),
        "hello 1\n"
    );
}

#[test]
fn github_actions_steps_exit_as_terraform_does() {
    let (ours, theirs) = twin(&[
        ("main.tf", FILES),
        ("sub/extra.tf", "locals {\n  a = 1\n}\n"),
    ]);
    ok(&plinth(ours.path(), &["init", "-input=false"], &[]), "init");

    // A fresh init leaves nothing fmt would change (its lock file is hidden).
    for (who, run) in [
        (
            "plinth",
            plinth(ours.path(), &["fmt", "-check", "-recursive"], &[]),
        ),
        (
            "terraform",
            terraform(theirs.path(), &["fmt", "-check", "-recursive"], &[]),
        ),
    ] {
        assert_eq!(
            run.code, 0,
            "{who} fmt -check:\n{}\n{}",
            run.stdout, run.stderr
        );
        assert_eq!(run.stdout, "", "{who}");
    }
    for dir in [ours.path(), theirs.path()] {
        std::fs::write(dir.join("sub/extra.tf"), "locals {\n  a    =   1\n}\n").expect("write");
    }
    let ours_fmt = plinth(ours.path(), &["fmt", "-check", "-recursive"], &[]);
    let theirs_fmt = terraform(theirs.path(), &["fmt", "-check", "-recursive"], &[]);
    assert_eq!(ours_fmt.code, 3, "{}", ours_fmt.stderr);
    assert_eq!(ours_fmt.code, theirs_fmt.code);
    assert_eq!(ours_fmt.stdout, theirs_fmt.stdout);
    assert_eq!(ours_fmt.stdout, "sub/extra.tf\n");

    let ours_val = plinth(ours.path(), &["validate", "-no-color"], &[]);
    let theirs_val = terraform(theirs.path(), &["validate", "-no-color"], &[]);
    ok(&ours_val, "validate");
    assert_eq!(ours_val.code, theirs_val.code, "{}", theirs_val.stderr);
    for run in [&ours_val, &theirs_val] {
        assert!(
            run.stdout.contains("Success! The configuration is valid"),
            "{}",
            run.stdout
        );
    }

    let plan = plinth(
        ours.path(),
        &["plan", "-no-color", "-input=false", "-out=tfplan"],
        &[],
    );
    ok(&plan, "plan");
    assert!(!plan.stdout.contains('\u{1b}'), "colour despite -no-color");
    assert!(ours.path().join("tfplan").is_file());

    let ours_plan = plinth(ours.path(), &["plan", "-detailed-exitcode"], &[]);
    let theirs_plan = terraform(theirs.path(), &["plan", "-detailed-exitcode"], &[]);
    assert_eq!(ours_plan.code, 2, "{}", ours_plan.stderr);
    assert_eq!(ours_plan.code, theirs_plan.code, "{}", theirs_plan.stderr);
    // A misspelt flag is an error (1), never "changes present" (2).
    let args = ["plan", "-detailed-exitcode", "-no-such-flag"];
    let ours_bad = plinth(ours.path(), &args, &[]);
    let theirs_bad = terraform(theirs.path(), &args, &[]);
    assert_eq!(ours_bad.code, 1, "{}", ours_bad.stderr);
    assert_eq!(ours_bad.code, theirs_bad.code, "{}", theirs_bad.stderr);
    ok(
        &plinth(ours.path(), &["apply", "tfplan"], &[]),
        "apply tfplan",
    );
    ok(
        &terraform(theirs.path(), &["apply", "-auto-approve"], &[]),
        "terraform apply",
    );
    let ours_plan = plinth(ours.path(), &["plan", "-detailed-exitcode"], &[]);
    let theirs_plan = terraform(theirs.path(), &["plan", "-detailed-exitcode"], &[]);
    assert_eq!(ours_plan.code, 0, "{}", ours_plan.stdout);
    assert_eq!(ours_plan.code, theirs_plan.code);
}

#[test]
fn fmt_write_and_list_flags_match_terraform() {
    let files = [
        ("main.tf", "locals {\n  a    = 1\n}\n"),
        ("ok.tf", "locals {\n  b = 2\n}\n"),
    ];
    let (ours, theirs) = twin(&files);
    for args in [
        &["fmt", "-write=false"][..],
        &["fmt", "-check", "-list=false"],
        &["fmt", "-write=false", "-list=false"],
        &["fmt", "-check", "-diff=false"],
    ] {
        let a = plinth(ours.path(), args, &[]);
        let b = terraform(theirs.path(), args, &[]);
        assert_eq!(
            (a.code, &a.stdout),
            (b.code, &b.stdout),
            "{args:?}: {}",
            a.stderr
        );
    }
    assert_eq!(
        std::fs::read_to_string(ours.path().join("main.tf")).expect("read"),
        files[0].1,
        "nothing was written"
    );
    let write = plinth(ours.path(), &["fmt", "-write=true"], &[]);
    assert_eq!((write.code, write.stdout.as_str()), (0, "main.tf\n"));
}

const NEEDS_VAR: &str = r#"variable "name" {
  type = string
}

output "greeting" {
  value = "hello ${var.name}"
}
"#;

#[test]
fn input_false_never_asks() {
    let (ours, theirs) = twin(&[("main.tf", NEEDS_VAR)]);
    let a = plinth(ours.path(), &["plan", "-input=false"], &[]);
    let b = terraform(theirs.path(), &["plan", "-input=false"], &[]);
    assert_eq!(a.code, 1, "{}", a.stdout);
    assert_eq!(a.code, b.code);
    assert!(a.stderr.contains("name"), "{}", a.stderr);

    // Approval cannot be asked either: nothing is applied, exit 1, as Terraform.
    for env in [&[][..], &[("TF_INPUT", "0")]] {
        let args: &[&str] = if env.is_empty() {
            &["apply", "-input=false", "-var", "name=x"]
        } else {
            &["apply", "-var", "name=x"]
        };
        let a = plinth(ours.path(), args, env);
        let b = terraform(theirs.path(), args, env);
        assert_eq!(a.code, 1, "{}", a.stdout);
        assert_eq!(a.code, b.code, "{}", b.stderr);
        assert!(a.stderr.contains("-auto-approve"), "{}", a.stderr);
    }
    let out = plinth(ours.path(), &["output", "-json"], &[]);
    assert_eq!(out.stdout.trim(), "{}", "nothing was applied");

    let a = plinth(
        ours.path(),
        &["apply", "-input=false", "-auto-approve", "-var=name=x"],
        &[],
    );
    ok(&a, "apply -auto-approve");
    assert!(a.stdout.contains("greeting = \"hello x\""), "{}", a.stdout);
}

#[test]
fn single_dash_spellings_equal_double_dash_ones() {
    let dir = common::main_tf(
        "variable \"n\" {\n  type = number\n}\n\noutput \"twice\" {\n  value = var.n * 2\n}\n\nresource \"terraform_data\" \"a\" {\n  input = var.n\n}\n\nresource \"terraform_data\" \"b\" {\n  input = 1\n}\n",
    );
    let single = plinth(
        dir.path(),
        &[
            "plan",
            "-no-color",
            "-var",
            "n=-1",
            "-target=terraform_data.a",
            "-refresh=false",
            "-parallelism=2",
            "-lock-timeout=1s",
            "-compact-warnings",
            "-input=false",
            "-lock=true",
            "-detailed-exitcode",
        ],
        &[],
    );
    let double = plinth(
        dir.path(),
        &[
            "plan",
            "--no-color",
            "--var",
            "n=-1",
            "--target",
            "terraform_data.a",
            "--refresh=false",
            "--parallelism",
            "2",
            "--lock-timeout",
            "1s",
            "--detailed-exitcode",
        ],
        &[],
    );
    assert_eq!(single.code, 2, "{}\n{}", single.stdout, single.stderr);
    assert_eq!(
        (single.code, &single.stdout, &single.stderr),
        (double.code, &double.stdout, &double.stderr)
    );
    assert!(single.stdout.contains("twice = -2"), "{}", single.stdout);
    assert!(
        !single.stdout.contains("terraform_data.b"),
        "{}",
        single.stdout
    );

    let bad = plinth(dir.path(), &["plan", "-refresh=maybe"], &[]);
    // A usage error exits 1 as Terraform's does (2 would read as "changes present").
    assert_eq!(bad.code, 1, "a usage error: {}", bad.stderr);
    let bad = plinth(dir.path(), &["apply", "-auto-approve=maybe"], &[]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("invalid boolean value \"maybe\""),
        "{}",
        bad.stderr
    );
    let unknown = plinth(dir.path(), &["plan", "-bogus"], &[]);
    assert_ne!(unknown.code, 0);
    assert!(unknown.stderr.contains("--bogus"), "{}", unknown.stderr);

    let refused = plinth(
        dir.path(),
        &["apply", "-lock=false", "-auto-approve", "-var=n=1"],
        &[],
    );
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("-lock=false"), "{}", refused.stderr);
    let state = plinth(dir.path(), &["show", "-json"], &[]);
    let state: serde_json::Value = serde_json::from_str(&state.stdout).expect("state json");
    assert_eq!(state.get("values"), None, "nothing was applied");
}

#[test]
fn chdir_runs_in_another_directory() {
    let dir = common::stack(&[("stack/main.tf", "output \"o\" {\n  value = 1\n}\n")]);
    let run = plinth(
        dir.path(),
        &["-chdir=stack", "apply", "-auto-approve", "-no-color"],
        &[],
    );
    ok(&run, "-chdir=stack apply");
    assert!(run.stdout.contains("o = 1"), "{}", run.stdout);
    let out = plinth(dir.path(), &["-chdir", "stack", "output", "-raw", "o"], &[]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "1"));
    let missing = plinth(dir.path(), &["-chdir=nowhere", "plan"], &[]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("nowhere"), "{}", missing.stderr);
}

#[test]
fn tf_cli_args_are_inserted_after_the_command_name() {
    let dir = common::main_tf(NEEDS_VAR);
    let env = [
        ("TF_CLI_ARGS_plan", "-var 'name=from env'"),
        ("TF_CLI_ARGS", "-no-color"),
    ];
    let plan = plinth(dir.path(), &["plan"], &env);
    ok(&plan, "plan");
    assert!(
        plan.stdout.contains("\"hello from env\""),
        "{}",
        plan.stdout
    );
    // The user's own arguments come after, so their -var wins.
    let plan = plinth(dir.path(), &["plan", "-var=name=cli"], &env);
    assert!(plan.stdout.contains("\"hello cli\""), "{}", plan.stdout);
    // TF_CLI_ARGS_plan is for plan only.
    let validate = plinth(dir.path(), &["validate"], &env);
    ok(&validate, "validate");
    let version = plinth(
        dir.path(),
        &["version"],
        &[("TF_CLI_ARGS_version", "-json")],
    );
    let v: serde_json::Value = serde_json::from_str(&version.stdout).expect("version -json");
    assert!(v["terraform_version"].is_string());

    let bad = plinth(dir.path(), &["plan"], &[("TF_CLI_ARGS", "-var 'x")]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("TF_CLI_ARGS"), "{}", bad.stderr);
}

#[test]
fn tf_workspace_and_tf_log() {
    let dir = common::main_tf("output \"o\" {\n  value = terraform.workspace\n}\n");
    let staging = [("TF_WORKSPACE", "staging")];
    ok(
        &plinth(dir.path(), &["workspace", "new", "staging"], &[]),
        "workspace new",
    );
    let apply = plinth(dir.path(), &["apply", "-auto-approve"], &staging);
    ok(&apply, "apply");
    assert!(apply.stdout.contains("o = \"staging\""), "{}", apply.stdout);
    let default = plinth(
        dir.path(),
        &["output", "-json"],
        &[("TF_WORKSPACE", "default")],
    );
    assert_eq!(default.stdout.trim(), "{}");

    let logged = |env: &[(&str, &str)]| {
        let d = common::main_tf(FILES);
        let run = plinth(d.path(), &["plan"], env);
        ok(&run, "plan");
        run.stderr.contains("[plinth]")
    };
    assert!(
        logged(&[("TF_LOG", "TRACE")]),
        "TF_LOG turns on plinth's log"
    );
    assert!(!logged(&[("TF_LOG", "off")]));
    assert!(!logged(&[]));
}

#[test]
fn version_json_has_terraforms_shape() {
    let dir = common::main_tf(FILES);
    ok(&plinth(dir.path(), &["init"], &[]), "init");
    let ours = plinth(dir.path(), &["version", "-json"], &[]);
    ok(&ours, "version -json");
    let ours: serde_json::Value = serde_json::from_str(&ours.stdout).expect("json");
    let theirs = terraform(dir.path(), &["version", "-json"], &[]);
    let theirs: serde_json::Value = serde_json::from_str(&theirs.stdout).expect("json");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object().expect("object").keys().cloned().collect()
    };
    let mut want = keys(&theirs);
    want.push("plinth_version".into());
    want.sort();
    assert_eq!(keys(&ours), want);
    assert_eq!(ours["platform"], theirs["platform"]);
    assert_eq!(
        ours["provider_selections"]["registry.terraform.io/plinth/local"],
        "0.0.0"
    );
    assert_eq!(ours["plinth_version"], env!("CARGO_PKG_VERSION"));
}

const STATE_STACK: &str = r#"terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

variable "secret" {
  type      = string
  default   = "hunter2"
  sensitive = true
}

resource "local_directory" "out" {
  path = "${path.module}/out"
}

resource "local_file" "f" {
  count    = 2
  filename = "${local_directory.out.path}/f-${count.index}.txt"
  content  = "file ${count.index}\n"
}

resource "local_file" "s" {
  filename = "${local_directory.out.path}/s.txt"
  content  = var.secret
}

data "local_file" "input" {
  filename = "${path.module}/input.txt"
}

module "m" {
  source = "./m"
}

output "first" {
  value = local_file.f[0].filename
}

output "read" {
  value = data.local_file.input.content
}

output "secret" {
  value     = var.secret
  sensitive = true
}
"#;

const STATE_MODULE: &str = r#"terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

resource "local_file" "g" {
  for_each = toset(["a", "b"])
  filename = "${path.module}/g-${each.key}.txt"
  content  = each.key
}
"#;

/// Attribute names the provider's schema calls sensitive, for each resource type.
fn schema_sensitive(dir: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let run = plinth(dir, &["providers", "schema", "-json"], &[]);
    ok(&run, "providers schema");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("schema json");
    let mut out = std::collections::BTreeMap::new();
    for (_, provider) in json["provider_schemas"].as_object().expect("schemas") {
        for kind in ["resource_schemas", "data_source_schemas"] {
            for (type_name, schema) in provider[kind].as_object().into_iter().flatten() {
                let names = schema["block"]["attributes"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(_, a)| a["sensitive"] == true)
                    .map(|(n, _)| n.clone())
                    .collect();
                out.insert(format!("{kind}/{type_name}"), names);
            }
        }
    }
    out
}

/// Every resource of a `show -json` document, with the path of its module, so the
/// two documents compare resource by resource.
fn resources(module: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    for r in module["resources"].as_array().into_iter().flatten() {
        out.push(r.clone());
    }
    for child in module["child_modules"].as_array().into_iter().flatten() {
        resources(child, out);
    }
}

#[test]
fn show_json_state_matches_terraforms() {
    let files = [
        ("main.tf", STATE_STACK),
        ("m/main.tf", STATE_MODULE),
        ("input.txt", "read me\n"),
    ];
    let (ours, theirs) = twin(&files);
    let empty = plinth(ours.path(), &["show", "-json"], &[]);
    ok(&empty, "show -json of no state");
    let empty: serde_json::Value = serde_json::from_str(&empty.stdout).expect("json");
    assert_eq!(empty.get("values"), None, "{empty}");

    ok(
        &plinth(ours.path(), &["apply", "-auto-approve"], &[]),
        "plinth apply",
    );
    ok(&terraform(theirs.path(), &["get"], &[]), "terraform get");
    ok(
        &terraform(theirs.path(), &["apply", "-auto-approve", "-no-color"], &[]),
        "terraform apply",
    );
    let a = plinth(ours.path(), &["show", "-json"], &[]);
    ok(&a, "plinth show -json");
    let b = terraform(theirs.path(), &["show", "-json"], &[]);
    ok(&b, "terraform show -json");
    let mut a: serde_json::Value = serde_json::from_str(&a.stdout).expect("plinth json");
    let mut b: serde_json::Value = serde_json::from_str(&b.stdout).expect("terraform json");
    for doc in [&mut a, &mut b] {
        let doc = doc.as_object_mut().expect("object");
        for version in ["format_version", "terraform_version", "plinth_version"] {
            doc.remove(version);
        }
    }
    assert_eq!(a["values"]["outputs"], b["values"]["outputs"]);
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    resources(&a["values"]["root_module"], &mut ra);
    resources(&b["values"]["root_module"], &mut rb);
    // Both states hold the data source read (`mode = "data"`) beside the resources.
    assert_eq!(ra.len(), 7, "{a:#}");
    let data: Vec<serde_json::Value> = rb.iter().filter(|r| r["mode"] == "data").cloned().collect();
    assert_eq!(data.len(), 1, "{b:#}");
    assert_eq!(data[0]["address"], "data.local_file.input");

    // plinth's state also records the attributes the schema calls sensitive, as
    // Terraform releases after 1.0 write `sensitive_values`; 1.0.3 leaves them out.
    let sensitive = schema_sensitive(ours.path());
    for r in &mut ra {
        let kind = match r["mode"].as_str() {
            Some("data") => "data_source_schemas",
            _ => "resource_schemas",
        };
        let key = format!("{kind}/{}", r["type"].as_str().unwrap_or(""));
        let values = r["sensitive_values"]
            .as_object_mut()
            .expect("sensitive_values");
        for name in sensitive.get(&key).into_iter().flatten() {
            if values.get(name) == Some(&serde_json::Value::Bool(true)) {
                values.remove(name);
            }
        }
    }
    assert_eq!(ra, rb, "plinth:\n{a:#}\nterraform:\n{b:#}");
    // Module addresses nest as Terraform's do.
    let module = |doc: &serde_json::Value| {
        doc["values"]["root_module"]["child_modules"][0]["address"].clone()
    };
    assert_eq!(module(&a), module(&b));
    assert_eq!(module(&a), "module.m");

    let text = plinth(ours.path(), &["show", "-no-color"], &[]);
    ok(&text, "show");
    assert!(text.stdout.contains("# local_file.s:"), "{}", text.stdout);
    assert!(!text.stdout.contains("hunter2"), "{}", text.stdout);
    assert!(
        text.stdout.contains("secret = (sensitive value)"),
        "{}",
        text.stdout
    );
}

#[test]
fn import_takes_terraforms_flags() {
    let dir = common::stack(&[
        (
            "main.tf",
            "terraform {\n  required_providers {\n    local = {\n      source = \"plinth/local\"\n    }\n  }\n}\n\nresource \"local_directory\" \"d\" {\n  path = \"${path.module}/there\"\n}\n",
        ),
        ("there/.keep", ""),
    ]);
    let refused = plinth(
        dir.path(),
        &["import", "-lock=false", "local_directory.d", "./there"],
        &[],
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let run = plinth(
        dir.path(),
        &[
            "import",
            "-input=false",
            "-no-color",
            "local_directory.d",
            "./there",
        ],
        &[],
    );
    ok(&run, "import");
    let list = plinth(dir.path(), &["state", "list"], &[]);
    assert_eq!(list.stdout, "local_directory.d\n");
}
