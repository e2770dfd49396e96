//! Feeds arbitrary text to the whole front half — loader, graph, evaluator, both
//! diagnostic renderers — and to the formatter, whose output must still parse and be
//! stable under a second run. Any panic is a bug.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use plinth::config::format::format_source;
use plinth::diag::{render_json, render_text};
use plinth::stack::{evaluate_source, StackOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
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
        assert_eq!(format_source(&formatted), formatted, "formatting is not stable");
    }
});
