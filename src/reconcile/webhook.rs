//! Notifications: each run that found drift, was refused, applied, failed or was
//! skipped for a lock is POSTed as JSON to every `--webhook` URL. The payload carries
//! `text`, the Slack-compatible form (Slack's incoming webhooks read only `text`), so
//! one payload serves both. A background sender delivers them: a bounded queue (the
//! oldest dropped when full), retries with exponential backoff, a timeout per
//! request; notifying never blocks the caller.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};

use super::log::{self, Level};
use super::metrics::Metrics;
use super::{Outcome, RunResult};

/// How deliveries are tried.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Attempts per notification and URL, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; each later one waits twice the last.
    pub first_backoff: Duration,
    /// The longest one request may take.
    pub timeout: Duration,
    /// The most notifications waiting (retries included); the oldest is dropped for
    /// a new one.
    pub queue: usize,
}

impl Default for Delivery {
    fn default() -> Delivery {
        Delivery {
            attempts: 5,
            first_backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
            queue: 256,
        }
    }
}

/// One notification on its way to one URL.
struct Pending {
    url: Arc<str>,
    body: Arc<Bytes>,
    event: String,
    stack: String,
    attempt: u32,
    not_before: Instant,
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<Pending>,
    /// Set by shutdown: deliver what is due until then, then give up the rest.
    closing: Option<Instant>,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    metrics: Arc<Metrics>,
    delivery: Delivery,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        match self.queue.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// The background sender.
pub struct Webhooks {
    urls: Vec<Arc<str>>,
    shared: Arc<Shared>,
    thread: Mutex<Option<(JoinHandle<()>, mpsc::Receiver<()>)>>,
}

impl Webhooks {
    /// Starts the sender for `urls` (none: notifying does nothing).
    pub fn start(urls: &[String], delivery: Delivery, metrics: Arc<Metrics>) -> Webhooks {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            metrics,
            delivery,
        });
        let thread = if urls.is_empty() {
            None
        } else {
            let (done_tx, done_rx) = mpsc::channel();
            let sender = shared.clone();
            std::thread::Builder::new()
                .name("reconcile-webhooks".into())
                .spawn(move || {
                    send_loop(&sender);
                    let _ = done_tx.send(());
                })
                .ok()
                .map(|handle| (handle, done_rx))
        };
        Webhooks {
            urls: urls.iter().map(|u| Arc::from(u.as_str())).collect(),
            shared,
            thread: Mutex::new(thread),
        }
    }

    /// Queues `payload` for every URL; returns at once.
    pub fn notify(&self, payload: &Value) {
        if self.urls.is_empty() {
            return;
        }
        let body = Arc::new(Bytes::from(payload.to_string()));
        let event = payload["event"].as_str().unwrap_or("").to_string();
        let stack = payload["stack"].as_str().unwrap_or("").to_string();
        let mut queue = self.shared.lock();
        if queue.closing.is_some() {
            return;
        }
        for url in &self.urls {
            while queue.pending.len() >= self.shared.delivery.queue.max(1) {
                if let Some(dropped) = queue.pending.pop_front() {
                    self.shared.metrics.webhook_dropped();
                    log::emit(
                        Level::Warn,
                        "webhook_dropped",
                        json!({"url": &*dropped.url, "stack": dropped.stack,
                               "notification": dropped.event,
                               "error": "the webhook queue is full: the oldest notification was dropped"}),
                    );
                }
            }
            queue.pending.push_back(Pending {
                url: url.clone(),
                body: body.clone(),
                event: event.clone(),
                stack: stack.clone(),
                attempt: 0,
                not_before: Instant::now(),
            });
        }
        drop(queue);
        self.shared.wake.notify_all();
    }

    /// Delivers what is queued for at most `flush`, then stops the sender; what is
    /// left undelivered counts as failed.
    pub fn shutdown(self, flush: Duration) {
        let deadline = Instant::now() + flush;
        self.shared.lock().closing = Some(deadline);
        self.shared.wake.notify_all();
        let thread = match self.thread.into_inner() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((handle, done)) = thread {
            // A request in flight may outlast the deadline by its own timeout: leave
            // that thread behind rather than wait for it.
            if done
                .recv_timeout(flush + Duration::from_millis(200))
                .is_ok()
            {
                let _ = handle.join();
            }
        }
    }
}

