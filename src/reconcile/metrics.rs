//! The service's counters and gauges, rendered in the Prometheus text exposition
//! format (version 0.0.4) for `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use super::{Outcome, RunResult};

/// Every way a run ends, in the order the counters are printed.
const RESULTS: [RunResult; 7] = [
    RunResult::Clean,
    RunResult::Reported,
    RunResult::Applied,
    RunResult::Refused,
    RunResult::LockSkipped,
    RunResult::Failed,
    RunResult::Cancelled,
];

/// Upper bounds of the run duration histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

#[derive(Default)]
struct StackMetrics {
    runs: BTreeMap<&'static str, u64>,
    drifted: usize,
    last_success: Option<f64>,
    /// Counts per bucket (not cumulative), then the sum and the count.
    buckets: [u64; BUCKETS.len()],
    duration_sum: f64,
    duration_count: u64,
    locks_skipped: u64,
    refusals: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Inner {
    stacks: BTreeMap<String, StackMetrics>,
    webhook_failures: u64,
    webhooks_dropped: u64,
}

/// The metrics of one service; shared by the workers (which record outcomes), the
/// webhook sender and the HTTP listener (which renders them).
#[derive(Default)]
pub struct Metrics(Mutex<Inner>);

impl Metrics {
    /// Metrics with every stack's series present from the start (at zero).
    pub fn new<'a>(stacks: impl IntoIterator<Item = &'a str>) -> Metrics {
        let mut inner = Inner::default();
        for stack in stacks {
            let m = inner.stacks.entry(stack.to_string()).or_default();
            for r in RESULTS {
                m.runs.insert(r.name(), 0);
            }
        }
        Metrics(Mutex::new(inner))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut inner)
    }

    /// Counts one run of `stack`.
    pub fn record(&self, stack: &str, outcome: &Outcome) {
        self.with(|inner| {
            let m = inner.stacks.entry(stack.to_string()).or_default();
            *m.runs.entry(outcome.result.name()).or_default() += 1;
            let d = outcome.duration_seconds.max(0.0);
            if let Some(i) = BUCKETS.iter().position(|b| d <= *b) {
                m.buckets[i] += 1;
            }
            m.duration_sum += d;
            m.duration_count += 1;
            match outcome.result {
                RunResult::Clean | RunResult::Reported | RunResult::Applied => {
                    m.last_success = Some(outcome.started + outcome.duration_seconds);
                }
                RunResult::LockSkipped => m.locks_skipped += 1,
                _ => {}
            }
            if let Some(refusal) = &outcome.refusal {
                *m.refusals.entry(refusal.guardrail.clone()).or_default() += 1;
            }
            if let Some(drifted) = drifted_left(outcome) {
                m.drifted = drifted;
            }
        })
    }

    /// A webhook delivery given up after its last attempt.
    pub fn webhook_failed(&self) {
        self.with(|inner| inner.webhook_failures += 1)
    }

    /// A notification dropped because the queue was full.
    pub fn webhook_dropped(&self) {
        self.with(|inner| inner.webhooks_dropped += 1)
    }

    /// The exposition text, process figures included.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.with(|inner| render_into(&mut out, inner));
        let process = Process::read();
        family(
            &mut out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(
            out,
            "process_resident_memory_bytes {}",
            process.resident_bytes
        );
        family(
            &mut out,
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
        );
        let _ = writeln!(out, "process_open_fds {}", process.open_fds);
        out
    }
}

