//! Executing a plan against providers, persisting as it goes: before a provider call
//! that changes the world, an intent is committed; the instance's new state is
//! committed as soon as the provider answers, before anything depending on it starts.
//!
//! FIXME(issue 3): the walk is sequential and re-plans each instance with the values
//! known at apply time; a saved plan file, the parallel tokio walk, and group commits
//! come next.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use plinth_state::{
    Commit, Intent, IntentAction, OutputState, ResourceState, Snapshot, StateStore,
};

use crate::config::{Config, ModuleId, Resource};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::walk::ResourceHandler;
use crate::graph::{Graph, NodeKind};
use crate::lang::Value;
use crate::plan::{
    decide, declared_resource, lock, moved_instances, no_provider, outside_targets,
    prevent_destroy, remark, scope_wants, split_address, state_value, strip_instance_keys,
    under_target, Action, Plan, PlannedChange, Planner, TargetScope,
};
use crate::plugin::builtin;
use crate::stack::Prepared;

static STOP: AtomicBool = AtomicBool::new(false);

/// Asks a running apply to stop: changes in flight finish and are saved, no new ones
/// start. Returns whether a stop had already been asked for.
pub fn request_stop() -> bool {
    STOP.swap(true, Ordering::SeqCst)
}

pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// What plan and apply were asked for beyond the stack itself.
#[derive(Clone, Debug, Default)]
pub struct ChangeOptions {
    /// `--replace ADDR`
    pub replace: HashSet<String>,
    /// `--target ADDR`; empty means everything.
    pub targets: Vec<String>,
    /// `--parallelism N`: at most N provider calls at once; `None`, no global cap.
    pub parallelism: Option<usize>,
}

/// The `--target` scope: the targets, and every resource they depend on through any
/// chain of references (locals, variables, module calls).
pub fn target_scope(prepared: &Prepared, targets: &[String]) -> Option<TargetScope> {
    if targets.is_empty() {
        return None;
    }
    let g = &prepared.graph;
    let wanted: Vec<String> = targets.iter().map(|t| strip_instance_keys(t)).collect();
    let mut stack: Vec<_> = g
        .inner
        .node_indices()
        .filter(|ix| {
            matches!(
                g.inner[*ix].kind,
                NodeKind::Resource(_) | NodeKind::ModuleCall
            )
        })
        .filter(|ix| {
            let name = g.display(&prepared.config, *ix);
            wanted.iter().any(|t| {
                under_target(&name, t) || under_target(t, &name) && name.contains("module.")
            })
        })
        .flat_map(|ix| g.dependencies(ix))
        .collect();
    let mut seen = HashSet::new();
    let mut dependencies = HashSet::new();
    while let Some(ix) = stack.pop() {
        if !seen.insert(ix) {
            continue;
        }
        let node = &g.inner[ix];
        if let NodeKind::Resource(mode) = node.kind {
            let key = match mode {
                crate::lang::refs::ResourceMode::Data => format!("data.{}", node.name),
                _ => node.name.clone(),
            };
            dependencies.insert((node.module, key));
        }
        stack.extend(g.dependencies(ix));
    }
    Some(TargetScope {
        targets: targets.to_vec(),
        dependencies,
    })
}

fn moves(config: &Config, prior: &Snapshot) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for mv in &config.root().moved {
        for (old, new) in moved_instances(prior, &mv.from, &mv.to) {
            if !prior.resources.contains_key(&new) {
                out.insert(new, old);
            }
        }
    }
    out
}