fn send_loop(shared: &Shared) {
    let client = client();
    let mut queue = shared.lock();
    loop {
        let now = Instant::now();
        if let Some(deadline) = queue.closing {
            if now >= deadline || queue.pending.is_empty() {
                for left in queue.pending.drain(..) {
                    given_up(shared, &left, "plinth stopped before it could be delivered");
                }
                return;
            }
        }
        let due = queue.pending.iter().position(|p| p.not_before <= now);
        let Some(i) = due else {
            let mut wait = queue
                .pending
                .iter()
                .map(|p| p.not_before)
                .min()
                .map(|t| t.saturating_duration_since(now))
                .unwrap_or(Duration::from_secs(3600));
            if let Some(deadline) = queue.closing {
                wait = wait.min(deadline.saturating_duration_since(now));
            }
            queue = match shared.wake.wait_timeout(queue, wait) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
            continue;
        };
        let Some(mut pending) = queue.pending.remove(i) else {
            continue;
        };
        let closing = queue.closing;
        drop(queue);
        let mut timeout = shared.delivery.timeout;
        if let Some(deadline) = closing {
            timeout = timeout.min(deadline.saturating_duration_since(Instant::now()));
        }
        let sent = match &client {
            Ok(client) => post(client, &pending.url, &pending.body, timeout),
            Err(e) => Err(e.clone()),
        };
        queue = shared.lock();
        let Err(why) = sent else { continue };
        pending.attempt += 1;
        if pending.attempt >= shared.delivery.attempts.max(1) {
            given_up(shared, &pending, &why);
            continue;
        }
        let backoff = shared
            .delivery
            .first_backoff
            .saturating_mul(2u32.saturating_pow(pending.attempt - 1));
        pending.not_before = Instant::now() + backoff;
        if queue.closing.is_some_and(|d| pending.not_before > d) {
            given_up(shared, &pending, &why);
            continue;
        }
        queue.pending.push_back(pending);
    }
}

fn given_up(shared: &Shared, pending: &Pending, why: &str) {
    shared.metrics.webhook_failed();
    log::emit(
        Level::Error,
        "webhook_failed",
        json!({"url": &*pending.url, "stack": pending.stack,
               "notification": pending.event, "attempts": pending.attempt, "error": why}),
    );
}

type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// The HTTP client: http and https (rustls with the system's roots), as the module
/// registry client. Without any root certificate on the system, http still works and
/// an https delivery fails its handshake (said once, at start).
fn client() -> Result<Client, String> {
    let provider = || rustls::crypto::aws_lc_rs::default_provider();
    let builder = match hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider())
    {
        Ok(builder) => builder,
        Err(e) => {
            log::emit(
                Level::Warn,
                "webhook_tls_roots_missing",
                json!({"error": format!("no TLS root certificates: {e}; https webhooks will fail")}),
            );
            let config = rustls::ClientConfig::builder_with_provider(provider().into())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    let https = builder.https_or_http().enable_http1().build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https),
    )
}

/// POSTs `body` to `url`: a 2xx answer within `timeout` is delivered.
fn post(client: &Client, url: &str, body: &Bytes, timeout: Duration) -> Result<(), String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("{url} is not a valid URL: {e}"))?;
    let request = hyper::Request::post(uri)
        .header("Content-Type", "application/json")
        .header("User-Agent", concat!("plinth/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(body.clone()))
        .map_err(|e| e.to_string())?;
    crate::plugin::runtime().block_on(async {
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| format!("POST {url} failed: {e}"))?;
            let status = response.status();
            let _ = response.into_body().collect().await;
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("POST {url} answered {status}"))
            }
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| format!("POST {url} took more than {} ms", timeout.as_millis()))?
    })
}

/// The notification a run gives, if any: `drift` (drift found, or changes pending,
/// and reported), `refused`, `applied`, `failed`, `lock_skipped`. A clean or
/// cancelled run notifies nobody.
pub fn payload(stack: &str, outcome: &Outcome) -> Option<Value> {
    let event = match outcome.result {
        RunResult::Clean | RunResult::Cancelled => return None,
        RunResult::Reported => "drift",
        RunResult::Refused => "refused",
        RunResult::Applied => "applied",
        RunResult::Failed => "failed",
        RunResult::LockSkipped => "lock_skipped",
    };
    Some(json!({
        "event": event,
        "stack": stack,
        "mode": outcome.mode.name(),
        "result": outcome.result.name(),
        "drift": outcome.drift.resources,
        "config_changes": outcome.drift.config_changes,
        "applied": outcome.applied,
        "skipped": outcome.skipped,
        "refusal": outcome.refusal,
        "lock_holder": outcome.lock_holder,
        "error": outcome.error,
        "time": log::rfc3339_seconds(outcome.started + outcome.duration_seconds),
        "text": text(stack, outcome),
    }))
}

