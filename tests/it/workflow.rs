//! plan, apply, destroy, output and state on plinth_data stacks, through the real
//! binary and the real state store.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{main_tf, plinth, Run};

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("main.tf"), text).expect("write main.tf");
}

fn ok(run: Run) -> Run {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

fn state_list(dir: &Path) -> Vec<String> {
    ok(plinth(dir, &["state", "list"]))
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

/// A hash of every file under `.plinth/`, to prove a command changed nothing.
/// The state as published (snapshot and journal: every commit), without sled's files.
fn published_bytes(dir: &Path) -> BTreeMap<String, u64> {
    store_bytes(dir)
        .into_iter()
        .filter(|(path, _)| !path.contains("/db/"))
        .collect()
}

fn store_bytes(dir: &Path) -> BTreeMap<String, u64> {
    fn walk(p: &Path, out: &mut BTreeMap<String, u64>) {
        use std::hash::{Hash, Hasher};
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&path).unwrap_or_default().hash(&mut h);
                out.insert(path.display().to_string(), h.finish());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&dir.join(".plinth"), &mut out);
    out
}

const ONE: &str = r#"
variable "v" {
  default = "a"
}
resource "plinth_data" "x" {
  input            = var.v
  triggers_replace = "t1"
}
output "x" {
  value = plinth_data.x.output
}
"#;

#[test]
fn create_noop_update_replace() {
    let dir = main_tf(ONE);
    let d = dir.path();
    let first = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(first.code, 2, "{}", first.stderr);
    assert!(first.stdout.contains("# plinth_data.x will be created"));
    assert!(first
        .stdout
        .contains("Plan: 1 to add, 0 to change, 0 to destroy."));
    assert!(
        !d.join(".plinth").exists(),
        "plan on a new stack writes nothing"
    );

    let applied = ok(plinth(d, &["apply", "--auto-approve"]));
    assert!(applied.stdout.contains("plinth_data.x: Creation complete"));
    assert!(applied
        .stdout
        .contains("Apply complete! Resources: 1 added, 0 changed, 0 destroyed."));
    assert_eq!(state_list(d), ["plinth_data.x"]);

    let noop = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(noop.code, 0, "{}{}", noop.stdout, noop.stderr);
    assert!(noop.stdout.contains("No changes."));

    let update = plinth(d, &["plan", "--detailed-exitcode", "--var", "v=b"]);
    assert_eq!(update.code, 2);
    assert!(
        update
            .stdout
            .contains("# plinth_data.x will be updated in-place"),
        "{}",
        update.stdout
    );
    assert!(
        update
            .stdout
            .contains("~ input            = \"a\" -> \"b\""),
        "{}",
        update.stdout
    );
    assert!(update
        .stdout
        .contains("Plan: 0 to add, 1 to change, 0 to destroy."));
    let id_before = ok(plinth(d, &["state", "show", "plinth_data.x"])).stdout;
    ok(plinth(d, &["apply", "--auto-approve", "--var", "v=b"]));
    let id_after = ok(plinth(d, &["state", "show", "plinth_data.x"])).stdout;
    let id = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("id"))
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(id(&id_before), id(&id_after), "an update keeps the id");
    assert_eq!(ok(plinth(d, &["output", "x", "--raw"])).stdout, "b");

    write(d, &ONE.replace("\"t1\"", "\"t2\""));
    let replace = plinth(d, &["plan", "--detailed-exitcode", "--var", "v=b"]);
    assert_eq!(replace.code, 2);
    assert!(
        replace.stdout.contains("# plinth_data.x must be replaced"),
        "{}",
        replace.stdout
    );
    assert!(replace
        .stdout
        .contains("-/+ resource \"plinth_data\" \"x\""));
    assert!(
        replace
            .stdout
            .contains("\"t1\" -> \"t2\" # forces replacement"),
        "{}",
        replace.stdout
    );
    assert!(replace
        .stdout
        .contains("Plan: 1 to add, 0 to change, 1 to destroy."));
    ok(plinth(d, &["apply", "--auto-approve", "--var", "v=b"]));
    let id_replaced = ok(plinth(d, &["state", "show", "plinth_data.x"])).stdout;
    assert_ne!(
        id(&id_after),
        id(&id_replaced),
        "a replacement gets a new id"
    );
}

#[test]
fn create_before_destroy_and_replace_by_request() {
    let dir = main_tf("resource \"terraform_data\" \"x\" {\n  input = 1\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n");
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    let plan = plinth(dir.path(), &["plan", "--replace", "terraform_data.x"]);
    assert!(
        plan.stdout
            .contains("+/- resource \"terraform_data\" \"x\""),
        "{}",
        plan.stdout
    );
    assert!(plan
        .stdout
        .contains("Plan: 1 to add, 0 to change, 1 to destroy."));
}

