//! Executing a plan against providers, persisting as it goes: before a provider call
//! that changes the world, an intent is committed; the instance's new state is
//! committed as soon as the provider answers, before anything depending on it starts.
//! Apply plans each instance again with the values known by then (a saved plan is
//! checked against the same state and configuration first, so both agree).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use plinth_state::{
    Commit, Intent, IntentAction, OutputState, ResourceState, Snapshot, StateStore,
};

use crate::addrs::{self, BlockName, ResourceInstance, Target};
use crate::cancel::CancelToken;
use crate::config::{Config, ModuleId, Resource};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::walk::{ResourceHandler, Trigger};
use crate::graph::{Graph, NodeKind};
use crate::lang::Value;
use crate::plan::refresh::refresh;
use crate::plan::{
    about_instance, check_state_addresses, decide, declared_resource, lock, moved_instances,
    no_provider, outside_targets, prevent_destroy, scope_wants, state_value, Action, Basis,
    Decided, Plan, PlannedChange, Planner, TargetScope,
};
use crate::plugin::host::PLUGIN_FAILED;
use crate::plugin::{runtime, ApplyRequest, BoxFuture, ObjectState, Provider, Providers};
use crate::stack::Prepared;

/// What plan and apply were asked for beyond the stack itself.
#[derive(Clone, Debug, Default)]
pub struct ChangeOptions {
    /// `--replace ADDR`
    pub replace: HashSet<ResourceInstance>,
    /// `--target ADDR`; empty means everything.
    pub targets: Vec<Target>,
    /// `--parallelism N`: at most N provider calls at once; `None`, no global cap.
    pub parallelism: Option<usize>,
    /// `--refresh=false`: plan against state as stored, without reading resources.
    pub skip_refresh: bool,
    /// `--refresh-only`: record what changed outside plinth, change nothing.
    pub refresh_only: bool,
    /// Once cancelled, changes in flight finish and are saved and no new ones start.
    pub cancel: CancelToken,
    /// The plan this apply follows, made in this process: when the state is still at
    /// the serial it was planned from, apply starts from what the plan read.
    pub basis: Option<Arc<Basis>>,
}

impl ChangeOptions {
    fn limit(&self) -> usize {
        self.parallelism.unwrap_or(usize::MAX)
    }
}

/// What an apply tells the user as it goes: one line per instance as it starts and
/// as it finishes.
pub trait Progress: Sync {
    /// A provider call began: `verb` is "Creating...", "Destroying...", ….
    fn started(&self, address: &str, verb: &str);
    /// It ended: `Some("Creation complete after 2s [id=…]")`, or `None` when it
    /// failed (the error is reported with the others at the end).
    fn finished(&self, address: &str, message: Option<&str>);
    /// Anything else worth a line (a rename, a stale intent closed).
    fn note(&self, line: &str);
}

/// The `--target` scope: the targets, and every resource they depend on through any
/// chain of references (locals, variables, module calls).
pub fn target_scope(prepared: &Prepared, targets: &[Target]) -> Option<TargetScope> {
    if targets.is_empty() {
        return None;
    }
    let g = &prepared.graph;
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
            let node = &g.inner[*ix];
            let path = &prepared.config.modules[node.module].path;
            let block = match node.kind {
                NodeKind::Resource(mode) => {
                    let (type_name, name) = node.name.split_once('.').unwrap_or((&node.name, ""));
                    BlockName::Resource(addrs::Resource::new(mode, type_name, name))
                }
                _ => BlockName::ModuleCall(node.name.clone()),
            };
            // On a target's path: the target lies inside the block or the block
            // inside the target.
            targets.iter().any(|t| t.touches_block(path, &block))
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
            let (type_name, name) = node.name.split_once('.').unwrap_or((&node.name, ""));
            dependencies.insert((node.module, addrs::Resource::new(mode, type_name, name)));
        }
        stack.extend(g.dependencies(ix));
    }
    Some(TargetScope {
        targets: targets.to_vec(),
        dependencies,
    })
}

fn moves(config: &Config, prior: &Snapshot) -> HashMap<ResourceInstance, ResourceInstance> {
    let mut out = HashMap::new();
    for mv in &config.root().moved {
        for (old, new) in moved_instances(prior, &mv.from, &mv.to) {
            if !prior.resources.contains_key(&new.to_string()) {
                out.insert(new, old);
            }
        }
    }
    out
}

/// Configures every plugin provider (ConfigureProvider) with its root provider block,
/// evaluated with what is known before any resource is read; a provider without a
/// block gets an empty configuration. A process is configured once, so planning and
/// then applying in one run configures it once.
pub fn configure_providers(prepared: &Prepared) -> Diagnostics {
    let _t = crate::timing::phase("configure providers");
    let plugins: Vec<(&str, &dyn Provider)> = prepared.providers.plugins().collect();
    if plugins.is_empty() {
        return Diagnostics::default();
    }
    let (evaluation, _) = prepared.evaluate(None);
    let empty = Value::Object(BTreeMap::new());
    let configs: Vec<Value> = plugins
        .iter()
        .map(|(local, _)| {
            evaluation
                .provider_configs
                .get(&(0, local.to_string()))
                .cloned()
                .unwrap_or_else(|| empty.clone())
        })
        .collect();
    let outcomes = runtime().block_on(futures_util::future::join_all(
        plugins
            .iter()
            .zip(&configs)
            .map(|((_, p), config)| p.configure(config)),
    ));
    let mut diags = Diagnostics::default();
    for ((local, _), outcome) in plugins.iter().zip(outcomes) {
        let Err(d) = outcome else { continue };
        let block = prepared
            .config
            .root()
            .providers
            .iter()
            .find(|p| p.local_address() == *local)
            .map(|p| p.span);
        for mut x in d.items {
            x.detail = format!("{}\n\nwhile configuring provider {local:?}", x.detail);
            diags.push(x.at_opt(block));
        }
    }
    diags
}

