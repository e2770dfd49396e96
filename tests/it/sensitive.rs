//! A sensitive value stays sensitive through a provider's resources: what the
//! configuration marks and what the provider's schema calls sensitive is
//! `(sensitive value)` in plan text, apply progress and errors, `state show`, `show`,
//! the console and `PLINTH_LOG` output, in this run and the next; the JSON forms carry
//! the values beside Terraform's `*_sensitive` masks. Driven through plinth/local.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{local_provider_dir, Run};

const SECRET: &str = "hunter2-correct-horse";

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("path"), "--no-color"])
        .args(args)
        .env("PLINTH_PLUGIN_DIR", local_provider_dir())
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .env_remove("PLINTH_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run plinth");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn plinth(dir: &Path, args: &[&str]) -> Run {
    run(dir, args, &[], "")
}

/// Asserts the exit code, and that none of `secrets` is in stdout or stderr.
#[track_caller]
fn masked(r: &Run, code: i32, secrets: &[&str]) {
    let all = format!("{}{}", r.stdout, r.stderr);
    assert_eq!(r.code, code, "{all}");
    for s in secrets {
        assert!(!all.contains(s), "{s:?} printed:\n{all}");
    }
}

const HEAD: &str = r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

variable "secret" {
  type      = string
  sensitive = true
}
"#;

fn stack(body: &str) -> tempfile::TempDir {
    common::stack(&[("main.tf", &format!("{HEAD}{body}"))])
}

const DERIVED: &str = r#"
resource "local_file" "plain" {
  filename = "${path.module}/plain.txt"
  content  = var.secret
}

resource "local_file" "prefixed" {
  filename = "${path.module}/prefixed.txt"
  content  = "prefix-${var.secret}"
}

resource "local_file" "upper" {
  filename = "${path.module}/upper.txt"
  content  = upper(sensitive("quiet-words"))
}
"#;

#[test]
fn a_sensitive_value_and_values_derived_from_it_are_masked_in_plan_apply_and_state() {
    let dir = stack(DERIVED);
    let var = format!("secret={SECRET}");
    let secrets = [SECRET, "quiet-words", "QUIET-WORDS"];

    let plan = plinth(dir.path(), &["plan", "--var", &var]);
    masked(&plan, 0, &secrets);
    assert_eq!(
        plan.stdout
            .matches("+ content              = (sensitive value)")
            .count(),
        3,
        "{}",
        plan.stdout
    );

    let apply = plinth(dir.path(), &["apply", "--auto-approve", "--var", &var]);
    masked(&apply, 0, &secrets);
    assert!(
        apply.stdout.contains("Resources: 3 added"),
        "{}",
        apply.stdout
    );
    // The provider was given the values themselves.
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).expect("file written");
    assert_eq!(read("plain.txt"), SECRET);
    assert_eq!(read("prefixed.txt"), format!("prefix-{SECRET}"));
    assert_eq!(read("upper.txt"), "QUIET-WORDS");

    // Each `state show` is a new process: the marks come from state.
    for name in ["plain", "prefixed", "upper"] {
        let show = plinth(
            dir.path(),
            &["state", "show", &format!("local_file.{name}")],
        );
        masked(&show, 0, &secrets);
        assert!(
            show.stdout
                .contains("content              = (sensitive value)"),
            "{}",
            show.stdout
        );
        assert!(
            show.stdout.contains("file_permission      = \"0777\""),
            "{}",
            show.stdout
        );
    }

    // State records the paths beside the values, as Terraform's sensitive_attributes.
    let pull = plinth(dir.path(), &["state", "pull"]);
    assert_eq!(pull.code, 0, "{}", pull.stderr);
    let state: serde_json::Value = serde_json::from_str(&pull.stdout).expect("state json");
    let plain = &state["resources"]["local_file.plain"];
    assert_eq!(plain["attributes"]["content"], SECRET);
    assert!(
        plain["sensitive_paths"]
            .as_array()
            .is_some_and(|p| p.contains(&serde_json::json!(["content"]))),
        "{plain}"
    );

    // A later plan in a new process, with the same secret: nothing to do, nothing shown.
    let again = plinth(dir.path(), &["plan", "--var", &var]);
    masked(&again, 0, &secrets);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn a_changed_secret_is_planned_without_showing_the_old_or_the_new_one() {
    let dir = stack(DERIVED);
    let old = format!("secret={SECRET}");
    assert_eq!(
        plinth(dir.path(), &["apply", "--auto-approve", "--var", &old]).code,
        0
    );
    let new = "secret=battery-staple-9";
    let plan = plinth(dir.path(), &["plan", "--var", new]);
    masked(&plan, 0, &[SECRET, "battery-staple-9", "quiet-words"]);
    assert_eq!(
        plan.stdout
            .matches("~ content              = (sensitive value) # forces replacement")
            .count(),
        2,
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 2 to add, 0 to change, 2 to destroy."),
        "{}",
        plan.stdout
    );

    let apply = plinth(dir.path(), &["apply", "--auto-approve", "--var", new]);
    masked(&apply, 0, &[SECRET, "battery-staple-9"]);
    let show = plinth(dir.path(), &["state", "show", "local_file.prefixed"]);
    masked(&show, 0, &[SECRET, "battery-staple-9"]);
}

