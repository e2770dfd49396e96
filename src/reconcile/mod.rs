//! `plinth reconcile`: drift schedules. Each stack is run on a schedule (or once):
//! lock, refresh, plan, then act by [`Mode`] within the [`Guardrails`]; every run's
//! [`Outcome`] is recorded, counted and notified.
//!
//! `run.rs` is one run of one stack ([`run::run_stack`]); the rest is the service
//! around it.

pub mod history;
pub mod http;
pub mod log;
pub mod metrics;
pub mod run;
pub mod schedule;
pub mod service;
pub mod webhook;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::drift::Report;

/// What a run does once it has planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Record and notify only.
    Report,
    /// Apply only the changes that put drifted attributes back.
    RevertDrift,
    /// Apply the plan.
    Full,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Report => "report",
            Mode::RevertDrift => "revert-drift",
            Mode::Full => "full",
        }
    }
}

/// What may refuse a run that would change something.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Guardrails {
    /// `--no-destroy`: refuse a plan that deletes or replaces anything.
    pub no_destroy: bool,
    /// `--max-changes N`: refuse a plan with more than N changes.
    pub max_changes: Option<usize>,
    /// `--allow-config-changes`: `full` mode applies configuration changes without a
    /// reviewed plan.
    pub allow_config_changes: bool,
    /// `--policy DIR`: refuse a plan a deny or violation rule fires on.
    pub policy: Vec<PathBuf>,
}

/// One stack to run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StackJob {
    /// The stack directory.
    pub dir: PathBuf,
    pub mode: Mode,
    pub guardrails: Guardrails,
    /// `--ignore ADDR[.path]` rules, besides the stack's `drift { ignore }`.
    pub ignore: Vec<String>,
    /// How long to wait for another holder of the lock (the service waits none).
    pub lock_timeout: Duration,
    pub parallelism: Option<usize>,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// Reality matches state and configuration; nothing to do.
    Clean,
    /// Drift or changes were found and reported; nothing was applied (report mode,
    /// or nothing the mode may apply).
    Reported,
    /// Changes were applied.
    Applied,
    /// A guardrail refused the changes; nothing was applied.
    Refused,
    /// Another process held the lock; the stack was not run.
    LockSkipped,
    /// The run failed (a provider or network error, a configuration error).
    Failed,
    /// Stopped by SIGTERM or Ctrl-C: what was in flight finished and was saved.
    Cancelled,
}

impl RunResult {
    pub fn name(self) -> &'static str {
        match self {
            RunResult::Clean => "clean",
            RunResult::Reported => "reported",
            RunResult::Applied => "applied",
            RunResult::Refused => "refused",
            RunResult::LockSkipped => "lock_skipped",
            RunResult::Failed => "failed",
            RunResult::Cancelled => "cancelled",
        }
    }
}

/// A guardrail that refused a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// `no_destroy`, `max_changes`, `config_changed` or `policy`.
    pub guardrail: String,
    pub message: String,
}

/// What one run of one stack found and did: a history record, a notification's
/// subject and the metrics' source.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    /// The stack directory as given.
    pub stack: String,
    pub mode: Mode,
    /// Seconds since the Unix epoch when the run started.
    pub started: f64,
    pub duration_seconds: f64,
    pub result: RunResult,
    /// What differs from state and from configuration (empty when the run did not get
    /// that far).
    pub drift: Report,
    /// Addresses of the instances the run changed.
    pub applied: Vec<String>,
    /// Planned changes the mode left alone (revert-drift: configuration changes).
    pub skipped: Vec<String>,
    pub refusal: Option<Refusal>,
    /// The lock's holder, when the run was skipped for it: `user@host (pid N,
    /// operation)`.
    pub lock_holder: Option<String>,
    /// Why the run failed, as plinth prints it.
    pub error: Option<String>,
}