/// How many drifted resources a run left (what it found, less what it applied); none
/// when the run did not get as far as looking.
fn drifted_left(outcome: &Outcome) -> Option<usize> {
    match outcome.result {
        RunResult::Clean | RunResult::Reported | RunResult::Refused => {
            Some(outcome.drift.resources.len())
        }
        RunResult::Applied => Some(
            outcome
                .drift
                .resources
                .iter()
                .filter(|r| !outcome.applied.contains(&r.address))
                .count(),
        ),
        RunResult::LockSkipped | RunResult::Failed | RunResult::Cancelled => None,
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn render_into(out: &mut String, inner: &Inner) {
    family(
        out,
        "plinth_reconcile_runs_total",
        "counter",
        "Runs of each stack, by how they ended.",
    );
    for (stack, m) in &inner.stacks {
        for (result, n) in &m.runs {
            let _ = writeln!(
                out,
                "plinth_reconcile_runs_total{{stack=\"{}\",result=\"{result}\"}} {n}",
                escape(stack)
            );
        }
    }
    family(
        out,
        "plinth_reconcile_drifted_resources",
        "gauge",
        "Drifted resources the last run of each stack left.",
    );
    for (stack, m) in &inner.stacks {
        let _ = writeln!(
            out,
            "plinth_reconcile_drifted_resources{{stack=\"{}\"}} {}",
            escape(stack),
            m.drifted
        );
    }
    family(
        out,
        "plinth_reconcile_last_success_timestamp_seconds",
        "gauge",
        "When the last clean, reported or applied run of each stack ended (Unix time).",
    );
    for (stack, m) in &inner.stacks {
        if let Some(t) = m.last_success {
            let _ = writeln!(
                out,
                "plinth_reconcile_last_success_timestamp_seconds{{stack=\"{}\"}} {t:.3}",
                escape(stack)
            );
        }
    }
    family(
        out,
        "plinth_reconcile_run_duration_seconds",
        "histogram",
        "How long each run took.",
    );
    for (stack, m) in &inner.stacks {
        let stack = escape(stack);
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(m.buckets) {
            cumulative += n;
            let _ = writeln!(
                out,
                "plinth_reconcile_run_duration_seconds_bucket{{stack=\"{stack}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "plinth_reconcile_run_duration_seconds_bucket{{stack=\"{stack}\",le=\"+Inf\"}} {}",
            m.duration_count
        );
        let _ = writeln!(
            out,
            "plinth_reconcile_run_duration_seconds_sum{{stack=\"{stack}\"}} {}",
            m.duration_sum
        );
        let _ = writeln!(
            out,
            "plinth_reconcile_run_duration_seconds_count{{stack=\"{stack}\"}} {}",
            m.duration_count
        );
    }
    family(
        out,
        "plinth_reconcile_locks_skipped_total",
        "counter",
        "Runs skipped because another process held the stack's lock.",
    );
    for (stack, m) in &inner.stacks {
        let _ = writeln!(
            out,
            "plinth_reconcile_locks_skipped_total{{stack=\"{}\"}} {}",
            escape(stack),
            m.locks_skipped
        );
    }
    family(
        out,
        "plinth_reconcile_guardrail_refusals_total",
        "counter",
        "Runs a guardrail refused, by guardrail.",
    );
    for (stack, m) in &inner.stacks {
        for (guardrail, n) in &m.refusals {
            let _ = writeln!(
                out,
                "plinth_reconcile_guardrail_refusals_total{{stack=\"{}\",guardrail=\"{}\"}} {n}",
                escape(stack),
                escape(guardrail)
            );
        }
    }
    family(
        out,
        "plinth_reconcile_webhook_failures_total",
        "counter",
        "Webhook deliveries given up after their last attempt.",
    );
    let _ = writeln!(
        out,
        "plinth_reconcile_webhook_failures_total {}",
        inner.webhook_failures
    );
    family(
        out,
        "plinth_reconcile_webhooks_dropped_total",
        "counter",
        "Notifications dropped, oldest first, because the webhook queue was full.",
    );
    let _ = writeln!(
        out,
        "plinth_reconcile_webhooks_dropped_total {}",
        inner.webhooks_dropped
    );
}

/// A label value as the exposition format writes it: backslash, double quote and
/// line feed escaped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// This process's resident memory and open descriptors, from `/proc/self` (zero
/// where it cannot be read).
pub struct Process {
    pub resident_bytes: u64,
    pub open_fds: u64,
}

impl Process {
    pub fn read() -> Process {
        let pages = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0);
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as u64;
        let open_fds = std::fs::read_dir("/proc/self/fd")
            // The directory's own descriptor, open while it is read, is not counted.
            .map(|d| (d.count() as u64).saturating_sub(1))
            .unwrap_or(0);
        Process {
            resident_bytes: pages * page,
            open_fds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{DriftKind, DriftedResource, Report};
    use crate::reconcile::{Mode, Refusal};

    fn outcome(result: RunResult, duration: f64) -> Outcome {
        Outcome {
            stack: "s".into(),
            mode: Mode::Report,
            started: 1000.0,
            duration_seconds: duration,
            result,
            drift: Report::default(),
            applied: Vec::new(),
            skipped: Vec::new(),
            refusal: None,
            lock_holder: None,
            error: None,
        }
    }

    fn drifted(address: &str) -> DriftedResource {
        DriftedResource {
            address: address.into(),
            kind: DriftKind::Deleted,
            attributes: Vec::new(),
        }
    }

    #[test]
    fn the_text_counts_runs_durations_drift_and_refusals_per_stack() {
        let metrics = Metrics::new(["web", "db"]);
        let mut reported = outcome(RunResult::Reported, 0.3);
        reported.drift.resources = vec![drifted("a.x"), drifted("a.y")];
        metrics.record("web", &reported);
        let mut refused = outcome(RunResult::Refused, 3.0);
        refused.refusal = Some(Refusal {
            guardrail: "no_destroy".into(),
            message: "would delete a.x".into(),
        });
        metrics.record("db", &refused);
        metrics.record("db", &outcome(RunResult::LockSkipped, 0.0));
        metrics.webhook_failed();
        let text = metrics.render();
        for line in [
            "# TYPE plinth_reconcile_runs_total counter",
            "plinth_reconcile_runs_total{stack=\"web\",result=\"reported\"} 1",
            "plinth_reconcile_runs_total{stack=\"web\",result=\"failed\"} 0",
            "plinth_reconcile_runs_total{stack=\"db\",result=\"lock_skipped\"} 1",
            "plinth_reconcile_drifted_resources{stack=\"web\"} 2",
            "plinth_reconcile_drifted_resources{stack=\"db\"} 0",
            "plinth_reconcile_last_success_timestamp_seconds{stack=\"web\"} 1000.300",
            "# TYPE plinth_reconcile_run_duration_seconds histogram",
            "plinth_reconcile_run_duration_seconds_bucket{stack=\"web\",le=\"0.25\"} 0",
            "plinth_reconcile_run_duration_seconds_bucket{stack=\"web\",le=\"0.5\"} 1",
            "plinth_reconcile_run_duration_seconds_bucket{stack=\"db\",le=\"2.5\"} 1",
            "plinth_reconcile_run_duration_seconds_bucket{stack=\"db\",le=\"5\"} 2",
            "plinth_reconcile_run_duration_seconds_bucket{stack=\"db\",le=\"+Inf\"} 2",
            "plinth_reconcile_run_duration_seconds_count{stack=\"db\"} 2",
            "plinth_reconcile_run_duration_seconds_sum{stack=\"db\"} 3",
            "plinth_reconcile_locks_skipped_total{stack=\"db\"} 1",
            "plinth_reconcile_guardrail_refusals_total{stack=\"db\",guardrail=\"no_destroy\"} 1",
            "plinth_reconcile_webhook_failures_total 1",
            "# TYPE process_open_fds gauge",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        assert!(!text.contains("last_success_timestamp_seconds{stack=\"db\"}"));
        let rss = text
            .lines()
            .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
            .and_then(|v| v.parse::<u64>().ok());
        assert!(rss.is_some_and(|b| b > 0), "{text}");
    }

    #[test]
    fn an_apply_leaves_only_the_drift_it_did_not_put_back() {
        let metrics = Metrics::new(["s"]);
        let mut applied = outcome(RunResult::Applied, 1.0);
        applied.drift.resources = vec![drifted("a.x"), drifted("a.y")];
        applied.applied = vec!["a.x".into()];
        metrics.record("s", &applied);
        assert!(metrics
            .render()
            .contains("plinth_reconcile_drifted_resources{stack=\"s\"} 1\n"));
        metrics.record("s", &outcome(RunResult::Failed, 1.0));
        assert!(metrics
            .render()
            .contains("plinth_reconcile_drifted_resources{stack=\"s\"} 1\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
        let metrics = Metrics::new(["we\"ird\\dir\n"]);
        assert!(metrics
            .render()
            .contains("plinth_reconcile_locks_skipped_total{stack=\"we\\\"ird\\\\dir\\n\"} 0"));
    }
}