/// An `import` block's id is a constant expression (functions allowed, no references).
struct NoReferences;

impl crate::lang::Scope for NoReferences {
    fn resolve(&self, r: &crate::lang::refs::Reference) -> Result<Value, Diagnostic> {
        Err(Diagnostic::error("Invalid import id")
            .detail("An import block's id must be known before anything is planned; plinth accepts constant expressions here.")
            .at(r.span))
    }
}

/// Imports what the root module's `import` blocks name and state does not hold yet:
/// the state with the imported objects added, and address → id for the plan.
pub fn import_blocks(
    prepared: &Prepared,
    prior: &Snapshot,
) -> (Snapshot, BTreeMap<String, String>, Diagnostics) {
    let mut state = prior.clone();
    let mut imported = BTreeMap::new();
    let mut diags = Diagnostics::default();
    let mut todo = Vec::new();
    for import in &prepared.config.root().imports {
        let text = &prepared.sources.get(import.id.file).text;
        let id = match crate::lang::Evaluator::new(import.id.file, text, &NoReferences)
            .eval(&import.id.expr)
        {
            Ok(Value::String(s)) => s,
            Ok(other) => {
                diags.push(
                    Diagnostic::error("Invalid import id")
                        .detail(format!(
                            "The id must be a string, not {}.",
                            other.ty().friendly_name()
                        ))
                        .at(import.to_span),
                );
                continue;
            }
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let instance = import.to.clone();
        let key = instance.to_string();
        if prior.resources.contains_key(&key) {
            continue;
        }
        let type_name = instance.resource.type_name.clone();
        // The import block's own `provider`, else the one its resource uses.
        let declared = declared_resource(&prepared.config, &instance);
        let chosen = match (&import.provider, declared) {
            (Some(p), Some(r)) => prepared.providers.for_resource(&Resource {
                provider: Some(p.clone()),
                ..r.clone()
            }),
            (None, Some(r)) => prepared.providers.for_resource(r),
            (_, None) => prepared.providers.for_type(&type_name),
        };
        let Some((address, provider)) = chosen else {
            diags.push(
                Diagnostic::error("Provider not available")
                    .detail(format!(
                        "No provider serves {type_name}, so {} cannot be imported.",
                        import.to
                    ))
                    .at(import.to_span),
            );
            continue;
        };
        todo.push((import, id, type_name, key, address, provider));
    }
    let outcomes = runtime()
        .block_on(futures_util::future::join_all(todo.iter().map(
            |(_, id, type_name, _, _, provider)| provider.import(type_name, id),
        )));
    for ((import, id, type_name, key, address, provider), outcome) in todo.iter().zip(outcomes) {
        match outcome {
            Ok(ObjectState {
                value: Some(v),
                private,
            }) => {
                let paths = v.sensitive_paths();
                state.resources.insert(
                    key.clone(),
                    ResourceState {
                        address: key.clone(),
                        provider: address.to_string(),
                        schema_version: provider.schema_version(type_name),
                        attributes: v.deep_unmark().to_json(),
                        sensitive_paths: paths,
                        private,
                        dependencies: Vec::new(),
                        create_before_destroy: false,
                    },
                );
                imported.insert(key.clone(), id.clone());
            }
            Ok(ObjectState { value: None, .. }) => diags.push(
                Diagnostic::error("Cannot import non-existent remote object")
                    .detail(format!("Nothing exists with id {id:?} for {}.", import.to))
                    .at(import.to_span),
            ),
            Err(d) => {
                for mut x in d.items {
                    x.detail = format!("{}\n\nwhile importing {} (id {id:?})", x.detail, import.to);
                    diags.push(x.at(import.to_span));
                }
            }
        }
    }
    (state, imported, diags)
}

/// Refreshes `prior` unless told not to: the state to plan against, and what
/// drifted.
/// Refreshes `with_imports` (`prior` plus imported objects), and the plan's basis:
/// what an apply right after the plan records before walking.
fn refreshed_with_basis(
    prepared: &Prepared,
    prior: &Snapshot,
    with_imports: &Snapshot,
    options: &ChangeOptions,
    imported: &BTreeMap<String, String>,
) -> (Snapshot, Vec<PlannedChange>, Diagnostics, Basis) {
    let basis = |state: Snapshot, put, remove| Basis {
        lineage: prior.lineage.clone(),
        serial: prior.serial,
        state,
        put,
        remove,
        imported: imported.clone(),
    };
    let imported: Vec<String> = imported.keys().cloned().collect();
    if options.skip_refresh {
        let put = imported
            .iter()
            .filter_map(|a| with_imports.resources.get(a).cloned())
            .collect();
        let b = basis(with_imports.clone(), put, Vec::new());
        return (with_imports.clone(), Vec::new(), Diagnostics::default(), b);
    }
    let r = refresh(with_imports, &prepared.providers, options.limit());
    let (put, remove) = r.commit_parts_with(&imported);
    let b = basis(r.state.clone(), put, remove);
    (r.state, r.drift, r.diagnostics, b)
}

fn empty_plan(prior: &Snapshot) -> Plan {
    Plan {
        lineage: prior.lineage.clone(),
        serial: prior.serial,
        ..Plan::default()
    }
}

/// Plans the stack against `prior`, refreshed first. Diagnostics include the
/// stack's own.
pub fn plan(prepared: &Prepared, prior: &Snapshot, options: &ChangeOptions) -> (Plan, Diagnostics) {
    let unreadable = check_state_addresses(prior);
    if unreadable.has_errors() {
        return (empty_plan(prior), unreadable);
    }
    let configured = configure_providers(prepared);
    if configured.has_errors() {
        return (empty_plan(prior), configured.sorted_unique());
    }
    let (with_imports, imports, import_diags) = import_blocks(prepared, prior);
    if import_diags.has_errors() {
        return (empty_plan(prior), import_diags.sorted_unique());
    }
    let refreshing = crate::timing::phase("refresh");
    let (current, drift, refresh_diags, basis) =
        refreshed_with_basis(prepared, prior, &with_imports, options, &imports);
    drop(refreshing);
    if refresh_diags.has_errors() || options.refresh_only {
        let plan = Plan {
            drift,
            refresh_only: options.refresh_only,
            ..empty_plan(prior)
        };
        return (plan, refresh_diags.sorted_unique());
    }
    let planner = Planner::new(
        &current,
        &prepared.providers,
        moves(&prepared.config, &current),
        options.replace.clone(),
        target_scope(prepared, &options.targets),
    )
    .with_dependencies(resource_dependencies(prepared));
    let planning = crate::timing::phase("plan walk");
    let (evaluation, mut diags) = prepared.evaluate_concurrently(&planner, options.limit());
    drop(planning);
    let mut all = prepared.diagnostics.clone();
    all.extend(refresh_diags);
    let mut changes = planner.finish(&prepared.config);
    changes.sort_by_cached_key(|c| c.address.to_string());
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
    let root_values = |f: fn(&crate::graph::walk::InstanceValues) -> &HashMap<String, Value>| {
        evaluation
            .root()
            .map(|r| f(r).iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    let outputs: BTreeMap<String, Value> = root_values(|r| &r.outputs);
    let variables: BTreeMap<String, Value> = root_values(|r| &r.variables);
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
    let output_changes = crate::plan::output_changes(&current, &marked);
    let plan = Plan {
        changes,
        outputs,
        variables,
        output_changes,
        drift,
        imports,
        basis: Some(Arc::new(basis)),
        ..empty_plan(prior)
    };
    (plan, all.sorted_unique())
}

/// A plan that destroys everything in state (refreshed first, so objects already
/// gone are not destroyed again).
pub fn plan_destroy(
    prepared: &Prepared,
    prior: &Snapshot,
    options: &ChangeOptions,
) -> (Plan, Diagnostics) {
    let unreadable = check_state_addresses(prior);
    if unreadable.has_errors() {
        return (empty_plan(prior), unreadable);
    }
    let configured = configure_providers(prepared);
    if configured.has_errors() {
        return (empty_plan(prior), configured.sorted_unique());
    }
    let (current, drift, mut diags, basis) =
        refreshed_with_basis(prepared, prior, prior, options, &BTreeMap::new());
    let changes = current
        .resources
        .values()
        .filter_map(|rs| {
            // Every address of a prior state reads (`check_state_addresses`).
            let address = ResourceInstance::parse(&rs.address).ok()?;
            if let Some(r) = declared_resource(&prepared.config, &address) {
                if r.lifecycle.prevent_destroy {
                    diags.push(prevent_destroy(r, &address));
                }
            }
            Some(PlannedChange {
                address,
                previous_address: None,
                provider: rs.provider.clone(),
                action: Action::Delete,
                reason: None,
                before: Some(state_value(rs)),
                after: None,
                replace_paths: Vec::new(),
            })
        })
        .collect();
    let plan = Plan {
        changes,
        output_changes: crate::plan::output_changes(&current, &BTreeMap::new()),
        drift,
        basis: Some(Arc::new(basis)),
        ..empty_plan(prior)
    };
    (plan, diags.sorted_unique())
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
    store: Arc<dyn StateStore>,
    providers: &'s Providers,
    prior: Snapshot,
    moved: HashMap<ResourceInstance, ResourceInstance>,
    replace: HashSet<ResourceInstance>,
    targets: Option<TargetScope>,
    dependencies: HashMap<(ModuleId, String), Vec<String>>,
    seen: Mutex<HashSet<String>>,
    progress: &'s dyn Progress,
    limit: usize,
    decided: Decided,
    /// Instances changed.
    applied: AtomicUsize,
    cancel: CancelToken,
}

/// How an instance's change reads in progress lines.
fn verbs(action: Action) -> (IntentAction, &'static str, &'static str) {
    match action {
        Action::Create => (IntentAction::Create, "Creating...", "Creation complete"),
        Action::Update => (
            IntentAction::Update,
            "Modifying...",
            "Modifications complete",
        ),
        Action::Delete => (
            IntentAction::Delete,
            "Destroying...",
            "Destruction complete",
        ),
        _ => (
            IntentAction::Replace,
            "Replacing...",
            "Replacement complete",
        ),
    }
}

impl Applier<'_> {
    /// Commits `commit` on a blocking thread (it waits for fsync), so other calls
    /// go on meanwhile.
    async fn save(&self, commit: Commit, address: &str, diags: &mut Diagnostics) -> bool {
        let store = Arc::clone(&self.store);
        let outcome = tokio::task::spawn_blocking(move || store.commit(commit)).await;
        let error = match outcome {
            Ok(Ok(_)) => return true,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        diags.push(Diagnostic::error("Failed to save state").detail(format!("{address}: {error}")));
        false
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

    /// Records that a call for `address` is about to start and says so; `None` if
    /// that failed, or if a stop was asked for before the intent could be written
    /// (so no call starts after Ctrl-C, however many were waiting to).
    async fn begin(
        &self,
        address: &str,
        action: IntentAction,
        verb: &str,
        diags: &mut Diagnostics,
    ) -> Option<String> {
        let intent = Self::intent(address, action);
        let id = intent.id.clone();
        let commit = Commit {
            begin_intents: vec![intent],
            ..Commit::default()
        };
        // Said before the intent is written, so that every intent a killed plinth
        // leaves behind names a call it reported starting.
        self.progress.started(address, verb);
        let store = Arc::clone(&self.store);
        let cancel = self.cancel.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            (!cancel.is_cancelled()).then(|| store.commit(commit))
        })
        .await;
        let error = match outcome {
            Ok(Some(Ok(_))) => return Some(id),
            Ok(None) => {
                self.progress.finished(address, None);
                diags.push(Diagnostic::error("Apply interrupted").detail(format!(
                    "{address} was not changed: plinth was interrupted, and it let the changes in flight finish and saved them."
                )));
                return None;
            }
            Ok(Some(Err(e))) => e.to_string(),
            Err(e) => e.to_string(),
        };
        self.progress.finished(address, None);
        diags.push(Diagnostic::error("Failed to save state").detail(format!("{address}: {error}")));
        None
    }

    /// Deletes instances in state that the configuration no longer has, each only
    /// after every instance depending on it is gone, independent ones at once.
    async fn delete_orphans(&self, diags: &mut Diagnostics) {
        use futures_util::stream::{FuturesUnordered, StreamExt};
        let renamed: HashSet<String> = self.moved.values().map(|a| a.to_string()).collect();
        let seen = lock(&self.seen).clone();
        let orphans: Vec<String> = self
            .prior
            .resources
            .keys()
            .filter(|a| !seen.contains(*a) && !renamed.contains(*a))
            .filter(|a| {
                self.targets.as_ref().is_none_or(|t| {
                    ResourceInstance::parse(a).is_ok_and(|instance| t.contains(&instance))
                })
            })
            .cloned()
            .collect();
        let mut order = DestroyOrder::new(&self.prior, &orphans);
        let limit =
            tokio::sync::Semaphore::new(self.limit.clamp(1, tokio::sync::Semaphore::MAX_PERMITS));
        let limit = &limit;
        let mut running = FuturesUnordered::new();
        let mut failed = false;
        loop {
            if !failed && !self.cancel.is_cancelled() {
                for address in order.ready() {
                    running.push(async move {
                        let _permit = limit.acquire().await.ok();
                        let mut d = Diagnostics::default();
                        let ok = self.delete_one(&address, &mut d).await;
                        (address, ok, d)
                    });
                }
            }
            let Some((address, ok, d)) = running.next().await else {
                break;
            };
            diags.extend(d);
            if ok {
                order.done(&address);
            } else {
                failed = true;
            }
        }
    }

    async fn delete_one(&self, address: &str, diags: &mut Diagnostics) -> bool {
        let Some(rs) = self.prior.resources.get(address) else {
            return true;
        };
        let Ok(instance) = ResourceInstance::parse(address) else {
            diags.push(
                Diagnostic::error("Invalid address in state").detail(format!(
                    "{address:?} is not a resource instance address; it was not destroyed."
                )),
            );
            return false;
        };
        let type_name = &instance.resource.type_name;
        let Some(provider) = self.providers.for_state(&rs.provider, type_name) else {
            diags.push(Diagnostic::error("Provider not available").detail(format!(
                "{address} was made by {}, and plinth cannot reach that provider to destroy it.",
                rs.provider
            )));
            return false;
        };
        let started = Instant::now();
        let Some(id) = self
            .begin(address, IntentAction::Delete, "Destroying...", diags)
            .await
        else {
            return false;
        };
        let prior = state_value(rs);
        let request = ApplyRequest {
            type_name,
            prior: Some(&prior),
            planned: None,
            config: None,
            private: &rs.private,
        };
        let outcome = provider.apply(request).await;
        let (commit, ok) = match outcome {
            Ok(_) => (
                Commit {
                    remove: vec![address.to_string()],
                    end_intents: vec![id],
                    ..Commit::default()
                },
                true,
            ),
            Err(d) => {
                for mut x in d.items {
                    x.detail = format!("{}\n\nwhile destroying {address}", x.detail);
                    x.instance = Some(address.to_string().into());
                    diags.push(x);
                }
                (
                    Commit {
                        end_intents: vec![id],
                        ..Commit::default()
                    },
                    false,
                )
            }
        };
        if !self.save(commit, address, diags).await || !ok {
            self.progress.finished(address, None);
            return false;
        }
        self.applied.fetch_add(1, Ordering::SeqCst);
        self.progress.finished(
            address,
            Some(&format!(
                "Destruction complete after {}s",
                started.elapsed().as_secs()
            )),
        );
        true
    }

    /// Makes one planned change through the provider: for a replacement, the delete
    /// and the create in the order `create_before_destroy` asks for. Returns the new
    /// object (`None`: it no longer exists), or the provider's errors with what
    /// exists after them.
    async fn change(
        &self,
        provider: &dyn Provider,
        resource: &Resource,
        decision: &crate::plan::Decision,
        prior_private: &[u8],
    ) -> Result<ObjectState, (Diagnostics, bool)> {
        let type_name = &resource.type_name;
        let create = ApplyRequest {
            type_name,
            prior: None,
            planned: Some(&decision.after),
            config: Some(&decision.config),
            private: &decision.private,
        };
        let delete = || ApplyRequest {
            type_name,
            prior: decision.before.as_ref(),
            planned: None,
            config: None,
            private: prior_private,
        };
        // The bool says whether the prior object is gone after a failure.
        match decision.action {
            Action::DeleteThenCreate => {
                provider.apply(delete()).await.map_err(|d| (d, false))?;
                provider.apply(create).await.map_err(|d| (d, true))
            }
            Action::CreateThenDelete => {
                let new = provider.apply(create).await.map_err(|d| (d, false))?;
                provider.apply(delete()).await.map_err(|d| (d, false))?;
                Ok(new)
            }
            _ => {
                let update = ApplyRequest {
                    prior: decision.before.as_ref(),
                    ..create
                };
                provider.apply(update).await.map_err(|d| (d, false))
            }
        }
    }

    async fn instance_async(
        &self,
        module: ModuleId,
        instance: &ResourceInstance,
        resource: &Resource,
        config: Value,
        triggers: &[Trigger],
        diags: &mut Diagnostics,
    ) -> Value {
        // State keys are the address's text.
        let address = instance.to_string();
        let address = address.as_str();
        lock(&self.seen).insert(address.to_string());
        if let Some(v) = outside_targets(self.targets.as_ref(), &self.prior, module, instance) {
            return v;
        }
        let Some((provider_address, provider)) = self.providers.for_resource(resource) else {
            diags.push(no_provider(resource));
            return Value::unknown();
        };
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
        if resource.mode == crate::lang::refs::ResourceMode::Data {
            return crate::plan::read_data(provider, resource, instance, &config, diags).await;
        }
        let previous = self.moved.get(instance).map(|old| old.to_string());
        if let Some(old) = &previous {
            let rename = Commit {
                rename: vec![(old.clone(), address.to_string())],
                ..Commit::default()
            };
            if !self.save(rename, address, diags).await {
                return Value::unknown();
            }
            self.progress.note(&format!("{old}: Moved to {address}"));
        }
        let prior_state = self
            .prior
            .resources
            .get(previous.as_deref().unwrap_or(address));
        let prior_private = prior_state.map(|rs| rs.private.clone()).unwrap_or_default();
        let prior = prior_state.map(|rs| (state_value(rs), prior_private.as_slice()));
        let force = self
            .decided
            .force_replace(self.replace.contains(instance), triggers);
        let decision = match decide(provider, resource, prior, config, force).await {
            Ok(d) => d,
            Err(d) => {
                diags.extend(about_instance(resource, instance, d));
                return Value::unknown();
            }
        };
        self.decided.record(instance, &decision);
        let replacing = matches!(
            decision.action,
            Action::DeleteThenCreate | Action::CreateThenDelete
        );
        if replacing && resource.lifecycle.prevent_destroy {
            diags.push(prevent_destroy(resource, &address));
            return decision.before.unwrap_or_else(Value::unknown);
        }
        if decision.action == Action::NoOp {
            return decision.after;
        }
        if self.cancel.is_cancelled() {
            diags.push(
                Diagnostic::error("Apply interrupted")
                    .detail(format!("{address} was not changed: plinth was interrupted, and it let the changes in flight finish and saved them.")),
            );
            return decision.before.unwrap_or_else(Value::unknown);
        }
        let (action, verb, done) = verbs(decision.action);
        let started = Instant::now();
        let Some(id) = self.begin(address, action, verb, diags).await else {
            return Value::unknown();
        };
        let outcome = self
            .change(provider, resource, &decision, &prior_private)
            .await;
        let (new, commit) = match outcome {
            Ok(ObjectState {
                value: Some(new),
                private,
            }) => {
                // What the plan marked stays marked in what the provider made.
                let new = new.mark_paths(&decision.after.sensitive_paths());
                let paths = new.sensitive_paths();
                let key = (module, resource.address());
                let state = ResourceState {
                    address: address.to_string(),
                    provider: provider_address.to_string(),
                    schema_version: provider.schema_version(&resource.type_name),
                    attributes: new.clone().deep_unmark().to_json(),
                    sensitive_paths: paths.clone(),
                    private,
                    dependencies: self.dependencies.get(&key).cloned().unwrap_or_default(),
                    create_before_destroy: resource.lifecycle.create_before_destroy,
                };
                let commit = Commit {
                    put: vec![state],
                    end_intents: vec![id],
                    ..Commit::default()
                };
                (Some(new), commit)
            }
            Ok(ObjectState { value: None, .. }) => {
                let commit = Commit {
                    remove: vec![address.to_string()],
                    end_intents: vec![id],
                    ..Commit::default()
                };
                (None, commit)
            }
            Err((d, gone)) => {
                // When the plugin itself failed, nobody knows whether the change
                // happened: the intent stays, as after a kill, for the next apply.
                let unknown_outcome = d.items.iter().any(|x| x.summary == PLUGIN_FAILED);
                diags.extend(about_instance(resource, instance, d));
                let commit = Commit {
                    remove: if gone {
                        vec![address.to_string()]
                    } else {
                        Vec::new()
                    },
                    end_intents: if unknown_outcome {
                        Vec::new()
                    } else {
                        vec![id]
                    },
                    ..Commit::default()
                };
                self.save(commit, address, diags).await;
                self.progress.finished(address, None);
                return Value::unknown();
            }
        };
        if !self.save(commit, address, diags).await {
            self.progress.finished(address, None);
            return Value::unknown();
        }
        self.applied.fetch_add(1, Ordering::SeqCst);
        let id_text = match new.as_ref().map(|v| v.peel()) {
            Some((Value::Object(m), false)) => {
                m.get("id").map_or(String::new(), |id| match id.peel() {
                    (_, true) => "(sensitive value)".to_string(),
                    (v, false) => v.as_str().unwrap_or_default().to_string(),
                })
            }
            Some((_, true)) => "(sensitive value)".to_string(),
            _ => String::new(),
        };
        let message = format!(
            "{done} after {}s [id={id_text}]",
            started.elapsed().as_secs()
        );
        self.progress.finished(address, Some(&message));
        new.unwrap_or_else(Value::unknown)
    }
}

/// Destroys instances dependents-first, by resource as state records dependencies:
/// a resource's instances are ready, all at once, when every resource (among those
/// being destroyed) that depends on it is gone.
struct DestroyOrder {
    /// Per resource (address without instance keys), its instances being destroyed.
    instances: HashMap<String, Vec<String>>,
    /// Per resource, how many of its instances are not destroyed yet.
    left: HashMap<String, usize>,
    /// Resources, with the edges of state's dependencies reversed: a resource waits
    /// for those that depend on it.
    ready: crate::graph::order::Ready<String>,
}

impl DestroyOrder {
    fn new(state: &Snapshot, addresses: &[String]) -> DestroyOrder {
        let mut instances: HashMap<String, Vec<String>> = HashMap::new();
        for a in addresses {
            instances.entry(block_of(a)).or_default().push(a.clone());
        }
        let mut edges = HashSet::new();
        for a in addresses {
            let base = block_of(a);
            let Some(rs) = state.resources.get(a) else {
                continue;
            };
            for d in &rs.dependencies {
                if *d != base && instances.contains_key(d) {
                    edges.insert((base.clone(), d.clone()));
                }
            }
        }
        let mut blocks: Vec<String> = instances.keys().cloned().collect();
        blocks.sort();
        let left = instances
            .iter()
            .map(|(b, v)| (b.clone(), v.len()))
            .collect();
        DestroyOrder {
            instances,
            left,
            ready: crate::graph::order::Ready::new(blocks, edges),
        }
    }

    /// Instances not started yet whose resource nothing remaining depends on.
    fn ready(&mut self) -> Vec<String> {
        let mut blocks = self.ready.take_all();
        blocks.sort();
        blocks
            .iter()
            .flat_map(|b| self.instances.remove(b).unwrap_or_default())
            .collect()
    }

    fn done(&mut self, address: &str) {
        let base = block_of(address);
        let Some(n) = self.left.get_mut(&base) else {
            return;
        };
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.ready.done(&base);
        }
    }
}

/// The resource block a state address is an instance of, as state records
/// dependencies (`module.m.aws_instance.x`).
fn block_of(address: &str) -> String {
    ResourceInstance::parse(address)
        .map(|i| i.config_resource().to_string())
        .unwrap_or_else(|_| address.to_string())
}

impl ResourceHandler for Applier<'_> {
    fn wants(&self, module: ModuleId, path: &[String], block: &BlockName) -> bool {
        scope_wants(self.targets.as_ref(), module, path, block)
    }

    fn applying(&self) -> bool {
        true
    }

    fn instance<'a>(
        &'a self,
        module: ModuleId,
        instance: &'a ResourceInstance,
        resource: &'a Resource,
        config: Value,
        triggers: &'a [Trigger],
    ) -> BoxFuture<'a, (Value, Diagnostics)> {
        Box::pin(async move {
            let mut diags = Diagnostics::default();
            let v = self
                .instance_async(module, instance, resource, config, triggers, &mut diags)
                .await;
            (v, diags)
        })
    }
}

