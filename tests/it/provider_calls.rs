//! The engine's side of provider calls, through a provider that keeps its objects in
//! a map the test edits, as a person editing the real world would.
//!
//! Refresh: plan and apply read every instance in state through its provider first.
//! What changed outside plinth is shown as drift and planned against;
//! `--refresh=false` skips the reads; `--refresh-only` records drift and changes
//! nothing. Failures: a provider error stops that instance's dependents, independent
//! work finishes, and every error is reported with the address and the provider's
//! words.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use plinth::apply::{self, ChangeOptions, Progress};
use plinth::diag::{Diagnostic, Diagnostics};
use plinth::lang::{Type, Value};
use plinth::plan::{render, Action};
use plinth::plugin::{ApplyRequest, BoxFuture, ObjectState, PlanRequest, PlannedState, Provider};
use plinth::stack::{prepare, Prepared, StackOptions};
use plinth_state::{SledStore, Snapshot, StateStore};

/// `world_thing`: `input` is copied to `output`; objects live in `objects` by id.
#[derive(Default)]
struct World {
    objects: Mutex<HashMap<String, Value>>,
    next_id: Mutex<u32>,
    /// When set, reading fails with this message.
    broken: Mutex<Option<String>>,
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

impl World {
    fn set_input(&self, id: &str, input: &str) {
        let mut objects = self.objects.lock().expect("objects");
        let v = thing(Value::string(id), Value::string(input));
        objects.insert(id.to_string(), v);
    }
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
            if let Some(message) = self.broken.lock().expect("broken").clone() {
                let mut d = Diagnostics::default();
                d.push(Diagnostic::error("world is unreachable").detail(message));
                return Err(d);
            }
            let id = attr(current, "id").render().trim_matches('"').to_string();
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
            let input = attr(request.config, "input");
            let id = request
                .prior
                .map(|p| attr(p, "id"))
                .unwrap_or(Value::Unknown(Type::String));
            Ok(PlannedState {
                planned: thing(id, input),
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
            let mut objects = self.objects.lock().expect("objects");
            let Some(planned) = request.planned else {
                let prior = request.prior.expect("a delete has a prior object");
                let id = attr(prior, "id").render().trim_matches('"').to_string();
                objects.remove(&id);
                return Ok(ObjectState {
                    value: None,
                    private: Vec::new(),
                });
            };
            if attr(planned, "input") == Value::string("boom") {
                let mut d = Diagnostics::default();
                d.push(Diagnostic::error("quota exceeded").detail("no more things today"));
                return Err(d);
            }
            let id = match attr(planned, "id") {
                Value::String(s) => s,
                _ => {
                    let mut n = self.next_id.lock().expect("id");
                    *n += 1;
                    format!("thing-{n}")
                }
            };
            let v = thing(Value::string(id.clone()), attr(planned, "input"));
            objects.insert(id, v.clone());
            Ok(ObjectState {
                value: Some(v),
                private: Vec::new(),
            })
        })
    }
}

struct Quiet;

impl Progress for Quiet {
    fn started(&self, _: &str, _: &str) {}
    fn finished(&self, _: &str, _: Option<&str>) {}
    fn note(&self, _: &str) {}
}

const STACK: &str = r#"
resource "world_thing" "a" {
  input = "alpha"
}
resource "world_thing" "b" {
  input = "beta"
}
"#;

const FAILING: &str = r#"
resource "world_thing" "bad" {
  input = "boom"
}
resource "world_thing" "after_bad" {
  input = world_thing.bad.output
}
resource "world_thing" "fine" {
  input = "ok"
}
resource "world_thing" "after_fine" {
  input = world_thing.fine.output
}
"#;

struct Fixture {
    _dir: tempfile::TempDir,
    prepared: Prepared,
    world: Arc<World>,
    store: Arc<SledStore>,
}

