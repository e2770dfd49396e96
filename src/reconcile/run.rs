//! One run of one stack: refresh, plan, report the drift, then act by mode within
//! the guardrails, under the stack's lock.
//!
//! [`run_stack`] runs the stack in a child `plinth` process (`plinth
//! __reconcile-run`): its relative paths resolve from its own directory, as a
//! person running plinth there sees them, its plugins and memory go with the
//! process, and a signal to stop reaches it. [`run_here`] is the run itself, in a
//! process whose working directory is the stack.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use plinth_state::{LockError, LockInfo, OutputState};

use super::{Guardrails, Mode, Outcome, Refusal, RunResult, StackJob};
use crate::addrs::Target;
use crate::apply::{ChangeOptions, Progress};
use crate::diag::{Diagnostics, Sources};
use crate::drift::{self, rules::Rules, Report};
use crate::operation::{
    self, CancelToken, Notice, OperationError, Question, RunRequest, Store, Summary, View,
};
use crate::plan::{Action, Plan};
use crate::stack::{ProviderStart, StackOptions};

/// Where `full` mode looks for the plan a person reviewed: saved with `plinth plan
/// --out .plinth/reconcile/reviewed.plan`, it allows the configuration it was made
/// from.
pub const REVIEWED_PLAN: &str = ".plinth/reconcile/reviewed.plan";

/// The hidden command the child process runs.
pub const CHILD_COMMAND: &str = "__reconcile-run";

/// Runs `job` once in a child `plinth` process in the stack's directory. A cancelled
/// `cancel` is passed on to the child as SIGTERM: it finishes the calls in flight,
/// saves, releases the lock and ends `Cancelled`. Every way a run ends is an
/// [`Outcome`].
pub fn run_stack(job: &StackJob, cancel: &CancelToken) -> Outcome {
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut outcome = match run_child(job, cancel) {
        Ok(outcome) => outcome,
        Err(why) => failed(job, started, why),
    };
    outcome.stack = job.dir.display().to_string();
    outcome.started = seconds(started);
    outcome.duration_seconds = clock.elapsed().as_secs_f64();
    outcome
}

fn run_child(job: &StackJob, cancel: &CancelToken) -> Result<Outcome, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find plinth itself: {e}"))?;
    let request = serde_json::to_string(job).map_err(|e| e.to_string())?;
    // Its own process group: a Ctrl-C at the terminal reaches only this process,
    // which passes one SIGTERM on (two signals would make the child exit at once).
    let mut child = Command::new(exe)
        .process_group(0)
        .arg(CHILD_COMMAND)
        .arg(request)
        .current_dir(&job.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start plinth in {}: {e}", job.dir.display()))?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let mut signalled = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for plinth in {}: {e}", job.dir.display())),
        }
        if cancel.is_cancelled() && !signalled {
            // SAFETY: signalling our own child, which has not been reaped yet.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            signalled = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match serde_json::from_str::<Outcome>(stdout.trim()) {
        Ok(outcome) => Ok(outcome),
        Err(_) => Err(format!(
            "plinth in {} ended ({status}) without a result{}",
            job.dir.display(),
            tail(&stderr)
        )),
    }
}

/// The last lines a child wrote on stderr, for an error message.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim().lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    format!(": {}", lines[lines.len().saturating_sub(5)..].join("\n"))
}

fn seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

fn failed(job: &StackJob, started: SystemTime, why: String) -> Outcome {
    Outcome {
        stack: job.dir.display().to_string(),
        mode: job.mode,
        started: seconds(started),
        duration_seconds: 0.0,
        result: RunResult::Failed,
        drift: Report::default(),
        applied: Vec::new(),
        skipped: Vec::new(),
        refusal: None,
        lock_holder: None,
        error: Some(why),
    }
}

/// The run itself, in this process, whose working directory is the stack's: `job.dir`
/// is read from here.
pub fn run_here(job: &StackJob, cancel: &CancelToken) -> Outcome {
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut outcome = failed(job, started, String::new());
    outcome.error = None;
    let view = RunView::default();
    outcome.result = match attempt(job, cancel, &view, &mut outcome) {
        Ok(result) => result,
        Err(Stop::Failed(why)) => {
            outcome.error = Some(view.with_diagnostics(why));
            RunResult::Failed
        }
        Err(Stop::Cancelled) => RunResult::Cancelled,
        Err(Stop::Locked(info)) => {
            outcome.lock_holder = Some(holder(&info));
            RunResult::LockSkipped
        }
    };
    if let Ok(mut applied) = view.applied.lock() {
        applied.sort();
        applied.dedup();
        outcome.applied = std::mem::take(&mut *applied);
    }
    if outcome.result == RunResult::Applied && outcome.applied.is_empty() {
        // The plan under the lock found reality already put back.
        outcome.result = RunResult::Clean;
    }
    outcome.duration_seconds = clock.elapsed().as_secs_f64();
    outcome
}

