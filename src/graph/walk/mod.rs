//! Evaluating the graph: nodes in dependency order, each once per instance of the
//! module it lives in, with `count` and `for_each` expanded into instances. In
//! `validate` every value whose inputs are known is computed; resources are not
//! planned here, so their values are unknown of their schema's type.

mod body;
mod checks;
mod expand;
mod module;
mod resource;
mod scope;
mod trigger;

use std::collections::{BTreeMap, HashMap};

use petgraph::graph::NodeIndex;

use crate::addrs::{BlockName, ModuleInstance, ResourceInstance};
use crate::config::vars::InputValue;
use crate::config::{Config, ModuleId, Resource};
use crate::diag::{Diagnostics, Sources};
use crate::graph::{Graph, NodeKind};
use crate::lang::Value;
use crate::plugin::{runtime, BoxFuture};

pub use checks::{CheckObject, CheckResult, CheckStatus};
pub use expand::{Expansion, MAX_INSTANCES};
pub use trigger::Trigger;

use resource::run_calls;
use scope::Repetition;

#[derive(Clone, Debug)]
pub struct WalkOptions {
    pub workspace: String,
    /// `path.cwd`.
    pub cwd: String,
    /// Whether a root variable without a value is an error (plan) or unknown (validate).
    pub require_root_vars: bool,
    /// Terraform's `validate` semantics: every module's input variables (the root's
    /// too) are unknowns of their declared types, `count` and `for_each` are checked
    /// but not expanded (each block is one instance of unknown key), and
    /// preconditions, postconditions and validation rules are evaluated for errors
    /// only, never reported as failed.
    pub validate: bool,
    /// At most this many handler calls at once; `None`: as many as the dependencies
    /// allow. A walk without a handler (validate) runs in order on one thread.
    pub concurrency: Option<usize>,
    /// Where resource schemas come from (built-in types and started plugins).
    pub providers: crate::plugin::Providers,
    /// When the plan was made (RFC 3339): what `plantimestamp()` gives in a walk
    /// with a handler (plan, apply); a walk without one (validate) leaves it unknown.
    pub plan_time: String,
}

/// The values of one module instance.
#[derive(Default, Debug)]
pub struct InstanceValues {
    pub variables: HashMap<String, Value>,
    pub locals: HashMap<String, Value>,
    pub outputs: HashMap<String, Value>,
    /// Keyed by `type.name` (`data.type.name` for data sources).
    pub resources: HashMap<String, Value>,
    pub resource_expansions: BTreeMap<String, Expansion>,
    pub call_expansions: HashMap<String, Expansion>,
}

/// The result of a walk: every value computed, and each resource instance's evaluated
/// configuration by address.
#[derive(Default)]
pub struct Evaluation {
    pub values: HashMap<ModuleInstance, InstanceValues>,
    pub resource_configs: BTreeMap<ResourceInstance, Value>,
    /// Each provider block's evaluated configuration, by module and local address
    /// (`aws` or `aws.west`).
    pub provider_configs: HashMap<(ModuleId, String), Value>,
    /// The results of variable validations, preconditions and `check` blocks, in
    /// the order the walk evaluated them.
    pub checks: Vec<CheckResult>,
}

impl Evaluation {
    pub fn root(&self) -> Option<&InstanceValues> {
        self.values.get(&ModuleInstance::root())
    }
}

/// Decides the value of each resource instance once its configuration is evaluated:
/// a planner asks the provider what will change, an applier makes the change. Without
/// one (validate) every resource is unknown of its schema's type.
pub trait ResourceHandler: Sync {
    /// The value dependents see for `address`, given its evaluated configuration,
    /// with the diagnostics of working it out.
    fn instance<'a>(
        &'a self,
        module: ModuleId,
        address: &'a ResourceInstance,
        resource: &'a Resource,
        config: Value,
        triggers: &'a [Trigger],
    ) -> BoxFuture<'a, (Value, Diagnostics)>;

    /// Whether the handler works on the block `block` of the configuration module
    /// `module` (at `path`): false outside `--target`.
    fn wants(&self, _module: ModuleId, _path: &[String], _block: &BlockName) -> bool {
        true
    }

    /// A provider block's configuration as this walk evaluated it (called before
    /// any instance that uses it).
    fn provider_config(&self, _module: ModuleId, _local: &str, _config: &Value) {}

    /// Whether this walk changes the world (apply): then impure functions such as
    /// `timestamp()` give values; in validate and plan they are unknown.
    fn applying(&self) -> bool {
        false
    }
}

pub fn evaluate(
    config: &Config,
    graph: &Graph,
    sources: &Sources,
    inputs: &HashMap<String, InputValue>,
    options: &WalkOptions,
) -> (Evaluation, Diagnostics) {
    evaluate_with(config, graph, sources, inputs, options, None)
}

