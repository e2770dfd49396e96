//! The plan: what will change, per resource instance, and why. [`Planner`] builds it
//! during the graph walk by asking each instance's provider; it carries what
//! Terraform's JSON plan needs (before, after with unknowns, replace paths, reasons).

pub mod deferred;
pub mod file;
pub mod json;
pub mod json_checks;
pub mod json_config;
pub mod json_state;
pub mod objchange;
pub mod refresh;
pub mod removed;
pub mod render;

pub use removed::RemovedRules;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, going on with the data even if another thread panicked holding it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

use plinth_state::{ResourceState, Snapshot};

use crate::addrs::{self, BlockName, ResourceInstance, Target};
use crate::config::{ModuleId, Resource};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::walk::{ResourceHandler, Trigger};
use crate::lang::Value;
use crate::plugin::{BoxFuture, PlanRequest, Provider, Providers};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Replace by deleting first (the default).
    DeleteThenCreate,
    /// Replace by creating first (`create_before_destroy`).
    CreateThenDelete,
    Delete,
    /// A data source read during apply, because its configuration is only known then.
    Read,
    /// Dropped from state without being destroyed (a `removed` block with
    /// `lifecycle { destroy = false }`): Terraform 1.7's `forget`.
    Forget,
}

impl Action {
    pub fn is_change(self) -> bool {
        self != Action::NoOp
    }
}

#[derive(Clone, Debug)]
pub struct PlannedChange {
    /// Instance address: `module.pool["a"].terraform_data.node[0]`.
    pub address: ResourceInstance,
    /// Where the instance was in state before a `moved` block renamed it.
    pub previous_address: Option<ResourceInstance>,
    pub provider: String,
    pub action: Action,
    /// Terraform's `action_reason`: `replace_because_cannot_update`,
    /// `replace_by_request`, `delete_because_no_resource_config`, …
    pub reason: Option<&'static str>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Attributes whose change forces the replacement.
    pub replace_paths: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub changes: Vec<PlannedChange>,
    /// Lineage and serial of the state this plan was made against.
    pub lineage: String,
    pub serial: u64,
    pub outputs: BTreeMap<String, Value>,
    /// The root variable values the plan was made with (saved in plan files).
    pub variables: BTreeMap<String, Value>,
    /// Root outputs whose value changes, as Terraform's "Changes to Outputs".
    pub output_changes: Vec<OutputChange>,
    /// Objects that changed outside plinth since the last apply, found by refresh:
    /// updates (with before and after) and deletions.
    pub drift: Vec<PlannedChange>,
    /// `--refresh-only`: applying records the drift in state and changes nothing.
    pub refresh_only: bool,
    /// Instances `import` blocks bring under management: address → import id.
    pub imports: BTreeMap<String, String>,
    /// What planning read before its walk, for an apply that follows in the same
    /// process (not saved in plan files).
    pub basis: Option<std::sync::Arc<Basis>>,
    /// What Terraform's JSON plan shows beside the changes (the configuration, the
    /// state planned from), filled by planning.
    pub json: Option<std::sync::Arc<json::Context>>,
    /// The JSON plan a plan file saved (a plan read back from a file).
    pub saved_json: Option<std::sync::Arc<serde_json::Value>>,
    /// What planning found of every condition: the JSON plan's `checks`.
    pub checks: Vec<crate::graph::walk::CheckResult>,
    /// Instances left for a later stage because their provider's configuration is
    /// not known yet (or they depend on such an instance): a partial plan.
    pub deferred: Vec<deferred::DeferredChange>,
}

/// The state a plan walked against: the state at `serial` with the objects `import`
/// blocks name added and every instance refreshed. An apply that starts from the same
/// serial records `put` and `remove` and walks from `state`, instead of importing and
/// reading every instance again.
#[derive(Clone, Debug)]
pub struct Basis {
    pub lineage: String,
    pub serial: u64,
    pub state: Snapshot,
    /// Imported instances and those refresh found changed, as the state records them.
    pub put: Vec<plinth_state::ResourceState>,
    /// Instances refresh found gone.
    pub remove: Vec<String>,
    /// Import blocks' instances: address → id.
    pub imported: BTreeMap<String, String>,
}

