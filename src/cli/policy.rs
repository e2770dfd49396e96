//! `--policy DIR` of `plinth plan` and `plinth show FILE`: the policy directories
//! loaded before anything else runs, and their results printed after the plan.

use std::path::PathBuf;

use serde_json::Value;

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
    /// Evaluates `plan` (with its cost figures, `CostReport::to_json`, when there
    /// are any) against every directory and prints the results (on stderr when
    /// stdout holds JSON): `None` when all pass, else the exit code.
    pub fn check(&mut self, plan: &Plan, cost: Option<Value>, on_stderr: bool) -> Option<u8> {
        if self.sets.is_empty() {
            return None;
        }
        let reports = match self.evaluate(plan, cost) {
            Ok(reports) => reports,
            Err(code) => return Some(code),
        };
        for report in &reports {
            let text = report.render_text(self.color && !on_stderr);
            if on_stderr {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
        }
        reports
            .iter()
            .any(PolicyReport::fails)
            .then_some(POLICY_FAILED)
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