/// Refreshes `prior` and writes what changed outside plinth to the store: the state
/// to apply against, and how many instances drifted.
fn refresh_and_record(
    prepared: &Prepared,
    store: &dyn StateStore,
    prior: Snapshot,
    options: &ChangeOptions,
    diags: &mut Diagnostics,
) -> Option<(Snapshot, usize)> {
    if options.skip_refresh {
        return Some((prior, 0));
    }
    let r = refresh(&prior, &prepared.providers, options.limit());
    diags.extend(r.diagnostics.clone());
    if r.diagnostics.has_errors() {
        return None;
    }
    let (put, remove) = r.commit_parts();
    if !put.is_empty() || !remove.is_empty() {
        if let Err(e) = store.commit(Commit {
            put,
            remove,
            ..Commit::default()
        }) {
            diags.push(Diagnostic::error("Failed to save state").detail(e.to_string()));
            return None;
        }
    }
    Some((r.state, r.drift.len()))
}

/// Records what the plan imported and refreshed; false when it could not be saved.
fn record_basis(store: &dyn StateStore, b: &Basis, diags: &mut Diagnostics) -> bool {
    if b.put.is_empty() && b.remove.is_empty() {
        return true;
    }
    let saved = store.commit(Commit {
        put: b.put.clone(),
        remove: b.remove.clone(),
        ..Commit::default()
    });
    if let Err(e) = saved {
        diags.push(Diagnostic::error("Failed to save state").detail(e.to_string()));
        return false;
    }
    true
}

