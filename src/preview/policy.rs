//! Rego policies (conftest's conventions) evaluated against the JSON plan.

/// conftest's rule kinds: `deny` and `violation` fail a plan, `warn` does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Deny,
    Violation,
    Warn,
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
