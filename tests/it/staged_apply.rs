//! Staged apply: a provider configuration that comes from a resource of the same
//! stack. plinth/local's `root` (the directory its relative filenames are written
//! under) comes from `plinth_data.cluster`, which only an apply makes known; the
//! file the second stage writes proves that stage was configured with that value.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{local_provider_dir, Run};

const STACK: &str = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}
resource "plinth_data" "cluster" {
  input = "${path.module}/cluster"
}
provider "local" {
  root = plinth_data.cluster.output
}
resource "local_file" "app" {
  filename = "app.txt"
  content  = "hello"
}
resource "plinth_data" "after" {
  input = local_file.app.id
}
"#;

/// Runs plinth in `dir` with plinth/local found beside it, `stdin` as its input.
fn run(dir: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("path"), "--no-color"])
        .args(args)
        .env("PLINTH_PLUGIN_DIR", local_provider_dir())
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run plinth");
    if let Some(mut input) = child.stdin.take() {
        // A plinth that stops asking early closes its end; that is no failure here.
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("wait for plinth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn plinth(dir: &Path, args: &[&str]) -> Run {
    run(dir, args, "")
}

fn ok(r: Run) -> Run {
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    r
}

fn listed(dir: &Path) -> Vec<String> {
    ok(plinth(dir, &["state", "list"]))
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

const EVERYTHING: [&str; 3] = ["local_file.app", "plinth_data.after", "plinth_data.cluster"];

#[test]
fn apply_plans_and_applies_both_stages_in_one_run() {
    let dir = common::main_tf(STACK);
    let out = ok(plinth(dir.path(), &["apply", "--auto-approve"])).stdout;
    // Stage 1's plan: the cluster, and the deferred instances with their reasons.
    let stage2 = out.find("planning stage 2").expect(&out);
    let (first, second) = out.split_at(stage2);
    assert!(
        first.contains("# plinth_data.cluster will be created"),
        "{out}"
    );
    assert!(!first.contains("# local_file.app will be created"), "{out}");
    assert!(
        first.contains("Note: this plan is partial: 2 resources wait for provider configuration"),
        "{out}"
    );
    assert!(
        first.contains(
            "local_file.app (waits for provider \"local\" argument root (from plinth_data.cluster))"
        ),
        "{out}"
    );
    assert!(
        first.contains("plinth_data.after (depends on deferred local_file.app)"),
        "{out}"
    );
    // Stage 2's plan and apply, through the provider configured with the cluster's
    // output: the file lies under that directory.
    assert!(second.contains("# local_file.app will be created"), "{out}");
    assert!(
        second.contains("# plinth_data.after will be created"),
        "{out}"
    );
    assert!(!second.contains("partial"), "{out}");
    assert_eq!(out.matches("Apply complete!").count(), 2, "{out}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cluster/app.txt")).expect("written under root"),
        "hello"
    );
    assert!(!dir.path().join("app.txt").exists());
    assert_eq!(listed(dir.path()), EVERYTHING);
    let again = plinth(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert!(!again.stdout.contains("partial"), "{}", again.stdout);
}

#[test]
fn interactive_apply_asks_for_each_stage() {
    let dir = common::main_tf(STACK);
    let both = ok(run(dir.path(), &["apply"], "yes\nyes\n"));
    assert_eq!(
        both.stdout.matches("Enter a value").count(),
        2,
        "{}",
        both.stdout
    );
    assert_eq!(listed(dir.path()), EVERYTHING);
}

#[test]
fn declining_the_second_stage_keeps_the_first() {
    let dir = common::main_tf(STACK);
    let r = run(dir.path(), &["apply"], "yes\nno\n");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.matches("Enter a value").count(), 2, "{}", r.stdout);
    assert!(
        r.stderr.contains("Apply cancelled at stage 2: the stages before it were applied and saved; 2 change(s) of stage 2 were not made."),
        "{}",
        r.stderr
    );
    assert_eq!(listed(dir.path()), ["plinth_data.cluster"]);
    assert!(!dir.path().join("cluster/app.txt").exists());
    // The next apply starts from there: one stage is left.
    let rest = ok(plinth(dir.path(), &["apply", "--auto-approve"])).stdout;
    assert!(!rest.contains("partial"), "{rest}");
    assert_eq!(listed(dir.path()), EVERYTHING);
}

#[test]
fn plan_shows_stage_one_and_exits_2_with_detailed_exitcode() {
    let dir = common::main_tf(STACK);
    let r = plinth(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("this plan is partial: 2 resources"),
        "{}",
        r.stdout
    );
    assert!(!dir.path().join(".plinth/workspaces").exists() || listed(dir.path()).is_empty());
}