impl Fixture {
    fn applied() -> Fixture {
        let f = Fixture::new(STACK);
        let (n, diags) = f.apply(&ChangeOptions::default());
        assert!(!diags.has_errors(), "{diags:?}");
        assert_eq!(n, 2);
        f
    }

    fn new(stack: &str) -> Fixture {
        let dir = common::main_tf(stack);
        let mut prepared = prepare(dir.path(), &StackOptions::default());
        assert!(
            !prepared.diagnostics.has_errors(),
            "{:?}",
            prepared.diagnostics
        );
        let world = Arc::new(World::default());
        prepared.providers.register(
            "world",
            "provider[\"example.com/test/world\"]",
            world.clone(),
        );
        let store = Arc::new(SledStore::open(&dir.path().join("store")).expect("store"));
        Fixture {
            _dir: dir,
            prepared,
            world,
            store,
        }
    }

    fn apply(&self, options: &ChangeOptions) -> (usize, Diagnostics) {
        apply::apply(&self.prepared, self.store.clone(), options, &Quiet)
    }

    fn state(&self) -> Snapshot {
        self.store.snapshot().expect("snapshot")
    }

    fn plan(&self, options: &ChangeOptions) -> plinth::plan::Plan {
        let (plan, diags) = apply::plan(&self.prepared, &self.state(), options);
        assert!(!diags.has_errors(), "{diags:?}");
        plan
    }

    fn id(&self, address: &str) -> String {
        self.state().resources[address].attributes["id"]
            .as_str()
            .expect("id")
            .to_string()
    }
}

fn actions(changes: &[plinth::plan::PlannedChange]) -> Vec<(String, Action)> {
    changes
        .iter()
        .filter(|c| c.action.is_change())
        .map(|c| (c.address.to_string(), c.action))
        .collect()
}

#[test]
fn a_change_made_outside_is_drift_and_planned_back() {
    let f = Fixture::applied();
    assert!(f.plan(&ChangeOptions::default()).drift.is_empty());
    f.world.set_input(&f.id("world_thing.a"), "edited by hand");

    let plan = f.plan(&ChangeOptions::default());
    assert_eq!(
        actions(&plan.drift),
        [("world_thing.a".to_string(), Action::Update)]
    );
    assert_eq!(
        actions(&plan.changes),
        [("world_thing.a".to_string(), Action::Update)]
    );
    let text = render::text(&plan, false);
    assert!(
        text.contains("Objects have changed outside of plinth"),
        "{text}"
    );
    assert!(text.contains("# world_thing.a has been changed"), "{text}");
    assert!(
        text.contains("~ input  = \"edited by hand\" -> \"alpha\""),
        "{text}"
    );
    let json = render::json(&plan);
    assert_eq!(json["resource_drift"][0]["address"], "world_thing.a");
    assert_eq!(
        json["resource_drift"][0]["change"]["after"]["input"],
        "edited by hand"
    );

    let (n, diags) = f.apply(&ChangeOptions::default());
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(n, 1);
    let id = f.id("world_thing.a");
    assert_eq!(
        attr(&f.world.objects.lock().expect("objects")[&id], "input"),
        Value::string("alpha")
    );
    let again = f.plan(&ChangeOptions::default());
    assert!(again.drift.is_empty() && !again.has_changes());
}

#[test]
fn an_object_deleted_outside_is_created_again() {
    let f = Fixture::applied();
    let old = f.id("world_thing.b");
    f.world.objects.lock().expect("objects").remove(&old);

    let plan = f.plan(&ChangeOptions::default());
    assert_eq!(
        actions(&plan.drift),
        [("world_thing.b".to_string(), Action::Delete)]
    );
    assert_eq!(
        actions(&plan.changes),
        [("world_thing.b".to_string(), Action::Create)]
    );
    assert!(render::text(&plan, false).contains("# world_thing.b has been deleted"));

    let (_, diags) = f.apply(&ChangeOptions::default());
    assert!(!diags.has_errors(), "{diags:?}");
    assert_ne!(f.id("world_thing.b"), old);
    assert_eq!(f.world.objects.lock().expect("objects").len(), 2);
}

