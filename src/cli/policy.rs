//! `--policy DIR` of `plinth plan` and `plinth show FILE`: the policy directories
//! loaded before anything else runs, and their results printed after the plan.

use std::path::PathBuf;

use serde_json::Value;

use super::cost::Prices;
use super::markdown::Assessment;
use crate::plan::{render, Plan};
use crate::preview::policy::{self, PolicyReport, PolicySet};

/// Exit code when a `deny` or `violation` rule fires (beats 2 of
/// `--detailed-exitcode`; a policy that cannot load or evaluate is 1).
pub const POLICY_FAILED: u8 = 3;

/// The `--policy` directories of one command, loaded.
pub struct Checks {
    sets: Vec<PolicySet>,
    color: bool,
}

/// Every directory's policies, or 1 after printing why one cannot be used.
pub fn load(dirs: &[PathBuf], color: bool) -> Result<Checks, u8> {
    let mut sets = Vec::new();
    let mut failed = false;
    for dir in dirs {
        match policy::load(dir) {
            Ok(set) => sets.push(set),
            Err(e) => {
                eprint!("{}", e.render(color));
                failed = true;
            }
        }
    }
    if failed {
        return Err(1);
    }
    Ok(Checks { sets, color })
}

impl Checks {
    /// Prices `plan`, evaluates it (with the cost figures at `input.cost`) against
    /// every directory and prints the results (on stderr when stdout holds JSON):
    /// the exit code a failure sets (`None` when all pass), and what was found, for
    /// the Markdown comment.
    pub fn judge(
        &mut self,
        plan: &Plan,
        prices: &Prices,
        on_stderr: bool,
    ) -> (Option<u8>, Assessment) {
        let cost = prices.estimate(plan);
        if self.sets.is_empty() {
            return (
                None,
                Assessment {
                    cost: Some(cost),
                    policy: None,
                },
            );
        }
        let reports = match self.evaluate(plan, Some(cost.to_json())) {
            Ok(reports) => reports,
            Err(code) => {
                return (
                    Some(code),
                    Assessment {
                        cost: Some(cost),
                        policy: None,
                    },
                )
            }
        };
        for report in &reports {
            let text = report.render_text(self.color && !on_stderr);
            if on_stderr {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
        }
        let code = reports
            .iter()
            .any(PolicyReport::fails)
            .then_some(POLICY_FAILED);
        (
            code,
            Assessment {
                cost: Some(cost),
                policy: merged(reports),
            },
        )
    }

    /// Every directory's report on `plan`, in `--policy` order, or 1 after printing
    /// why a rule could not be evaluated.
    pub fn evaluate(&mut self, plan: &Plan, cost: Option<Value>) -> Result<Vec<PolicyReport>, u8> {
        let input = policy::input(render::json(plan), cost);
        let mut reports = Vec::new();
        let mut broken = false;
        for set in &mut self.sets {
            match set.evaluate(&input) {
                Ok(report) => reports.push(report),
                Err(diagnostics) => {
                    let text = crate::diag::render_text(set.sources(), &diagnostics, self.color);
                    eprint!("{text}");
                    broken = true;
                }
            }
        }
        if broken {
            return Err(1);
        }
        Ok(reports)
    }
}

/// Several directories' reports as the one a comment shows: the directories listed
/// together, their files counted together, failures first.
fn merged(reports: Vec<PolicyReport>) -> Option<PolicyReport> {
    if reports.is_empty() {
        return None;
    }
    let dir = reports
        .iter()
        .map(|r| r.dir.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let files = reports.iter().map(|r| r.files).sum();
    let mut findings: Vec<_> = reports.into_iter().flat_map(|r| r.findings).collect();
    findings.sort_by_key(|f| !f.kind.fails());
    Some(PolicyReport {
        dir,
        files,
        findings,
    })
}
