//! One run of one stack: lock, refresh, plan, act by mode within the guardrails.

use super::{Outcome, StackJob};
use crate::operation::CancelToken;

/// Runs `job` once. Never panics on a stack's problems: every way a run ends is an
/// [`Outcome`].
pub fn run_stack(job: &StackJob, cancel: &CancelToken) -> Outcome {
    let _ = cancel;
    Outcome {
        stack: job.dir.display().to_string(),
        mode: job.mode,
        started: 0.0,
        duration_seconds: 0.0,
        result: super::RunResult::Failed,
        drift: Default::default(),
        applied: Vec::new(),
        skipped: Vec::new(),
        refusal: None,
        lock_holder: None,
        error: Some("not built yet".into()),
    }
}