pub fn evaluate_with<'a>(
    config: &'a Config,
    graph: &Graph,
    sources: &'a Sources,
    inputs: &'a HashMap<String, InputValue>,
    options: &'a WalkOptions,
    handler: Option<&'a dyn ResourceHandler>,
) -> (Evaluation, Diagnostics) {
    let mut walk = Walk {
        config,
        sources,
        inputs,
        options,
        result: Evaluation::default(),
        module_instances: HashMap::new(),
        diags: Diagnostics::default(),
        handler,
        failed_scoped_reads: HashMap::new(),
    };
    let _impure = crate::lang::functions::impure_known(handler.is_some_and(|h| h.applying()));
    let _plan_time = crate::lang::functions::plan_time(handler.map(|_| options.plan_time.clone()));
    match walk.handler {
        Some(handler) => {
            let limit = options.concurrency.unwrap_or(usize::MAX);
            runtime().block_on(walk.concurrently(graph, handler, limit));
        }
        None => {
            for ix in graph.evaluation_order() {
                walk.node(graph, ix);
            }
        }
    }
    // Validate does not run check blocks: Terraform evaluates them in plan and apply.
    if walk.handler.is_some() {
        walk.check_blocks();
    }
    (walk.result, walk.diags)
}

struct Walk<'a> {
    config: &'a Config,
    sources: &'a Sources,
    inputs: &'a HashMap<String, InputValue>,
    options: &'a WalkOptions,
    result: Evaluation,
    module_instances: HashMap<ModuleId, Vec<ModuleInstance>>,
    diags: Diagnostics,
    handler: Option<&'a dyn ResourceHandler>,
    /// The `check` blocks (by module) whose scoped data source could not be read,
    /// with the first error's text.
    failed_scoped_reads: HashMap<(ModuleId, String), String>,
}

impl<'a> Walk<'a> {
    fn values_mut(&mut self, inst: &ModuleInstance) -> &mut InstanceValues {
        self.result.values.entry(inst.clone()).or_default()
    }

    /// Evaluates one node; a resource node's instances are all unknown (no handler).
    fn node(&mut self, graph: &Graph, ix: NodeIndex) {
        if let Some(work) = self.begin_resource(graph, ix) {
            let none = work
                .parts
                .iter()
                .map(|(_, _, jobs)| jobs.iter().map(|_| None).collect())
                .collect();
            self.finish_resource(work, none, Diagnostics::default());
            return;
        }
        let node = &graph.inner[ix];
        let m = node.module;
        let name = node.name.clone();
        let config = self.config;
        let module = &config.modules[m];
        for inst in self.instances_of(m) {
            match &node.kind {
                NodeKind::Variable => self.variable(m, &inst, &name),
                NodeKind::Local => {
                    let Some(local) = module.local(&name) else {
                        continue;
                    };
                    let scope = self.scope(m, &inst, Repetition::None);
                    let value = self.eval(&local.expr, &scope).unwrap_or_else(|d| {
                        self.diags.push(d);
                        Value::unknown()
                    });
                    self.values_mut(&inst).locals.insert(name.clone(), value);
                }
                NodeKind::Output => self.output(m, &inst, &name),
                NodeKind::Resource(_) => {}
                NodeKind::ModuleCall => {
                    let Some(call) = module.module_call(&name) else {
                        continue;
                    };
                    let scope = self.scope(m, &inst, Repetition::None);
                    let expansion = self
                        .expand(call.count.as_ref(), call.for_each.as_ref(), &scope)
                        .and_then(|e| {
                            self.require_known(
                                e,
                                call.count.as_ref(),
                                call.for_each.as_ref(),
                                m,
                                &BlockName::ModuleCall(name.to_string()),
                            )
                        });
                    let expansion = expansion.unwrap_or_else(|d| {
                        self.diags.push(d);
                        Expansion::Unknown
                    });
                    self.values_mut(&inst)
                        .call_expansions
                        .insert(name.clone(), expansion);
                }
                NodeKind::Provider => {
                    let Some(p) = module.providers.iter().find(|p| p.local_address() == name)
                    else {
                        continue;
                    };
                    let scope = self.scope(m, &inst, Repetition::None);
                    let mut diags = Diagnostics::default();
                    let schema = self.options.providers.provider_schema(&p.name);
                    let value = self.body(&p.body, schema, &scope, &mut Vec::new(), &mut diags);
                    self.diags.extend(diags);
                    if let Some(h) = self.handler {
                        h.provider_config(m, &name, &value);
                    }
                    self.result
                        .provider_configs
                        .insert((m, name.clone()), value);
                    // Provider configurations are per module, not per instance.
                    break;
                }
            }
        }
    }

    /// Walks the graph starting each node as soon as its dependencies are done:
    /// evaluation stays on this task, the handler's calls for a resource node run
    /// concurrently with everything else, and their results are stored when they
    /// come back.
    async fn concurrently(
        &mut self,
        graph: &Graph,
        handler: &'a dyn ResourceHandler,
        limit: usize,
    ) {
        use futures_util::stream::{FuturesUnordered, StreamExt};
        // Breadth first: nodes start in the order they became ready.
        let mut ready = graph.schedule(graph.evaluation_order());
        let limit = tokio::sync::Semaphore::new(limit.min(tokio::sync::Semaphore::MAX_PERMITS));
        let limit = &limit;
        let mut in_flight = FuturesUnordered::new();
        loop {
            while let Some(ix) = ready.pop_front() {
                match self.begin_resource(graph, ix) {
                    Some(work) => in_flight.push(async move {
                        let (results, diags) = run_calls(handler, &work, limit).await;
                        (ix, work, results, diags)
                    }),
                    None => {
                        self.node(graph, ix);
                        ready.done(&ix);
                    }
                }
            }
            let Some((ix, work, results, diags)) = in_flight.next().await else {
                break;
            };
            self.finish_resource(work, results, diags);
            ready.done(&ix);
        }
    }
}
