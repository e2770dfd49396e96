//! A policy report for a terminal: failures first, then warnings, each with its
//! file and rule, and a count line.

use super::{Finding, PolicyReport};

impl PolicyReport {
    /// The report as printed after the plan.
    pub fn render_text(&self, color: bool) -> String {
        let files = plural(self.files, "policy file", "policy files");
        let mut out = format!("\nPolicy checks ({}, {files}):\n", self.dir);
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let line = |label: String, f: &Finding| {
            format!("  {label} {}: {}: {}\n", f.file, f.rule, f.message)
        };
        for f in self.failures() {
            out += &line(paint("1;31", "FAIL"), f);
        }
        for f in self.warnings() {
            out += &line(paint("1;33", "WARN"), f);
        }
        let failures = self.failures().count();
        let warnings = self.warnings().count();
        if failures == 0 && warnings == 0 {
            out += "  All policies passed.\n";
        } else {
            out += &format!(
                "\n{}, {}.\n",
                plural(failures, "failure", "failures"),
                plural(warnings, "warning", "warnings")
            );
        }
        out
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