enum Stop {
    Failed(String),
    Cancelled,
    Locked(LockInfo),
}

fn holder(info: &LockInfo) -> String {
    format!("{} (pid {}, {})", info.who, info.pid, info.operation)
}

fn attempt(
    job: &StackJob,
    cancel: &CancelToken,
    view: &RunView,
    outcome: &mut Outcome,
) -> Result<RunResult, Stop> {
    let dir = &job.dir;
    let store = Store::local(dir).map_err(|e| Stop::Failed(e.to_string()))?;
    if let Some(info) = store.holder() {
        return Err(Stop::Locked(info));
    }
    let mut request = RunRequest {
        dir: dir.clone(),
        stack: stack_options(dir),
        change: ChangeOptions {
            parallelism: job.parallelism,
            cancel: cancel.clone(),
            ..ChangeOptions::default()
        },
        destroy: false,
        lock_timeout: job.lock_timeout,
    };
    let planned = operation::plan(&request, &store, view, None).map_err(stop)?;
    let rules = planned
        .drift_rules
        .with(&job.ignore)
        .map_err(Stop::Failed)?;
    let report = drift::report(&planned.plan, &rules);
    outcome.drift = report.clone();
    if !planned.plan.has_changes() {
        return Ok(if report.has_drift() {
            RunResult::Reported
        } else {
            RunResult::Clean
        });
    }
    match job.mode {
        Mode::Report => return Ok(RunResult::Reported),
        Mode::RevertDrift => {
            outcome.skipped = report
                .config_changes
                .iter()
                .chain(&report.held)
                .cloned()
                .collect();
            if report.reverts.is_empty() {
                return Ok(RunResult::Reported);
            }
            request.change.targets = report
                .reverts
                .iter()
                .map(|a| Target::parse(a))
                .collect::<Result<_, _>>()
                .map_err(|e| Stop::Failed(e.to_string()))?;
            request.change.exact_targets = true;
        }
        Mode::Full => {
            if !report.held.is_empty() {
                // Everything but what only puts back ignored paths.
                request.change.targets = report
                    .reverts
                    .iter()
                    .chain(&report.config_changes)
                    .map(|a| Target::parse(a))
                    .collect::<Result<_, _>>()
                    .map_err(|e| Stop::Failed(e.to_string()))?;
                request.change.exact_targets = true;
                outcome.skipped = report.held.clone();
                if request.change.targets.is_empty() {
                    return Ok(RunResult::Reported);
                }
            }
            if !report.config_changes.is_empty()
                && !job.guardrails.allow_config_changes
                && !reviewed(dir, &planned.config_hash)
            {
                let refusal = Refusal {
                    guardrail: "config_changed".into(),
                    message: format!(
                        "the configuration changed since the last reviewed plan ({} change(s): {}); save a reviewed plan at {REVIEWED_PLAN} or pass --allow-config-changes",
                        report.config_changes.len(),
                        report.config_changes.join(", ")
                    ),
                };
                outcome.refusal = Some(refusal);
                return Ok(RunResult::Refused);
            }
        }
    }
    *view
        .decision
        .lock()
        .map_err(|_| Stop::Failed("poisoned".into()))? = Some(Decision {
        mode: job.mode,
        guardrails: job.guardrails.clone(),
        rules,
    });
    match operation::apply(&request, &store, view, cancel) {
        Ok(()) => Ok(RunResult::Applied),
        Err(OperationError::Declined | OperationError::DeclinedStage { .. }) => {
            let verdict = view.verdict.lock().ok().and_then(|mut r| r.take());
            match verdict {
                Some(Ok(Some(refusal))) => {
                    outcome.refusal = Some(refusal);
                    Ok(RunResult::Refused)
                }
                Some(Err(why)) => Err(Stop::Failed(why)),
                _ => Err(Stop::Failed("the apply was declined".into())),
            }
        }
        Err(e) => Err(stop(e)),
    }
}

fn stop(e: OperationError) -> Stop {
    match e {
        OperationError::Cancelled { .. } => Stop::Cancelled,
        OperationError::Lock(LockError::Held { info }) => Stop::Locked(info),
        other => Stop::Failed(other.to_string()),
    }
}

/// The stack's inputs as `plinth plan` in its directory reads them (environment,
/// tfvars files), providers started.
fn stack_options(dir: &Path) -> StackOptions {
    StackOptions {
        vars: Vec::new(),
        env: std::env::vars().collect(),
        workspace: plinth_state::workspace::current(dir).ok(),
        require_root_vars: true,
        validate: false,
        providers: ProviderStart::Required,
        in_process: crate::plugin::Providers::default(),
        untrusted: false,
    }
}