/// A data source instance read while planning, with its provider configuration
/// address: Terraform's JSON plan shows it in `prior_state`.
#[derive(Clone, Debug)]
pub struct DataRead {
    pub address: ResourceInstance,
    pub provider: String,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputChange {
    pub name: String,
    /// Create, Update or Delete.
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Compares the outputs in state with the planned ones (sensitive outputs marked).
pub fn output_changes(prior: &Snapshot, planned: &BTreeMap<String, Value>) -> Vec<OutputChange> {
    let mut out = Vec::new();
    for (name, after) in planned {
        let before = prior
            .outputs
            .get(name)
            .map(|o| Value::from_json(&o.value).mark(o.sensitive));
        let same = before.as_ref().is_some_and(|b| {
            after.is_wholly_known()
                && b.to_json() == after.to_json()
                && b.is_sensitive() == after.is_sensitive()
        });
        if same {
            continue;
        }
        let action = if before.is_some() {
            Action::Update
        } else {
            Action::Create
        };
        out.push(OutputChange {
            name: name.clone(),
            action,
            before,
            after: Some(after.clone()),
        });
    }
    for (name, o) in &prior.outputs {
        if !planned.contains_key(name) {
            let before = Some(Value::from_json(&o.value).mark(o.sensitive));
            out.push(OutputChange {
                name: name.clone(),
                action: Action::Delete,
                before,
                after: None,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

impl Plan {
    /// (to add, to change, to destroy), counted as Terraform counts them.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for ch in &self.changes {
            match ch.action {
                Action::Create => c.0 += 1,
                Action::Update => c.1 += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => {
                    c.0 += 1;
                    c.2 += 1
                }
                Action::Delete => c.2 += 1,
                Action::NoOp | Action::Read | Action::Forget => {}
            }
        }
        c
    }

    /// How many instances leave state without being destroyed (`removed` blocks).
    pub fn forget_count(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.action == Action::Forget)
            .count()
    }

    /// Whether applying would change anything: resources, or only output values
    /// (in a refresh-only plan: whether anything drifted).
    pub fn has_changes(&self) -> bool {
        if self.refresh_only {
            return !self.drift.is_empty();
        }
        self.has_resource_changes()
            || !self.output_changes.is_empty()
            || !self.imports.is_empty()
            || !self.deferred.is_empty()
    }

    /// Whether instances wait for a later stage (see [`deferred`]).
    pub fn is_partial(&self) -> bool {
        !self.deferred.is_empty()
    }

    pub fn has_resource_changes(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.action.is_change() || c.previous_address.is_some())
    }
}

/// The instances a `moved` block's `from` covers in state (a resource's instances,
/// one instance, or everything in a module call's instances) and where each goes.
/// Returns (old, new) state addresses.
pub fn moved_instances(
    prior: &Snapshot,
    from: &Target,
    to: &Target,
) -> Vec<(ResourceInstance, ResourceInstance)> {
    prior
        .resources
        .keys()
        .filter_map(|a| {
            let old = ResourceInstance::parse(a).ok()?;
            let new = match (from, to) {
                // A resource renamed: each instance keeps its key.
                (Target::Resource(f), Target::Resource(t)) if f.contains(&old) => {
                    t.instance(old.key.clone())
                }
                (Target::Instance(f), Target::Instance(t)) if *f == old => t.clone(),
                // An instance becomes a resource without count or for_each, or back.
                (Target::Instance(f), Target::Resource(t)) if *f == old => {
                    t.instance(addrs::InstanceKey::None)
                }
                (Target::Resource(f), Target::Instance(t))
                    if f.contains(&old) && old.key == addrs::InstanceKey::None =>
                {
                    t.clone()
                }
                // A module call renamed (or one of its instances moved): everything in
                // it moves, keeping what lies below.
                (Target::Module(f), Target::Module(t)) if f.contains(&old.module) => {
                    let n = f.0.len();
                    let mut steps = t.0.clone();
                    if let (Some(last), Some((_, key))) =
                        (steps.last_mut(), old.module.0.get(n - 1))
                    {
                        if last.1 == addrs::InstanceKey::None
                            && f.0[n - 1].1 == addrs::InstanceKey::None
                        {
                            last.1 = key.clone();
                        }
                    }
                    steps.extend(old.module.0[n..].iter().cloned());
                    ResourceInstance {
                        module: addrs::ModuleInstance(steps),
                        ..old.clone()
                    }
                }
                _ => return None,
            };
            Some((old, new))
        })
        .collect()
}

/// One instance's decision, shared by planning and applying.
pub struct Decision {
    pub action: Action,
    pub reason: Option<&'static str>,
    pub before: Option<Value>,
    pub after: Value,
    pub replace_paths: Vec<String>,
    /// The configuration the provider planned from (after `ignore_changes`).
    pub config: Value,
    /// The provider's private data for the planned object.
    pub private: Vec<u8>,
    /// The provider's warnings about the instance (its configuration and its plan).
    pub warnings: Diagnostics,
}

/// Whether a planned value is the prior one: equal as stored (a null is a null
/// whatever its type, and the sensitive mark is not a change), and wholly known.
fn same_object(prior: &Value, planned: &Value) -> bool {
    planned.is_wholly_known()
        && prior.clone().deep_unmark().to_json() == planned.clone().deep_unmark().to_json()
}

/// The configuration with `ignore_changes` attributes taken from the prior value.
fn with_ignored(resource: &Resource, prior: Option<&Value>, mut config: Value) -> Value {
    let (Some(p), Value::Object(cfg)) = (prior, &mut config) else {
        return config;
    };
    let ignored: Vec<String> = if resource.lifecycle.ignore_all_changes {
        cfg.keys().cloned().collect()
    } else {
        resource
            .lifecycle
            .ignore_changes
            .iter()
            .filter_map(ignored_name)
            .collect()
    };
    if let Value::Object(pm) = p.peel().0 {
        for name in ignored {
            if let Some(v) = pm.get(&name) {
                cfg.insert(name, v.clone());
            }
        }
    }
    config
}

/// Decides what happens to one instance: its prior value (from state, refreshed),
/// its configuration, `ignore_changes`, `--replace`, and the provider's plan. A
/// replacement is planned again as a creation, as Terraform does.
pub async fn decide(
    provider: &dyn Provider,
    resource: &Resource,
    prior: Option<(Value, &[u8])>,
    config: Value,
    force_replace: Option<&'static str>,
    provider_meta: Option<&Value>,
) -> Result<Decision, Diagnostics> {
    let (prior, prior_private) = match prior {
        Some((v, p)) => (Some(v), p),
        None => (None, &[][..]),
    };
    let config = with_ignored(resource, prior.as_ref(), config);
    let request = |prior| PlanRequest {
        type_name: &resource.type_name,
        prior,
        config: &config,
        prior_private,
        provider_meta,
    };
    // The provider sees no marks: what the configuration marked is marked again on
    // its answer, where the provider kept the value's place.
    let config_marks = config.sensitive_paths();
    let marked = |mut p: crate::plugin::PlannedState| {
        p.planned = p.planned.mark_paths(&config_marks);
        p
    };
    // Terraform checks each instance's configuration with its provider before
    // planning it.
    let mut invalid = Diagnostics::default();
    let mut warnings = Diagnostics::default();
    for found in provider.validate(&resource.type_name, false, &config).await {
        let mut d = found.diagnostic;
        d.attribute = found.attribute.map(Box::new);
        if d.is_error() {
            invalid.push(d);
        } else {
            warnings.push(d);
        }
    }
    if invalid.has_errors() {
        return Err(invalid);
    }
    let mut planned = marked(provider.plan(request(prior.as_ref())).await?);
    warnings.extend(std::mem::take(&mut planned.warnings));
    let (action, reason) = match &prior {
        None => (Action::Create, None),
        Some(_) if force_replace.is_some() => (replace_action(resource), force_replace),
        Some(_) if !planned.requires_replace.is_empty() => (
            replace_action(resource),
            Some("replace_because_cannot_update"),
        ),
        // Only marking a value sensitive (or no longer) is an update, as in
        // Terraform: state must learn the new paths.
        Some(p)
            if same_object(p, &planned.planned)
                && p.sensitive_paths() == planned.planned.sensitive_paths() =>
        {
            (Action::NoOp, None)
        }
        Some(_) => (Action::Update, None),
    };
    let replace_paths = planned.requires_replace.clone();
    let planned = if matches!(action, Action::DeleteThenCreate | Action::CreateThenDelete) {
        marked(provider.plan(request(None)).await?)
    } else {
        planned
    };
    Ok(Decision {
        action,
        reason,
        before: prior,
        after: planned.planned,
        replace_paths,
        config,
        private: planned.private,
        warnings,
    })
}

/// A tainted instance (its create failed after the object was made) is replaced,
/// whatever else is asked, as in Terraform.
pub fn tainted(prior: Option<&ResourceState>) -> Option<&'static str> {
    prior
        .is_some_and(|rs| rs.tainted)
        .then_some("replace_because_tainted")
}

/// What has been decided for each instance so far in a walk, for
/// `replace_triggered_by`: an instance is replaced when one it names is updated or
/// replaced, or when an attribute it names changes.
#[derive(Default)]
pub struct Decided {
    by_address: Mutex<HashMap<ResourceInstance, DecidedChange>>,
}

/// An instance's action with its value before and after.
type DecidedChange = (Action, Option<Value>, Option<Value>);

impl Decided {
    /// Whether any instance of the resources at `addresses` (without keys) changes.
    pub fn any_change(&self, addresses: &[String]) -> bool {
        lock(&self.by_address).iter().any(|(a, (action, _, _))| {
            action.is_change() && *action != Action::Read && {
                let block = a.config_resource().to_string();
                addresses.contains(&block)
            }
        })
    }

    pub fn record(&self, address: &ResourceInstance, d: &Decision) {
        lock(&self.by_address).insert(
            address.clone(),
            (d.action, d.before.clone(), Some(d.after.clone())),
        );
    }

    /// Why the instance must be replaced: `--replace` named it, or a trigger fired.
    pub fn force_replace(&self, requested: bool, triggers: &[Trigger]) -> Option<&'static str> {
        if requested {
            return Some("replace_by_request");
        }
        if triggers.is_empty() {
            return None;
        }
        let decided = lock(&self.by_address);
        let fired = triggers.iter().any(|t| {
            decided.iter().filter(|(a, _)| t.target.contains(a)).any(
                |(_, (action, before, after))| match &t.attribute {
                    None => matches!(
                        action,
                        Action::Update | Action::DeleteThenCreate | Action::CreateThenDelete
                    ),
                    Some(name) => {
                        *action != Action::Create && attribute_changed(before, after, name)
                    }
                },
            )
        });
        fired.then_some("replace_by_triggers")
    }
}

fn attribute_changed(before: &Option<Value>, after: &Option<Value>, name: &str) -> bool {
    let get = |v: &Option<Value>| match v.as_ref().map(|v| v.peel().0) {
        Some(Value::Object(m)) => m.get(name).cloned().unwrap_or_else(Value::null),
        _ => Value::null(),
    };
    let (b, a) = (get(before), get(after));
    !a.is_wholly_known() || b.deep_unmark().to_json() != a.deep_unmark().to_json()
}

/// ReadDataSource for one data source instance; its errors, placed at the block,
/// go to `diags` and the value is unknown.
pub async fn read_data(
    provider: &dyn Provider,
    resource: &Resource,
    address: &ResourceInstance,
    config: &Value,
    provider_meta: Option<&Value>,
    diags: &mut Diagnostics,
) -> Value {
    match provider
        .read_data(&resource.type_name, config, provider_meta)
        .await
    {
        Ok(v) => v.mark_paths(&config.sensitive_paths()),
        Err(d) => {
            diags.extend(about_instance(resource, address, d));
            Value::unknown()
        }
    }
}

/// A provider's diagnostics about one instance, placed at the attribute they name
/// (when the block writes it) or else at the block, and naming the instance.
pub fn about_instance(
    resource: &Resource,
    address: &ResourceInstance,
    diags: Diagnostics,
) -> Diagnostics {
    let mut out = Diagnostics::default();
    for mut d in diags.items {
        if d.span.is_none() {
            d.span = d
                .attribute
                .as_deref()
                .and_then(|path| resource.body.span_of(path))
                .or(Some(resource.span));
        }
        d.instance = Some(address.to_string().into());
        d.detail = if d.detail.is_empty() {
            format!("with {address}")
        } else {
            format!("{}\n\nwith {address}", d.detail)
        };
        out.push(d);
    }
    out
}

fn replace_action(r: &Resource) -> Action {
    if r.lifecycle.create_before_destroy {
        Action::CreateThenDelete
    } else {
        Action::DeleteThenCreate
    }
}

/// The attribute an `ignore_changes` entry names (`input`, or `tags["x"]` → `tags`).
fn ignored_name(e: &crate::config::Expr) -> Option<String> {
    use hcl_edit::expr::Expression;
    match &e.expr {
        Expression::Variable(v) => Some(v.as_str().to_string()),
        Expression::Traversal(t) => match &t.expr {
            Expression::Variable(v) => Some(v.as_str().to_string()),
            _ => None,
        },
        Expression::String(s) => Some(s.value().clone()),
        _ => None,
    }
}

/// `--target`: the instances a plan may touch — those under a target, and every
/// instance of the resources the targets depend on.
#[derive(Clone, Debug, Default)]
pub struct TargetScope {
    pub targets: Vec<Target>,
    /// Resources the targets depend on, per configuration module.
    pub dependencies: HashSet<(ModuleId, addrs::Resource)>,
    /// The dependencies are walked but keep their prior values: only the targets
    /// change.
    pub exact: bool,
}

impl TargetScope {
    /// Whether a block (resource or module call) is in scope: a target lies on its
    /// path or inside it, or the targets depend on it.
    pub fn wants(&self, module: ModuleId, path: &[String], block: &BlockName) -> bool {
        self.targets.iter().any(|t| t.touches_block(path, block))
            || matches!(block, BlockName::Resource(r) if self.dependencies.contains(&(module, r.clone())))
    }

