//! A plan as Markdown for a pull-request comment.

use crate::diag::Severity;
use crate::plan::Plan;

use super::cost::CostReport;
use super::policy::PolicyReport;

/// GitHub's limit on a comment's length, in characters.
pub const GITHUB_LIMIT: usize = 65_536;

/// A diagnostic as the comment shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    /// `main.tf:12`, when the diagnostic has a place.
    pub location: Option<String>,
}

/// One stack's part of the comment.
pub struct Section<'a> {
    /// The stack's name or directory, as the summary table lists it.
    pub name: String,
    /// The plan; `None` when planning failed (then `notes` says why).
    pub plan: Option<&'a Plan>,
    pub notes: Vec<Note>,
    pub cost: Option<&'a CostReport>,
    pub policy: Option<&'a PolicyReport>,
}

/// How the comment is laid out.
#[derive(Clone, Debug)]
pub struct Options {
    /// The most characters the comment may have.
    pub limit: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            limit: GITHUB_LIMIT,
        }
    }
}
