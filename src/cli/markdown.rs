//! `--markdown`: `plinth show FILE... --markdown` prints saved plans as one
//! pull-request comment; `plinth plan --markdown FILE.md` writes the comment of the
//! plan it makes (or of its errors) beside the normal output.

use std::path::{Path, PathBuf};

use crate::diag::Severity;
use crate::operation::{OperationError, View};
use crate::plan::file::PlanFile;
use crate::plan::Plan;
use std::cell::RefCell;

use super::cost::Prices;
use super::policy::Checks;
use crate::preview::cost::CostReport;
use crate::preview::markdown::{self, Note, Options, RecordingView, Section, GITHUB_LIMIT};
use crate::preview::policy::PolicyReport;

/// What a plan was judged by after planning: its cost and what the policies said,
/// for its comment.
#[derive(Default)]
pub struct Assessment {
    pub cost: Option<CostReport>,
    pub policy: Option<PolicyReport>,
}

#[derive(clap::Args, Debug, Default)]
pub struct ShowArgs {
    /// As Markdown for a pull-request comment; several plan files make one comment
    /// with a section per stack.
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    /// The most characters the Markdown may have; detail is left out beyond it.
    #[arg(long, value_name = "N", requires = "markdown", default_value_t = GITHUB_LIMIT)]
    markdown_limit: usize,
}

impl ShowArgs {
    pub fn wanted(&self) -> bool {
        self.markdown
    }
}

#[derive(clap::Args, Debug, Default)]
pub struct PlanArgs {
    /// Also write the plan (or why planning failed) as Markdown for a pull-request
    /// comment to FILE.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// The most characters the Markdown may have; detail is left out beyond it.
    #[arg(long = "markdown-limit", value_name = "N", requires = "markdown", default_value_t = GITHUB_LIMIT)]
    markdown_limit: usize,
}

/// `show` with `--markdown` (or with several files): the exit code; `None` when
/// this is a plain `show`.
pub fn show_files(
    files: &[PathBuf],
    json: bool,
    args: &ShowArgs,
    judge: Option<(&mut Checks, &Prices)>,
) -> Option<u8> {
    if !args.markdown {
        if files.len() > 1 {
            eprintln!(
                "Error: plinth show takes one plan file, or several with --markdown{}.",
                if json { " (not with --json)" } else { "" }
            );
            return Some(1);
        }
        return None;
    }
    if files.is_empty() {
        eprintln!("Error: plinth show --markdown needs the plan files to show (saved with plinth plan --out).");
        return Some(1);
    }
    let mut plans: Vec<(String, Result<Plan, String>)> = Vec::new();
    for path in files {
        let plan = PlanFile::read(path)
            .map(|f| f.plan())
            .map_err(|e| e.to_string());
        plans.push((path.display().to_string(), plan));
    }
    let (policies, prices) = judge?;
    let mut code = 0;
    let mut assessed = Vec::new();
    for (_, plan) in &plans {
        let judged = match plan {
            Ok(plan) => {
                let (failed, judged) = policies.judge(plan, prices, true);
                code = code.max(failed.unwrap_or(0));
                judged
            }
            Err(_) => Assessment::default(),
        };
        assessed.push(judged);
    }
    let sections: Vec<Section> = plans
        .iter()
        .zip(&assessed)
        .map(|((name, plan), judged)| match plan {
            Ok(plan) => section(name.clone(), Some(plan), Vec::new(), judged),
            Err(why) => section(name.clone(), None, vec![error_note(why.clone())], judged),
        })
        .collect();
    print!(
        "{}",
        markdown::render(
            &sections,
            &Options {
                limit: args.markdown_limit
            }
        )
    );
    println!();
    for (name, plan) in &plans {
        if let Err(why) = plan {
            eprintln!("Error: {name}: {why}");
            code = 1;
        }
    }
    Some(code)
}

impl PlanArgs {
    pub fn wanted(&self) -> bool {
        self.markdown.is_some()
    }

    /// The file the comment goes to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.markdown.as_deref()
    }

    /// Runs `operation` with `view`; with `--markdown FILE`, through a view that
    /// records the plan and the diagnostics, and then writes the comment to FILE
    /// (with what `assessed` holds by then: the plan's cost and policy results), the
    /// errors' if the operation failed. The operation's result stays its own,
    /// unless the file cannot be written (exit code 1).
    pub fn comment(
        &self,
        view: &dyn View,
        operation: impl FnOnce(&dyn View) -> Result<u8, OperationError>,
        assessed: &RefCell<Assessment>,
    ) -> Result<u8, OperationError> {
        let Some(path) = &self.markdown else {
            return operation(view);
        };
        let recording = RecordingView::new(view);
        let result = operation(&recording);
        let mut notes = recording.notes();
        let plan = recording.plan();
        let plan = match &result {
            Ok(_) => plan,
            Err(e) => {
                if !notes.iter().any(|n| n.severity == Severity::Error) {
                    notes.push(error_note(e.to_string()));
                }
                None
            }
        };
        let judged = assessed.borrow();
        let text = markdown::render(
            &[section(stack_name(), plan.as_ref(), notes, &judged)],
            &Options {
                limit: self.markdown_limit,
            },
        );
        match write(path, &text) {
            Ok(()) => result,
            Err(why) => {
                eprintln!(
                    "Error: cannot write the Markdown to {}: {why}",
                    path.display()
                );
                result.map(|_| 1)
            }
        }
    }
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{text}\n"))
}

fn section<'a>(
    name: String,
    plan: Option<&'a Plan>,
    notes: Vec<Note>,
    judged: &'a Assessment,
) -> Section<'a> {
    Section {
        name,
        plan,
        notes,
        // A plan with nothing priceable has no cost section.
        cost: judged.cost.as_ref().filter(|c| !c.resources.is_empty()),
        policy: judged.policy.as_ref(),
    }
}

fn error_note(summary: String) -> Note {
    Note {
        severity: Severity::Error,
        summary,
        detail: String::new(),
        location: None,
    }
}

/// The stack's directory name (a one-stack comment does not show it).
fn stack_name() -> String {
    std::env::current_dir()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| ".".to_string())
}