    pub fn includes(&self, module: ModuleId, address: &ResourceInstance) -> bool {
        self.contains(address)
            || !self.exact
                && self
                    .dependencies
                    .contains(&(module, address.resource.clone()))
    }

    /// Whether a target names the instance or lies above it.
    pub fn contains(&self, address: &ResourceInstance) -> bool {
        self.targets.iter().any(|t| t.contains(address))
    }
}

/// Whether a `--target` scope (if any) covers the block.
pub fn scope_wants(
    targets: Option<&TargetScope>,
    module: ModuleId,
    path: &[String],
    block: &BlockName,
) -> bool {
    targets.is_none_or(|t| t.wants(module, path, block))
}

/// For an instance outside `--target`, the value state holds for it (the walk goes on
/// with it unchanged); `None` when the instance is in scope.
pub fn outside_targets(
    targets: Option<&TargetScope>,
    prior: &Snapshot,
    module: ModuleId,
    address: &ResourceInstance,
) -> Option<Value> {
    let t = targets?;
    (!t.includes(module, address)).then(|| prior_value(prior, &address.to_string()))
}

/// Builds the plan during the walk.
pub struct Planner<'s> {
    prior: &'s Snapshot,
    providers: &'s Providers,
    /// Renames from `moved` blocks: new address → old address.
    moved: HashMap<ResourceInstance, ResourceInstance>,
    replace: HashSet<ResourceInstance>,
    targets: Option<TargetScope>,
    seen: Mutex<HashSet<String>>,
    changes: Mutex<Vec<PlannedChange>>,
    reads: Mutex<Vec<DataRead>>,
    decided: Decided,
    dependencies: HashMap<(ModuleId, String), Vec<String>>,
    deferral: Option<&'s deferred::Deferral>,
}

