//! Executing a plan against providers, persisting as it goes: before a provider call
//! that changes the world, an intent is committed; the instance's new state is
//! committed as soon as the provider answers, before anything depending on it starts.
//! Apply plans each instance again with the values known by then (a saved plan is
//! checked against the same state and configuration first, so both agree).

mod applier;
mod imports;
mod intents;
mod orphans;
mod refresh;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use petgraph::graph::NodeIndex;
use plinth_state::{Commit, OutputState, ResourceState, Snapshot, StateStore};

use crate::addrs::{self, BlockName, ResourceInstance, Target};
use crate::cancel::CancelToken;
use crate::config::{Config, ModuleId};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::walk::{ResourceHandler, Trigger};
use crate::graph::{Graph, NodeKind};
use crate::lang::Value;
use crate::plan::deferred::{Deferral, ProviderSite};
use crate::plan::json_config::Planned;
use crate::plan::{
    check_state_addresses, declared_resource, moved_instances, prevent_destroy, state_value,
    Action, Basis, Decided, Plan, PlannedChange, Planner, TargetScope,
};
use crate::plugin::host::PLUGIN_FAILED;
use crate::plugin::{runtime, BoxFuture, Provider};
use crate::stack::Prepared;

pub use applier::Applier;
pub use imports::import_blocks;
pub use intents::settle_intents;

use intents::close_stale_intents;
use refresh::{record_basis, refresh_and_record, refreshed_with_basis};