#[test]
fn prevent_destroy_refuses_at_the_line() {
    let text = "resource \"terraform_data\" \"db\" {\n  triggers_replace = \"v1\"\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n";
    let dir = main_tf(text);
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    write(dir.path(), &text.replace("v1", "v2"));
    let before = store_bytes(dir.path());
    let plan = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(plan.code, 1);
    assert!(
        plan.stderr.contains("Instance cannot be destroyed"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("main.tf:1:1"), "{}", plan.stderr);
    assert_eq!(
        before,
        store_bytes(dir.path()),
        "a refused apply changed the store"
    );
}

#[test]
fn ignore_changes_keeps_the_prior_value() {
    let text = "variable \"v\" {\n  default = \"a\"\n}\nresource \"terraform_data\" \"x\" {\n  input = var.v\n  lifecycle {\n    ignore_changes = [input]\n  }\n}\n";
    let dir = main_tf(text);
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    let plan = plinth(dir.path(), &["plan", "--detailed-exitcode", "--var", "v=b"]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
}

#[test]
fn shrinking_count_and_removing_a_for_each_key_delete_the_right_instances() {
    let dir = main_tf("resource \"terraform_data\" \"n\" {\n  count = 3\n  input = count.index\n}\nresource \"terraform_data\" \"m\" {\n  for_each = toset([\"a\", \"b\"])\n  input    = each.key\n}\n");
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    assert_eq!(state_list(dir.path()).len(), 5);
    write(dir.path(), "resource \"terraform_data\" \"n\" {\n  count = 2\n  input = count.index\n}\nresource \"terraform_data\" \"m\" {\n  for_each = toset([\"b\"])\n  input    = each.key\n}\n");
    let plan = ok(plinth(dir.path(), &["plan"]));
    assert!(
        plan.stdout
            .contains("# terraform_data.n[2] will be destroyed"),
        "{}",
        plan.stdout
    );
    assert!(plan
        .stdout
        .contains("# terraform_data.m[\"a\"] will be destroyed"));
    assert!(plan
        .stdout
        .contains("Plan: 0 to add, 0 to change, 2 to destroy."));
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    assert_eq!(
        state_list(dir.path()),
        [
            "terraform_data.m[\"b\"]",
            "terraform_data.n[0]",
            "terraform_data.n[1]"
        ]
    );
}

#[test]
fn moved_block_renames_without_destroy_or_create() {
    let dir = main_tf("resource \"terraform_data\" \"old\" {\n  input = 1\n}\n");
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    let show = |d: &Path| ok(plinth(d, &["state", "pull"])).stdout;
    let before: serde_json::Value = serde_json::from_str(&show(dir.path())).expect("json");
    write(dir.path(), "resource \"terraform_data\" \"new\" {\n  input = 1\n}\nmoved {\n  from = terraform_data.old\n  to   = terraform_data.new\n}\n");
    let plan = ok(plinth(dir.path(), &["plan", "--detailed-exitcode"]).tap_code(2));
    assert!(
        plan.stdout
            .contains("# terraform_data.old has moved to terraform_data.new"),
        "{}",
        plan.stdout
    );
    assert!(plan
        .stdout
        .contains("Plan: 0 to add, 0 to change, 0 to destroy."));
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    let after: serde_json::Value = serde_json::from_str(&show(dir.path())).expect("json");
    assert_eq!(state_list(dir.path()), ["terraform_data.new"]);
    assert_eq!(
        before["resources"]["terraform_data.old"]["attributes"]["id"],
        after["resources"]["terraform_data.new"]["attributes"]["id"],
        "the object kept its id"
    );
}

trait TapCode {
    fn tap_code(self, expected: i32) -> Run;
}

impl TapCode for Run {
    /// Accepts `expected` as success (for `--detailed-exitcode`).
    fn tap_code(mut self, expected: i32) -> Run {
        assert_eq!(self.code, expected, "{}{}", self.stdout, self.stderr);
        self.code = 0;
        self
    }
}

#[test]
fn depends_on_orders_creation_and_outputs_come_from_state() {
    let dir = main_tf(
        r#"
resource "terraform_data" "b" {
  input      = "b"
  depends_on = [terraform_data.a]
}
resource "terraform_data" "a" {
  input = "a"
}
output "both" {
  value = [terraform_data.a.output, terraform_data.b.output]
}
output "secret" {
  value     = "s3cr3t"
  sensitive = true
}
"#,
    );
    let run = ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    let a = run
        .stdout
        .find("terraform_data.a: Creation complete")
        .expect("a created");
    let b = run
        .stdout
        .find("terraform_data.b: Creating...")
        .expect("b created");
    assert!(a < b, "b started before a finished:\n{}", run.stdout);
    assert!(run.stdout.contains("secret = <sensitive>"));
    assert!(!run.stdout.contains("s3cr3t"));
    let json: serde_json::Value =
        serde_json::from_str(&ok(plinth(dir.path(), &["output", "--json"])).stdout).expect("json");
    assert_eq!(json["both"]["value"], serde_json::json!(["a", "b"]));
    assert_eq!(json["secret"]["sensitive"], true);
}

#[test]
fn a_failing_plan_or_apply_leaves_the_store_byte_identical() {
    let dir = main_tf(ONE);
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    let before = store_bytes(dir.path());
    assert!(!before.is_empty());
    write(
        dir.path(),
        &format!("{ONE}\nlocals {{\n  broken = local.nope\n}}\n"),
    );
    assert_eq!(plinth(dir.path(), &["plan"]).code, 1);
    assert_eq!(plinth(dir.path(), &["apply", "--auto-approve"]).code, 1);
    write(dir.path(), &ONE.replace("var.v", "var.v + 1"));
    let bad_value = plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(bad_value.code, 1, "{}", bad_value.stdout);
    assert_eq!(
        before,
        store_bytes(dir.path()),
        "a failing command changed the store"
    );
}

#[test]
fn a_second_apply_fails_naming_the_lock_holder() {
    let dir = main_tf(ONE);
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    let wdir = plinth_state::workspace::workspace_dir(dir.path(), "default");
    let held =
        plinth_state::lock::StackLock::acquire(&wdir, "apply", Duration::ZERO).expect("lock");
    let second = plinth(dir.path(), &["apply", "--auto-approve", "--var", "v=z"]);
    assert_eq!(second.code, 1);
    assert!(
        second.stderr.contains("the state is locked: apply by"),
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains(&format!("plinth force-unlock {}", held.info.id)),
        "{}",
        second.stderr
    );
    // Read-only commands still work while the lock is held.
    assert_eq!(state_list(dir.path()), ["plinth_data.x"]);
    drop(held);
    ok(plinth(
        dir.path(),
        &["apply", "--auto-approve", "--var", "v=z"],
    ));
}

#[test]
fn destroy_removes_everything() {
    let dir = main_tf("resource \"terraform_data\" \"a\" {}\nresource \"terraform_data\" \"b\" {\n  input = terraform_data.a.id\n}\n");
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    let run = ok(plinth(dir.path(), &["destroy", "--auto-approve"]));
    let b = run
        .stdout
        .find("terraform_data.b: Destruction complete")
        .expect("b destroyed");
    let a = run
        .stdout
        .find("terraform_data.a: Destroying...")
        .expect("a destroyed");
    assert!(
        b < a,
        "a was destroyed before its dependent b:\n{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("Destroy complete! Resources: 2 destroyed."));
    assert!(state_list(dir.path()).is_empty());
}

#[test]
fn apply_asks_and_a_no_cancels() {
    let dir = main_tf(ONE);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args([
            "-C",
            dir.path().to_str().expect("path"),
            "--no-color",
            "apply",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(b"no\n")?;
            c.wait_with_output()
        })
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Only 'yes' will be accepted"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Apply cancelled."));
    assert!(state_list(dir.path()).is_empty());
}

#[test]
fn two_applies_at_once_exactly_one_proceeds() {
    let dir =
        main_tf("resource \"plinth_data\" \"r\" {\n  count = 3000\n  input = count.index\n}\n");
    // Create the store first, so both racers go through the lock.
    write(dir.path(), "resource \"plinth_data\" \"seed\" {}\n");
    ok(plinth(dir.path(), &["apply", "--auto-approve"]));
    write(
        dir.path(),
        "resource \"plinth_data\" \"r\" {\n  count = 3000\n  input = count.index\n}\n",
    );
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_plinth"))
            .args([
                "-C",
                dir.path().to_str().expect("path"),
                "--no-color",
                "apply",
                "--auto-approve",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        a.wait_with_output().expect("a"),
        b.wait_with_output().expect("b"),
    );
    let codes = [a.status.code(), b.status.code()];
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(1)),
        "exit codes {codes:?}"
    );
    let loser = if a.status.code() == Some(1) { &a } else { &b };
    let stderr = String::from_utf8_lossy(&loser.stderr);
    assert!(stderr.contains("the state is locked: apply by"), "{stderr}");
    assert!(stderr.contains("plinth force-unlock "), "{stderr}");
    assert_eq!(state_list(dir.path()).len(), 3000);
}

