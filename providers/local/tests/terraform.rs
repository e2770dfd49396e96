//! Terraform v1.0.3 (installed from PyPI by scripts/terraform-path) drives this provider
//! through a `dev_overrides` CLI configuration, over protocol 6 with AutoMTLS: apply
//! creates the files, a file edited outside shows as a change, destroy removes them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn terraform() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/terraform-path");
    let out = Command::new(&script)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "installing Terraform failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

struct Tf {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Tf {
    fn new(stack: &str) -> Tf {
        let dir = tempfile::tempdir().expect("tempdir");
        let provider_dir = Path::new(env!("CARGO_BIN_EXE_terraform-provider-local"))
            .parent()
            .expect("provider directory")
            .to_path_buf();
        std::fs::write(
            dir.path().join("cli.tfrc"),
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"plinth/local\" = {:?}\n  }}\n  direct {{}}\n}}\n",
                provider_dir.display().to_string()
            ),
        )
        .expect("cli config");
        std::fs::create_dir(dir.path().join("stack")).expect("stack dir");
        std::fs::write(dir.path().join("stack/main.tf"), stack).expect("main.tf");
        Tf {
            bin: terraform(),
            dir,
        }
    }

    fn stack(&self) -> PathBuf {
        self.dir.path().join("stack")
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(&self.bin)
            .args(args)
            .arg("-no-color")
            .current_dir(self.stack())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
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
}

const STACK: &str = r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

resource "local_file" "f" {
  count           = 20
  filename        = "${path.module}/out/file-${count.index}.txt"
  content         = "file ${count.index}\n"
  file_permission = "0640"
}

data "local_file" "first" {
  filename = local_file.f[0].filename
}

output "first" {
  value = data.local_file.first.content
}
"#;

#[test]
fn terraform_applies_plans_and_destroys_through_the_provider() {
    let tf = Tf::new(STACK);
    let out = tf.stack().join("out");

    let apply = tf.run(&["apply", "-auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(apply.stdout.contains("20 added"), "{}", apply.stdout);
    assert!(
        apply.stdout.contains("first = <<EOT\nfile 0\n"),
        "{}",
        apply.stdout
    );
    for i in 0..20 {
        let path = out.join(format!("file-{i}.txt"));
        assert_eq!(
            std::fs::read_to_string(&path).expect("file written"),
            format!("file {i}\n")
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "{}", path.display());
    }

    let quiet = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(quiet.code, 0, "{}\n{}", quiet.stdout, quiet.stderr);

    std::fs::write(out.join("file-7.txt"), "edited by hand\n").expect("edit");
    let drift = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    assert!(
        drift.stdout.contains("local_file.f[7] will be created"),
        "{}",
        drift.stdout
    );
    assert!(drift.stdout.contains("Plan: 1 to add"), "{}", drift.stdout);

    let again = tf.run(&["apply", "-auto-approve"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(
        std::fs::read_to_string(out.join("file-7.txt")).expect("rewritten"),
        "file 7\n"
    );

    let destroy = tf.run(&["destroy", "-auto-approve"]);
    assert_eq!(destroy.code, 0, "{}\n{}", destroy.stdout, destroy.stderr);
    assert!(
        destroy.stdout.contains("20 destroyed"),
        "{}",
        destroy.stdout
    );
    let left: Vec<_> = std::fs::read_dir(&out).expect("out dir").collect();
    assert!(left.is_empty(), "files left after destroy: {left:?}");
}

#[test]
fn terraform_reports_the_providers_validation_errors_at_the_attribute() {
    let tf = Tf::new(
        r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

resource "local_file" "bad" {
  filename        = "x.txt"
  content         = "a"
  content_base64  = "Yg=="
  file_permission = "rw-r--r--"
}
"#,
    );
    let plan = tf.run(&["plan"]);
    assert_eq!(plan.code, 1, "{}", plan.stdout);
    assert!(
        plan.stderr.contains("Conflicting content arguments"),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("Invalid file mode"), "{}", plan.stderr);
    // Each error points at the attribute it is about.
    assert!(
        plan.stderr.contains("on main.tf line 13"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("on main.tf line 14"),
        "{}",
        plan.stderr
    );
}

#[test]
fn terraform_masks_a_local_sensitive_file_and_writes_it_owner_only() {
    let tf = Tf::new(
        r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}

resource "local_sensitive_file" "key" {
  filename = "${path.module}/key.pem"
  content  = "not-for-the-log"
}
"#,
    );
    let apply = tf.run(&["apply", "-auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stdout
            .contains("+ content              = (sensitive value)"),
        "{}",
        apply.stdout
    );
    assert!(
        !apply.stdout.contains("not-for-the-log"),
        "{}",
        apply.stdout
    );
    let path = tf.stack().join("key.pem");
    assert_eq!(
        std::fs::read_to_string(&path).expect("file written"),
        "not-for-the-log"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}