/// What plan and apply were asked for beyond the stack itself.
#[derive(Clone, Debug, Default)]
pub struct ChangeOptions {
    /// `--replace ADDR`
    pub replace: HashSet<ResourceInstance>,
    /// `--target ADDR`; empty means everything.
    pub targets: Vec<Target>,
    /// Only the targets change: what they depend on is read and planned from, but
    /// keeps its refreshed value (reconcile's revert-drift, which must not apply a
    /// dependency's configuration change). Plain `--target` also changes those.
    pub exact_targets: bool,
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
    /// The instances the plan this apply follows deferred to a later stage: apply
    /// leaves them (and what depends on them) alone.
    pub deferred: HashSet<ResourceInstance>,
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
pub fn target_scope(prepared: &Prepared, targets: &[Target], exact: bool) -> Option<TargetScope> {
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
        exact,
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
/// evaluated with what is known before any resource is read: variables, and the
/// values `prior` holds for the resources a block refers to (a handler-less walk
/// when no block refers to one). A provider without a block gets an empty
/// configuration. A provider whose configuration is not wholly known is not
/// configured: the returned [`Deferral`] records it, and its instances wait for a
/// later stage. A process is configured once, so planning and then applying in one
/// run configures it once.
pub fn configure_providers(prepared: &Prepared, prior: &Snapshot) -> (Deferral, Diagnostics) {
    let _t = crate::timing::phase("configure providers");
    let deferral = Deferral::new(provider_sites(prepared));
    let plugins: Vec<(&str, &dyn Provider)> = prepared.providers.plugins().collect();
    if plugins.is_empty() {
        return (deferral, Diagnostics::default());
    }
    let evaluation = if deferral.has_any_site() {
        prepared
            .evaluate_concurrently(&StateValues { prior }, usize::MAX)
            .0
    } else {
        prepared.evaluate(None).0
    };
    let empty = Value::Object(BTreeMap::new());
    let configs: Vec<(&str, &dyn Provider, Value)> = plugins
        .iter()
        .map(|(local, p)| {
            let config = evaluation
                .provider_configs
                .get(&(0, local.to_string()))
                .cloned()
                .unwrap_or_else(|| empty.clone());
            (*local, *p, config)
        })
        .filter(|(local, _, config)| !deferral.unknown_config(local, config, false))
        .collect();
    let outcomes = runtime().block_on(futures_util::future::join_all(
        configs.iter().map(|(_, p, config)| p.configure(config)),
    ));
    let mut diags = Diagnostics::default();
    for ((local, _, _), outcome) in configs.iter().zip(outcomes) {
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
    (deferral, diags)
}

/// For each provider configuration (by state address) whose root block refers to
/// resources, those resources: destroying goes through the provider first, so its
/// objects go before what its configuration comes from.
fn provider_sources(prepared: &Prepared) -> HashMap<String, Vec<String>> {
    provider_sites(prepared)
        .into_iter()
        .filter(|(_, site)| !site.sources.is_empty())
        .filter_map(|(local, site)| {
            let address = prepared.providers.address_of(&local)?;
            Some((address.to_string(), site.sources))
        })
        .collect()
}

/// The root provider blocks, with their arguments' places and the resources they
/// refer to (through locals, variables and module outputs).
fn provider_sites(prepared: &Prepared) -> HashMap<String, ProviderSite> {
    let g = &prepared.graph;
    let mut sites = HashMap::new();
    for p in &prepared.config.root().providers {
        let local = p.local_address();
        let Some(ix) = g.find(0, NodeKind::Provider, &local) else {
            continue;
        };
        let mut sources = Vec::new();
        let mut stack: Vec<_> = g.dependencies(ix).collect();
        let mut seen = HashSet::new();
        while let Some(d) = stack.pop() {
            if !seen.insert(d) {
                continue;
            }
            match g.inner[d].kind {
                NodeKind::Resource(_) => sources.push(g.display(&prepared.config, d)),
                _ => stack.extend(g.dependencies(d)),
            }
        }
        sources.sort();
        sources.dedup();
        let blocks = p.body.blocks.iter().map(|b| (b.kind.clone(), b.span));
        let arguments = p
            .body
            .attrs
            .iter()
            .map(|a| (a.name.clone(), a.name_span))
            .chain(blocks)
            .collect();
        sites.insert(
            local,
            ProviderSite {
                block: Some(p.span),
                arguments,
                sources,
            },
        );
    }
    sites
}

/// The walk that evaluates provider blocks before planning: each resource is what
/// state holds for it (unknown when state has none), no provider is called.
struct StateValues<'s> {
    prior: &'s Snapshot,
}

impl ResourceHandler for StateValues<'_> {
    fn instance<'a>(
        &'a self,
        _module: ModuleId,
        address: &'a ResourceInstance,
        _resource: &'a crate::config::Resource,
        _config: Value,
        _triggers: &'a [Trigger],
    ) -> BoxFuture<'a, (Value, Diagnostics)> {
        let value = crate::plan::prior_value(self.prior, &address.to_string());
        Box::pin(async move { (value, Diagnostics::default()) })
    }
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
    let (deferral, configured) = configure_providers(prepared, prior);
    if configured.has_errors() {
        return (empty_plan(prior), configured.sorted_unique());
    }
    let unconfigured = deferral.unconfigured(&prepared.providers);
    let (with_imports, imports, import_diags) = import_blocks(prepared, prior);
    if import_diags.has_errors() {
        return (empty_plan(prior), import_diags.sorted_unique());
    }
    let refreshing = crate::timing::phase("refresh");
    let (current, drift, refresh_diags, basis) = refreshed_with_basis(
        prepared,
        prior,
        &with_imports,
        options,
        &imports,
        &unconfigured,
    );
    drop(refreshing);
    if refresh_diags.has_errors() || options.refresh_only {
        let json = json_context(
            prepared,
            refreshed_only(prepared, &current, &drift, options),
        );
        let plan = Plan {
            drift,
            refresh_only: options.refresh_only,
            json: Some(Arc::new(json)),
            ..empty_plan(prior)
        };
        return (plan, refresh_diags.sorted_unique());
    }
    let planner = Planner::new(
        &current,
        &prepared.providers,
        moves(&prepared.config, &current),
        options.replace.clone(),
        target_scope(prepared, &options.targets, options.exact_targets),
    )
    .with_dependencies(resource_dependencies(prepared, Dependencies::Named))
    .with_deferral(&deferral);
    let planning = crate::timing::phase("plan walk");
    let (evaluation, mut diags) = prepared.evaluate_concurrently(&planner, options.limit());
    drop(planning);
    let mut all = prepared.diagnostics.clone();
    all.extend(refresh_diags);
    let reads = planner.data_reads();
    let mut changes = planner.finish(&prepared.config);
    changes.sort_by_cached_key(|c| c.address.to_string());
    let deferred = deferral.changes();
    diags.extend(unknown_for_good(&deferral, &deferred, &changes, &reads));
    if let Some(d) = forget_warning(&changes) {
        diags.push(d);
    }
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
    let json = json_context(
        prepared,
        Planned {
            reads: &reads,
            outputs: &marked,
            evaluation: Some(&evaluation),
            variables: Some(&variables),
            ..refreshed_only(prepared, &current, &drift, options)
        },
    );
    let plan = Plan {
        changes,
        outputs,
        variables,
        output_changes,
        drift,
        imports,
        basis: Some(Arc::new(basis)),
        json: Some(Arc::new(json)),
        checks: evaluation.checks.clone(),
        deferred,
        ..empty_plan(prior)
    };
    (plan, all.sorted_unique())
}