#[test]
fn saved_plan_applies_exactly_with_its_variables() {
    let dir = main_tf(ONE);
    let d = dir.path();
    let planned = ok(plinth(
        d,
        &["plan", "--var", "v=from-plan", "--out", "p.plan"],
    ));
    assert!(
        planned.stdout.contains("Saved the plan to: p.plan"),
        "{}",
        planned.stdout
    );
    let shown = ok(plinth(d, &["show", "p.plan"]));
    assert!(shown.stdout.contains("# plinth_data.x will be created"));
    assert!(
        shown.stdout.contains("+ input            = \"from-plan\""),
        "{}",
        shown.stdout
    );
    assert!(shown
        .stdout
        .contains("+ id               = (known after apply)"));
    let applied = ok(plinth(d, &["apply", "p.plan"]));
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 1 added"),
        "{}",
        applied.stdout
    );
    assert_eq!(ok(plinth(d, &["output", "x", "--raw"])).stdout, "from-plan");
}

#[test]
fn stale_saved_plan_is_refused_and_changes_nothing() {
    let dir = main_tf(ONE);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    ok(plinth(d, &["plan", "--var", "v=b", "--out", "p.plan"]));
    // Another apply moves the state on.
    ok(plinth(d, &["apply", "--auto-approve", "--var", "v=c"]));
    let before = store_bytes(d);
    let run = plinth(d, &["apply", "p.plan"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("the state has changed since the plan was made"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Nothing was applied."));
    assert_eq!(before, store_bytes(d), "a refused plan changed the store");
    assert_eq!(ok(plinth(d, &["output", "x", "--raw"])).stdout, "c");
}

#[test]
fn saved_plan_for_another_configuration_or_version_is_refused() {
    let dir = main_tf(ONE);
    let d = dir.path();
    ok(plinth(d, &["plan", "--out", "p.plan"]));
    write(d, &ONE.replace("\"t1\"", "\"t9\""));
    let changed = plinth(d, &["apply", "p.plan"]);
    assert_eq!(changed.code, 1);
    assert!(
        changed
            .stderr
            .contains("the configuration has changed since the plan was made"),
        "{}",
        changed.stderr
    );

    write(d, ONE);
    let text = std::fs::read_to_string(d.join("p.plan")).expect("plan file");
    let (_, body) = text.split_once('\n').expect("header line");
    let old_body = body.replace(
        &format!("\"plinth_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"plinth_version\": \"0.0.1\"",
    );
    // Edited as it is, the file is damaged ...
    std::fs::write(
        d.join("edited.plan"),
        format!("plinth-plan sha256=0\n{old_body}"),
    )
    .expect("write");
    let edited = plinth(d, &["apply", "edited.plan"]);
    assert_eq!(edited.code, 1);
    assert!(edited.stderr.contains("is damaged"), "{}", edited.stderr);
    // ... and with its checksum made again, it is an older plinth's plan.
    std::fs::write(d.join("old.plan"), common::signed_plan(&old_body)).expect("write");
    let old = plinth(d, &["apply", "old.plan"]);
    assert_eq!(old.code, 1);
    assert!(
        old.stderr.contains("made by plinth 0.0.1"),
        "{}",
        old.stderr
    );
    assert!(!d.join(".plinth").exists(), "a refused plan wrote state");
    ok(plinth(d, &["apply", "p.plan"]));
}

#[test]
fn workspaces_keep_separate_state() {
    let dir = main_tf("resource \"terraform_data\" \"x\" {\n  input = terraform.workspace\n}\noutput \"ws\" {\n  value = terraform_data.x.output\n}\n");
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    assert!(ok(plinth(d, &["workspace", "new", "dev"]))
        .stdout
        .contains("Created and switched to workspace \"dev\""));
    assert!(state_list(d).is_empty(), "a new workspace starts empty");
    ok(plinth(d, &["apply", "--auto-approve"]));
    assert_eq!(ok(plinth(d, &["output", "ws", "--raw"])).stdout, "dev");
    assert_eq!(
        ok(plinth(d, &["workspace", "list"])).stdout,
        "  default\n* dev\n"
    );
    ok(plinth(d, &["workspace", "select", "default"]));
    assert_eq!(ok(plinth(d, &["output", "ws", "--raw"])).stdout, "default");
    let refused = plinth(d, &["workspace", "delete", "dev"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("still tracks 1 resource instance"),
        "{}",
        refused.stderr
    );
    ok(plinth(d, &["workspace", "delete", "dev", "--force"]));
    assert_eq!(plinth(d, &["workspace", "select", "dev"]).code, 1);
    assert_eq!(plinth(d, &["workspace", "delete", "default"]).code, 1);
}

#[test]
fn state_rm_and_mv() {
    let dir =
        main_tf("resource \"terraform_data\" \"a\" {}\nresource \"terraform_data\" \"b\" {}\n");
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    let pulled: serde_json::Value =
        serde_json::from_str(&ok(plinth(d, &["state", "pull"])).stdout).expect("json");
    let after_apply = pulled["serial"].to_string();
    ok(plinth(
        d,
        &["state", "mv", "terraform_data.a", "terraform_data.c"],
    ));
    ok(plinth(d, &["state", "rm", "terraform_data.b"]));
    assert_eq!(state_list(d), ["terraform_data.c"]);
    assert_eq!(plinth(d, &["state", "rm", "terraform_data.nope"]).code, 1);
    // The configuration still declares a and b: a plan creates them and deletes c.
    let plan = ok(plinth(d, &["plan"]));
    assert!(
        plan.stdout
            .contains("Plan: 2 to add, 0 to change, 1 to destroy."),
        "{}",
        plan.stdout
    );
    let history = ok(plinth(d, &["state", "history"])).stdout;
    assert!(history.lines().count() >= 6, "{history}");
    let at1 = ok(plinth(
        d,
        &[
            "state",
            "show",
            "--serial",
            &after_apply,
            "terraform_data.a",
        ],
    ));
    assert!(
        at1.stdout.starts_with("# terraform_data.a:"),
        "{}",
        at1.stdout
    );
}

#[test]
fn target_limits_the_plan_to_the_target_and_its_dependencies() {
    let text = r#"
resource "terraform_data" "a" {
  input = "a"
}
locals {
  from_a = terraform_data.a.output
}
resource "terraform_data" "b" {
  input = local.from_a
}
resource "terraform_data" "c" {
  input = "c"
}
resource "terraform_data" "n" {
  count = 3
  input = count.index
}
"#;
    let dir = main_tf(text);
    let d = dir.path();
    let plan = ok(plinth(d, &["plan", "--target", "terraform_data.b"]));
    assert!(
        plan.stdout.contains("# terraform_data.a will be created"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("# terraform_data.b will be created"));
    assert!(
        plan.stdout
            .contains("Plan: 2 to add, 0 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    ok(plinth(
        d,
        &["apply", "--auto-approve", "--target", "terraform_data.n[1]"],
    ));
    assert_eq!(state_list(d), ["terraform_data.n[1]"]);
    ok(plinth(d, &["apply", "--auto-approve"]));
    assert_eq!(state_list(d).len(), 6);
    // An orphan outside the target is left alone.
    write(
        d,
        &text.replace(
            "resource \"terraform_data\" \"c\" {\n  input = \"c\"\n}\n",
            "",
        ),
    );
    let plan = plinth(
        d,
        &[
            "plan",
            "--detailed-exitcode",
            "--target",
            "terraform_data.b",
        ],
    );
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    let plan = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2);
    assert!(plan.stdout.contains("# terraform_data.c will be destroyed"));
}

#[test]
fn secrets_in_state_are_never_printed_by_plans() {
    let text = "variable \"token\" {\n  sensitive = true\n}\nresource \"terraform_data\" \"x\" {\n  input = var.token\n}\n";
    let dir = main_tf(text);
    let d = dir.path();
    let first = ok(plinth(
        d,
        &["apply", "--auto-approve", "--var", "token=old-s3cret"],
    ));
    assert!(!first.stdout.contains("old-s3cret"), "{}", first.stdout);
    let update = plinth(d, &["plan", "--var", "token=new-s3cret"]);
    assert!(
        update.stdout.contains("will be updated in-place"),
        "{}",
        update.stdout
    );
    for run in [
        update,
        plinth(d, &["plan", "--destroy"]),
        plinth(d, &["state", "show", "terraform_data.x"]),
    ] {
        assert!(
            !run.stdout.contains("s3cret"),
            "a secret was printed:\n{}",
            run.stdout
        );
        assert!(run.stdout.contains("(sensitive value)"), "{}", run.stdout);
    }
}

#[test]
fn count_known_only_after_apply_is_refused_not_treated_as_zero() {
    let dir = main_tf("resource \"terraform_data\" \"n\" {\n  count = 2\n}\n");
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    write(d, "resource \"terraform_data\" \"size\" {\n  input = 2\n}\nresource \"terraform_data\" \"n\" {\n  count = length(terraform_data.size.id) > 0 ? 2 : 0\n}\n");
    let before = store_bytes(d);
    let plan = plinth(d, &["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    assert!(
        plan.stderr.contains("Invalid count argument"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("main.tf:5:11"), "{}", plan.stderr);
    assert!(
        !plan.stdout.contains("will be destroyed"),
        "{}",
        plan.stdout
    );
    assert_eq!(before, store_bytes(d));
    // Applying the dependency first makes the count known.
    ok(plinth(
        d,
        &["apply", "--auto-approve", "--target", "terraform_data.size"],
    ));
    let plan = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
}

#[test]
fn json_plan_has_terraforms_shape() {
    let dir = main_tf(ONE);
    let d = dir.path();
    let run = ok(plinth(d, &["plan", "--json", "--out", "p.plan"]));
    let json_text = run.stdout.split("\nSaved the plan").next().unwrap_or("");
    let plan: serde_json::Value = serde_json::from_str(json_text).expect("plan json");
    let c = &plan["resource_changes"][0];
    assert_eq!(c["address"], "plinth_data.x");
    assert_eq!(c["mode"], "managed");
    assert_eq!(c["type"], "plinth_data");
    assert_eq!(c["provider_name"], "terraform.io/builtin/terraform");
    assert_eq!(c["change"]["actions"], serde_json::json!(["create"]));
    assert_eq!(c["change"]["before"], serde_json::Value::Null);
    assert_eq!(c["change"]["after"]["input"], "a");
    assert_eq!(c["change"]["after_unknown"]["id"], true);
    // Terraform's masks leave the falses out.
    assert_eq!(c["change"]["after_unknown"].get("input"), None);
    let shown: serde_json::Value =
        serde_json::from_str(&ok(plinth(d, &["show", "--json", "p.plan"])).stdout).expect("json");
    assert_eq!(
        shown["resource_changes"][0]["change"]["after"]["input"],
        "a"
    );

    ok(plinth(d, &["apply", "p.plan"]));
    write(d, &ONE.replace("\"t1\"", "\"t2\""));
    let replace: serde_json::Value =
        serde_json::from_str(&ok(plinth(d, &["plan", "--json"])).stdout).expect("json");
    let c = &replace["resource_changes"][0];
    assert_eq!(
        c["change"]["actions"],
        serde_json::json!(["delete", "create"])
    );
    assert_eq!(c["action_reason"], "replace_because_cannot_update");
    assert_eq!(
        c["change"]["replace_paths"],
        serde_json::json!([["triggers_replace"]])
    );
    assert_eq!(c["change"]["before"]["triggers_replace"], "t1");
}

#[test]
fn prevent_destroy_inside_a_module_is_enforced() {
    let dir = common::stack(&[
        ("main.tf", "module \"db\" {\n  source = \"./db\"\n}\n"),
        ("db/main.tf", "resource \"terraform_data\" \"data\" {\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n"),
    ]);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    assert_eq!(state_list(d), ["module.db.terraform_data.data"]);
    let destroy = plinth(d, &["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 1, "{}", destroy.stdout);
    assert!(
        destroy.stderr.contains("Instance cannot be destroyed"),
        "{}",
        destroy.stderr
    );
    assert!(
        destroy.stderr.contains("db/main.tf:1:1"),
        "{}",
        destroy.stderr
    );
    assert_eq!(state_list(d), ["module.db.terraform_data.data"]);
}

#[test]
fn lock_timeout_waits_for_the_holder_to_finish() {
    let dir = main_tf(ONE);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    let wdir = plinth_state::workspace::workspace_dir(d, "default");
    let held =
        plinth_state::lock::StackLock::acquire(&wdir, "apply", Duration::ZERO).expect("lock");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        drop(held);
    });
    let started = std::time::Instant::now();
    let run = ok(plinth(
        d,
        &[
            "apply",
            "--auto-approve",
            "--lock-timeout",
            "10s",
            "--var",
            "v=b",
        ],
    ));
    assert!(
        started.elapsed() >= Duration::from_millis(700),
        "did not wait for the lock"
    );
    assert!(run.stdout.contains("1 changed"), "{}", run.stdout);
    release.join().expect("release thread");
}

#[test]
fn removed_instances_carry_terraforms_reasons() {
    let dir = main_tf("resource \"terraform_data\" \"n\" {\n  count = 2\n}\nresource \"terraform_data\" \"m\" {\n  for_each = toset([\"a\", \"b\"])\n}\nresource \"terraform_data\" \"gone\" {}\n");
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    write(d, "resource \"terraform_data\" \"n\" {\n  count = 1\n}\nresource \"terraform_data\" \"m\" {\n  for_each = toset([\"a\"])\n}\n");
    let plan: serde_json::Value =
        serde_json::from_str(&ok(plinth(d, &["plan", "--json"])).stdout).expect("json");
    let reason = |addr: &str| {
        plan["resource_changes"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["address"] == addr))
            .map(|c| c["action_reason"].clone())
            .unwrap_or_default()
    };
    assert_eq!(reason("terraform_data.n[1]"), "delete_because_count_index");
    assert_eq!(reason("terraform_data.m[\"b\"]"), "delete_because_each_key");
    assert_eq!(
        reason("terraform_data.gone"),
        "delete_because_no_resource_config"
    );
}

#[test]
fn output_only_changes_are_changes() {
    let dir = main_tf("resource \"terraform_data\" \"x\" {\n  input = \"a\"\n}\noutput \"v\" {\n  value = terraform_data.x.output\n}\noutput \"gone\" {\n  value = 1\n}\noutput \"secret\" {\n  value     = \"s1\"\n  sensitive = true\n}\n");
    let d = dir.path();
    let first = ok(plinth(d, &["plan"]));
    assert!(
        first.stdout.contains("Changes to Outputs:"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("  + v      = \"a\""),
        "{}",
        first.stdout
    );
    ok(plinth(d, &["apply", "--auto-approve"]));
    write(d, "resource \"terraform_data\" \"x\" {\n  input = \"a\"\n}\noutput \"v\" {\n  value = \"${terraform_data.x.output}-2\"\n}\noutput \"secret\" {\n  value     = \"s2\"\n  sensitive = true\n}\n");
    let plan = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stdout);
    assert!(
        plan.stdout.contains("~ v      = \"a\" -> \"a-2\""),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("- gone   = 1 -> null"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("~ secret = (sensitive value) -> (sensitive value)"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("s2") && !plan.stdout.contains("s1"),
        "{}",
        plan.stdout
    );
    assert!(plan
        .stdout
        .contains("without changing any real infrastructure"));
    assert!(!plan.stdout.contains("Plan:"), "{}", plan.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&ok(plinth(d, &["plan", "--json"])).stdout).expect("json");
    assert_eq!(
        json["output_changes"]["v"]["actions"],
        serde_json::json!(["update"])
    );
    assert_eq!(json["output_changes"]["secret"]["after_sensitive"], true);
    ok(plinth(d, &["apply", "--auto-approve"]));
    assert_eq!(ok(plinth(d, &["output", "v", "--raw"])).stdout, "a-2");
    assert_eq!(plinth(d, &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn refresh_flags_on_a_stack_that_matches() {
    let dir = main_tf(ONE);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    let only = plinth(d, &["plan", "--refresh-only", "--detailed-exitcode"]);
    assert_eq!(only.code, 0, "{}{}", only.stdout, only.stderr);
    assert!(
        only.stdout
            .contains("Your infrastructure still matches the configuration"),
        "{}",
        only.stdout
    );
    // An apply opens the database (sled rewrites its own files when opened) to check
    // it against its published copy; what it records must not change.
    let before = published_bytes(d);
    let apply_only = ok(plinth(d, &["apply", "--refresh-only", "--auto-approve"]));
    assert!(
        apply_only.stdout.contains("still matches"),
        "{}",
        apply_only.stdout
    );
    assert_eq!(
        before,
        published_bytes(d),
        "a refresh with no drift wrote state"
    );

    write(d, &ONE.replace("default = \"a\"", "default = \"b\""));
    let skipped = plinth(d, &["plan", "--refresh=false", "--detailed-exitcode"]);
    assert_eq!(skipped.code, 2, "{}{}", skipped.stdout, skipped.stderr);
    assert!(skipped.stdout.contains("~ input"), "{}", skipped.stdout);
    // A refresh-only plan ignores the configuration's changes.
    let only = plinth(d, &["plan", "--refresh-only", "--detailed-exitcode"]);
    assert_eq!(only.code, 0, "{}", only.stdout);

    let bad = plinth(d, &["apply", "--refresh-only", "--destroy"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("--refresh-only cannot be used"),
        "{}",
        bad.stderr
    );
    let bad = plinth(d, &["plan", "--refresh", "maybe"]);
    assert_ne!(bad.code, 0);
}

const TRIGGERED: &str = r#"
variable "v" {
  default = "a"
}
resource "plinth_data" "src" {
  input = var.v
}
resource "plinth_data" "other" {
  input = "x"
}
resource "plinth_data" "whole" {
  input = "w"
  lifecycle {
    replace_triggered_by = [plinth_data.src]
  }
}
resource "plinth_data" "attr" {
  input = "a2"
  lifecycle {
    replace_triggered_by = [plinth_data.src.output]
  }
}
resource "plinth_data" "unrelated" {
  input = "u"
  lifecycle {
    replace_triggered_by = [plinth_data.other]
  }
}
resource "plinth_data" "counted" {
  count = 2
  input = count.index
  lifecycle {
    replace_triggered_by = [plinth_data.src.id, plinth_data.other]
  }
}
"#;

#[test]
fn replace_triggered_by_replaces_when_what_it_names_changes() {
    let dir = main_tf(TRIGGERED);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    let id_of = |addr: &str| -> String {
        let shown = ok(plinth(d, &["state", "show", addr])).stdout;
        shown
            .lines()
            .find_map(|l| l.trim().strip_prefix("id"))
            .map(|l| l.trim_start_matches([' ', '=']).to_string())
            .unwrap_or_else(|| panic!("no id in {shown}"))
    };
    let whole = id_of("plinth_data.whole");
    let unrelated = id_of("plinth_data.unrelated");
    let counted = id_of("plinth_data.counted[0]");

    let plan = plinth(d, &["plan", "--var", "v=b", "--json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).expect("json");
    let mut seen = BTreeMap::new();
    for c in json["resource_changes"].as_array().expect("changes") {
        seen.insert(
            c["address"].as_str().unwrap_or("").to_string(),
            (
                c["change"]["actions"].to_string(),
                c["action_reason"].as_str().unwrap_or("").to_string(),
            ),
        );
    }
    let replaced = (
        r#"["delete","create"]"#.to_string(),
        "replace_by_triggers".to_string(),
    );
    assert_eq!(seen["plinth_data.src"].0, r#"["update"]"#);
    assert_eq!(seen["plinth_data.whole"], replaced);
    assert_eq!(seen["plinth_data.attr"], replaced, "src.output changes");
    assert_eq!(seen["plinth_data.unrelated"].0, r#"["no-op"]"#);
    // src.id does not change on an update, and other is unchanged.
    assert_eq!(seen["plinth_data.counted[0]"].0, r#"["no-op"]"#);

    ok(plinth(d, &["apply", "--auto-approve", "--var", "v=b"]));
    assert_ne!(id_of("plinth_data.whole"), whole);
    assert_eq!(id_of("plinth_data.unrelated"), unrelated);
    assert_eq!(id_of("plinth_data.counted[0]"), counted);
    let again = plinth(d, &["plan", "--var", "v=b", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
}

#[test]
fn replace_triggered_by_must_name_a_managed_resource() {
    let dir = main_tf(
        "variable \"v\" {\n  default = 1\n}\nresource \"plinth_data\" \"x\" {\n  lifecycle {\n    replace_triggered_by = [var.v]\n  }\n}\n",
    );
    let run = plinth(dir.path(), &["plan"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("Invalid replace_triggered_by expression"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("main.tf:6"), "{}", run.stderr);
    let dir = main_tf(
        "resource \"plinth_data\" \"x\" {\n  lifecycle {\n    replace_triggered_by = [plinth_data.nope]\n  }\n}\n",
    );
    let run = plinth(dir.path(), &["plan"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("undeclared resource"), "{}", run.stderr);
}

#[test]
fn destroy_waits_for_every_dependent_instance_across_modules() {
    let dir = common::stack(&[
        (
            "main.tf",
            "resource \"terraform_data\" \"a\" {\n  count = 3\n}\nresource \"terraform_data\" \"b\" {\n  count = 3\n  input = terraform_data.a[count.index].id\n}\nmodule \"m\" {\n  source = \"./m\"\n  ids    = terraform_data.b[*].id\n}\n",
        ),
        (
            "m/main.tf",
            "variable \"ids\" {}\nresource \"terraform_data\" \"c\" {\n  for_each = toset([\"x\", \"y\"])\n  input    = var.ids\n}\n",
        ),
    ]);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    let run = ok(plinth(d, &["destroy", "--auto-approve"]));
    let lines: Vec<&str> = run.stdout.lines().collect();
    let position = |resource: &str, event: &str, last: bool| {
        let mut hits = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with(resource) && l.contains(event));
        let hit = if last { hits.next_back() } else { hits.next() };
        hit.map(|(i, _)| i)
            .unwrap_or_else(|| panic!("{resource} {event} missing:\n{}", run.stdout))
    };
    let last_done = |r: &str| position(r, ": Destruction complete", true);
    let first_start = |r: &str| position(r, ": Destroying...", false);
    assert!(
        last_done("module.m.terraform_data.c[") < first_start("terraform_data.b["),
        "{}",
        run.stdout
    );
    assert!(
        last_done("terraform_data.b[") < first_start("terraform_data.a["),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Resources: 8 destroyed."),
        "{}",
        run.stdout
    );
    assert!(state_list(d).is_empty());
}
