//! Rego policies (conftest's conventions) evaluated against the JSON plan.
//!
//! `load` reads every `*.rego` file under a directory into a [`PolicySet`] (a file
//! that does not parse is a diagnostic at its line); [`PolicySet::evaluate`] runs the
//! `deny`, `violation` and `warn` rules of `package main` against [`input`] (the JSON
//! plan with the cost figures at `input.cost`) and returns a [`PolicyReport`].

mod evaluate;
mod load;
mod text;

pub use evaluate::input;
pub use load::{load, PolicyError, PolicySet, DEFAULT_TIME_LIMIT};

/// Loads the policies under `dir` and evaluates them against `input` (see [`input`])
/// at once: for a caller with one plan.
pub fn evaluate(
    dir: &std::path::Path,
    input: &serde_json::Value,
) -> Result<PolicyReport, PolicyError> {
    let mut set = load(dir)?;
    set.evaluate(input).map_err(|diagnostics| PolicyError {
        sources: set.sources,
        diagnostics,
    })
}

/// conftest's rule kinds: `deny` and `violation` fail a plan, `warn` does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Deny,
    Violation,
    Warn,
}

impl Kind {
    /// The kind a rule's name makes it, by conftest's patterns: `deny`, `violation`
    /// and `warn`, alone or followed by `_name` parts (`deny_public_bucket`).
    pub fn of_rule(name: &str) -> Option<Kind> {
        let (kind, rest) = [
            ("deny", Kind::Deny),
            ("violation", Kind::Violation),
            ("warn", Kind::Warn),
        ]
        .into_iter()
        .find_map(|(prefix, kind)| name.strip_prefix(prefix).map(|rest| (kind, rest)))?;
        let parts_ok = rest.is_empty()
            || rest.strip_prefix('_').is_some_and(|parts| {
                parts
                    .split('_')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
            });
        parts_ok.then_some(kind)
    }

    /// Whether a message of this kind fails the plan (exit code 3).
    pub fn fails(self) -> bool {
        matches!(self, Kind::Deny | Kind::Violation)
    }
}

/// One message a rule produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    /// The policy file, relative to the policy directory: `gpu_taints.rego`.
    pub file: String,
    /// The rule's package and name: `main.deny`.
    pub rule: String,
    pub message: String,
}

/// What a directory of policies said about one plan.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PolicyReport {
    /// The directory as given.
    pub dir: String,
    /// How many policy files were evaluated.
    pub files: usize,
    /// Every message, failures first.
    pub findings: Vec<Finding>,
}

impl PolicyReport {
    /// Whether a `deny` or `violation` rule produced a message.
    pub fn fails(&self) -> bool {
        self.findings.iter().any(|f| f.kind.fails())
    }

    /// The messages that fail the plan, then the warnings.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.kind.fails())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.kind.fails())
    }
}

#[cfg(test)]
mod tests;
