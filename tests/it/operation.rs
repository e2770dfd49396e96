//! The operations layer as a caller other than the CLI uses it: plan, apply, import
//! and state edits against the in-memory backend, with a provider in this process,
//! a view that records what it is told, and a cancel token.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plinth::apply::{ChangeOptions, Progress};
use plinth::diag::{Diagnostics, Sources};
use plinth::lang::{Type, Value};
use plinth::operation::{
    self, Backend, CancelToken, ImportRequest, MemoryBackend, Notice, OperationError, Question,
    RunRequest, Store, Summary, View,
};
use plinth::plan::Plan;
use plinth::plugin::{ApplyRequest, BoxFuture, ObjectState, PlanRequest, PlannedState, Provider};
use plinth::stack::StackOptions;
use plinth_state::{LockError, LockRequest, OutputState};

/// `world_thing`: `input` is copied to `output`. Applying an `input` of "slow" waits
/// until `slow_together` such calls are in flight, then cancels `cancel`.
struct World {
    objects: Mutex<HashMap<String, Value>>,
    applied: Mutex<Vec<String>>,
    next_id: Mutex<u32>,
    slow: tokio::sync::Barrier,
    cancel: Mutex<Option<CancelToken>>,
    schema_version: u64,
}

impl World {
    fn new(slow_together: usize) -> World {
        World {
            objects: Mutex::default(),
            applied: Mutex::default(),
            next_id: Mutex::default(),
            slow: tokio::sync::Barrier::new(slow_together),
            cancel: Mutex::default(),
            schema_version: 0,
        }
    }

    fn applied(&self) -> Vec<String> {
        let mut calls = self.applied.lock().expect("calls").clone();
        calls.sort();
        calls
    }
}

fn attr(v: &Value, name: &str) -> Value {
    match v {
        Value::Object(m) => m.get(name).cloned().unwrap_or_else(Value::null),
        _ => Value::null(),
    }
}

fn thing(id: Value, input: Value) -> Value {
    Value::Object(BTreeMap::from([
        ("id".to_string(), id),
        ("input".to_string(), input.clone()),
        ("output".to_string(), input),
    ]))
}

fn text(v: &Value) -> String {
    v.render().trim_matches('"').to_string()
}

impl Provider for World {
    fn read<'a>(
        &'a self,
        _type_name: &'a str,
        current: &'a Value,
        _private: &'a [u8],
        _provider_meta: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
        Box::pin(async move {
            let id = text(&attr(current, "id"));
            let value = self.objects.lock().expect("objects").get(&id).cloned();
            Ok(ObjectState {
                value,
                private: Vec::new(),
            })
        })
    }

    fn plan<'a>(
        &'a self,
        request: PlanRequest<'a>,
    ) -> BoxFuture<'a, Result<PlannedState, Diagnostics>> {
        Box::pin(async move {
            let id = request
                .prior
                .map(|p| attr(p, "id"))
                .unwrap_or(Value::Unknown(Type::String));
            Ok(PlannedState {
                planned: thing(id, attr(request.config, "input")),
                requires_replace: Vec::new(),
                private: Vec::new(),
                warnings: Default::default(),
            })
        })
    }

    fn apply<'a>(
        &'a self,
        request: ApplyRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
        Box::pin(async move {
            let Some(planned) = request.planned else {
                if let Some(prior) = request.prior {
                    let id = text(&attr(prior, "id"));
                    self.objects.lock().expect("objects").remove(&id);
                }
                return Ok(ObjectState {
                    value: None,
                    private: Vec::new(),
                });
            };
            let input = attr(planned, "input");
            self.applied.lock().expect("calls").push(text(&input));
            if text(&input).starts_with("slow") && self.slow.wait().await.is_leader() {
                if let Some(token) = &*self.cancel.lock().expect("cancel") {
                    token.cancel();
                }
            }
            let id = {
                let mut n = self.next_id.lock().expect("id");
                *n += 1;
                format!("thing-{n}")
            };
            let v = thing(Value::string(id.clone()), input);
            self.objects.lock().expect("objects").insert(id, v.clone());
            Ok(ObjectState {
                value: Some(v),
                private: Vec::new(),
            })
        })
    }

    fn schema_version(&self, _type_name: &str) -> u64 {
        self.schema_version
    }

    fn import<'a>(
        &'a self,
        _type_name: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
        Box::pin(async move {
            let value = self.objects.lock().expect("objects").get(id).cloned();
            Ok(ObjectState {
                value,
                private: Vec::new(),
            })
        })
    }
}