/// Whether a reviewed plan was made from the configuration as it is now.
fn reviewed(dir: &Path, config_hash: &str) -> bool {
    crate::plan::file::PlanFile::read(&dir.join(REVIEWED_PLAN))
        .is_ok_and(|file| file.config_hash == config_hash)
}

/// What the plan under the lock must pass before it is applied.
struct Decision {
    mode: Mode,
    guardrails: Guardrails,
    rules: Rules,
}

impl Decision {
    /// `Ok(None)` to apply; a refusal; or why the guardrails could not be checked.
    fn judge(&self, plan: &Plan) -> Result<Option<Refusal>, String> {
        let refuse = |guardrail: &str, message: String| {
            Ok(Some(Refusal {
                guardrail: guardrail.into(),
                message,
            }))
        };
        let changes: Vec<_> = plan
            .changes
            .iter()
            .filter(|c| c.action.is_change() && c.action != Action::Read)
            .collect();
        if self.mode == Mode::RevertDrift {
            let report = drift::report(plan, &self.rules);
            if !report.config_changes.is_empty() {
                return refuse(
                    "config_changed",
                    format!(
                        "putting the drift back would also apply configuration changes: {}",
                        report.config_changes.join(", ")
                    ),
                );
            }
        }
        if self.guardrails.no_destroy {
            let deleted: Vec<String> = changes
                .iter()
                .filter(|c| {
                    matches!(
                        c.action,
                        Action::Delete | Action::DeleteThenCreate | Action::CreateThenDelete
                    )
                })
                .map(|c| c.address.to_string())
                .collect();
            if !deleted.is_empty() {
                return refuse(
                    "no_destroy",
                    format!(
                        "--no-destroy: the plan deletes or replaces {}",
                        deleted.join(", ")
                    ),
                );
            }
        }
        if let Some(max) = self.guardrails.max_changes {
            if changes.len() > max {
                return refuse(
                    "max_changes",
                    format!(
                        "--max-changes {max}: the plan has {} changes",
                        changes.len()
                    ),
                );
            }
        }
        for dir in &self.guardrails.policy {
            let mut set = crate::preview::policy::load(dir).map_err(|e| e.render(false))?;
            let input = crate::preview::policy::input(crate::plan::render::json(plan), None);
            let report = set
                .evaluate(&input)
                .map_err(|d| crate::diag::render_text(set.sources(), &d, false))?;
            let failures: Vec<String> = report
                .failures()
                .map(|f| format!("{}: {}", f.file, f.message))
                .collect();
            if !failures.is_empty() {
                return refuse(
                    "policy",
                    format!("policy {}: {}", dir.display(), failures.join("; ")),
                );
            }
        }
        Ok(None)
    }
}

/// The view a run talks to: it records diagnostics, the plan, what was applied, and
/// answers the confirmation with the guardrails.
#[derive(Default)]
struct RunView {
    diagnostics: Mutex<String>,
    decision: Mutex<Option<Decision>>,
    /// The guardrails' verdict on the last plan shown: apply (`Ok(None)`), a
    /// refusal, or why they could not be checked.
    verdict: Mutex<Option<Result<Option<Refusal>, String>>>,
    applied: Mutex<Vec<String>>,
}

impl RunView {
    fn with_diagnostics(&self, why: String) -> String {
        let text = self
            .diagnostics
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        if text.trim().is_empty() {
            why
        } else {
            format!("{why}\n{}", text.trim_end())
        }
    }
}

impl View for RunView {
    fn diagnostics(&self, sources: &Sources, diagnostics: &Diagnostics) {
        if !diagnostics.has_errors() {
            return;
        }
        if let Ok(mut d) = self.diagnostics.lock() {
            d.push_str(&crate::diag::render_text(sources, diagnostics, false));
        }
    }

    fn notice(&self, _notice: Notice<'_>) {}

    fn plan(&self, plan: &Plan) {
        let Ok(decision) = self.decision.lock() else {
            return;
        };
        if let (Some(decision), Ok(mut verdict)) = (decision.as_ref(), self.verdict.lock()) {
            *verdict = Some(decision.judge(plan));
        }
    }

    /// Yes only when the guardrails passed the plan just shown.
    fn confirm(&self, _question: Question) -> bool {
        self.verdict
            .lock()
            .is_ok_and(|v| matches!(*v, Some(Ok(None))))
    }

    fn progress(&self) -> &dyn Progress {
        self
    }

    fn summary(&self, _summary: Summary<'_>) {}

    fn outputs(&self, _outputs: &BTreeMap<String, OutputState>) {}
}

impl Progress for RunView {
    fn started(&self, _address: &str, _verb: &str) {}

    fn finished(&self, address: &str, message: Option<&str>) {
        if message.is_some() {
            if let Ok(mut a) = self.applied.lock() {
                a.push(address.to_string());
            }
        }
    }

    fn note(&self, _line: &str) {}
}
