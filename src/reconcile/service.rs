//! The service around the runs: the schedule, and for every run its history record,
//! its metrics, its log lines and its notification; the HTTP endpoints; an orderly
//! stop (no new runs, runs in flight finish, webhooks flushed for a bounded time,
//! the listener stopped).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::history::History;
use super::http::Listener;
use super::log::{self, Level};
use super::metrics::Metrics;
use super::schedule::{self, Observer, Schedule};
use super::webhook::{self, Delivery, Webhooks};
use super::{Outcome, RunResult, StackJob};
use crate::operation::CancelToken;

/// What the service does besides running stacks.
#[derive(Clone, Debug)]
pub struct Service {
    pub schedule: Schedule,
    /// `--listen ADDR`: where `/metrics` and `/healthz` are served.
    pub listen: Option<String>,
    /// `--webhook URL`s.
    pub webhooks: Vec<String>,
    pub delivery: Delivery,
    /// How long pending notifications may take to go out once the service stops.
    pub flush: Duration,
}

/// Runs the service until its schedule ends or `cancel` is cancelled; returns each
/// stack's last outcome. Fails only when it cannot start (the address is taken).
pub fn serve<R>(
    jobs: &[StackJob],
    service: &Service,
    runner: &R,
    cancel: &CancelToken,
) -> Result<Vec<Option<Outcome>>, String>
where
    R: Fn(&StackJob, &CancelToken) -> Outcome + Sync,
{
    let names: Vec<String> = jobs.iter().map(|j| j.dir.display().to_string()).collect();
    let metrics = Arc::new(Metrics::new(names.iter().map(String::as_str)));
    let listener = match &service.listen {
        Some(address) => {
            Some(Listener::start(address, metrics.clone()).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let webhooks = Webhooks::start(&service.webhooks, service.delivery.clone(), metrics.clone());
    log::emit(
        Level::Info,
        "started",
        json!({
            "stacks": names,
            "mode": jobs.first().map(|j| j.mode.name()),
            "every_seconds": service.schedule.every.as_secs_f64(),
            "once": service.schedule.once,
            "concurrency": service.schedule.concurrency,
            "listen": listener.as_ref().map(|l| l.address().to_string()),
            "webhooks": service.webhooks.len(),
        }),
    );
    let recorder = Recorder {
        names: &names,
        metrics: &metrics,
        webhooks: &webhooks,
        histories: jobs
            .iter()
            .map(|j| Mutex::new(History::new(&j.dir)))
            .collect(),
    };
    let last = schedule::run(jobs, &service.schedule, runner, &recorder, cancel);
    let reason = if cancel.is_cancelled() {
        "signal"
    } else if service.schedule.once {
        "once"
    } else {
        "ticks"
    };
    log::emit(Level::Info, "stopping", json!({"reason": reason}));
    webhooks.shutdown(service.flush);
    if let Some(listener) = listener {
        listener.stop();
    }
    log::emit(Level::Info, "stopped", json!({"reason": reason}));
    Ok(last)
}

/// What the service does as runs start and end.
struct Recorder<'a> {
    names: &'a [String],
    metrics: &'a Metrics,
    webhooks: &'a Webhooks,
    histories: Vec<Mutex<History>>,
}

impl Observer for Recorder<'_> {
    fn started(&self, stack: usize, job: &StackJob) {
        log::emit(
            Level::Info,
            "run_started",
            json!({"stack": self.names[stack], "mode": job.mode.name()}),
        );
    }

    fn ended(&self, stack: usize, outcome: &Outcome, next: Option<Duration>) {
        let name = &self.names[stack];
        if let Ok(mut history) = self.histories[stack].lock() {
            if let Err(e) = history.append(outcome) {
                log::emit(
                    Level::Error,
                    "history_not_written",
                    json!({"stack": name, "error": e.to_string()}),
                );
            }
        }
        self.metrics.record(name, outcome);
        match outcome.result {
            RunResult::Refused => log::emit(
                Level::Warn,
                "guardrail_refused",
                json!({"stack": name, "mode": outcome.mode.name(),
                       "guardrail": outcome.refusal.as_ref().map(|r| &r.guardrail),
                       "refusal": outcome.refusal.as_ref().map(|r| &r.message)}),
            ),
            RunResult::LockSkipped => log::emit(
                Level::Warn,
                "lock_skipped",
                json!({"stack": name, "lock_holder": outcome.lock_holder}),
            ),
            _ => {}
        }
        let level = match outcome.result {
            RunResult::Failed => Level::Error,
            RunResult::Refused | RunResult::LockSkipped => Level::Warn,
            _ => Level::Info,
        };
        let mut fields = log::run_fields(name, outcome);
        if let (Some(next), Some(map)) = (next, fields.as_object_mut()) {
            map.insert(
                "next_run_in_seconds".into(),
                json!((next.as_secs_f64() * 1000.0).round() / 1000.0),
            );
        }
        log::emit(level, "run_ended", fields);
        if let Some(payload) = webhook::payload(name, outcome) {
            self.webhooks.notify(&payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::schedule::bare_outcome;
    use crate::reconcile::{Guardrails, Mode};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    #[test]
    fn each_run_is_recorded_in_history_and_notified() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let _ = reader
                    .into_inner()
                    .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
                let _ = tx.send(serde_json::from_slice::<serde_json::Value>(&body).unwrap());
            }
        });
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let jobs: Vec<StackJob> = dirs
            .iter()
            .map(|d| StackJob {
                dir: d.path().into(),
                mode: Mode::Report,
                guardrails: Guardrails::default(),
                ignore: Vec::new(),
                lock_timeout: Duration::ZERO,
                parallelism: None,
            })
            .collect();
        let drifted = jobs[1].dir.clone();
        let runner = |job: &StackJob, _: &CancelToken| {
            let result = if job.dir == drifted {
                RunResult::Reported
            } else {
                RunResult::Clean
            };
            bare_outcome(job, result)
        };
        let service = Service {
            schedule: Schedule {
                every: Duration::from_secs(60),
                max_backoff: Duration::from_secs(60),
                concurrency: 2,
                ticks: None,
                once: true,
            },
            listen: None,
            webhooks: vec![url],
            delivery: Delivery::default(),
            flush: Duration::from_secs(2),
        };
        let last = serve(&jobs, &service, &runner, &CancelToken::new()).unwrap();
        assert_eq!(last[1].as_ref().unwrap().result, RunResult::Reported);
        let payload = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(payload["event"], "drift");
        assert_eq!(payload["stack"], drifted.display().to_string());
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "a clean run notified"
        );
        for dir in &dirs {
            let runs = crate::reconcile::history::read(dir.path()).unwrap();
            assert_eq!(runs.len(), 1);
        }
    }
}