impl<'s> Planner<'s> {
    pub fn new(
        prior: &'s Snapshot,
        providers: &'s Providers,
        moved: HashMap<ResourceInstance, ResourceInstance>,
        replace: HashSet<ResourceInstance>,
        targets: Option<TargetScope>,
    ) -> Planner<'s> {
        Planner {
            prior,
            providers,
            moved,
            replace,
            targets,
            seen: Mutex::new(HashSet::new()),
            changes: Mutex::new(Vec::new()),
            reads: Mutex::new(Vec::new()),
            decided: Decided::default(),
            dependencies: HashMap::new(),
            deferral: None,
        }
    }

    /// Which provider configurations are unknown: their instances, and what depends
    /// on them, are deferred instead of planned.
    pub fn with_deferral(mut self, deferral: &'s deferred::Deferral) -> Self {
        self.deferral = Some(deferral);
        self
    }

    /// What each resource depends on (as `apply` records it in state), so a data
    /// source that depends on a resource with a pending change is read during apply.
    pub fn with_dependencies(
        mut self,
        dependencies: HashMap<(ModuleId, String), Vec<String>>,
    ) -> Self {
        self.dependencies = dependencies;
        self
    }

    /// The data source instances read while planning, in address order.
    pub fn data_reads(&self) -> Vec<DataRead> {
        let mut reads = lock(&self.reads).clone();
        reads.sort_by_cached_key(|r| r.address.to_string());
        reads
    }

    /// Orphans: instances in state that the configuration no longer declares.
    pub fn finish(self, config: &crate::config::Config) -> Vec<PlannedChange> {
        let seen = self.seen.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut changes = self.changes.into_inner().unwrap_or_else(|e| e.into_inner());
        let renamed: HashSet<String> = self.moved.values().map(|a| a.to_string()).collect();
        let removed = RemovedRules::new(config);
        for (address, rs) in &self.prior.resources {
            if seen.contains(address) || renamed.contains(address) {
                continue;
            }
            // Every address of a prior state reads (`check_state_addresses`).
            let Ok(instance) = ResourceInstance::parse(address) else {
                continue;
            };
            if instance.resource.mode == crate::lang::refs::ResourceMode::Data {
                continue;
            }
            if self
                .targets
                .as_ref()
                .is_some_and(|t| !t.contains(&instance))
            {
                continue;
            }
            // An unconfigured provider cannot destroy its objects in this stage.
            if let Some(d) = self.deferral {
                let waiting = d
                    .unknown_providers()
                    .into_iter()
                    .find(|p| self.providers.address_of(&p.provider) == Some(rs.provider.as_str()));
                if let Some(p) = waiting {
                    d.defer(
                        &instance,
                        &rs.provider,
                        deferred::DeferReason::ProviderConfig(p),
                    );
                    continue;
                }
            }
            let declared = declared_resource(config, &instance).is_some();
            let by_key = matches!(instance.key, addrs::InstanceKey::Str(_));
            if !declared && removed.forgets(&instance) {
                changes.push(PlannedChange {
                    address: instance,
                    previous_address: None,
                    provider: rs.provider.clone(),
                    action: Action::Forget,
                    reason: None,
                    before: Some(state_value(rs)),
                    after: None,
                    replace_paths: Vec::new(),
                });
                continue;
            }
            changes.push(PlannedChange {
                address: instance,
                previous_address: None,
                provider: rs.provider.clone(),
                action: Action::Delete,
                reason: Some(match (declared, by_key) {
                    (false, _) => "delete_because_no_resource_config",
                    (true, true) => "delete_because_each_key",
                    (true, false) => "delete_because_count_index",
                }),
                before: Some(state_value(rs)),
                after: None,
                replace_paths: Vec::new(),
            });
        }
        changes
    }
}

