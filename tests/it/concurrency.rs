//! The apply walk starts each change as soon as its dependencies are done: independent
//! resources run at the same time, a dependent never starts before what it depends on
//! has finished, and `--parallelism` caps how many calls run at once.

use crate::common;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use plinth::addrs::ResourceInstance;
use plinth::config::{ModuleId, Resource};
use plinth::diag::Diagnostics;
use plinth::graph::walk::{ResourceHandler, Trigger};
use plinth::lang::Value;
use plinth::plugin::BoxFuture;
use plinth::stack::{prepare, StackOptions};

/// Records the order of calls; resources named in `meet` wait for each other.
struct Recorder {
    meet: HashSet<String>,
    all_here: tokio::sync::Barrier,
    events: Mutex<Vec<String>>,
    running: Mutex<(usize, usize)>,
}

impl Recorder {
    fn new(meet: &[&str]) -> Recorder {
        Recorder {
            meet: meet.iter().map(|s| s.to_string()).collect(),
            all_here: tokio::sync::Barrier::new(meet.len().max(1)),
            events: Mutex::new(Vec::new()),
            running: Mutex::new((0, 0)),
        }
    }
}

impl ResourceHandler for Recorder {
    fn instance<'a>(
        &'a self,
        _m: ModuleId,
        address: &'a ResourceInstance,
        _r: &'a Resource,
        config: Value,
        _t: &'a [Trigger],
    ) -> BoxFuture<'a, (Value, Diagnostics)> {
        Box::pin(async move {
            let address = address.to_string();
            let address = address.as_str();
            self.events
                .lock()
                .expect("events")
                .push(format!("start {address}"));
            {
                let mut r = self.running.lock().expect("running");
                r.0 += 1;
                r.1 = r.1.max(r.0);
            }
            if self.meet.contains(address) {
                let met = tokio::time::timeout(Duration::from_secs(10), self.all_here.wait()).await;
                assert!(
                    met.is_ok(),
                    "{address} waited alone: the walk did not run {} at once",
                    self.meet.len(),
                );
            } else {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            self.running.lock().expect("running").0 -= 1;
            self.events
                .lock()
                .expect("events")
                .push(format!("end {address}"));
            (config, Diagnostics::default())
        })
    }
}

const STACK: &str = r#"
resource "terraform_data" "a" {
  input = "a"
}
resource "terraform_data" "b" {
  input = "b"
}
resource "terraform_data" "after_a" {
  input = terraform_data.a.input
}
resource "terraform_data" "after_both" {
  input      = [terraform_data.after_a.input, terraform_data.b.input]
  depends_on = [terraform_data.b]
}
"#;

#[test]
fn independent_resources_run_at_once_and_dependents_wait() {
    let dir = common::main_tf(STACK);
    let prepared = prepare(dir.path(), &StackOptions::default());
    let recorder = Recorder::new(&["terraform_data.a", "terraform_data.b"]);
    let (_, diags) = prepared.evaluate_concurrently(&recorder, usize::MAX);
    assert!(!diags.has_errors(), "{diags:?}");
    let events = recorder.events.into_inner().expect("events");
    let at = |e: &str| {
        events
            .iter()
            .position(|x| x == e)
            .unwrap_or_else(|| panic!("{e} missing: {events:?}"))
    };
    assert!(
        at("end terraform_data.a") < at("start terraform_data.after_a"),
        "{events:?}"
    );
    assert!(
        at("end terraform_data.after_a") < at("start terraform_data.after_both"),
        "{events:?}"
    );
    assert!(
        at("end terraform_data.b") < at("start terraform_data.after_both"),
        "{events:?}"
    );
}

#[test]
fn parallelism_caps_calls_in_flight() {
    let dir = common::main_tf("resource \"terraform_data\" \"n\" {\n  count = 40\n}\n");
    let prepared = prepare(dir.path(), &StackOptions::default());
    let recorder = Recorder::new(&[]);
    let (_, diags) = prepared.evaluate_concurrently(&recorder, 3);
    assert!(!diags.has_errors(), "{diags:?}");
    let (_, max) = *recorder.running.lock().expect("running");
    assert!(max <= 3, "{max} calls ran at once with --parallelism 3");
    assert!(max >= 2, "instances of one resource never overlapped");
    assert_eq!(recorder.events.lock().expect("events").len(), 80);
}

/// A handler that panics for one resource.
struct Panicky;

impl ResourceHandler for Panicky {
    fn instance<'a>(
        &'a self,
        _m: ModuleId,
        address: &'a ResourceInstance,
        _r: &'a Resource,
        config: Value,
        _t: &'a [Trigger],
    ) -> BoxFuture<'a, (Value, Diagnostics)> {
        Box::pin(async move {
            if address.to_string() == "terraform_data.a" {
                panic!("provider bug");
            }
            (config, Diagnostics::default())
        })
    }
}

#[test]
fn a_panicking_call_is_reported_not_hung_on() {
    let dir = common::main_tf(STACK);
    let prepared = prepare(dir.path(), &StackOptions::default());
    let (_, diags) = prepared.evaluate_concurrently(&Panicky, usize::MAX);
    let text: Vec<String> = diags.errors().map(|d| d.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("a provider call for terraform_data.a panicked")),
        "{text:?}"
    );
}