/// Plans the stack against `prior`. Diagnostics include the stack's own.
pub fn plan(prepared: &Prepared, prior: &Snapshot, options: &ChangeOptions) -> (Plan, Diagnostics) {
    let planner = Planner::new(
        prior,
        moves(&prepared.config, prior),
        options.replace.clone(),
        target_scope(prepared, &options.targets),
    );
    let (evaluation, mut diags) = prepared.evaluate(Some(&planner));
    let mut all = prepared.diagnostics.clone();
    let changes = planner.finish(&prepared.config);
    for c in &changes {
        if c.action == Action::Delete {
            if let Some(r) = declared_resource(&prepared.config, &c.address) {
                if r.lifecycle.prevent_destroy {
                    diags.push(prevent_destroy(r, &c.address));
                }
            }
        }
    }
    all.extend(diags);
    let outputs: BTreeMap<String, Value> = evaluation
        .root()
        .map(|r| {
            r.outputs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let variables = evaluation
        .root()
        .map(|r| {
            r.variables
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let sensitive: HashSet<&str> = prepared
        .config
        .root()
        .outputs
        .iter()
        .filter(|o| o.sensitive)
        .map(|o| o.name.as_str())
        .collect();
    let marked: BTreeMap<String, Value> = outputs
        .iter()
        .map(|(k, v): (&String, &Value)| {
            (
                k.clone(),
                v.clone().deep_unmark().mark(sensitive.contains(k.as_str())),
            )
        })
        .collect();
    let output_changes = crate::plan::output_changes(prior, &marked);
    let plan = Plan {
        changes,
        lineage: prior.lineage.clone(),
        serial: prior.serial,
        outputs,
        variables,
        output_changes,
    };
    (plan, all.sorted_unique())
}

/// A plan that destroys everything in state.
pub fn plan_destroy(prepared: &Prepared, prior: &Snapshot) -> (Plan, Diagnostics) {
    let mut diags = Diagnostics::default();
    let changes = prior
        .resources
        .values()
        .map(|rs| {
            if let Some(r) = declared_resource(&prepared.config, &rs.address) {
                if r.lifecycle.prevent_destroy {
                    diags.push(prevent_destroy(r, &rs.address));
                }
            }
            let (type_name, name) = split_address(&rs.address);
            PlannedChange {
                address: rs.address.clone(),
                previous_address: None,
                type_name,
                name,
                provider: rs.provider.clone(),
                action: Action::Delete,
                reason: None,
                before: Some(state_value(rs)),
                after: None,
                replace_paths: Vec::new(),
            }
        })
        .collect();
    (
        Plan {
            changes,
            lineage: prior.lineage.clone(),
            serial: prior.serial,
            outputs: BTreeMap::new(),
            variables: BTreeMap::new(),
            output_changes: crate::plan::output_changes(prior, &BTreeMap::new()),
        },
        diags,
    )
}

/// For each resource, the resources it depends on, directly or through locals,
/// variables and outputs (recorded in state as Terraform does).
fn resource_dependencies(prepared: &Prepared) -> HashMap<(ModuleId, String), Vec<String>> {
    let g: &Graph = &prepared.graph;
    let mut out = HashMap::new();
    for ix in g.inner.node_indices() {
        let node = &g.inner[ix];
        if !matches!(node.kind, NodeKind::Resource(_)) {
            continue;
        }
        let mut found = Vec::new();
        let mut stack: Vec<_> = g.dependencies(ix).collect();
        let mut seen = HashSet::new();
        while let Some(d) = stack.pop() {
            if !seen.insert(d) {
                continue;
            }
            match g.inner[d].kind {
                NodeKind::Resource(_) => found.push(g.display(&prepared.config, d)),
                NodeKind::Provider => {}
                _ => stack.extend(g.dependencies(d)),
            }
        }
        found.sort();
        let key = match node.kind {
            NodeKind::Resource(crate::lang::refs::ResourceMode::Data) => {
                format!("data.{}", node.name)
            }
            _ => node.name.clone(),
        };
        out.insert((node.module, key), found);
    }
    out
}

/// Applies changes during a walk, committing each instance's result at once.
pub struct Applier<'s> {
    store: &'s dyn StateStore,
    prior: Snapshot,
    moved: HashMap<String, String>,
    replace: HashSet<String>,
    targets: Option<TargetScope>,
    dependencies: HashMap<(ModuleId, String), Vec<String>>,
    seen: Mutex<HashSet<String>>,
    progress: &'s (dyn Fn(&str) + Sync),
    /// Instances changed.
    applied: AtomicUsize,
}

impl Applier<'_> {
    fn save(&self, commit: Commit, address: &str, diags: &mut Diagnostics) -> bool {
        match self.store.commit(commit) {
            Ok(_) => true,
            Err(e) => {
                diags.push(
                    Diagnostic::error("Failed to save state").detail(format!("{address}: {e}")),
                );
                false
            }
        }
    }

    fn intent(address: &str, action: IntentAction) -> Intent {
        Intent {
            id: plinth_state::random_id(),
            address: address.to_string(),
            action,
            started: plinth_state::now(),
            pid: std::process::id(),
        }
    }

    /// Deletes instances in state that the configuration no longer has, dependents
    /// first.
    fn delete_orphans(&self, diags: &mut Diagnostics) {
        let renamed: HashSet<String> = self.moved.values().cloned().collect();
        let seen = lock(&self.seen).clone();
        let orphans: Vec<String> = self
            .prior
            .resources
            .keys()
            .filter(|a| !seen.contains(*a) && !renamed.contains(*a))
            .filter(|a| {
                self.targets
                    .as_ref()
                    .is_none_or(|t| t.targets.iter().any(|target| under_target(a, target)))
            })
            .cloned()
            .collect();
        for address in order_for_destroy(&self.prior, &orphans) {
            if stop_requested() {
                return;
            }
            let intent = Self::intent(&address, IntentAction::Delete);
            let id = intent.id.clone();
            (self.progress)(&format!("{address}: Destroying..."));
            if !self.save(
                Commit {
                    begin_intents: vec![intent],
                    ..Commit::default()
                },
                &address,
                diags,
            ) {
                return;
            }
            if !self.save(
                Commit {
                    remove: vec![address.clone()],
                    end_intents: vec![id],
                    ..Commit::default()
                },
                &address,
                diags,
            ) {
                return;
            }
            self.applied.fetch_add(1, Ordering::SeqCst);
            (self.progress)(&format!("{address}: Destruction complete"));
        }
    }
}

/// Addresses ordered so that an instance comes before the instances it depends on.
fn order_for_destroy(state: &Snapshot, addresses: &[String]) -> Vec<String> {
    let set: HashSet<&String> = addresses.iter().collect();
    let base = |a: &str| -> String { a.split('[').next().unwrap_or(a).to_string() };
    let mut remaining: Vec<String> = addresses.to_vec();
    remaining.sort();
    let mut out = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        let before = remaining.len();
        let mut next = Vec::new();
        for a in &remaining {
            // Does anything still remaining depend on `a`?
            let needed = remaining.iter().any(|other| {
                other != a
                    && set.contains(other)
                    && state
                        .resources
                        .get(other)
                        .is_some_and(|rs| rs.dependencies.iter().any(|d| *d == base(a)))
            });
            if needed {
                next.push(a.clone());
            } else {
                out.push(a.clone());
            }
        }
        remaining = next;
        if remaining.len() == before {
            out.append(&mut remaining);
        }
    }
    out
}

fn sensitive_paths(v: &Value) -> Vec<Vec<serde_json::Value>> {
    match v.peel() {
        (_, true) => vec![Vec::new()],
        (Value::Object(m), false) => m
            .iter()
            .filter(|(_, v)| v.contains_sensitive())
            .map(|(k, _)| vec![serde_json::Value::String(k.clone())])
            .collect(),
        _ => Vec::new(),
    }
}

impl ResourceHandler for Applier<'_> {
    fn wants(&self, module: ModuleId, prefix: &str, local: &str) -> bool {
        scope_wants(self.targets.as_ref(), module, prefix, local)
    }

    fn instance(
        &self,
        module: ModuleId,
        address: &str,
        resource: &Resource,
        config: Value,
        diags: &mut Diagnostics,
    ) -> Value {
        lock(&self.seen).insert(address.to_string());
        if let Some(v) = outside_targets(
            self.targets.as_ref(),
            &self.prior,
            module,
            address,
            resource,
        ) {
            return v;
        }
        if !builtin::is_builtin(&resource.type_name) {
            diags.push(no_provider(resource));
            return Value::unknown();
        }
        if !config.is_wholly_known() {
            diags.push(
                Diagnostic::error("Change not applied")
                    .detail(format!(
                        "{address} was not applied because a change it depends on failed."
                    ))
                    .at(resource.span),
            );
            return Value::unknown();
        }
        let previous = self.moved.get(address).cloned();
        if let Some(old) = &previous {
            let rename = Commit {
                rename: vec![(old.clone(), address.to_string())],
                ..Commit::default()
            };
            if !self.save(rename, address, diags) {
                return Value::unknown();
            }
            (self.progress)(&format!("{old}: Moved to {address}"));
        }
        let prior_state = self
            .prior
            .resources
            .get(previous.as_deref().unwrap_or(address));
        let prior = prior_state.map(state_value);
        let decision = decide(resource, prior, config, self.replace.contains(address));
        let replacing = matches!(
            decision.action,
            Action::DeleteThenCreate | Action::CreateThenDelete
        );
        if replacing && resource.lifecycle.prevent_destroy {
            diags.push(prevent_destroy(resource, address));
            return decision.before.unwrap_or_else(Value::unknown);
        }
        if decision.action == Action::NoOp {
            return decision.after;
        }
        if stop_requested() {
            diags.push(
                Diagnostic::error("Apply interrupted")
                    .detail(format!("{address} was not changed: plinth was interrupted, and it let the changes in flight finish and saved them.")),
            );
            return decision.before.unwrap_or_else(Value::unknown);
        }
        let (action, verb, done) = match decision.action {
            Action::Create => (IntentAction::Create, "Creating...", "Creation complete"),
            Action::Update => (
                IntentAction::Update,
                "Modifying...",
                "Modifications complete",
            ),
            _ => (
                IntentAction::Replace,
                "Replacing...",
                "Replacement complete",
            ),
        };
        let started = std::time::Instant::now();
        (self.progress)(&format!("{address}: {verb}"));
        let intent = Self::intent(address, action);
        let id = intent.id.clone();
        if !self.save(
            Commit {
                begin_intents: vec![intent],
                ..Commit::default()
            },
            address,
            diags,
        ) {
            return Value::unknown();
        }
        let paths = sensitive_paths(&decision.after);
        let new = builtin::apply(&decision.after);
        let key = (module, resource.address());
        let state = ResourceState {
            address: address.to_string(),
            provider: builtin::PROVIDER_ADDRESS.to_string(),
            schema_version: 0,
            attributes: new.to_json(),
            sensitive_paths: paths.clone(),
            private: Vec::new(),
            dependencies: self.dependencies.get(&key).cloned().unwrap_or_default(),
            create_before_destroy: resource.lifecycle.create_before_destroy,
        };
        if !self.save(
            Commit {
                put: vec![state],
                end_intents: vec![id],
                ..Commit::default()
            },
            address,
            diags,
        ) {
            return Value::unknown();
        }
        self.applied.fetch_add(1, Ordering::SeqCst);
        let id_text = new
            .to_json()
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        (self.progress)(&format!(
            "{address}: {done} after {}s [id={id_text}]",
            started.elapsed().as_secs()
        ));
        remark(new, &paths)
    }
}

