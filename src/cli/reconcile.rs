//! `plinth reconcile STACK...`: drift schedules as a long-running service (or once),
//! and `plinth reconcile history`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::reconcile::history;
use crate::reconcile::schedule::Schedule;
use crate::reconcile::service::{self, Service};
use crate::reconcile::webhook::Delivery;
use crate::reconcile::{Guardrails, Mode, Outcome, RunResult, StackJob};

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Subcommand>,
    /// The stack directories.
    #[arg(required = true)]
    pub stacks: Vec<PathBuf>,
    /// How often each stack runs (±10%, spread by stack): `15m`, `2s`, `1h 30m`.
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub every: Duration,
    /// Run each stack once, then exit: 0 when every stack was clean or applied, 2 when
    /// any reported drift, was refused or was skipped for its lock, 1 when any failed.
    #[arg(long)]
    pub once: bool,
    /// What a run does once it has planned.
    #[arg(long, value_enum, default_value = "report")]
    pub mode: Mode,
    /// Serve `/metrics` (Prometheus) and `/healthz` on ADDR, e.g. 127.0.0.1:9464
    /// (port 0: any free port; the address is logged).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// POST a JSON notification (with a Slack-compatible `text`) to URL on drift, a
    /// refusal, an apply, a failure or a lock skip (repeatable).
    #[arg(long = "webhook", value_name = "URL")]
    pub webhooks: Vec<String>,
    /// Refuse a plan that deletes or replaces anything.
    #[arg(long)]
    pub no_destroy: bool,
    /// Refuse a plan with more than N changes.
    #[arg(long, value_name = "N")]
    pub max_changes: Option<usize>,
    /// In `full` mode, apply configuration changes without a reviewed plan.
    #[arg(long)]
    pub allow_config_changes: bool,
    /// Refuse a plan a deny or violation rule of the Rego policies in DIR fires on
    /// (repeatable).
    #[arg(long, value_name = "DIR")]
    pub policy: Vec<PathBuf>,
    /// Leave drift of ADDR (or of one attribute path under it) out (repeatable).
    #[arg(long, value_name = "ADDR[.path]")]
    pub ignore: Vec<String>,
    /// At most N stacks run at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub concurrency: usize,
    /// The longest a failing stack waits between runs (it doubles `--every` per
    /// failure in a row).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub max_backoff: Duration,
    /// Stop after N ticks (periods of `--every`), once the runs in flight end.
    #[arg(long, value_name = "N")]
    pub ticks: Option<u64>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Subcommand {
    /// Show each stack's runs: when, mode, result, what drifted, what was applied,
    /// what refused or failed the run.
    History(HistoryArgs),
}

#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// The stack directories (default: the current one).
    pub stacks: Vec<PathBuf>,
    /// As JSON: `{"stacks": [{"stack", "runs": [...], "damaged": [...]}]}`.
    #[arg(long)]
    pub json: bool,
    /// Show the last N runs of each stack.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
}

/// How long pending notifications may take to go out once the service stops.
const FLUSH: Duration = Duration::from_secs(5);

