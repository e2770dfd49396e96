//! `plinth reconcile` through the real binary: `--once` exit codes and `reconcile
//! history` over plinth/local stacks; and the service (`--every 2s`) over three
//! stacks, one against kmock, with a webhook receiver in the test: `/metrics`, drift
//! and guardrail notifications, a lock held by the test skipped and reported, kmock
//! stopped (only its stack backs off) and started again on the same port (the stack
//! recovers), and SIGTERM while an apply waits on a Job the test completes late.

use crate::common::kube::Kmock;
use crate::common::{kubernetes_provider_dir, local_provider_dir, stack, Run};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn plinth(dir: &Path, plugins: &Path, args: &[&str]) -> Run {
    crate::common::plinth_with(dir, plugins, args)
}

fn ok(run: &Run, what: &str) {
    assert_eq!(run.code, 0, "{what}:\n{}\n{}", run.stdout, run.stderr);
}

fn path(dir: &Path) -> &str {
    dir.to_str().expect("utf-8 path")
}

/// Polls `check` until it holds, failing after `limit` with `what`.
fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let began = Instant::now();
    while !check() {
        assert!(began.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const LOCAL: &str = r#"
terraform {
  required_providers {
    local = { source = "plinth/local" }
  }
}

resource "local_file" "f" {
  filename = "${path.module}/out/f.txt"
  content  = "kept\n"
}
"#;

#[test]
fn once_exits_by_what_the_runs_found_and_history_shows_them() {
    let plugins = local_provider_dir();
    let clean = stack(&[(
        "main.tf",
        "resource \"terraform_data\" \"a\" { input = 1 }\n",
    )]);
    let drifted = stack(&[("main.tf", LOCAL)]);
    let broken = stack(&[("main.tf", "resource \"terraform_data\" \"a\" {\n")]);
    ok(
        &plinth(clean.path(), &plugins, &["apply", "--auto-approve"]),
        "apply",
    );
    ok(
        &plinth(drifted.path(), &plugins, &["apply", "--auto-approve"]),
        "apply",
    );
    let once = |stacks: &[&Path], extra: &[&str]| {
        let mut args = vec!["reconcile", "--once"];
        args.extend(stacks.iter().map(|d| path(d)));
        args.extend(extra);
        plinth(clean.path(), &plugins, &args)
    };
    let (c, d, b) = (clean.path(), drifted.path(), broken.path());
    let run = once(&[c, d], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Every log line is one JSON object.
    for line in run.stderr.lines() {
        let event: Value = serde_json::from_str(line).expect("a JSON log line");
        assert!(
            event["time"].is_string() && event["event"].is_string(),
            "{line}"
        );
    }

    std::fs::remove_file(d.join("out/f.txt")).expect("delete the file");
    assert_eq!(once(&[c, d], &[]).code, 2, "drift reported");
    assert_eq!(once(&[c, b], &[]).code, 1, "a broken stack failed");
    let revert = once(&[d], &["--mode", "revert-drift"]);
    assert_eq!(revert.code, 0, "{}", revert.stderr);
    assert_eq!(
        std::fs::read_to_string(d.join("out/f.txt")).expect("file put back"),
        "kept\n"
    );
    assert_eq!(once(&[d], &[]).code, 0, "{}", once(&[d], &[]).stderr);

    let history = plinth(c, &plugins, &["reconcile", "history", path(d)]);
    ok(&history, "history");
    let text = &history.stdout;
    assert!(text.contains(" run(s)\n"), "{text}");
    let results: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  2"))
        .map(|l| l.split_whitespace().nth(2).expect("result"))
        .collect();
    assert_eq!(results, ["clean", "reported", "applied", "clean"], "{text}");
    assert!(
        text.contains("drifted local_file.f: deleted outside plinth"),
        "{text}"
    );
    assert!(text.contains("applied local_file.f"), "{text}");
    let json = plinth(
        c,
        &plugins,
        &[
            "reconcile",
            "history",
            path(d),
            path(b),
            "--json",
            "--limit",
            "2",
        ],
    );
    ok(&json, "history --json");
    let doc: Value = serde_json::from_str(&json.stdout).expect("JSON history");
    let runs = doc["stacks"][0]["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["result"], "applied");
    assert_eq!(runs[0]["mode"], "revert-drift");
    assert_eq!(runs[0]["applied"], json!(["local_file.f"]));
    let failed = &doc["stacks"][1]["runs"][0];
    assert_eq!(failed["result"], "failed");
    assert!(failed["error"].as_str().is_some_and(|e| !e.is_empty()));

    // A damaged record is reported with its file and line, not skipped.
    let file = d.join(".plinth/reconcile/history.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .expect("history file");
    f.write_all(b"{\"format\":1,\"outcome\":{\"stack\":\n")
        .expect("damage");
    let damaged = plinth(c, &plugins, &["reconcile", "history", path(d)]);
    assert_eq!(damaged.code, 1);
    assert!(
        damaged
            .stderr
            .contains(&format!("{}:5: a damaged history record", file.display())),
        "{}",
        damaged.stderr
    );
    assert!(damaged.stdout.contains("Stack "), "{}", damaged.stdout);

    let usage = plinth(c, &plugins, &["reconcile", "--once", path(c), path(c)]);
    assert_eq!(usage.code, 1);
    assert!(usage.stderr.contains("is given twice"), "{}", usage.stderr);
    let policy = plinth(
        c,
        &plugins,
        &["reconcile", "--once", path(c), "--policy", "no-such-dir"],
    );
    assert_eq!(policy.code, 1);
    assert!(
        policy
            .stderr
            .contains("--policy no-such-dir is not a directory"),
        "{}",
        policy.stderr
    );

    // The guardrail flags reach the run: a plan with one change over --max-changes 0.
    std::fs::write(
        c.join("main.tf"),
        "resource \"terraform_data\" \"a\" { input = 2 }\n",
    )
    .expect("write");
    let full = [
        "--mode",
        "full",
        "--allow-config-changes",
        "--max-changes",
        "0",
    ];
    let refused = once(&[c], &full);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let history = plinth(c, &plugins, &["reconcile", "history", "--limit", "1"]);
    ok(&history, "history");
    assert!(
        history
            .stdout
            .contains("refused by max_changes: --max-changes 0: the plan has 1 changes"),
        "{}",
        history.stdout
    );

    // A policy's deny refuses the run; the plan is judged as Terraform's JSON plan.
    let policies = stack(&[(
        "deny.rego",
        "package main\n\nimport rego.v1\n\ndeny contains msg if {\n  some c in input.resource_changes\n  c.type == \"terraform_data\"\n  \"update\" in c.change.actions\n  msg := sprintf(\"%s may not change\", [c.address])\n}\n",
    )]);
    let denied = once(
        &[c],
        &[
            "--mode",
            "full",
            "--allow-config-changes",
            "--policy",
            path(policies.path()),
        ],
    );
    assert_eq!(denied.code, 2, "{}", denied.stderr);
    let history = plinth(
        c,
        &plugins,
        &["reconcile", "history", "--json", "--limit", "1"],
    );
    let doc: Value = serde_json::from_str(&history.stdout).expect("JSON history");
    let last = &doc["stacks"][0]["runs"][0];
    assert_eq!(last["result"], "refused", "{last:#}");
    assert_eq!(last["refusal"]["guardrail"], "policy", "{last:#}");
    assert!(
        last["refusal"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("deny.rego: terraform_data.a may not change")),
        "{last:#}"
    );

    // full mode: a configuration change needs a reviewed plan of this configuration.
    let unreviewed = once(&[c], &["--mode", "full"]);
    assert_eq!(unreviewed.code, 2, "{}", unreviewed.stderr);
    std::fs::create_dir_all(c.join(".plinth/reconcile")).expect("mkdir");
    ok(
        &plinth(
            c,
            &plugins,
            &["plan", "--out", ".plinth/reconcile/reviewed.plan"],
        ),
        "plan --out",
    );
    let reviewed = once(&[c], &["--mode", "full"]);
    assert_eq!(reviewed.code, 0, "{}", reviewed.stderr);
    let history = plinth(
        c,
        &plugins,
        &["reconcile", "history", "--json", "--limit", "2"],
    );
    let doc: Value = serde_json::from_str(&history.stdout).expect("JSON history");
    let runs = &doc["stacks"][0]["runs"];
    assert_eq!(
        runs[0]["refusal"]["guardrail"], "config_changed",
        "{runs:#}"
    );
    assert_eq!(runs[1]["result"], "applied", "{runs:#}");
    // The reviewed plan pins the configuration: an edit after it is refused again.
    std::fs::write(
        c.join("main.tf"),
        "resource \"terraform_data\" \"a\" { input = 3 }\n",
    )
    .expect("write");
    assert_eq!(once(&[c], &["--mode", "full"]).code, 2);
}

/// A webhook receiver: every JSON body POSTed to it, in order.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let mut stream = reader.into_inner();
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                if let Ok(value) = serde_json::from_slice(&body) {
                    seen.lock().expect("bodies").push(value);
                }
            }
        });
        Receiver { url, bodies }
    }

    fn find(&self, check: impl Fn(&Value) -> bool) -> Option<Value> {
        self.bodies
            .lock()
            .expect("bodies")
            .iter()
            .find(|b| check(b))
            .cloned()
    }
}

