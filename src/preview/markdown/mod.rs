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

mod cost;
mod cut;
mod layout;
mod record;

pub use record::{notes, RecordingView};

/// The comment for one plan (one section) or several (a monorepo: a summary table
/// first, then one section per stack), at most `options.limit` characters: when the
/// whole text is longer, detail is left out in order of least importance (see
/// `cut.rs`) and the comment says what was left out.
pub fn render(sections: &[Section], options: &Options) -> String {
    let comment = layout::Comment::new(sections);
    cut::fit(&comment, options.limit)
}