/// What apply and destroy do first: read the state, configure the providers, and
/// close the intents a killed plinth left behind.
fn begin(
    prepared: &Prepared,
    store: &dyn StateStore,
    progress: &dyn Progress,
) -> Result<(Snapshot, Diagnostics), Diagnostics> {
    let prior = store
        .snapshot()
        .map_err(|e| single(Diagnostic::error("Failed to read state").detail(e.to_string())))?;
    let mut diags = configure_providers(prepared);
    if diags.has_errors() {
        return Err(diags.sorted_unique());
    }
    close_stale_intents(store, &prior, progress, &mut diags);
    Ok((prior, diags))
}

/// Applies the stack: refreshes, walks it again with the values known now, changing
/// and saving each instance, then deletes orphans and saves the outputs. Returns how
/// many instances changed (with `--refresh-only`: how many drifted).
pub fn apply(
    prepared: &Prepared,
    store: Arc<dyn StateStore>,
    options: &ChangeOptions,
    progress: &dyn Progress,
) -> (usize, Diagnostics) {
    let (prior, mut diags) = match begin(prepared, store.as_ref(), progress) {
        Ok(x) => x,
        Err(d) => return (0, d),
    };
    // Right after its plan, against the same state: record what the plan imported
    // and refreshed, and walk from there.
    let basis = options.basis.as_ref().filter(|b| {
        !options.refresh_only && b.lineage == prior.lineage && b.serial == prior.serial
    });
    let prior = if let Some(b) = basis {
        let plan_reads = crate::timing::phase("record the plan's imports and refresh");
        for (address, id) in &b.imported {
            progress.note(&format!("{address}: Import complete [id={id}]"));
        }
        if !record_basis(store.as_ref(), b, &mut diags) {
            return (0, diags.sorted_unique());
        }
        drop(plan_reads);
        b.state.clone()
    } else if options.refresh_only {
        prior
    } else {
        let (with_imports, imported, import_diags) = import_blocks(prepared, &prior);
        diags.extend(import_diags);
        if diags.has_errors() {
            return (0, diags.sorted_unique());
        }
        let put: Vec<ResourceState> = imported
            .keys()
            .filter_map(|a| with_imports.resources.get(a).cloned())
            .collect();
        if !put.is_empty() {
            for (address, id) in &imported {
                progress.note(&format!("{address}: Import complete [id={id}]"));
            }
            if let Err(e) = store.commit(Commit {
                put,
                ..Commit::default()
            }) {
                diags.push(Diagnostic::error("Failed to save state").detail(e.to_string()));
                return (0, diags.sorted_unique());
            }
        }
        with_imports
    };
    let refreshing = crate::timing::phase("refresh again before applying");
    let refreshed = if basis.is_some() {
        Some((prior, 0))
    } else {
        refresh_and_record(prepared, store.as_ref(), prior, options, &mut diags)
    };
    drop(refreshing);
    let Some((prior, drifted)) = refreshed else {
        return (0, diags.sorted_unique());
    };
    if options.refresh_only {
        return (drifted, diags.sorted_unique());
    }
    let moved = moves(&prepared.config, &prior);
    let applier = Applier {
        store: Arc::clone(&store),
        providers: &prepared.providers,
        prior,
        moved,
        replace: options.replace.clone(),
        targets: target_scope(prepared, &options.targets),
        dependencies: resource_dependencies(prepared),
        seen: Mutex::new(HashSet::new()),
        progress,
        limit: options.limit(),
        decided: Decided::default(),
        applied: AtomicUsize::new(0),
        cancel: options.cancel.clone(),
    };
    let applying = crate::timing::phase("apply walk");
    let (evaluation, walk_diags) = prepared.evaluate_concurrently(&applier, options.limit());
    drop(applying);
    diags.extend(walk_diags);
    if !diags.has_errors() && !options.cancel.is_cancelled() {
        let _t = crate::timing::phase("delete orphans");
        runtime().block_on(applier.delete_orphans(&mut diags));
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
    (applied, collapse_plugin_failures(diags.sorted_unique()))
}

/// Keeps the first few "plugin did not respond" errors of a failed plugin and sums
/// up the rest: once a plugin is gone every later call to it fails the same way.
fn collapse_plugin_failures(diags: Diagnostics) -> Diagnostics {
    const KEPT: usize = 3;
    let mut out = Diagnostics::default();
    let mut seen = 0;
    let mut more = Vec::new();
    for d in diags.items {
        if d.summary == PLUGIN_FAILED {
            seen += 1;
            if seen > KEPT {
                if let Some(address) = &d.instance {
                    more.push(address.to_string());
                }
                continue;
            }
        }
        out.push(d);
    }
    if !more.is_empty() {
        out.push(Diagnostic::error("More changes not made").detail(format!(
            "{} more instances were not changed because their provider's plugin failed, among them {}.",
            more.len(),
            more.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    out
}

/// Calls that were in flight when an earlier plinth was killed: their outcome is
/// unknown, so the user is told which, and the instances are planned again from what
/// state (refreshed) says: an instance whose result was never saved is created again.
fn close_stale_intents(
    store: &dyn StateStore,
    prior: &Snapshot,
    progress: &dyn Progress,
    diags: &mut Diagnostics,
) {
    if prior.intents.is_empty() {
        return;
    }
    for i in prior.intents.values() {
        progress.note(&format!(
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

/// A run that holds the write lock but has nothing to change still settles the calls
/// a killed plinth left in flight: every instance in state is read through its
/// provider and what exists is recorded (an object that is gone leaves the state),
/// the intents are closed, and each is reported with what was found.
pub fn settle_intents(
    prepared: &Prepared,
    store: Arc<dyn StateStore>,
    progress: &dyn Progress,
) -> Diagnostics {
    let (prior, mut diags) = match begin(prepared, store.as_ref(), progress) {
        Ok(x) => x,
        Err(d) => return d,
    };
    let intents: Vec<Intent> = prior.intents.values().cloned().collect();
    let Some((now, _)) = refresh_and_record(
        prepared,
        store.as_ref(),
        prior,
        &ChangeOptions::default(),
        &mut diags,
    ) else {
        return diags.sorted_unique();
    };
    for i in &intents {
        let found = if now.resources.contains_key(&i.address) {
            "the object exists and its state was read again"
        } else {
            "there is no object in state for it (it was deleted, or its creation was never recorded: if the provider made one, import it)"
        };
        progress.note(&format!(
            "Resolved the {:?} of {} left in flight by plinth (pid {}): {found}.",
            i.action, i.address, i.pid
        ));
    }
    diags.sorted_unique()
}

/// Destroys everything in state, dependents first.
pub fn destroy(
    prepared: &Prepared,
    store: Arc<dyn StateStore>,
    options: &ChangeOptions,
    progress: &dyn Progress,
) -> (usize, Diagnostics) {
    let (prior, mut diags) = match begin(prepared, store.as_ref(), progress) {
        Ok(x) => x,
        Err(d) => return (0, d),
    };
    let basis = options
        .basis
        .as_ref()
        .filter(|b| b.lineage == prior.lineage && b.serial == prior.serial);
    let refreshed = match basis {
        Some(b) => record_basis(store.as_ref(), b, &mut diags).then(|| (b.state.clone(), 0)),
        None => refresh_and_record(prepared, store.as_ref(), prior, options, &mut diags),
    };
    let Some((prior, _)) = refreshed else {
        return (0, diags.sorted_unique());
    };
    let applier = Applier {
        store: Arc::clone(&store),
        providers: &prepared.providers,
        prior,
        moved: HashMap::new(),
        replace: HashSet::new(),
        targets: None,
        dependencies: HashMap::new(),
        seen: Mutex::new(HashSet::new()),
        progress,
        limit: options.limit(),
        decided: Decided::default(),
        applied: AtomicUsize::new(0),
        cancel: options.cancel.clone(),
    };
    runtime().block_on(applier.delete_orphans(&mut diags));
    if let Err(e) = store.commit(Commit {
        outputs: Some(BTreeMap::new()),
        ..Commit::default()
    }) {
        diags.push(Diagnostic::error("Failed to save outputs").detail(e.to_string()));
    }
    (
        applier.applied.load(Ordering::SeqCst),
        diags.sorted_unique(),
    )
}

fn single(d: Diagnostic) -> Diagnostics {
    let mut diags = Diagnostics::default();
    diags.push(d);
    diags
}