pub fn run(args: Args, _out: &super::Output) -> u8 {
    if let Some(Subcommand::History(history)) = args.command {
        return show_history(&history);
    }
    if args.every.is_zero() {
        eprintln!("Error: --every must be longer than 0s.");
        return 1;
    }
    if args.concurrency == 0 {
        eprintln!("Error: --concurrency must be at least 1.");
        return 1;
    }
    let mut seen = BTreeSet::new();
    for stack in &args.stacks {
        if !stack.is_dir() {
            eprintln!("Error: {} is not a stack directory.", stack.display());
            return 1;
        }
        let real = stack.canonicalize().unwrap_or_else(|_| stack.clone());
        if !seen.insert(real) {
            eprintln!(
                "Error: {} is given twice: a stack runs once at a time.",
                stack.display()
            );
            return 1;
        }
    }
    for url in &args.webhooks {
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.parse::<hyper::Uri>().is_err()
        {
            eprintln!("Error: --webhook {url} is not an http:// or https:// URL.");
            return 1;
        }
    }
    // Each run reads its stack from the stack's own directory: policy directories
    // are made absolute here, where the user named them.
    let mut policy = Vec::new();
    for dir in &args.policy {
        match dir.canonicalize() {
            Ok(p) if p.is_dir() => policy.push(p),
            _ => {
                eprintln!("Error: --policy {} is not a directory.", dir.display());
                return 1;
            }
        }
    }
    let guardrails = Guardrails {
        no_destroy: args.no_destroy,
        max_changes: args.max_changes,
        allow_config_changes: args.allow_config_changes,
        policy,
    };
    let jobs: Vec<StackJob> = args
        .stacks
        .iter()
        .map(|dir| StackJob {
            dir: dir.clone(),
            mode: args.mode,
            guardrails: guardrails.clone(),
            ignore: args.ignore.clone(),
            lock_timeout: Duration::ZERO,
            parallelism: None,
        })
        .collect();
    let service = Service {
        schedule: Schedule {
            every: args.every,
            max_backoff: args.max_backoff,
            concurrency: args.concurrency,
            ticks: args.ticks,
            once: args.once,
        },
        listen: args.listen.clone(),
        webhooks: args.webhooks.clone(),
        delivery: Delivery::default(),
        flush: FLUSH,
    };
    let cancel = super::handle_interrupts();
    let last = match service::serve(&jobs, &service, &crate::reconcile::run::run_stack, &cancel) {
        Ok(last) => last,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    if args.once {
        once_exit_code(&last)
    } else {
        0
    }
}

/// `--once`'s exit code: 1 when any stack failed (or was stopped), 2 when any
/// reported, was refused or skipped for its lock, else 0.
fn once_exit_code(last: &[Option<Outcome>]) -> u8 {
    let mut code = 0;
    for outcome in last {
        match outcome.as_ref().map(|o| o.result) {
            Some(RunResult::Clean | RunResult::Applied) => {}
            Some(RunResult::Reported | RunResult::Refused | RunResult::LockSkipped) => {
                code = code.max(2)
            }
            Some(RunResult::Failed | RunResult::Cancelled) | None => return 1,
        }
    }
    code
}

fn show_history(args: &HistoryArgs) -> u8 {
    let stacks = if args.stacks.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.stacks.clone()
    };
    let mut code = 0;
    let mut documents = Vec::new();
    for (n, stack) in stacks.iter().enumerate() {
        let file = history::path(stack);
        let entries = match history::read(stack) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("Error: cannot read the history of {}: {e}", stack.display());
                code = 1;
                continue;
            }
        };
        let mut runs = Vec::new();
        let mut damaged = Vec::new();
        for entry in entries {
            match entry.outcome {
                Ok(o) => runs.push(o),
                Err(why) => {
                    eprintln!(
                        "Error: {}:{}: a damaged history record: {why}",
                        file.display(),
                        entry.line
                    );
                    damaged.push(serde_json::json!({"line": entry.line, "error": why}));
                    code = 1;
                }
            }
        }
        let runs = &runs[runs.len().saturating_sub(args.limit)..];
        if args.json {
            documents.push(serde_json::json!({
                "stack": stack.display().to_string(),
                "runs": runs,
                "damaged": damaged,
            }));
            continue;
        }
        if n > 0 {
            println!();
        }
        print!("{}", history_text(&stack.display().to_string(), runs));
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "stacks": documents }))
                .unwrap_or_default()
        );
    }
    code
}