/// Errors for the unknown provider configurations that applying this plan cannot
/// make known (nothing they come from is created, changed, read or deferred), so a
/// later stage would defer the same instances again.
fn unknown_for_good(
    deferral: &Deferral,
    deferred: &[crate::plan::deferred::DeferredChange],
    changes: &[PlannedChange],
    reads: &[crate::plan::DataRead],
) -> Diagnostics {
    use crate::plan::deferred::{progresses, stays_unknown, DeferReason};
    let mut diags = Diagnostics::default();
    if deferred.is_empty() {
        return diags;
    }
    let mut changing: HashSet<String> = changes
        .iter()
        .filter(|c| c.action.is_change())
        .map(|c| c.address.config_resource().to_string())
        .collect();
    changing.extend(
        reads
            .iter()
            .map(|r| r.address.config_resource().to_string()),
    );
    changing.extend(deferral.deferred_blocks());
    for p in deferral.unknown_providers() {
        let waits = deferred.iter().any(
            |d| matches!(&d.reason, DeferReason::ProviderConfig(u) if u.provider == p.provider),
        );
        if waits && !progresses(&p, &changing) {
            diags.push(stays_unknown(&p));
        }
    }
    diags
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
    let (deferral, configured) = configure_providers(prepared, prior);
    if configured.has_errors() {
        return (empty_plan(prior), configured.sorted_unique());
    }
    let unconfigured = deferral.unconfigured(&prepared.providers);
    let (current, drift, mut diags, basis) = refreshed_with_basis(
        prepared,
        prior,
        prior,
        options,
        &BTreeMap::new(),
        &unconfigured,
    );
    for p in deferral.unknown_providers() {
        let Some(address) = prepared.providers.address_of(&p.provider) else {
            continue;
        };
        if current.resources.values().any(|rs| rs.provider == address) {
            diags.push(
                Diagnostic::error("Provider configuration unknown")
                    .detail(format!(
                        "The {} is unknown, so the objects it made cannot be destroyed through it. Apply the stack first, or remove those objects with plinth state rm.",
                        p.describe()
                    ))
                    .at_opt(p.span),
            );
        }
    }
    let changes = current
        .resources
        .values()
        .filter_map(|rs| {
            // Every address of a prior state reads (`check_state_addresses`).
            let address = ResourceInstance::parse(&rs.address).ok()?;
            if address.resource.mode == crate::lang::refs::ResourceMode::Data {
                return None;
            }
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
    let json = json_context(
        prepared,
        refreshed_only(prepared, &current, &drift, options),
    );
    let plan = Plan {
        changes,
        output_changes: crate::plan::output_changes(&current, &BTreeMap::new()),
        drift,
        basis: Some(Arc::new(basis)),
        json: Some(Arc::new(json)),
        ..empty_plan(prior)
    };
    (plan, diags.sorted_unique())
}

/// What the JSON plan shows beside the changes (`plan::json::Context`).
fn json_context(prepared: &Prepared, planned: Planned<'_>) -> crate::plan::json::Context {
    crate::plan::json_config::context(
        &prepared.config,
        &prepared.sources,
        &prepared.providers,
        planned,
    )
}

/// What a plan that walked nothing knew: the refreshed state and what drifted.
fn refreshed_only<'a>(
    prepared: &'a Prepared,
    current: &'a Snapshot,
    drift: &'a [PlannedChange],
    options: &ChangeOptions,
) -> Planned<'a> {
    Planned::refreshed(
        current,
        drift,
        &prepared.inputs,
        !options.targets.is_empty(),
    )
}

