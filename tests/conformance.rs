//! Expressions evaluated by plinth must equal Terraform v1.0.3's values. The expected
//! values were recorded from the real binary by `scripts/record-conformance`; the test
//! builds the same stack (one output per expression) and compares as JSON.

mod common;

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
