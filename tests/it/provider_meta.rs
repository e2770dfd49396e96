//! `provider_meta`: each module's block for a provider reaches that provider with the
//! calls for the module's resources (PlanResourceChange, ApplyResourceChange,
//! ReadResource, ReadDataSource), encoded with the provider's `provider_meta` schema.
//! plinth/local declares one (`module_name`) and, with `PLINTH_LOCAL_META_LOG` set,
//! logs each call that carries it, so the calls are compared with Terraform v1.0.3's
//! for the same stack and the same provider binary.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{local_provider_dir, Run};

const ROOT: &str = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
  provider_meta "local" {
    module_name = "root-module"
  }
}
resource "local_file" "a" {
  filename = "${path.module}/a.txt"
  content  = "a"
}
data "local_file" "a" {
  filename = local_file.a.filename
}
module "child" {
  source = "./child"
}
module "bare" {
  source = "./bare"
}
"#;

const CHILD: &str = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
  provider_meta "local" {
    module_name = "child-module"
  }
}
resource "local_file" "b" {
  filename = "${path.module}/b.txt"
  content  = "b"
}
"#;

/// A module without a block of its own: its calls carry none.
const BARE: &str = r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}
resource "local_file" "c" {
  filename = "${path.module}/c.txt"
  content  = "c"
}
"#;

fn write_stack(dir: &Path) {
    for (file, text) in [
        ("main.tf", ROOT),
        ("child/main.tf", CHILD),
        ("bare/main.tf", BARE),
    ] {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

fn run(mut command: Command) -> Run {
    let out = command.output().expect("run");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run
}

/// The log's lines, sorted: the calls run in parallel.
fn calls(log: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn each_modules_provider_meta_reaches_the_provider_as_terraform_sends_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let provider_dir = local_provider_dir();
    let (theirs, ours) = (dir.path().join("terraform"), dir.path().join("plinth"));
    write_stack(&theirs);
    write_stack(&ours);
    let cli_config = dir.path().join("cli.tfrc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"plinth/local\" = {:?}\n  }}\n  direct {{}}\n}}\n",
            provider_dir.display().to_string()
        ),
    )
    .expect("cli config");
    let terraform = |args: &[&str], log: &str| {
        let mut c = Command::new(crate::json_plan::terraform_binary());
        c.args(args)
            .current_dir(&theirs)
            .env("TF_CLI_CONFIG_FILE", &cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("PLINTH_LOCAL_META_LOG", dir.path().join(log));
        run(c)
    };
    let plinth = |args: &[&str], log: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_plinth"));
        c.args(["-C", ours.to_str().expect("path"), "--no-color"])
            .args(args)
            .env("PLINTH_PLUGIN_DIR", &provider_dir)
            .env("PLINTH_CACHE_DIR", ours.join(".cache"))
            .env("PLINTH_LOCAL_META_LOG", dir.path().join(log));
        run(c)
    };
    terraform(&["get", "-no-color"], "terraform-get.log");

    terraform(
        &["apply", "-auto-approve", "-no-color"],
        "terraform-apply.log",
    );
    plinth(&["apply", "--auto-approve"], "plinth-apply.log");
    let applied = calls(&dir.path().join("plinth-apply.log"));
    assert_eq!(calls(&dir.path().join("terraform-apply.log")), applied);
    assert!(
        applied.contains(&"ApplyResourceChange local_file child-module".to_string())
            && applied.contains(&"ReadDataSource local_file root-module".to_string()),
        "{applied:#?}"
    );
    assert!(
        applied.iter().all(|l| l.ends_with("-module")),
        "module.bare declares no provider_meta: {applied:#?}"
    );

    // A plan refreshes (ReadResource) and plans each resource again.
    terraform(&["plan", "-no-color"], "terraform-plan.log");
    plinth(&["plan"], "plinth-plan.log");
    let planned = calls(&dir.path().join("plinth-plan.log"));
    assert_eq!(calls(&dir.path().join("terraform-plan.log")), planned);
    assert!(
        planned.contains(&"ReadResource local_file root-module".to_string()),
        "{planned:#?}"
    );
}

/// Terraform v1.0.3 evaluates the block when it plans: `validate` accepts an argument
/// the provider's schema lacks, `plan` reports it at its line.
#[test]
fn an_argument_the_provider_meta_schema_lacks_is_an_error_at_its_line_when_planning() {
    let dir = common::main_tf(
        r#"terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
  provider_meta "local" {
    module_name = "x"
    nope        = 1
  }
}
resource "local_file" "a" {
  filename = "${path.module}/a.txt"
  content  = "a"
}
"#,
    );
    let provider_dir = local_provider_dir();
    let plinth = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_plinth"))
            .args(["-C", dir.path().to_str().expect("path"), "--no-color"])
            .args(args)
            .env("PLINTH_PLUGIN_DIR", &provider_dir)
            .env("PLINTH_CACHE_DIR", dir.path().join(".cache"))
            .output()
            .expect("run plinth");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = plinth(&["validate"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = plinth(&["plan"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Unsupported argument"), "{stderr}");
    assert!(
        stderr.contains("An argument named \"nope\" is not expected here."),
        "{stderr}"
    );
    assert!(stderr.contains("main.tf:7:"), "{stderr}");
}

/// Terraform's message, for its built-in provider, which takes no provider_meta; a
/// module whose resources do not use the provider is not checked.
#[test]
fn a_provider_without_a_provider_meta_schema_refuses_the_block() {
    let dir = common::main_tf(
        r#"terraform {
  provider_meta "terraform" {
    module_name = "x"
  }
}
resource "terraform_data" "a" {
  input = 1
}
"#,
    );
    let run = common::plinth(dir.path(), &["plan"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Provider terraform.io/builtin/terraform doesn't support provider_meta"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "The resource terraform_data.a belongs to a provider that doesn't support provider_meta blocks"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("main.tf:2:"), "{}", run.stderr);

    let unused = common::main_tf(
        "terraform {\n  provider_meta \"terraform\" {\n    module_name = \"x\"\n  }\n}\n",
    );
    let run = common::plinth(unused.path(), &["plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