/// Which resources a resource or data source depends on, as each use needs them.
#[derive(Clone, Copy)]
enum Dependencies {
    /// Those its configuration names, directly or through locals, variables and
    /// outputs: a data source waits for apply when one of them has a change (as in
    /// Terraform, the search stops at each resource).
    Named,
    /// Every resource and data source among its ancestors, through other resources
    /// too: what Terraform records in state.
    All,
}

/// For each resource, the resources it depends on (see [`Dependencies`]).
fn resource_dependencies(
    prepared: &Prepared,
    which: Dependencies,
) -> HashMap<(ModuleId, String), Vec<String>> {
    let g: &Graph = &prepared.graph;
    resource_nodes(g)
        .map(|(ix, key)| {
            let mut found: Vec<String> = depended_on(g, ix, which)
                .into_iter()
                .map(|d| g.display(&prepared.config, d))
                .collect();
            found.sort();
            (key, found)
        })
        .collect()
}

/// Every resource's key (module, `type.name` or `data.type.name`), with each
/// resource it depends on through any chain: a change whose dependency failed is not
/// applied.
fn dependency_keys(prepared: &Prepared) -> HashMap<(ModuleId, String), Vec<(ModuleId, String)>> {
    let g: &Graph = &prepared.graph;
    let keys: HashMap<_, _> = resource_nodes(g).collect();
    keys.iter()
        .map(|(ix, key)| {
            let found = depended_on(g, *ix, Dependencies::All)
                .into_iter()
                .filter_map(|d| keys.get(&d).cloned())
                .collect();
            (key.clone(), found)
        })
        .collect()
}

fn resource_nodes(g: &Graph) -> impl Iterator<Item = (NodeIndex, (ModuleId, String))> + '_ {
    g.inner.node_indices().filter_map(move |ix| {
        let node = &g.inner[ix];
        let key = match node.kind {
            NodeKind::Resource(crate::lang::refs::ResourceMode::Data) => {
                format!("data.{}", node.name)
            }
            NodeKind::Resource(_) => node.name.clone(),
            _ => return None,
        };
        Some((ix, (node.module, key)))
    })
}

/// The resources `ix` depends on: the nearest through values, outputs and module
/// calls, or (`All`) every one down each chain.
fn depended_on(g: &Graph, ix: NodeIndex, which: Dependencies) -> Vec<NodeIndex> {
    let mut found = Vec::new();
    let mut stack: Vec<_> = g.dependencies(ix).collect();
    let mut seen = HashSet::new();
    while let Some(d) = stack.pop() {
        if !seen.insert(d) {
            continue;
        }
        match g.inner[d].kind {
            NodeKind::Provider => {}
            NodeKind::Resource(_) => {
                found.push(d);
                if let Dependencies::All = which {
                    stack.extend(g.dependencies(d));
                }
            }
            _ => stack.extend(g.dependencies(d)),
        }
    }
    found
}