#[test]
fn a_saved_partial_plan_says_so_and_applies_its_stage() {
    let dir = common::main_tf(STACK);
    ok(plinth(dir.path(), &["plan", "--out", "stage.plan"]));
    let shown = ok(plinth(dir.path(), &["show", "stage.plan"])).stdout;
    assert!(
        shown.contains("Note: this plan is partial: 2 resources wait for provider configuration"),
        "{shown}"
    );
    assert!(
        shown.contains("local_file.app (waits for provider"),
        "{shown}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(plinth(dir.path(), &["show", "-json", "stage.plan"])).stdout)
            .expect("JSON plan");
    assert_eq!(json["complete"], false);
    assert_eq!(json["applyable"], true);
    let deferred = json["deferred_changes"]
        .as_array()
        .expect("deferred_changes");
    let entries: Vec<(&str, &str)> = deferred
        .iter()
        .map(|d| {
            (
                d["resource_change"]["address"].as_str().unwrap_or(""),
                d["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("local_file.app", "provider_config_unknown"),
            ("plinth_data.after", "deferred_prereq")
        ]
    );
    assert_eq!(
        deferred[0]["resource_change"]["provider_name"],
        "registry.terraform.io/plinth/local"
    );
    let changes: Vec<&str> = json["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .filter_map(|c| c["address"].as_str())
        .collect();
    assert_eq!(changes, ["plinth_data.cluster"]);
    // Applying the file applies what it showed, and says what is left.
    let applied = ok(plinth(dir.path(), &["apply", "stage.plan"])).stdout;
    assert!(
        applied.contains("This saved plan was partial: 2 resource(s) still wait"),
        "{applied}"
    );
    assert!(!applied.contains("planning stage 2"), "{applied}");
    assert_eq!(listed(dir.path()), ["plinth_data.cluster"]);
    // The next plan is the second stage, complete.
    ok(plinth(dir.path(), &["plan", "--out", "rest.plan"]));
    let rest: serde_json::Value =
        serde_json::from_str(&ok(plinth(dir.path(), &["show", "-json", "rest.plan"])).stdout)
            .expect("JSON plan");
    assert_eq!(rest["complete"], true);
    assert!(rest.get("deferred_changes").is_none(), "{rest}");
    ok(plinth(dir.path(), &["apply", "rest.plan"]));
    assert_eq!(listed(dir.path()), EVERYTHING);
}

#[test]
fn a_provider_argument_that_stays_unknown_is_an_error_at_its_line() {
    let stack = STACK.replace(
        "root = plinth_data.cluster.output",
        "root = \"${path.module}/${timestamp()}\"",
    );
    let dir = common::main_tf(&stack);
    let r = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("Provider configuration stays unknown"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("main.tf:10:3"), "{}", r.stderr);
    assert!(r.stderr.contains("argument root"), "{}", r.stderr);
    assert!(!dir.path().join(".plinth/workspaces").exists() || listed(dir.path()).is_empty());
}

#[test]
fn an_unknown_that_survives_a_stage_is_an_error_in_the_next() {
    let stack = STACK.replace(
        "root = plinth_data.cluster.output",
        "root = \"${plinth_data.cluster.output}/${timestamp()}\"",
    );
    let dir = common::main_tf(&stack);
    let r = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("planning stage 2"), "{}", r.stdout);
    assert!(
        r.stderr.contains("Provider configuration stays unknown"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("main.tf:10:3"), "{}", r.stderr);
    assert_eq!(listed(dir.path()), ["plinth_data.cluster"]);
}

#[test]
fn target_and_refresh_only_still_behave() {
    let dir = common::main_tf(STACK);
    // Only the cluster is targeted: nothing of the provider is in scope, so
    // nothing is deferred.
    let r = ok(plinth(
        dir.path(),
        &["apply", "--auto-approve", "--target", "plinth_data.cluster"],
    ));
    assert!(!r.stdout.contains("partial"), "{}", r.stdout);
    assert_eq!(listed(dir.path()), ["plinth_data.cluster"]);
    // Targeting the file brings in what its provider configuration comes from,
    // which is known now.
    ok(plinth(
        dir.path(),
        &["apply", "--auto-approve", "--target", "local_file.app"],
    ));
    assert_eq!(
        listed(dir.path()),
        ["local_file.app", "plinth_data.cluster"]
    );
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    // The file changed outside plinth: refresh through the configured provider
    // sees it (plinth/local reads an edited file as gone).
    std::fs::write(dir.path().join("cluster/app.txt"), "edited").expect("edit");
    let refresh = ok(plinth(dir.path(), &["plan", "--refresh-only"])).stdout;
    assert!(refresh.contains("local_file.app"), "{refresh}");
    assert!(refresh.contains("has been deleted"), "{refresh}");
}

#[test]
fn destroy_goes_through_the_provider_before_what_configures_it() {
    let dir = common::main_tf(STACK);
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    let out = ok(plinth(dir.path(), &["destroy", "--auto-approve"])).stdout;
    let file = out
        .find("local_file.app: Destruction complete")
        .expect(&out);
    let cluster = out.find("plinth_data.cluster: Destroying...").expect(&out);
    assert!(file < cluster, "{out}");
    assert!(!dir.path().join("cluster/app.txt").exists());
    assert!(listed(dir.path()).is_empty());
}