/// The text of one stack's runs, oldest first.
fn history_text(stack: &str, runs: &[Outcome]) -> String {
    use crate::reconcile::log::rfc3339_seconds;
    use std::fmt::Write;
    let mut out = format!("Stack {stack}: {} run(s)\n", runs.len());
    if runs.is_empty() {
        out.push_str("  (no runs recorded yet)\n");
    }
    for run in runs {
        let _ = writeln!(
            out,
            "  {}  {:<12} {:<12} {:.1} s",
            rfc3339_seconds(run.started),
            run.mode.name(),
            run.result.name(),
            run.duration_seconds
        );
        for r in &run.drift.resources {
            match r.kind {
                crate::drift::DriftKind::Deleted => {
                    let _ = writeln!(out, "      drifted {}: deleted outside plinth", r.address);
                }
                crate::drift::DriftKind::Changed => {
                    let paths: Vec<&str> = r.attributes.iter().map(|a| a.path.as_str()).collect();
                    let _ = writeln!(out, "      drifted {}: {}", r.address, paths.join(", "));
                }
            }
        }
        for c in &run.drift.config_changes {
            let _ = writeln!(out, "      configuration change {c}");
        }
        for a in &run.applied {
            let _ = writeln!(out, "      applied {a}");
        }
        for s in &run.skipped {
            let _ = writeln!(out, "      left alone {s}");
        }
        if let Some(r) = &run.refusal {
            let _ = writeln!(out, "      refused by {}: {}", r.guardrail, r.message);
        }
        if let Some(h) = &run.lock_holder {
            let _ = writeln!(out, "      lock held by {h}");
        }
        if let Some(e) = &run.error {
            for (i, line) in e.lines().enumerate() {
                let lead = if i == 0 { "error: " } else { "       " };
                let _ = writeln!(out, "      {lead}{line}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{AttributeDrift, DriftKind, DriftedResource};
    use crate::reconcile::Refusal;

    fn outcome(result: RunResult) -> Outcome {
        Outcome {
            stack: "web".into(),
            mode: Mode::RevertDrift,
            started: 60.0,
            duration_seconds: 1.25,
            result,
            drift: Default::default(),
            applied: Vec::new(),
            skipped: Vec::new(),
            refusal: None,
            lock_holder: None,
            error: None,
        }
    }

    #[test]
    fn once_exits_by_the_worst_result() {
        let all = |rs: &[RunResult]| -> Vec<Option<Outcome>> {
            rs.iter().map(|r| Some(outcome(*r))).collect()
        };
        assert_eq!(
            once_exit_code(&all(&[RunResult::Clean, RunResult::Applied])),
            0
        );
        assert_eq!(
            once_exit_code(&all(&[RunResult::Clean, RunResult::LockSkipped])),
            2
        );
        assert_eq!(
            once_exit_code(&all(&[RunResult::Refused, RunResult::Reported])),
            2
        );
        assert_eq!(
            once_exit_code(&all(&[RunResult::Reported, RunResult::Failed])),
            1
        );
        assert_eq!(once_exit_code(&[None]), 1);
    }

    #[test]
    fn the_history_text_lists_paths_applies_and_refusals() {
        let mut drifted = outcome(RunResult::Applied);
        drifted.drift.resources = vec![
            DriftedResource {
                address: "local_file.a".into(),
                kind: DriftKind::Changed,
                attributes: vec![AttributeDrift {
                    path: "content".into(),
                    before: "x".into(),
                    after: "y".into(),
                    sensitive: false,
                }],
            },
            DriftedResource {
                address: "local_file.b".into(),
                kind: DriftKind::Deleted,
                attributes: Vec::new(),
            },
        ];
        drifted.applied = vec!["local_file.a".into(), "local_file.b".into()];
        let mut refused = outcome(RunResult::Refused);
        refused.refusal = Some(Refusal {
            guardrail: "no_destroy".into(),
            message: "the plan deletes local_file.c".into(),
        });
        let text = history_text("web", &[drifted, refused]);
        assert_eq!(
            text,
            "Stack web: 2 run(s)
  1970-01-01T00:01:00.000Z  revert-drift applied      1.2 s
      drifted local_file.a: content
      drifted local_file.b: deleted outside plinth
      applied local_file.a
      applied local_file.b
  1970-01-01T00:01:00.000Z  revert-drift refused      1.2 s
      refused by no_destroy: the plan deletes local_file.c
"
        );
    }
}