#[test]
fn refresh_false_plans_against_state_as_stored() {
    let f = Fixture::applied();
    f.world.set_input(&f.id("world_thing.a"), "edited by hand");
    let options = ChangeOptions {
        skip_refresh: true,
        ..ChangeOptions::default()
    };
    let plan = f.plan(&options);
    assert!(plan.drift.is_empty());
    assert!(!plan.has_changes(), "{:?}", actions(&plan.changes));
}

#[test]
fn refresh_only_records_drift_and_changes_nothing() {
    let f = Fixture::applied();
    let a = f.id("world_thing.a");
    f.world.set_input(&a, "edited by hand");
    let b = f.id("world_thing.b");
    f.world.objects.lock().expect("objects").remove(&b);
    let options = ChangeOptions {
        refresh_only: true,
        ..ChangeOptions::default()
    };

    let plan = f.plan(&options);
    assert!(plan.changes.is_empty());
    assert!(
        plan.has_changes(),
        "drift counts as a change in a refresh-only plan"
    );
    assert_eq!(plan.drift.len(), 2);
    assert!(render::text(&plan, false).contains("This is a refresh-only plan"));

    let (n, diags) = f.apply(&options);
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(n, 2);
    let state = f.state();
    assert_eq!(
        state.resources["world_thing.a"].attributes["input"],
        "edited by hand"
    );
    assert!(!state.resources.contains_key("world_thing.b"));
    // The world was not touched: a still says what was typed by hand, b is still gone.
    let objects = f.world.objects.lock().expect("objects").clone();
    assert_eq!(objects.len(), 1);
    assert_eq!(attr(&objects[&a], "input"), Value::string("edited by hand"));

    let quiet = f.plan(&options);
    assert!(!quiet.has_changes());
    assert!(render::text(&quiet, false).contains("still matches the configuration"));
}

#[test]
fn a_failing_read_stops_the_plan_and_names_the_instance() {
    let f = Fixture::applied();
    let before = f.state();
    *f.world.broken.lock().expect("broken") = Some("connection refused".into());
    let (_, diags) = apply::plan(&f.prepared, &before, &ChangeOptions::default());
    let text: Vec<String> = diags
        .errors()
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect();
    assert!(
        text.iter().any(|t| t.contains("world is unreachable")
            && t.contains("connection refused")
            && t.contains("world_thing.a")),
        "{text:?}"
    );
    let (n, diags) = f.apply(&ChangeOptions::default());
    assert!(diags.has_errors());
    assert_eq!(n, 0);
    assert_eq!(
        f.state().serial,
        before.serial,
        "a failed refresh wrote state"
    );
}

#[test]
fn a_provider_error_stops_dependents_and_independent_work_finishes() {
    let f = Fixture::new(FAILING);
    let (n, diags) = f.apply(&ChangeOptions::default());
    assert_eq!(n, 2, "fine and after_fine should have been applied");
    let errors: Vec<String> = diags
        .errors()
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("quota exceeded")
            && e.contains("no more things today")
            && e.contains("with world_thing.bad")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("world_thing.after_bad was not applied")),
        "{errors:?}"
    );
    let bad = diags
        .errors()
        .find(|d| d.summary == "quota exceeded")
        .expect("the provider's error");
    let span = bad.span.expect("the error points at the block");
    let text = &f.prepared.sources.get(span.file).text[span.start as usize..];
    assert!(
        text.starts_with("resource \"world_thing\" \"bad\""),
        "{text}"
    );

    let state = f.state();
    let mut addresses: Vec<&String> = state.resources.keys().collect();
    addresses.sort();
    assert_eq!(addresses, ["world_thing.after_fine", "world_thing.fine"]);
    assert!(
        state.intents.is_empty(),
        "a failed call left its intent open"
    );
}