/// An instance's value as state holds it, with its sensitive paths marked again, so
/// a secret stored last time is never printed as a "before" value.
pub fn state_value(rs: &plinth_state::ResourceState) -> Value {
    remark(Value::from_json(&rs.attributes), &rs.sensitive_paths)
}

/// Marks the values at `paths` sensitive (an empty path: the whole value), at any depth.
pub fn remark(v: Value, paths: &[Vec<serde_json::Value>]) -> Value {
    v.mark_paths(paths)
}

/// What an instance not being planned (outside `--target`) is as far as state knows.
pub fn prior_value(prior: &Snapshot, address: &str) -> Value {
    prior
        .resources
        .get(address)
        .map(state_value)
        .unwrap_or_else(Value::unknown)
}

/// Whether a state address is a data source's (`data.x.y`, `module.m.data.x.y`):
/// its last read, never destroyed, refreshed or planned against.
pub fn is_data_address(address: &str) -> bool {
    ResourceInstance::parse(address)
        .is_ok_and(|i| i.resource.mode == crate::lang::refs::ResourceMode::Data)
}

/// Refuses a prior state holding an address that does not read: every later step
/// reads state addresses as typed ones.
pub fn check_state_addresses(prior: &Snapshot) -> Diagnostics {
    let mut diags = Diagnostics::default();
    for address in prior.resources.keys() {
        if let Err(e) = ResourceInstance::parse(address) {
            diags.push(Diagnostic::error("Invalid address in state").detail(format!(
                "The state records a resource instance at {address:?}, which is not a resource instance address ({}). Nothing was planned; remove it with plinth state rm or recover the state.",
                e.why
            )));
        }
    }
    diags
}

