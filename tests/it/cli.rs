//! The commands users run on good stacks: every example validates, `graph` draws the
//! dependency graph, `version` answers, and `-C` and running inside the stack agree.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{main_tf, plinth};

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

#[test]
fn every_example_validates() {
    let all = examples();
    assert!(all.len() >= 3, "examples/ holds at least three stacks");
    for dir in all {
        let run = plinth(&dir, &["validate"]);
        assert_eq!(run.code, 0, "{}: {}", dir.display(), run.stderr);
        assert!(run.stdout.contains("Success!"));
        // The only thing validate may say is that a cloud provider is not installed
        // here (its resources are then not checked against a schema).
        let json = plinth(&dir, &["validate", "--json"]);
        let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
        for d in report["diagnostics"].as_array().expect("diagnostics") {
            assert_eq!(
                d["summary"],
                "Provider not installed",
                "{}: unexpected diagnostic {d}",
                dir.display()
            );
            assert_eq!(d["severity"], "warning");
        }
    }
}

#[test]
fn works_when_run_inside_the_stack_directory() {
    let dir = main_tf("locals {\n  a = local.b\n}\n");
    let run = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["validate", "--no-color"])
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("main.tf:2:7"));
}

#[test]
fn graph_as_dot_and_mermaid() {
    let dir = main_tf(
        r#"
variable "region" {}
locals {
  zone = "${var.region}a"
}
resource "terraform_data" "node" {
  input = local.zone
}
output "zone" {
  value = terraform_data.node.output
}
"#,
    );
    let dot = plinth(dir.path(), &["graph"]);
    assert_eq!(dot.code, 0, "{}", dot.stderr);
    assert!(dot.stdout.starts_with("digraph {"));
    assert!(
        dot.stdout
            .contains("\"[root] local.zone\" -> \"[root] var.region\""),
        "{}",
        dot.stdout
    );
    assert!(dot
        .stdout
        .contains("\"[root] terraform_data.node\" -> \"[root] local.zone\""));
    assert!(dot
        .stdout
        .contains("\"[root] output.zone\" -> \"[root] terraform_data.node\""));
    assert!(
        dot.stdout.contains("\"[root] terraform_data.node\" -> \"[root] provider[\\\"terraform.io/builtin/terraform\\\"]\""),
        "{}",
        dot.stdout
    );

    let mermaid = plinth(dir.path(), &["graph", "--format", "mermaid"]);
    assert_eq!(mermaid.code, 0);
    assert!(mermaid.stdout.starts_with("flowchart LR\n"));
    let id = |name: &str| {
        mermaid
            .stdout
            .lines()
            .find(|l| l.ends_with(&format!("[\"{name}\"]")))
            .and_then(|l| l.trim().split('[').next())
            .unwrap_or_else(|| panic!("{name} missing:\n{}", mermaid.stdout))
            .to_string()
    };
    let edge = format!("  {} --> {}", id("local.zone"), id("var.region"));
    assert!(
        mermaid.stdout.contains(&edge),
        "{edge} missing:\n{}",
        mermaid.stdout
    );
}

#[test]
fn graph_refuses_a_broken_stack() {
    let dir = main_tf("locals {\n  a = local.a\n}\n");
    let run = plinth(dir.path(), &["graph"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("Cycle"));
    assert!(run.stdout.is_empty());
}

#[test]
fn version_prints_the_version() {
    let dir = main_tf("");
    let run = plinth(dir.path(), &["version"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout.trim(),
        format!("plinth v{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn later_var_and_var_file_arguments_win() {
    let dir = common::stack(&[
        (
            "main.tf",
            "variable \"e\" {\n  validation {\n    condition     = var.e == \"file\"\n    error_message = \"e is not from the file\"\n  }\n}\n",
        ),
        ("f.tfvars", "e = \"file\"\n"),
    ]);
    let file_last = plinth(
        dir.path(),
        &["validate", "--var", "e=cli", "--var-file", "f.tfvars"],
    );
    assert_eq!(file_last.code, 0, "{}", file_last.stderr);
    let var_last = plinth(
        dir.path(),
        &["validate", "--var-file=f.tfvars", "--var=e=cli"],
    );
    assert_eq!(var_last.code, 1);
    assert!(
        var_last.stderr.contains("e is not from the file"),
        "{}",
        var_last.stderr
    );
}

#[test]
fn console_evaluates_lines_against_the_stack_and_its_state() {
    use std::io::Write;
    let dir = common::main_tf(
        "variable \"name\" {\n  default = \"gpu\"\n}\nlocals {\n  pools = { a = 2, b = 4 }\n}\nresource \"plinth_data\" \"x\" {\n  count = 2\n  input = \"${var.name}-${count.index}\"\n}\n",
    );
    let console = |input: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_plinth"))
            .args([
                "-C",
                dir.path().to_str().expect("path"),
                "--no-color",
                "console",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let out = console("var.name\nsum(values(local.pools))\nplinth_data.x[0]\n");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text, "\"gpu\"\n6\n(known after apply)\n");

    assert_eq!(plinth(dir.path(), &["apply", "--auto-approve"]).code, 0);
    let out = console(
        "plinth_data.x[1].output\nformatlist(\"%s!\", [for x in plinth_data.x : x.input])\n",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // Lists print as Terraform's console prints them.
    assert_eq!(
        text,
        "\"gpu-1\"\ntolist([\n  \"gpu-0!\",\n  \"gpu-1!\",\n])\n"
    );

    let bad = console("local.nope\n");
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("<console>:1:1") && err.contains("undeclared local"),
        "{err}"
    );
}