/// The most resources a notification's text lists.
const TEXT_ITEMS: usize = 20;

/// The Slack-compatible text of a run's notification.
pub fn text(stack: &str, outcome: &Outcome) -> String {
    let mode = outcome.mode.name();
    let drifted = outcome.drift.resources.len();
    let mut text = match outcome.result {
        RunResult::Reported if drifted > 0 => {
            format!("plinth reconcile: drift in stack {stack} ({mode}): {drifted} resource(s) changed outside plinth")
        }
        RunResult::Reported => format!(
            "plinth reconcile: stack {stack} ({mode}) has {} configuration change(s) not applied",
            outcome.drift.config_changes.len()
        ),
        RunResult::Refused => format!(
            "plinth reconcile: stack {stack} ({mode}): refused by {}: {}",
            outcome
                .refusal
                .as_ref()
                .map_or("a guardrail", |r| &r.guardrail),
            outcome.refusal.as_ref().map_or("", |r| &r.message)
        ),
        RunResult::Applied => format!(
            "plinth reconcile: stack {stack} ({mode}): applied {} change(s)",
            outcome.applied.len()
        ),
        RunResult::Failed => format!(
            "plinth reconcile: stack {stack} ({mode}) failed: {}",
            outcome.error.as_deref().unwrap_or("no error given")
        ),
        RunResult::LockSkipped => format!(
            "plinth reconcile: stack {stack} skipped: its lock is held by {}",
            outcome.lock_holder.as_deref().unwrap_or("another process")
        ),
        RunResult::Clean | RunResult::Cancelled => {
            format!(
                "plinth reconcile: stack {stack} ({mode}): {}",
                outcome.result.name()
            )
        }
    };
    for r in outcome.drift.resources.iter().take(TEXT_ITEMS) {
        let paths: Vec<&str> = r.attributes.iter().map(|a| a.path.as_str()).collect();
        match r.kind {
            crate::drift::DriftKind::Deleted => {
                text.push_str(&format!("\n• {} deleted outside plinth", r.address))
            }
            crate::drift::DriftKind::Changed => {
                text.push_str(&format!("\n• {} changed: {}", r.address, paths.join(", ")))
            }
        }
    }
    if drifted > TEXT_ITEMS {
        text.push_str(&format!("\n… and {} more", drifted - TEXT_ITEMS));
    }
    for address in outcome.applied.iter().take(TEXT_ITEMS) {
        text.push_str(&format!("\n• applied {address}"));
    }
    if outcome.applied.len() > TEXT_ITEMS {
        text.push_str(&format!(
            "\n… and {} more applied",
            outcome.applied.len() - TEXT_ITEMS
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{AttributeDrift, DriftKind, DriftedResource};
    use crate::reconcile::{Mode, Refusal};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A receiver answering each request with the next status of `statuses` (then
    /// 200), after `delay`; returns its URL and the bodies it received.
    fn receiver(statuses: Vec<u16>, delay: Duration) -> (String, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut statuses = statuses.into_iter();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                std::thread::sleep(delay);
                let status = statuses.next().unwrap_or(200);
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                if tx.send(String::from_utf8(body).unwrap()).is_err() {
                    return;
                }
            }
        });
        (url, rx)
    }

    fn fast(queue: usize, attempts: u32) -> Delivery {
        Delivery {
            attempts,
            first_backoff: Duration::from_millis(20),
            timeout: Duration::from_secs(2),
            queue,
        }
    }

    fn failures(metrics: &Metrics) -> (u64, u64) {
        let text = metrics.render();
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap()
        };
        (
            value("plinth_reconcile_webhook_failures_total"),
            value("plinth_reconcile_webhooks_dropped_total"),
        )
    }

    #[test]
    fn a_failed_delivery_is_retried_until_it_is_accepted() {
        let (url, received) = receiver(vec![500, 503], Duration::ZERO);
        let metrics = Arc::new(Metrics::default());
        let hooks = Webhooks::start(&[url], fast(8, 5), metrics.clone());
        let began = Instant::now();
        hooks.notify(&json!({"event": "drift", "stack": "s", "text": "hello"}));
        assert!(began.elapsed() < Duration::from_millis(50));
        let bodies: Vec<String> = (0..3)
            .map(|_| received.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert!(bodies.iter().all(|b| b.contains("\"text\":\"hello\"")));
        // 20 ms then 40 ms between the attempts.
        assert!(began.elapsed() >= Duration::from_millis(60));
        hooks.shutdown(Duration::from_secs(1));
        assert_eq!(failures(&metrics), (0, 0));
    }

    #[test]
    fn a_delivery_refused_every_time_is_given_up_and_counted() {
        let (url, received) = receiver(vec![500; 10], Duration::ZERO);
        let metrics = Arc::new(Metrics::default());
        let hooks = Webhooks::start(&[url], fast(8, 3), metrics.clone());
        hooks.notify(&json!({"event": "failed", "stack": "s"}));
        for _ in 0..3 {
            received.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        hooks.shutdown(Duration::from_secs(2));
        assert_eq!(failures(&metrics), (1, 0));
        assert!(received.try_recv().is_err());
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_shutdown_is_bounded() {
        let (url, received) = receiver(Vec::new(), Duration::from_millis(150));
        let metrics = Arc::new(Metrics::default());
        let hooks = Webhooks::start(&[url], fast(2, 1), metrics.clone());
        for n in 0..5 {
            hooks.notify(&json!({"event": "drift", "stack": format!("s{n}")}));
        }
        let began = Instant::now();
        hooks.shutdown(Duration::from_millis(400));
        assert!(
            began.elapsed() < Duration::from_secs(1),
            "{:?}",
            began.elapsed()
        );
        let mut got = Vec::new();
        while let Ok(body) = received.recv_timeout(Duration::from_millis(300)) {
            got.push(body);
        }
        let (failed, dropped) = failures(&metrics);
        assert!(dropped >= 2, "{dropped}");
        // A request that timed out at shutdown may still have reached the receiver.
        assert!(got.len() as u64 + failed + dropped >= 5, "{got:?}");
        assert!(got.len() as u64 + dropped <= 5, "{got:?}");
        // The newest notification was kept, not dropped.
        assert!(
            got.iter().any(|b| b.contains("\"s4\"")) || failed > 0,
            "{got:?}"
        );
    }

    #[test]
    fn the_payload_carries_drift_paths_and_a_slack_text() {
        let outcome = Outcome {
            stack: "web".into(),
            mode: Mode::Report,
            started: 0.0,
            duration_seconds: 1.0,
            result: RunResult::Reported,
            drift: crate::drift::Report {
                resources: vec![DriftedResource {
                    address: "kubernetes_config_map.app".into(),
                    kind: DriftKind::Changed,
                    attributes: vec![AttributeDrift {
                        path: "data[\"mode\"]".into(),
                        before: json!("a"),
                        after: json!("b"),
                        sensitive: false,
                    }],
                }],
                ..Default::default()
            },
            applied: Vec::new(),
            skipped: Vec::new(),
            refusal: None,
            lock_holder: None,
            error: None,
        };
        let p = payload("web", &outcome).unwrap();
        assert_eq!(p["event"], "drift");
        assert_eq!(p["result"], "reported");
        assert_eq!(p["drift"][0]["attributes"][0]["path"], "data[\"mode\"]");
        assert_eq!(p["time"], "1970-01-01T00:00:01.000Z");
        assert_eq!(
            p["text"],
            "plinth reconcile: drift in stack web (report): 1 resource(s) changed outside plinth\n• kubernetes_config_map.app changed: data[\"mode\"]"
        );
        let mut refused = outcome.clone();
        refused.result = RunResult::Refused;
        refused.refusal = Some(Refusal {
            guardrail: "no_destroy".into(),
            message: "the plan deletes local_file.a".into(),
        });
        let p = payload("web", &refused).unwrap();
        assert_eq!(p["event"], "refused");
        assert_eq!(p["refusal"]["guardrail"], "no_destroy");
        assert!(p["text"]
            .as_str()
            .unwrap()
            .starts_with("plinth reconcile: stack web (report): refused by no_destroy: the plan deletes local_file.a"));
        let mut clean = outcome;
        clean.result = RunResult::Clean;
        assert!(payload("web", &clean).is_none());
    }
}