/// The configuration block an instance address belongs to, in whichever module.
pub fn declared_resource<'c>(
    config: &'c crate::config::Config,
    address: &ResourceInstance,
) -> Option<&'c Resource> {
    let path = address.module.path();
    let module = config.modules.iter().find(|m| m.path == path)?;
    let r = &address.resource;
    module.resource(r.mode, &r.type_name, &r.name)
}

/// The error for a resource the engine has no provider for yet.
pub fn no_provider(resource: &Resource) -> Diagnostic {
    Diagnostic::error("Provider not available")
        .detail(format!(
            "{} needs a provider for {:?} that was not started. Declare it in required_providers and install it with plinth init.",
            resource.address(),
            resource.type_name
        ))
        .at(resource.span)
}

pub fn prevent_destroy(resource: &Resource, address: &impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error("Instance cannot be destroyed")
        .detail(format!(
            "Resource {address} has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed. To avoid this error and continue with the plan, either disable lifecycle.prevent_destroy or reduce the scope of the plan using the -target flag."
        ))
        .at(resource.span)
}

impl ResourceHandler for Planner<'_> {
    fn wants(&self, module: ModuleId, path: &[String], block: &BlockName) -> bool {
        scope_wants(self.targets.as_ref(), module, path, block)
    }

    fn provider_config(&self, module: ModuleId, local: &str, config: &Value) {
        // A root block known from state but unknown with this plan's values (what
        // it comes from is replaced): its instances wait for the next stage too.
        if let Some(d) = self.deferral.filter(|d| module == 0 && d.has_site(local)) {
            d.unknown_config(local, config, true);
        }
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
            let address = instance.to_string();
            let address = address.as_str();
            lock(&self.seen).insert(address.to_string());
            if let Some(v) = outside_targets(self.targets.as_ref(), self.prior, module, instance) {
                return (v, diags);
            }
            let Some((provider_address, provider)) = self.providers.for_resource(resource) else {
                diags.push(no_provider(resource));
                return (Value::unknown(), diags);
            };
            if let Some(d) = self.deferral {
                let key = Providers::config_key(resource);
                let deps = self.dependencies.get(&(module, resource.address()));
                if let Some(reason) = d.reason(instance, key.as_deref(), deps) {
                    d.defer(instance, provider_address, reason);
                    return (Value::unknown(), diags);
                }
            }
            if resource.mode == crate::lang::refs::ResourceMode::Data {
                let waits = self
                    .dependencies
                    .get(&(module, resource.address()))
                    .is_some_and(|deps| self.decided.any_change(deps));
                if config.is_wholly_known() && !waits {
                    let meta = self
                        .providers
                        .provider_meta(&instance.module, resource.provider_name());
                    let v =
                        read_data(provider, resource, instance, &config, meta, &mut diags).await;
                    lock(&self.reads).push(DataRead {
                        address: instance.clone(),
                        provider: provider_address.to_string(),
                        value: v.clone(),
                    });
                    // A check's data source is read again during apply, so its
                    // assertions run on fresh data (Terraform 1.5's reason).
                    if resource.check.is_some() {
                        let after = if diags.has_errors() {
                            config
                        } else {
                            v.clone()
                        };
                        lock(&self.changes).push(PlannedChange {
                            address: instance.clone(),
                            previous_address: None,
                            provider: provider_address.to_string(),
                            action: Action::Read,
                            reason: Some("read_because_check_nested"),
                            before: None,
                            after: Some(after),
                            replace_paths: Vec::new(),
                        });
                    }
                    return (v, diags);
                }
                lock(&self.changes).push(PlannedChange {
                    address: instance.clone(),
                    previous_address: None,
                    provider: provider_address.to_string(),
                    action: Action::Read,
                    reason: None,
                    before: None,
                    after: Some(config),
                    replace_paths: Vec::new(),
                });
                return (Value::unknown(), diags);
            }
            let previous = self.moved.get(instance).cloned();
            let prior_key = previous.as_ref().map(|p| p.to_string());
            let prior_address = prior_key.as_deref().unwrap_or(address);
            let prior_state = self.prior.resources.get(prior_address);
            let prior = prior_state.map(|rs| (state_value(rs), rs.private.as_slice()));
            let force = tainted(prior_state).or_else(|| {
                self.decided
                    .force_replace(self.replace.contains(instance), triggers)
            });
            let meta = self
                .providers
                .provider_meta(&instance.module, resource.provider_name());
            let mut decision = match decide(provider, resource, prior, config, force, meta).await {
                Ok(d) => d,
                Err(d) => {
                    diags.extend(about_instance(resource, instance, d));
                    return (Value::unknown(), diags);
                }
            };
            let warnings = std::mem::take(&mut decision.warnings);
            diags.extend(about_instance(resource, instance, warnings));
            self.decided.record(instance, &decision);
            if matches!(
                decision.action,
                Action::DeleteThenCreate | Action::CreateThenDelete
            ) && resource.lifecycle.prevent_destroy
            {
                diags.push(prevent_destroy(resource, instance));
            }
            lock(&self.changes).push(PlannedChange {
                address: instance.clone(),
                previous_address: previous,
                provider: provider_address.to_string(),
                action: decision.action,
                reason: decision.reason,
                before: decision.before,
                after: Some(decision.after.clone()),
                replace_paths: decision.replace_paths,
            });
            (decision.after, diags)
        })
    }
}