/// What the view was told, in order.
#[derive(Default)]
struct Recorded {
    plans: Vec<Plan>,
    notices: Vec<String>,
    summaries: Vec<String>,
    started: Vec<String>,
    errors: Vec<String>,
    questions: Vec<Question>,
    outputs: BTreeMap<String, OutputState>,
}

struct RecordingView {
    approve: bool,
    seen: Mutex<Recorded>,
}

impl RecordingView {
    fn approving() -> RecordingView {
        RecordingView {
            approve: true,
            seen: Mutex::default(),
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Recorded> {
        self.seen.lock().expect("view")
    }
}

impl Progress for RecordingView {
    fn started(&self, address: &str, _verb: &str) {
        self.seen().started.push(address.to_string());
    }
    fn finished(&self, _: &str, _: Option<&str>) {}
    fn note(&self, _: &str) {}
}

impl View for RecordingView {
    fn diagnostics(&self, _sources: &Sources, diagnostics: &Diagnostics) {
        let mut seen = self.seen();
        for d in diagnostics.errors() {
            seen.errors.push(format!("{}: {}", d.summary, d.detail));
        }
    }
    fn notice(&self, notice: Notice<'_>) {
        self.seen().notices.push(format!("{notice:?}"));
    }
    fn plan(&self, plan: &Plan) {
        self.seen().plans.push(plan.clone());
    }
    fn confirm(&self, question: Question) -> bool {
        self.seen().questions.push(question);
        self.approve
    }
    fn progress(&self) -> &dyn Progress {
        self
    }
    fn summary(&self, summary: Summary<'_>) {
        self.seen().summaries.push(format!("{summary:?}"));
    }
    fn outputs(&self, outputs: &BTreeMap<String, OutputState>) {
        self.seen().outputs = outputs.clone();
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    world: Arc<World>,
    backend: MemoryBackend,
    store: Store,
    stack: StackOptions,
}

const ADDRESS: &str = "provider[\"example.com/test/world\"]";

impl Fixture {
    fn new(stack: &str, world: World) -> Fixture {
        let world = Arc::new(world);
        let mut options = StackOptions::default();
        options.in_process.register("world", ADDRESS, world.clone());
        let backend = MemoryBackend::new();
        Fixture {
            dir: common::main_tf(stack),
            world,
            store: Store::new(backend.clone()),
            backend,
            stack: options,
        }
    }

    fn request(&self) -> RunRequest {
        RunRequest {
            dir: self.dir.path().to_path_buf(),
            stack: self.stack.clone(),
            change: ChangeOptions::default(),
            destroy: false,
            lock_timeout: Duration::ZERO,
        }
    }

    fn apply(&self, view: &RecordingView, cancel: &CancelToken) -> operation::Result<()> {
        operation::apply(&self.request(), &self.store, view, cancel)
    }

    fn addresses(&self) -> Vec<String> {
        let state = self.backend.read().expect("state");
        state.resources.keys().cloned().collect()
    }
}

const TWO: &str = r#"
resource "world_thing" "a" {
  input = "alpha"
}
resource "world_thing" "b" {
  input = world_thing.a.output
}
output "b" {
  value = world_thing.b.output
}
"#;

#[test]
fn plan_and_apply_run_through_the_operation_api_against_memory_state() {
    let f = Fixture::new(TWO, World::new(1));
    let view = RecordingView::approving();
    let planned = operation::plan(&f.request(), &f.store, &view, None).expect("plan succeeds");
    assert_eq!(planned.plan.counts(), (2, 0, 0));
    assert!(f.addresses().is_empty(), "a plan changes nothing");
    assert!(f.backend.holder().is_none(), "a plan takes no lock");

    f.apply(&view, &CancelToken::new()).expect("apply succeeds");
    assert_eq!(f.addresses(), ["world_thing.a", "world_thing.b"]);
    let seen = view.seen();
    assert_eq!(seen.questions, [Question::Apply]);
    assert_eq!(
        seen.summaries.last().map(String::as_str),
        Some("Applied { imported: 0, added: 2, changed: 0, destroyed: 0 }")
    );
    assert_eq!(seen.outputs["b"].value, "alpha");
    assert_eq!(seen.started, ["world_thing.a", "world_thing.b"]);
    drop(seen);
    assert!(f.backend.holder().is_none(), "the lock is released");
    assert!(f.backend.read().expect("state").intents.is_empty());

    let again = operation::plan(&f.request(), &f.store, &view, None).expect("plan");
    assert!(!again.plan.has_changes());
}

#[test]
fn a_declined_confirmation_changes_nothing() {
    let f = Fixture::new(TWO, World::new(1));
    let view = RecordingView {
        approve: false,
        seen: Mutex::default(),
    };
    let outcome = f.apply(&view, &CancelToken::new());
    assert!(
        matches!(outcome, Err(OperationError::Declined)),
        "{outcome:?}"
    );
    assert!(f.addresses().is_empty());
    assert!(f.world.applied().is_empty());
}

#[test]
fn destroy_removes_everything_dependents_first() {
    let f = Fixture::new(TWO, World::new(1));
    let view = RecordingView::approving();
    f.apply(&view, &CancelToken::new()).expect("apply");
    let request = RunRequest {
        destroy: true,
        ..f.request()
    };
    let view = RecordingView::approving();
    operation::apply(&request, &f.store, &view, &CancelToken::new()).expect("destroy");
    assert!(f.addresses().is_empty());
    let seen = view.seen();
    assert_eq!(seen.questions, [Question::Destroy]);
    assert_eq!(seen.started, ["world_thing.b", "world_thing.a"]);
    assert_eq!(
        seen.summaries.last().map(String::as_str),
        Some("Destroyed { destroyed: 2 }")
    );
}

/// Two calls that start together, and one that depends on both.
const SLOW: &str = r#"
resource "world_thing" "one" {
  input = "slow one"
}
resource "world_thing" "two" {
  input = "slow two"
}
resource "world_thing" "after" {
  input = "after ${world_thing.one.output} and ${world_thing.two.output}"
}
"#;

#[test]
fn a_cancelled_apply_finishes_the_calls_in_flight_and_starts_no_more() {
    let f = Fixture::new(SLOW, World::new(2));
    let cancel = CancelToken::new();
    *f.world.cancel.lock().expect("cancel") = Some(cancel.clone());
    let view = RecordingView::approving();

    let outcome = f.apply(&view, &cancel);
    let Err(OperationError::Cancelled { not_started }) = outcome else {
        panic!("the apply was not reported cancelled: {outcome:?}");
    };
    assert!(not_started >= 1, "{not_started}");
    assert_eq!(f.world.applied(), ["slow one", "slow two"]);
    assert_eq!(f.addresses(), ["world_thing.one", "world_thing.two"]);
    let state = f.backend.read().expect("state");
    assert!(state.intents.is_empty(), "{:?}", state.intents);
    assert!(f.backend.holder().is_none(), "the lock is released");
    assert!(!view
        .seen()
        .started
        .contains(&"world_thing.after".to_string()));

    // A second apply, with a token nobody cancels, finishes the rest.
    let view = RecordingView::approving();
    f.apply(&view, &CancelToken::new()).expect("second apply");
    assert_eq!(
        f.world.applied(),
        ["after slow one and slow two", "slow one", "slow two"]
    );
    assert_eq!(
        f.addresses(),
        ["world_thing.after", "world_thing.one", "world_thing.two"]
    );
    assert_eq!(view.seen().started, ["world_thing.after"]);
}

#[test]
fn a_second_locker_of_the_memory_backend_is_refused_with_the_holders_record() {
    let f = Fixture::new(TWO, World::new(1));
    let held = f
        .backend
        .lock(&LockRequest {
            operation: "reconcile".into(),
            timeout: Duration::ZERO,
        })
        .expect("first lock");
    let view = RecordingView::approving();
    match f.apply(&view, &CancelToken::new()) {
        Err(OperationError::Lock(LockError::Held { info })) => {
            assert_eq!(&info, held.info());
            assert_eq!(info.operation, "reconcile");
            assert_eq!(info.pid, std::process::id());
            assert!(!info.host().is_empty());
        }
        other => panic!("a second locker was not refused: {other:?}"),
    }
    let rm = operation::state_rm(&f.store, &view, &["world_thing.a".to_string()]);
    assert!(matches!(rm, Err(OperationError::Lock(_))), "{rm:?}");
    assert!(f.world.applied().is_empty());
    // Readers never wait for the lock.
    operation::plan(&f.request(), &f.store, &view, None).expect("plan while locked");

    // A locker that waits gets the lock once the holder lets go.
    let store = Store::new(f.backend.clone());
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        drop(held);
    });
    let request = RunRequest {
        lock_timeout: Duration::from_secs(10),
        ..f.request()
    };
    operation::apply(&request, &store, &view, &CancelToken::new()).expect("apply after wait");
    release.join().expect("release");
    assert_eq!(f.addresses(), ["world_thing.a", "world_thing.b"]);
}

#[test]
fn state_edits_run_under_the_lock() {
    let f = Fixture::new(TWO, World::new(1));
    let view = RecordingView::approving();
    f.apply(&view, &CancelToken::new()).expect("apply");
    operation::state_mv(&f.store, &view, "world_thing.a", "world_thing.c").expect("mv");
    let missing = operation::state_rm(&f.store, &view, &["world_thing.a".to_string()]);
    assert!(
        matches!(missing, Err(OperationError::NotInState { ref address }) if address == "world_thing.a"),
        "{missing:?}"
    );
    operation::state_rm(&f.store, &view, &["world_thing.c".to_string()]).expect("rm");
    assert_eq!(f.addresses(), ["world_thing.b"]);
    let history = f.backend.history().expect("history");
    assert_eq!(
        history.last().map(|e| e.commit.remove.clone()),
        Some(vec!["world_thing.c".to_string()])
    );
}

#[test]
fn import_records_the_schema_version_of_the_providers_schema() {
    let mut world = World::new(1);
    world.schema_version = 3;
    world.objects.lock().expect("objects").insert(
        "existing".into(),
        thing(Value::string("existing"), Value::string("alpha")),
    );
    let f = Fixture::new(
        "resource \"world_thing\" \"a\" {\n  input = \"alpha\"\n}\n",
        world,
    );
    let view = RecordingView::approving();
    let request = ImportRequest {
        dir: f.dir.path().to_path_buf(),
        stack: f.stack.clone(),
        address: plinth::addrs::ResourceInstance::parse("world_thing.a").expect("address"),
        id: "existing".into(),
    };
    operation::import(&request, &f.store, &view).expect("import");
    let state = f.backend.read().expect("state");
    assert_eq!(state.resources["world_thing.a"].schema_version, 3);
    assert_eq!(state.resources["world_thing.a"].provider, ADDRESS);
    let again = operation::import(&request, &f.store, &view);
    assert!(
        matches!(again, Err(OperationError::AlreadyManaged { .. })),
        "{again:?}"
    );
}

#[test]
fn import_uses_the_resources_provider_configuration() {
    let provider_dir = common::local_provider_dir();
    let dir = common::main_tf(
        r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}
provider "local" {
  alias = "second"
}
resource "local_file" "a" {
  provider        = local.second
  filename        = "./a.txt"
  content         = "a\n"
  file_permission = "0644"
}
"#,
    );
    let d = dir.path();
    std::fs::write(d.join("a.txt"), "a\n").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.join("a.txt"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let imported = plinth_with(d, &provider_dir, &["import", "local_file.a", "./a.txt"]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let state: serde_json::Value =
        serde_json::from_str(&common::plinth(d, &["state", "pull"]).stdout).expect("state");
    assert_eq!(
        state["resources"]["local_file.a"]["provider"],
        "provider[\"registry.terraform.io/plinth/local\"].second"
    );
    let plan = plinth_with(d, &provider_dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
}

#[test]
fn import_blocks_use_the_resources_or_their_own_provider_configuration() {
    let provider_dir = common::local_provider_dir();
    let dir = common::main_tf(
        r#"
terraform {
  required_providers {
    local = {
      source = "plinth/local"
    }
  }
}
provider "local" {
  alias = "second"
}
resource "local_file" "a" {
  provider        = local.second
  filename        = "./a.txt"
  content         = "a\n"
  file_permission = "0644"
}
resource "local_file" "b" {
  filename        = "./b.txt"
  content         = "b\n"
  file_permission = "0644"
}
import {
  to = local_file.a
  id = "./a.txt"
}
import {
  to       = local_file.b
  id       = "./b.txt"
  provider = local.second
}
"#,
    );
    let d = dir.path();
    use std::os::unix::fs::PermissionsExt;
    for f in ["a.txt", "b.txt"] {
        std::fs::write(d.join(f), &f[..1]).expect("write");
        std::fs::write(d.join(f), format!("{}\n", &f[..1])).expect("write");
        std::fs::set_permissions(d.join(f), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let applied = plinth_with(d, &provider_dir, &["apply", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let state: serde_json::Value =
        serde_json::from_str(&common::plinth(d, &["state", "pull"]).stdout).expect("state");
    for a in ["local_file.a", "local_file.b"] {
        assert_eq!(
            state["resources"][a]["provider"],
            "provider[\"registry.terraform.io/plinth/local\"].second",
            "{a}: {state}"
        );
    }
}

fn plinth_with(dir: &Path, plugin_dir: &Path, args: &[&str]) -> common::Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", dir.to_str().expect("path"), "--no-color"])
        .args(args)
        .env("PLINTH_PLUGIN_DIR", plugin_dir)
        .env("PLINTH_CACHE_DIR", dir.join(".cache"))
        .output()
        .expect("run plinth");
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