/// A running `plinth reconcile`: its JSON log lines as they come.
struct Service {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    address: SocketAddr,
}

impl Service {
    fn start(args: &[&str], plugins: &Path, cache: &Path) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_plinth"))
            .arg("reconcile")
            .args(args)
            .env("PLINTH_PLUGIN_DIR", plugins)
            .env("PLINTH_CACHE_DIR", cache)
            .env_remove("KUBE_HOST")
            .env_remove("KUBE_CONFIG_PATH")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start plinth reconcile");
        let stderr = child.stderr.take().expect("stderr");
        let events = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let seen = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                let event: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| json!({"event": "not_json", "line": line}));
                if event["event"] == "started" {
                    let _ = tx.send(event["listen"].as_str().unwrap_or("").to_string());
                }
                seen.lock().expect("events").push(event);
            }
        });
        let address = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the service's start-up line")
            .parse()
            .expect("the listen address");
        Service {
            child,
            events,
            address,
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.address).expect("connect");
        write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").expect("request");
        let mut reply = String::new();
        stream.read_to_string(&mut reply).expect("reply");
        let status = reply[9..12].parse().expect("status");
        let body = reply.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
        (status, body.unwrap_or_default())
    }

    /// One sample of `/metrics`, by its whole series name (`name{labels}`).
    fn metric(&self, series: &str) -> f64 {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    fn runs(&self, stack: &str, result: &str) -> f64 {
        self.metric(&format!(
            "plinth_reconcile_runs_total{{stack=\"{stack}\",result=\"{result}\"}}"
        ))
    }

    fn ended(&self, stack: &str) -> Vec<Value> {
        self.events
            .lock()
            .expect("events")
            .iter()
            .filter(|e| e["event"] == "run_ended" && e["stack"] == stack)
            .cloned()
            .collect()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// kmock on a given port (the same one after a restart), stopped when dropped.
struct KmockOn(Child);

impl KmockOn {
    fn start(port: u16) -> KmockOn {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kmock-server");
        let mut child = Command::new(script)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kmock");
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
        assert!(
            line.contains(&format!(":{port}")),
            "kmock did not start: {line:?}"
        );
        KmockOn(child)
    }
}

impl Drop for KmockOn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Completes every Job in namespace `rec` that has no status yet, until stopped.
fn job_controller(url: &str, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let kmock = Kmock::attach(&url);
        while !stop.load(Ordering::SeqCst) {
            complete_jobs(&kmock);
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

fn complete_jobs(kmock: &Kmock) -> usize {
    let jobs = "/apis/batch/v1/namespaces/rec/jobs";
    let items = kmock
        .get(jobs)
        .and_then(|l| l["items"].as_array().cloned())
        .unwrap_or_default();
    let mut completed = 0;
    for job in items {
        if job["status"]["conditions"].is_array() {
            continue;
        }
        let name = job["metadata"]["name"].as_str().unwrap_or("");
        kmock.patch(
            &format!("{jobs}/{name}/status"),
            &json!({"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}),
        );
        completed += 1;
    }
    completed
}

fn kube_stack(url: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    kubernetes = {{ source = "plinth/kubernetes" }}
  }}
}}

provider "kubernetes" {{
  host  = "{url}"
  token = "kmock-token"
}}

resource "kubernetes_namespace_v1" "rec" {{
  metadata {{
    name = "rec"
  }}
}}

resource "kubernetes_config_map_v1" "settings" {{
  metadata {{
    name      = "settings"
    namespace = kubernetes_namespace_v1.rec.metadata[0].name
  }}
  data = {{
    mode = "a"
  }}
}}

resource "kubernetes_job_v1" "migrate" {{
  metadata {{
    name      = "migrate"
    namespace = kubernetes_namespace_v1.rec.metadata[0].name
  }}
  spec {{
    template {{
      metadata {{}}
      spec {{
        restart_policy = "Never"
        container {{
          name  = "migrate"
          image = "migrate:1"
        }}
      }}
    }}
  }}
  wait_for_completion = true
}}
"#
    )
}

#[test]
fn the_service_notifies_skips_locks_backs_off_alone_and_stops_cleanly() {
    let plugins = kubernetes_provider_dir();
    let kmock = Kmock::start();
    let port: u16 = kmock
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("kmock port");
    let stop_controller = Arc::new(AtomicBool::new(false));
    let controller = job_controller(&kmock.url, stop_controller.clone());

    let kube = stack(&[("main.tf", &kube_stack(&kmock.url))]);
    let deleting = stack(&[(
        "main.tf",
        "resource \"terraform_data\" \"a\" { input = 1 }\nresource \"terraform_data\" \"b\" { input = 2 }\n",
    )]);
    let locked = stack(&[(
        "main.tf",
        "resource \"terraform_data\" \"x\" { input = 1 }\n",
    )]);
    for dir in [&kube, &deleting, &locked] {
        ok(
            &plinth(dir.path(), &plugins, &["apply", "--auto-approve"]),
            "apply",
        );
    }
    // The next plan of this stack deletes terraform_data.b: --no-destroy refuses it.
    std::fs::write(
        deleting.path().join("main.tf"),
        "resource \"terraform_data\" \"a\" { input = 1 }\n",
    )
    .expect("write");
    let wdir = plinth_state::workspace::workspace_dir(locked.path(), "default");
    let held = plinth_state::lock::StackLock::acquire(&wdir, "apply", Duration::ZERO)
        .expect("the test takes the lock");

    let receiver = Receiver::start();
    let (k, d, l) = (
        path(kube.path()),
        path(deleting.path()),
        path(locked.path()),
    );
    let cache = tempfile::tempdir().expect("cache dir");
    let service = Service::start(
        &[
            k,
            d,
            l,
            "--every",
            "2s",
            "--max-backoff",
            "8s",
            "--mode",
            "full",
            "--allow-config-changes",
            "--no-destroy",
            "--listen",
            "127.0.0.1:0",
            "--webhook",
            &receiver.url,
        ],
        &plugins,
        cache.path(),
    );
    assert_eq!(service.get("/healthz"), (200, "ok\n".into()));
    assert_eq!(service.get("/nothing").0, 404);

    // The lock the test holds: the run is skipped, reported with its holder.
    let minute = Duration::from_secs(60);
    wait_for("a lock_skipped notification", minute, || {
        receiver
            .find(|b| b["event"] == "lock_skipped" && b["stack"] == l)
            .is_some()
    });
    let skipped = receiver
        .find(|b| b["event"] == "lock_skipped")
        .expect("lock_skipped");
    let holder = skipped["lock_holder"].as_str().expect("holder");
    assert!(holder.contains(&std::process::id().to_string()), "{holder}");
    assert!(skipped["text"].as_str().expect("text").contains(holder));
    assert!(
        service.metric(&format!(
            "plinth_reconcile_locks_skipped_total{{stack=\"{l}\"}}"
        )) >= 1.0
    );
    drop(held);
    wait_for("a clean run once the lock is free", minute, || {
        service.runs(l, "clean") >= 1.0
    });

    // --no-destroy refuses the plan that deletes.
    wait_for("a guardrail notification", minute, || {
        receiver
            .find(|b| b["event"] == "refused" && b["stack"] == d)
            .is_some()
    });
    let refused = receiver.find(|b| b["event"] == "refused").expect("refused");
    assert_eq!(refused["refusal"]["guardrail"], "no_destroy");
    assert!(
        refused["refusal"]["message"]
            .as_str()
            .expect("message")
            .contains("terraform_data.b"),
        "{refused}"
    );
    assert!(
        service.metric(&format!(
            "plinth_reconcile_guardrail_refusals_total{{stack=\"{d}\",guardrail=\"no_destroy\"}}"
        )) >= 1.0
    );
    let state = plinth(deleting.path(), &plugins, &["state", "list"]);
    assert!(
        state.stdout.contains("terraform_data.b"),
        "{}",
        state.stdout
    );

    // A ConfigMap edited through the API: reported with its path, then put back.
    let settings = "/api/v1/namespaces/rec/configmaps/settings";
    wait_for("a first run of the Kubernetes stack", minute, || {
        service.runs(k, "clean") >= 1.0
    });
    kmock.patch(settings, &json!({"data": {"mode": "edited"}}));
    wait_for("the drift notification", minute, || {
        receiver
            .find(|b| b["stack"] == k && b["drift"].as_array().is_some_and(|a| !a.is_empty()))
            .is_some()
    });
    let drift = receiver
        .find(|b| b["stack"] == k && b["drift"].as_array().is_some_and(|a| !a.is_empty()))
        .expect("drift");
    assert_eq!(drift["event"], "applied", "{drift}");
    assert_eq!(
        drift["drift"][0]["address"],
        "kubernetes_config_map_v1.settings"
    );
    let attribute = &drift["drift"][0]["attributes"][0];
    assert_eq!(attribute["path"], "data.mode", "{drift}");
    assert_eq!(attribute["before"], "a", "{drift}");
    assert_eq!(attribute["after"], "edited", "{drift}");
    assert!(drift["text"]
        .as_str()
        .expect("text")
        .contains("• kubernetes_config_map_v1.settings changed: data.mode"));
    assert_eq!(kmock.get(settings).expect("configmap")["data"]["mode"], "a");
    assert!(service.runs(k, "applied") >= 1.0);
    assert!(
        service.metric(&format!(
            "plinth_reconcile_last_success_timestamp_seconds{{stack=\"{k}\"}}"
        )) > 0.0
    );

    // kmock stops: only its stack fails and backs off; the others keep their pace.
    stop_controller.store(true, Ordering::SeqCst);
    controller.join().expect("controller");
    let refused_before = service.runs(d, "refused");
    drop(kmock);
    wait_for("two failed runs of the Kubernetes stack", minute, || {
        service.runs(k, "failed") >= 2.0
    });
    let failures: Vec<f64> = service
        .ended(k)
        .iter()
        .filter(|e| e["result"] == "failed")
        .filter_map(|e| e["next_run_in_seconds"].as_f64())
        .collect();
    assert!(failures.len() >= 2, "{failures:?}");
    // After one failure 2 × 2 s, after two 4 × 2 s (the cap), less the run's time
    // and ±10%.
    assert!(failures[1] > 5.0 && failures[1] <= 8.8, "{failures:?}");
    assert!(failures[0] > 2.5, "{failures:?}");
    assert!(
        service.runs(d, "refused") >= refused_before + 2.0,
        "the other stacks slowed down"
    );
    let errors: Vec<Value> = service
        .ended(d)
        .into_iter()
        .chain(service.ended(l))
        .filter(|e| e["result"] == "failed")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(receiver
        .find(|b| b["event"] == "failed" && b["stack"] == k)
        .is_some());

    // kmock returns on the same port, empty: the stack recovers and re-creates its
    // objects; the Job's apply waits for it to complete.
    let _back = KmockOn::start(port);
    let kmock = Kmock::attach(&format!("http://127.0.0.1:{port}"));
    wait_for("the Job and the ConfigMap re-created", minute, || {
        kmock
            .get("/apis/batch/v1/namespaces/rec/jobs/migrate")
            .is_some()
            && kmock.get(settings).is_some()
    });
    assert_eq!(kmock.get(settings).expect("configmap")["data"]["mode"], "a");

    // SIGTERM mid-apply: the Job's call finishes (the test completes it late), is
    // saved, the lock is released, the service exits 0.
    let mut service = service;
    // SAFETY: signalling the child this test started and has not reaped.
    unsafe {
        libc::kill(service.child.id() as libc::pid_t, libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        service.child.try_wait().expect("wait").is_none(),
        "exited mid-apply"
    );
    assert_eq!(complete_jobs(&kmock), 1);
    let began = Instant::now();
    let status = loop {
        if let Some(status) = service.child.try_wait().expect("wait") {
            break status;
        }
        assert!(began.elapsed() < minute, "the service did not stop");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(0));
    let last = service.ended(k).pop().expect("a last run");
    assert!(
        last["result"] == "cancelled" || last["result"] == "applied",
        "{last}"
    );
    let events = service.events.lock().expect("events").clone();
    assert!(events
        .iter()
        .any(|e| e["event"] == "stopped" && e["reason"] == "signal"));
    assert!(
        !events.iter().any(|e| e["event"] == "not_json"),
        "{events:?}"
    );
    let kdir: PathBuf = kube.path().into();
    let kwdir = plinth_state::workspace::workspace_dir(&kdir, "default");
    drop(
        plinth_state::lock::StackLock::acquire(&kwdir, "test", Duration::ZERO)
            .expect("the lock was released"),
    );
    let pulled = plinth(&kdir, &plugins, &["state", "pull"]);
    ok(&pulled, "state pull");
    let state: Value = serde_json::from_str(&pulled.stdout).expect("state JSON");
    // The Job in flight at SIGTERM was saved, and no intent was left open.
    let job = &state["resources"]["kubernetes_job_v1.migrate"];
    assert_eq!(
        job["attributes"]["metadata"][0]["name"], "migrate",
        "{state}"
    );
    assert_eq!(state["intents"], json!({}), "{state}");
    let plan = plinth(&kdir, &plugins, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}