/// Applies the stack: walks it again with the values known now, changing and saving
/// each instance, then deletes orphans and saves the outputs.
pub fn apply(
    prepared: &Prepared,
    store: &dyn StateStore,
    options: &ChangeOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> (usize, Diagnostics) {
    let prior = match store.snapshot() {
        Ok(s) => s,
        Err(e) => {
            return (
                0,
                single(Diagnostic::error("Failed to read state").detail(e.to_string())),
            )
        }
    };
    let mut diags = Diagnostics::default();
    close_stale_intents(store, &prior, progress, &mut diags);
    let moved = moves(&prepared.config, &prior);
    let applier = Applier {
        store,
        prior,
        moved,
        replace: options.replace.clone(),
        targets: target_scope(prepared, &options.targets),
        dependencies: resource_dependencies(prepared),
        seen: Mutex::new(HashSet::new()),
        progress,
        applied: AtomicUsize::new(0),
    };
    let limit = options.parallelism.unwrap_or(usize::MAX);
    let (evaluation, walk_diags) = prepared.evaluate_concurrently(&applier, limit);
    diags.extend(walk_diags);
    if !diags.has_errors() && !stop_requested() {
        applier.delete_orphans(&mut diags);
    }
    let applied = applier.applied.load(Ordering::SeqCst);
    if let Some(root) = evaluation.root() {
        let outputs: BTreeMap<String, OutputState> = prepared
            .config
            .root()
            .outputs
            .iter()
            .filter_map(|o| {
                let v = root.outputs.get(&o.name)?;
                Some((
                    o.name.clone(),
                    OutputState {
                        value: v.clone().deep_unmark().to_json(),
                        sensitive: o.sensitive,
                    },
                ))
            })
            .collect();
        if let Err(e) = store.commit(Commit {
            outputs: Some(outputs),
            ..Commit::default()
        }) {
            diags.push(Diagnostic::error("Failed to save outputs").detail(e.to_string()));
        }
    }
    (applied, diags.sorted_unique())
}

/// Calls that were in flight when an earlier plinth was killed: their outcome is
/// unknown, so the user is told which, and the instances are planned again from what
/// state says (an instance whose result was never saved is created again).
fn close_stale_intents(
    store: &dyn StateStore,
    prior: &Snapshot,
    progress: &(dyn Fn(&str) + Sync),
    diags: &mut Diagnostics,
) {
    if prior.intents.is_empty() {
        return;
    }
    for i in prior.intents.values() {
        progress(&format!(
            "Warning: a {:?} of {} was in flight when plinth (pid {}) stopped; its result was never saved, so it is planned again.",
            i.action, i.address, i.pid
        ));
    }
    let ids = prior.intents.keys().cloned().collect();
    if let Err(e) = store.commit(Commit {
        end_intents: ids,
        ..Commit::default()
    }) {
        diags.push(Diagnostic::error("Failed to save state").detail(e.to_string()));
    }
}

/// Destroys everything in state, dependents first.
pub fn destroy(store: &dyn StateStore, progress: &(dyn Fn(&str) + Sync)) -> (usize, Diagnostics) {
    let prior = match store.snapshot() {
        Ok(s) => s,
        Err(e) => {
            return (
                0,
                single(Diagnostic::error("Failed to read state").detail(e.to_string())),
            )
        }
    };
    let applier = Applier {
        store,
        prior,
        moved: HashMap::new(),
        replace: HashSet::new(),
        targets: None,
        dependencies: HashMap::new(),
        seen: Mutex::new(HashSet::new()),
        progress,
        applied: AtomicUsize::new(0),
    };
    let mut diags = Diagnostics::default();
    close_stale_intents(store, &applier.prior.clone(), applier.progress, &mut diags);
    applier.delete_orphans(&mut diags);
    if let Err(e) = store.commit(Commit {
        outputs: Some(BTreeMap::new()),
        ..Commit::default()
    }) {
        diags.push(Diagnostic::error("Failed to save outputs").detail(e.to_string()));
    }
    (applier.applied.load(Ordering::SeqCst), diags)
}

fn single(d: Diagnostic) -> Diagnostics {
    let mut diags = Diagnostics::default();
    diags.push(d);
    diags
}
