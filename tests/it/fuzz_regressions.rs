//! Every input the fuzzer (`fuzz/`) ever crashed on, kept in `fuzz/regressions/` and
//! run through the same checks as the fuzz target: the front half must not panic, the
//! diagnostics must render, and formatting must keep the syntax valid and be stable.

use std::path::Path;

use plinth::config::format::format_source;
use plinth::diag::{render_json, render_text};
use plinth::stack::{evaluate_source, StackOptions};

fn check(text: &str) {
    let dir = Path::new("/nonexistent/plinth-fuzz");
    let stack = evaluate_source(dir, "main.tf", text.to_string(), &StackOptions::default());
    let _ = render_text(&stack.sources, &stack.diagnostics, false);
    let _ = render_json(&stack.sources, &stack.diagnostics);
    if hcl_edit::parser::parse_body(text).is_ok() {
        let formatted = format_source(text);
        assert!(
            hcl_edit::parser::parse_body(&formatted).is_ok(),
            "formatting broke the syntax:\n{formatted}"
        );
        assert_eq!(
            format_source(&formatted),
            formatted,
            "formatting is not stable"
        );
    }
}

#[test]
fn fuzz_crashes_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("fuzz/regressions exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    assert!(!entries.is_empty());
    for path in entries {
        let bytes = std::fs::read(&path).expect("read regression input");
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let result = std::panic::catch_unwind(|| check(text));
            assert!(result.is_ok(), "regression {} fails again", path.display());
        }
    }
}