/// What apply and destroy do first: read the state, configure the providers, and
/// close the intents a killed plinth left behind.
fn begin(
    prepared: &Prepared,
    store: &dyn StateStore,
    progress: &dyn Progress,
) -> Result<(Snapshot, Deferral, Diagnostics), Diagnostics> {
    let prior = store
        .snapshot()
        .map_err(|e| single(Diagnostic::error("Failed to read state").detail(e.to_string())))?;
    let (deferral, mut diags) = configure_providers(prepared, &prior);
    if diags.has_errors() {
        return Err(diags.sorted_unique());
    }
    close_stale_intents(store, &prior, progress, &mut diags);
    Ok((prior, deferral, diags))
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
    let (prior, deferral, mut diags) = match begin(prepared, store.as_ref(), progress) {
        Ok(x) => x,
        Err(d) => return (0, d),
    };
    let unconfigured = deferral.unconfigured(&prepared.providers);
    let prior_outputs = prior.outputs.clone();
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
        refresh_and_record(
            prepared,
            store.as_ref(),
            prior,
            options,
            &unconfigured,
            &mut diags,
        )
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
        targets: target_scope(prepared, &options.targets, options.exact_targets),
        dependencies: resource_dependencies(prepared, Dependencies::All),
        depends_on: dependency_keys(prepared),
        failed: Mutex::new(HashSet::new()),
        seen: Mutex::new(HashSet::new()),
        progress,
        limit: options.limit(),
        decided: Decided::default(),
        applied: AtomicUsize::new(0),
        cancel: options.cancel.clone(),
        removed: crate::plan::RemovedRules::new(&prepared.config),
        deferral: deferral.for_apply(options.deferred.clone()),
        unconfigured,
        provider_sources: provider_sources(prepared),
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
    // A stage leaves the outputs that wait for a later one as state had them.
    let staged = !applier.deferral.changes().is_empty();
    if let Some(root) = evaluation.root() {
        let outputs: BTreeMap<String, OutputState> = prepared
            .config
            .root()
            .outputs
            .iter()
            .filter_map(|o| {
                let v = root.outputs.get(&o.name)?;
                if staged && !v.is_wholly_known() {
                    let kept = prior_outputs.get(&o.name)?;
                    return Some((o.name.clone(), kept.clone()));
                }
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

/// Destroys everything in state, dependents first.
pub fn destroy(
    prepared: &Prepared,
    store: Arc<dyn StateStore>,
    options: &ChangeOptions,
    progress: &dyn Progress,
) -> (usize, Diagnostics) {
    let (prior, deferral, mut diags) = match begin(prepared, store.as_ref(), progress) {
        Ok(x) => x,
        Err(d) => return (0, d),
    };
    let unconfigured = deferral.unconfigured(&prepared.providers);
    let basis = options
        .basis
        .as_ref()
        .filter(|b| b.lineage == prior.lineage && b.serial == prior.serial);
    let refreshed = match basis {
        Some(b) => record_basis(store.as_ref(), b, &mut diags).then(|| (b.state.clone(), 0)),
        None => refresh_and_record(
            prepared,
            store.as_ref(),
            prior,
            options,
            &unconfigured,
            &mut diags,
        ),
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
        depends_on: HashMap::new(),
        failed: Mutex::new(HashSet::new()),
        seen: Mutex::new(HashSet::new()),
        progress,
        limit: options.limit(),
        decided: Decided::default(),
        applied: AtomicUsize::new(0),
        cancel: options.cancel.clone(),
        removed: crate::plan::RemovedRules::default(),
        deferral,
        unconfigured,
        provider_sources: provider_sources(prepared),
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

/// Terraform's warning for a plan that drops objects from state without destroying
/// them (`removed` blocks with `lifecycle { destroy = false }`).
fn forget_warning(changes: &[PlannedChange]) -> Option<Diagnostic> {
    let forgotten: Vec<String> = changes
        .iter()
        .filter(|c| c.action == Action::Forget)
        .map(|c| format!(" - {}", c.address))
        .collect();
    if forgotten.is_empty() {
        return None;
    }
    Some(
        Diagnostic::warning("Some objects will no longer be managed by plinth").detail(format!(
            "If you apply this plan, plinth will discard its tracking information for the following objects, but it will not delete them:\n{}\n\nAfter applying this plan, plinth will no longer manage these objects. You will need to import them to manage them again.",
            forgotten.join("\n")
        )),
    )
}