#[test]
fn a_plan_file_masks_its_text_and_keeps_values_with_masks_in_json() {
    let dir = stack(DERIVED);
    let var = format!("secret={SECRET}");
    let plan = plinth(dir.path(), &["plan", "--var", &var, "--out", "plan.bin"]);
    masked(&plan, 0, &[SECRET]);

    let text = plinth(dir.path(), &["show", "plan.bin"]);
    masked(&text, 0, &[SECRET]);
    assert!(
        text.stdout
            .contains("+ content              = (sensitive value)"),
        "{}",
        text.stdout
    );

    // JSON is for tools: the value is there, with after_sensitive marking its path.
    let json = plinth(dir.path(), &["show", "--json", "plan.bin"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let plan: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan json");
    let change = plan["resource_changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["address"] == "local_file.plain"))
        .map(|c| c["change"].clone())
        .expect("local_file.plain in the plan");
    assert_eq!(change["after"]["content"], SECRET);
    assert_eq!(change["after_sensitive"]["content"], true);
    // Terraform's masks leave the falses out.
    assert_eq!(change["after_sensitive"].get("filename"), None);

    let apply = plinth(dir.path(), &["apply", "--auto-approve", "plan.bin"]);
    masked(&apply, 0, &[SECRET]);
}

#[test]
fn the_console_masks_a_resource_attribute_from_state() {
    let dir = stack(DERIVED);
    let var = format!("secret={SECRET}");
    assert_eq!(
        plinth(dir.path(), &["apply", "--auto-approve", "--var", &var]).code,
        0
    );
    let console = run(
        dir.path(),
        &["console", "--var", &var],
        &[],
        "local_file.prefixed.content\nlocal_file.prefixed.filename\nlocal_file.upper\n",
    );
    masked(&console, 0, &[SECRET, "QUIET-WORDS"]);
    assert!(
        console
            .stdout
            .starts_with("(sensitive value)\n\"./prefixed.txt\"\n"),
        "{}",
        console.stdout
    );
    assert!(
        console.stdout.contains("\"content\" = (sensitive value)"),
        "{}",
        console.stdout
    );
}

#[test]
fn an_attribute_the_provider_schema_calls_sensitive_is_masked_without_a_mark_in_config() {
    // local_file's sensitive_content is `sensitive` in plinth/local's schema, as in
    // HashiCorp's: nothing in the configuration marks this literal.
    let dir = stack(
        r#"
resource "local_file" "f" {
  filename          = "${path.module}/f.txt"
  sensitive_content = "schema-says-secret"
}
"#,
    );
    let var = "secret=unused";
    let plan = plinth(dir.path(), &["plan", "--var", var]);
    masked(&plan, 0, &["schema-says-secret"]);
    assert!(
        plan.stdout
            .contains("+ sensitive_content    = (sensitive value)"),
        "{}",
        plan.stdout
    );
    let apply = plinth(dir.path(), &["apply", "--auto-approve", "--var", var]);
    masked(&apply, 0, &["schema-says-secret"]);
    let show = plinth(dir.path(), &["state", "show", "local_file.f"]);
    masked(&show, 0, &["schema-says-secret"]);
    assert!(
        show.stdout
            .contains("sensitive_content    = (sensitive value)"),
        "{}",
        show.stdout
    );
}

#[test]
fn a_provider_error_that_quotes_a_secret_shows_it_masked() {
    // plinth/local quotes a bad file mode back; the mode here is the secret.
    let dir = stack(
        r#"
resource "local_file" "f" {
  filename        = "${path.module}/f.txt"
  content         = "x"
  file_permission = var.secret
}
"#,
    );
    let var = format!("secret={SECRET}");
    let apply = plinth(dir.path(), &["apply", "--auto-approve", "--var", &var]);
    masked(&apply, 1, &[SECRET]);
    assert!(
        apply
            .stderr
            .contains("such as \"0644\"; (sensitive value) is not."),
        "{}",
        apply.stderr
    );
}

#[test]
fn an_apply_error_that_names_a_secret_path_shows_it_masked() {
    // The file's directory is a plain file, so the write fails and the provider
    // names the path, which holds the secret.
    let dir = stack(
        r#"
resource "local_file" "f" {
  filename = "${path.module}/blocker/${var.secret}.txt"
  content  = "x"
}
"#,
    );
    std::fs::write(dir.path().join("blocker"), "").expect("write blocker");
    let var = format!("secret={SECRET}");
    let apply = plinth(dir.path(), &["apply", "--auto-approve", "--var", &var]);
    masked(&apply, 1, &[SECRET]);
    assert!(
        apply.stderr.contains("Cannot write file"),
        "{}",
        apply.stderr
    );
    assert!(
        apply.stderr.contains("(sensitive value)"),
        "{}",
        apply.stderr
    );
}

#[test]
fn plinth_log_output_has_no_secret() {
    let dir = stack(DERIVED);
    let var = format!("secret={SECRET}");
    let log = [("PLINTH_LOG", "1")];
    let apply = run(
        dir.path(),
        &["apply", "--auto-approve", "--var", &var],
        &log,
        "",
    );
    masked(&apply, 0, &[SECRET, "quiet-words", "QUIET-WORDS"]);
    assert!(
        apply.stderr.contains("[plinth] provider plinth/local"),
        "{}",
        apply.stderr
    );
    let destroy = run(
        dir.path(),
        &["destroy", "--auto-approve", "--var", &var],
        &log,
        "",
    );
    masked(&destroy, 0, &[SECRET, "quiet-words", "QUIET-WORDS"]);
}

#[test]
fn marking_a_stored_value_sensitive_is_an_update_that_state_remembers() {
    let plain = r#"
resource "local_file" "f" {
  filename = "${path.module}/f.txt"
  content  = "was-public-text"
}
"#;
    let dir = stack(plain);
    let var = "secret=unused";
    assert_eq!(
        plinth(dir.path(), &["apply", "--auto-approve", "--var", var]).code,
        0
    );
    let main = dir.path().join("main.tf");
    let text = std::fs::read_to_string(&main).expect("read main.tf");
    std::fs::write(
        &main,
        text.replace("\"was-public-text\"", "sensitive(\"was-public-text\")"),
    )
    .expect("write main.tf");

    let plan = plinth(dir.path(), &["plan", "--var", var]);
    masked(&plan, 0, &["was-public-text"]);
    assert!(
        plan.stdout
            .contains("# local_file.f will be updated in-place"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("~ content              = (sensitive value)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );

    let apply = plinth(dir.path(), &["apply", "--auto-approve", "--var", var]);
    masked(&apply, 0, &["was-public-text"]);
    let show = plinth(dir.path(), &["state", "show", "local_file.f"]);
    masked(&show, 0, &["was-public-text"]);
    let again = plinth(dir.path(), &["plan", "--var", var]);
    masked(&again, 0, &["was-public-text"]);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn a_local_sensitive_file_is_masked_everywhere_and_written_owner_only() {
    let dir = stack(
        r#"
resource "local_sensitive_file" "key" {
  filename = "${path.module}/key.pem"
  content  = "not-for-the-log"
}
"#,
    );
    let var = "secret=unused";
    let plan = plinth(dir.path(), &["plan", "--var", var]);
    masked(&plan, 0, &["not-for-the-log"]);
    assert!(
        plan.stdout
            .contains("+ content              = (sensitive value)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("+ file_permission      = \"0700\""),
        "{}",
        plan.stdout
    );
    let apply = plinth(dir.path(), &["apply", "--auto-approve", "--var", var]);
    masked(&apply, 0, &["not-for-the-log"]);
    let path = dir.path().join("key.pem");
    assert_eq!(
        std::fs::read_to_string(&path).expect("file written"),
        "not-for-the-log"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let show = plinth(dir.path(), &["state", "show", "local_sensitive_file.key"]);
    masked(&show, 0, &["not-for-the-log"]);
    assert!(
        show.stdout
            .contains("content              = (sensitive value)"),
        "{}",
        show.stdout
    );
}

#[test]
fn a_data_source_read_with_a_sensitive_argument_keeps_it_masked() {
    let dir = stack(
        r#"
data "local_file" "seed" {
  filename = "${path.module}/${var.secret}.txt"
}

resource "local_file" "copy" {
  filename = "${path.module}/copy.txt"
  content  = data.local_file.seed.filename
}
"#,
    );
    std::fs::write(dir.path().join(format!("{SECRET}.txt")), "seed").expect("seed file");
    let var = format!("secret={SECRET}");
    let plan = plinth(dir.path(), &["plan", "--var", &var]);
    masked(&plan, 0, &[SECRET]);
    assert!(
        plan.stdout
            .contains("+ content              = (sensitive value)"),
        "{}",
        plan.stdout
    );
}
