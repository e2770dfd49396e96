//! Evaluating the graph: nodes in dependency order, each once per instance of the
//! module it lives in, with `count` and `for_each` expanded into instances. In
//! `validate` every value whose inputs are known is computed; resources are not
//! planned here, so their values are unknown of their schema's type.

use std::collections::{BTreeMap, HashMap};

use petgraph::graph::NodeIndex;

use super::{undeclared, Graph, NodeKind};
use crate::addrs::{self, BlockName, InstanceKey, ModuleInstance, ResourceInstance};
use crate::config::vars::InputValue;
use crate::config::{Body, Check, Config, Expr, ModuleId, Resource};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Sources, Span};
use crate::lang::convert::convert;
use crate::lang::refs::{Reference, ResourceMode, Subject};
use crate::lang::{Constraint, Evaluator, Scope, Type, Value};
use crate::plugin::{runtime, BoxFuture};
use crate::schema::{Nesting, Schema};

/// The most instances one resource or module call may expand to: far above any real
/// stack, low enough that a typo such as `count = 1e9` fails at once.
pub const MAX_INSTANCES: i64 = 100_000;

#[derive(Clone, Debug)]
pub struct WalkOptions {
    pub workspace: String,
    /// `path.cwd`.
    pub cwd: String,
    /// Whether a root variable without a value is an error (plan) or unknown (validate).
    pub require_root_vars: bool,
    /// At most this many handler calls at once; `None`: as many as the dependencies
    /// allow. A walk without a handler (validate) runs in order on one thread.
    pub concurrency: Option<usize>,
    /// Where resource schemas come from (built-in types and started plugins).
    pub providers: crate::plugin::Providers,
}

/// How many instances a resource or module call has.
#[derive(Clone, Debug, PartialEq)]
pub enum Expansion {
    Single,
    Count(usize),
    ForEach(BTreeMap<String, Value>),
    /// `count` or `for_each` is not known until apply.
    Unknown,
}

impl Expansion {
    /// Each instance's key with its `count.index` or `each` values.
    fn instances(&self) -> Vec<(InstanceKey, Repetition)> {
        match self {
            Expansion::Single => vec![(InstanceKey::None, Repetition::None)],
            Expansion::Count(n) => (0..*n)
                .map(|i| (InstanceKey::Int(i), Repetition::Count(Value::number(i))))
                .collect(),
            Expansion::ForEach(m) => m
                .iter()
                .map(|(k, v)| {
                    (
                        InstanceKey::Str(k.clone()),
                        Repetition::Each(Value::string(k.clone()), v.clone()),
                    )
                })
                .collect(),
            Expansion::Unknown => vec![(InstanceKey::Unknown, Repetition::Unknown)],
        }
    }

    /// The value a reference to the whole resource or call has, from one instance's.
    fn shape(&self, instance: impl Fn(&InstanceKey) -> Value) -> Value {
        match self {
            Expansion::Single => instance(&InstanceKey::None),
            Expansion::Count(n) => {
                Value::Tuple((0..*n).map(|i| instance(&InstanceKey::Int(i))).collect())
            }
            Expansion::ForEach(m) => Value::Object(
                m.keys()
                    .map(|k| (k.clone(), instance(&InstanceKey::Str(k.clone()))))
                    .collect(),
            ),
            Expansion::Unknown => Value::unknown(),
        }
    }
}

/// What `count.index` and `each` mean inside one instance.
#[derive(Clone, Debug)]
enum Repetition {
    None,
    Count(Value),
    Each(Value, Value),
    /// An instance of a resource whose `count`/`for_each` is unknown.
    Unknown,
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
}

impl Evaluation {
    pub fn root(&self) -> Option<&InstanceValues> {
        self.values.get(&ModuleInstance::root())
    }
}

/// One resource instance waiting for the handler.
struct Job {
    key: InstanceKey,
    address: ResourceInstance,
    config: Value,
    /// Whether to ask the handler (not when its configuration had errors, or its
    /// key is unknown).
    call: bool,
    triggers: Vec<Trigger>,
}

/// One `replace_triggered_by` entry of an instance, resolved: the instance it names
/// and, when it names an attribute, which. A change to that instance (or attribute)
/// replaces this one.
#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    /// The whole resource (`aws_instance.x`, every instance) or one instance.
    pub target: addrs::Target,
    pub attribute: Option<String>,
}

/// A resource node's evaluated instances, per module instance.
struct ResourceWork<'a> {
    m: ModuleId,
    resource: &'a Resource,
    ty: Type,
    parts: Vec<(ModuleInstance, Expansion, Vec<Job>)>,
}

/// Asks the handler about every instance of a resource node, all at once; `limit`
/// bounds how many calls run at a time across the whole walk (`--parallelism`). A
/// panicking call is reported as an error on its resource instead of ending the walk.
async fn run_calls(
    handler: &dyn ResourceHandler,
    work: &ResourceWork<'_>,
    limit: &tokio::sync::Semaphore,
) -> (Vec<Vec<Option<Value>>>, Diagnostics) {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    use futures_util::FutureExt;
    let mut results: Vec<Vec<Option<Value>>> = work
        .parts
        .iter()
        .map(|(_, _, jobs)| jobs.iter().map(|_| None).collect())
        .collect();
    let mut calls: FuturesUnordered<_> = work
        .parts
        .iter()
        .enumerate()
        .flat_map(|(p, (_, _, jobs))| jobs.iter().enumerate().map(move |(i, j)| (p, i, j)))
        .filter(|(_, _, j)| j.call)
        .map(|(p, i, job)| async move {
            // The semaphore is never closed, so acquiring can only wait.
            let _permit = limit.acquire().await.ok();
            let call = handler.instance(
                work.m,
                &job.address,
                work.resource,
                job.config.clone(),
                &job.triggers,
            );
            (
                p,
                i,
                std::panic::AssertUnwindSafe(call).catch_unwind().await,
            )
        })
        .collect();
    let mut diags = Diagnostics::default();
    while let Some((p, i, outcome)) = calls.next().await {
        match outcome {
            Ok((v, d)) => {
                results[p][i] = Some(v);
                diags.extend(d);
            }
            Err(_) => diags.push(Diagnostic::error("Internal error").detail(format!(
                "a provider call for {} panicked; it was not changed.",
                work.parts[p].2[i].address
            ))),
        }
    }
    (results, diags)
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
    };
    let _impure = crate::lang::functions::impure_known(handler.is_some_and(|h| h.applying()));
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
}

/// The scope of one expression: its module instance, and `count`/`each`/`self` where
/// the block allows them.
struct InstanceScope<'w, 'a> {
    walk: &'w Walk<'a>,
    module: ModuleId,
    instance: &'w ModuleInstance,
    repetition: Repetition,
    /// Inside a variable's `validation`: only that variable may be referenced.
    validating: Option<&'w str>,
}

impl Scope for InstanceScope<'_, '_> {
    fn resolve_indexed(&self, r: &Reference, key: &Value) -> Option<Value> {
        let Subject::Resource {
            mode,
            type_name,
            name,
        } = &r.subject
        else {
            return None;
        };
        if self.validating.is_some() {
            return None;
        }
        let values = self.walk.result.values.get(self.instance)?;
        let whole = values
            .resources
            .get(&resource_key(*mode, type_name, name))?;
        match (whole, key) {
            (Value::Tuple(elems), Value::Number(n)) => {
                let i = usize::try_from(n.to_i64()?).ok()?;
                elems.get(i).cloned()
            }
            (Value::Object(m), Value::String(k)) => m.get(k).cloned(),
            _ => None,
        }
    }

    fn resolve(&self, r: &Reference) -> Result<Value, Diagnostic> {
        let walk = self.walk;
        if let Some(name) = self.validating {
            if r.subject != Subject::Var(name.to_string()) {
                return Ok(Value::unknown());
            }
        }
        if let Some(d) = undeclared(walk.config, self.module, r) {
            return Err(d);
        }
        let values = walk.result.values.get(self.instance);
        let get = |map: Option<&HashMap<String, Value>>, key: &str| {
            map.and_then(|m| m.get(key))
                .cloned()
                .unwrap_or_else(Value::unknown)
        };
        match &r.subject {
            Subject::Var(n) => Ok(get(values.map(|v| &v.variables), n)),
            Subject::Local(n) => Ok(get(values.map(|v| &v.locals), n)),
            Subject::Resource { mode, type_name, name } => {
                let key = resource_key(*mode, type_name, name);
                Ok(get(values.map(|v| &v.resources), &key))
            }
            Subject::ModuleCall(n) => Ok(walk.module_call_value(self.module, self.instance, n)),
            Subject::CountIndex => match &self.repetition {
                Repetition::Count(i) => Ok(i.clone()),
                Repetition::Unknown => Ok(Value::Unknown(Type::Number)),
                _ => Err(Diagnostic::error("Reference to \"count\" in non-counted context")
                    .detail("The \"count\" object can only be used in \"module\", \"resource\", and \"data\" blocks, and only when the \"count\" argument is set.")
                    .at(r.span)),
            },
            Subject::EachKey | Subject::EachValue => match &self.repetition {
                Repetition::Each(k, v) => Ok(if r.subject == Subject::EachKey { k.clone() } else { v.clone() }),
                Repetition::Unknown if r.subject == Subject::EachKey => Ok(Value::Unknown(Type::String)),
                Repetition::Unknown => Ok(Value::unknown()),
                _ => Err(Diagnostic::error("Reference to \"each\" in context without for_each")
                    .detail("The \"each\" object can be used only in \"module\" or \"resource\" blocks, and only when the \"for_each\" argument is set.")
                    .at(r.span)),
            },
            Subject::Path(which) => Ok(Value::String(match which.as_str() {
                "module" => walk.module_path(self.module),
                "root" => ".".to_string(),
                _ => walk.options.cwd.clone(),
            })),
            Subject::TerraformWorkspace => Ok(Value::String(walk.options.workspace.clone())),
            Subject::SelfObject => Err(Diagnostic::error("Invalid \"self\" reference")
                .detail("The \"self\" object is only available in provisioner and connection blocks, and in a resource's postconditions.")
                .at(r.span)),
        }
    }
}

fn resource_key(mode: ResourceMode, type_name: &str, name: &str) -> String {
    match mode {
        ResourceMode::Managed => format!("{type_name}.{name}"),
        ResourceMode::Data => format!("data.{type_name}.{name}"),
    }
}

impl<'a> Walk<'a> {
    fn module_path(&self, m: ModuleId) -> String {
        let root = &self.config.modules[0].dir;
        let dir = &self.config.modules[m].dir;
        if m == 0 {
            return ".".into();
        }
        dir.strip_prefix(root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| dir.display().to_string())
    }

    fn scope<'s>(
        &'s self,
        module: ModuleId,
        instance: &'s ModuleInstance,
        repetition: Repetition,
    ) -> InstanceScope<'s, 'a> {
        InstanceScope {
            walk: self,
            module,
            instance,
            repetition,
            validating: None,
        }
    }

    fn eval(&self, e: &Expr, scope: &InstanceScope) -> Result<Value, Diagnostic> {
        Evaluator::new(e.file, &self.sources.get(e.file).text, scope).eval(&e.expr)
    }

    fn module_call_value(&self, module: ModuleId, instance: &ModuleInstance, name: &str) -> Value {
        let Some(call) = self.config.modules[module].module_call(name) else {
            return Value::unknown();
        };
        let Some(child) = call.child else {
            return Value::unknown();
        };
        let Some(expansion) = self
            .result
            .values
            .get(instance)
            .and_then(|v| v.call_expansions.get(name))
        else {
            return Value::unknown();
        };
        expansion.shape(|key| {
            let ci = instance.child(name, key.clone());
            let outputs = self.result.values.get(&ci).map(|v| &v.outputs);
            Value::Object(
                self.config.modules[child]
                    .outputs
                    .iter()
                    .map(|o| {
                        let v = outputs
                            .and_then(|m| m.get(&o.name))
                            .cloned()
                            .unwrap_or_else(Value::unknown);
                        (o.name.clone(), v)
                    })
                    .collect(),
            )
        })
    }

    /// The instances of a module: one for the root, and for a child one per instance
    /// of its call in each instance of the parent.
    fn instances_of(&mut self, m: ModuleId) -> Vec<ModuleInstance> {
        if let Some(v) = self.module_instances.get(&m) {
            return v.clone();
        }
        let module = &self.config.modules[m];
        let out = match (module.parent, module.path.last()) {
            (Some(parent), Some(call)) => {
                let mut out = Vec::new();
                for pi in self.instances_of(parent) {
                    let expansion = self
                        .result
                        .values
                        .get(&pi)
                        .and_then(|v| v.call_expansions.get(call))
                        .cloned()
                        .unwrap_or(Expansion::Unknown);
                    for (key, _) in expansion.instances() {
                        out.push(pi.child(call, key));
                    }
                }
                out
            }
            _ => vec![ModuleInstance::root()],
        };
        self.module_instances.insert(m, out.clone());
        out
    }

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

    /// For a resource node, its evaluated instances; `None` for other nodes.
    fn begin_resource(&mut self, graph: &Graph, ix: NodeIndex) -> Option<ResourceWork<'a>> {
        let node = &graph.inner[ix];
        let NodeKind::Resource(mode) = node.kind else {
            return None;
        };
        let config = self.config;
        let (type_name, rname) = node.name.split_once('.').unwrap_or((&node.name, ""));
        let r = config.modules[node.module].resource(mode, type_name, rname)?;
        Some(self.prepare_resource(node.module, r))
    }

    fn variable(&mut self, m: ModuleId, inst: &ModuleInstance, name: &str) {
        let config = self.config;
        let Some(var) = config.modules[m].variable(name) else {
            return;
        };
        // Where the value comes from: the root's inputs, or the parent's module call.
        let (raw, value_span): (Result<Option<Value>, Diagnostic>, Option<Span>) =
            match inst.parent() {
                None => match self.inputs.get(name) {
                    Some(input) => (input.value(self.sources).map(Some), input.span()),
                    None => (Ok(None), None),
                },
                Some((parent_inst, (call_name, key))) => {
                    let parent = config.modules[m].parent.unwrap_or(0);
                    let call = config.modules[parent].module_call(call_name);
                    match call.and_then(|c| c.inputs.iter().find(|i| i.name == name)) {
                        Some(input) => {
                            let expansion = self
                                .result
                                .values
                                .get(&parent_inst)
                                .and_then(|v| v.call_expansions.get(call_name.as_str()));
                            let repetition = match (key, expansion) {
                                (InstanceKey::Int(i), _) => Repetition::Count(Value::number(*i)),
                                (InstanceKey::Str(k), Some(Expansion::ForEach(map))) => {
                                    Repetition::Each(
                                        Value::string(k.clone()),
                                        map.get(k).cloned().unwrap_or_else(Value::unknown),
                                    )
                                }
                                (InstanceKey::Unknown, _) => Repetition::Unknown,
                                _ => Repetition::None,
                            };
                            let scope = self.scope(parent, &parent_inst, repetition);
                            (self.eval(&input.expr, &scope).map(Some), input.expr.span())
                        }
                        None => (Ok(None), None),
                    }
                }
            };
        let given = match raw {
            Ok(v) => v,
            Err(d) => {
                self.diags.push(d);
                self.values_mut(inst)
                    .variables
                    .insert(name.to_string(), Value::Unknown(var.constraint.to_type()));
                return;
            }
        };
        let default = || {
            var.default
                .as_ref()
                .and_then(|d| self.eval(d, &self.scope(m, inst, Repetition::None)).ok())
        };
        let (value, value_span) = match given {
            Some(v) if v.is_null() && !var.nullable => (default().unwrap_or(v), value_span),
            Some(v) => (v, value_span),
            None => match default() {
                Some(v) => (v, var.default.as_ref().and_then(Expr::span)),
                None if self.options.require_root_vars && inst.parent().is_none() => {
                    self.diags.push(
                        Diagnostic::error("No value for required variable")
                            .detail(format!("The root module input variable {name:?} is not set, and has no default value."))
                            .at(var.span)
                            .help(format!("Set it with --var {name}=VALUE, in terraform.tfvars, or with the environment variable PLINTH_VAR_{name}.")),
                    );
                    (Value::Unknown(var.constraint.to_type()), None)
                }
                None => (Value::Unknown(var.constraint.to_type()), None),
            },
        };
        let given_type = value.ty();
        let value = match convert(value, &var.constraint) {
            Ok(v) => v,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error("Invalid value for input variable")
                        .detail(format!(
                            "The given value is not suitable for var.{name} declared at {}: {e}.",
                            self.sources.location(var.span)
                        ))
                        .at(value_span.unwrap_or(var.span))
                        .help(format!(
                            "The type constraint is {}; the value given is {}.",
                            var.constraint,
                            given_type.describe()
                        )),
                );
                Value::Unknown(var.constraint.to_type())
            }
        };
        if value.is_null() && !var.nullable {
            self.diags.push(
                Diagnostic::error("Required variable not set")
                    .detail(format!("The variable {name:?} is required (nullable = false), but the given value is null."))
                    .at(value_span.unwrap_or(var.span)),
            );
        }
        let value = value.mark(var.sensitive);
        self.values_mut(inst)
            .variables
            .insert(name.to_string(), value);
        let mut diags = Diagnostics::default();
        for check in &var.validations {
            let mut scope = self.scope(m, inst, Repetition::None);
            scope.validating = Some(name);
            if let Some(message) = self.failed_check(check, &scope, &mut diags) {
                diags.push(
                    Diagnostic::error("Invalid value for variable")
                        .detail(format!(
                            "{message}\n\nThis was checked by the validation rule at {}.",
                            check
                                .condition
                                .span()
                                .map(|s| self.sources.location(s))
                                .unwrap_or_default()
                        ))
                        .at_opt(value_span.or(check.condition.span()))
                        .label(
                            check.condition.span().unwrap_or(var.span),
                            "validation rule",
                        ),
                );
            }
        }
        self.diags.extend(diags);
    }

    /// Evaluates a condition; returns the error message if it is known to be false.
    /// Errors evaluating it are reported and count as passing.
    fn failed_check(
        &self,
        check: &Check,
        scope: &InstanceScope,
        diags: &mut Diagnostics,
    ) -> Option<String> {
        let cond = match self.eval(&check.condition, scope) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let cond = match convert(cond.unmark().0, &Constraint::Bool) {
            Ok(c) => c,
            Err(e) => {
                diags.push(
                    Diagnostic::error("Invalid condition result")
                        .detail(format!("The condition must return a bool: {e}."))
                        .at_opt(check.condition.span()),
                );
                return None;
            }
        };
        if cond.as_bool() != Some(false) {
            return None;
        }
        let message = match self.eval(&check.error_message, scope) {
            Ok(v) if v.is_sensitive() => "(error message is sensitive)".to_string(),
            Ok(v) => v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| "(error message is not a known string)".into()),
            Err(d) => {
                diags.push(d);
                "(error message could not be evaluated)".into()
            }
        };
        Some(message)
    }

    fn output(&mut self, m: ModuleId, inst: &ModuleInstance, name: &str) {
        let Some(out) = self.config.modules[m].output(name) else {
            return;
        };
        let scope = self.scope(m, inst, Repetition::None);
        let mut value = match out.value.as_ref().map(|e| self.eval(e, &scope)) {
            Some(Ok(v)) => v,
            Some(Err(d)) => {
                self.diags.push(d);
                Value::unknown()
            }
            None => Value::null(),
        };
        if value.contains_sensitive() && !out.sensitive {
            self.diags.push(
                Diagnostic::error("Output refers to sensitive values")
                    .detail("To reduce the risk of accidentally exporting sensitive data that was intended to be only internal, plinth requires that any output containing sensitive data be explicitly marked as sensitive, to confirm your intent.")
                    .at_opt(out.value.as_ref().and_then(Expr::span))
                    .help("If you do intend to export this data, add sensitive = true to the output block."),
            );
        }
        if out.sensitive {
            value = value.sensitive();
        }
        let mut diags = Diagnostics::default();
        for check in &out.preconditions {
            let scope = self.scope(m, inst, Repetition::None);
            if let Some(message) = self.failed_check(check, &scope, &mut diags) {
                diags.push(
                    Diagnostic::error("Module output value precondition failed")
                        .detail(message)
                        .at_opt(check.condition.span()),
                );
            }
        }
        self.diags.extend(diags);
        self.values_mut(inst)
            .outputs
            .insert(name.to_string(), value);
    }

    /// When planning or applying, an expansion only apply could tell is an error for
    /// a block the handler works on: planning nothing for it would make its existing
    /// instances look removed. `prefix` + `local` is the block's address.
    fn require_known(
        &self,
        expansion: Expansion,
        count: Option<&Expr>,
        for_each: Option<&Expr>,
        module: ModuleId,
        block: &BlockName,
    ) -> Result<Expansion, Diagnostic> {
        let wanted = self
            .handler
            .as_ref()
            .is_some_and(|h| h.wants(module, &self.config.modules[module].path, block));
        if expansion != Expansion::Unknown || !wanted {
            return Ok(expansion);
        }
        let (what, e) = match (count, for_each) {
            (Some(e), _) => ("count", e),
            (_, Some(e)) => ("for_each", e),
            _ => return Ok(expansion),
        };
        Err(Diagnostic::error(format!("Invalid {what} argument"))
            .detail(format!(
                "The \"{what}\" value depends on values that cannot be determined until apply, so plinth cannot predict how many instances will be created."
            ))
            .at_opt(e.span())
            .help("Apply the resources it depends on first with --target, or compute it from values known before apply."))
    }

    fn expand(
        &self,
        count: Option<&Expr>,
        for_each: Option<&Expr>,
        scope: &InstanceScope,
    ) -> Result<Expansion, Diagnostic> {
        if let Some(e) = count {
            let v = self.eval(e, scope)?;
            let bad = |detail: &str| {
                Diagnostic::error("Invalid count argument")
                    .detail(detail.to_string())
                    .at_opt(e.span())
            };
            if v.is_sensitive() {
                return Err(bad("Sensitive values, or values derived from sensitive values, cannot be used as count arguments."));
            }
            if v.is_null() {
                return Err(bad(
                    "The given \"count\" argument value is null. An integer is required.",
                ));
            }
            if !v.is_known() {
                return Ok(Expansion::Unknown);
            }
            let n = convert(v, &Constraint::Number).map_err(|err| {
                bad(&format!(
                    "The given \"count\" argument value is unsuitable: {err}."
                ))
            })?;
            let n = n.as_number().and_then(|n| n.to_i64()).ok_or_else(|| {
                bad("The given \"count\" argument value is unsuitable: must be a whole number.")
            })?;
            if n < 0 {
                return Err(bad("The given \"count\" argument value is unsuitable: must be greater than or equal to zero."));
            }
            if n > MAX_INSTANCES {
                return Err(bad(&format!(
                    "The given \"count\" argument value is unsuitable: {n} instances of one block is more than plinth's limit of {MAX_INSTANCES}."
                )));
            }
            return Ok(Expansion::Count(n as usize));
        }
        let Some(e) = for_each else {
            return Ok(Expansion::Single);
        };
        let v = self.eval(e, scope)?;
        let bad = |detail: String| {
            Diagnostic::error("Invalid for_each argument")
                .detail(detail)
                .at_opt(e.span())
        };
        if v.contains_sensitive() {
            return Err(bad("Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments.".into()));
        }
        if v.is_null() {
            return Err(bad("The given \"for_each\" argument value is unsuitable: the given \"for_each\" argument value is null. A map, or set of strings is allowed.".into()));
        }
        match v {
            Value::Unknown(_) => Ok(Expansion::Unknown),
            Value::Map(_, m) | Value::Object(m) => Ok(Expansion::ForEach(m)),
            Value::Set(t, elems) => {
                if !matches!(t, Type::String | Type::Dynamic) {
                    return Err(bad(format!("The given \"for_each\" argument value is unsuitable: \"for_each\" supports maps and sets of strings, but you have provided a set containing type {}.", t.friendly_name())));
                }
                let mut map = BTreeMap::new();
                for el in elems {
                    match el {
                        Value::String(s) => {
                            map.insert(s.clone(), Value::String(s));
                        }
                        Value::Unknown(_) => return Ok(Expansion::Unknown),
                        _ => return Err(bad("The given \"for_each\" argument value is unsuitable: \"for_each\" sets must not contain null values.".into())),
                    }
                }
                Ok(Expansion::ForEach(map))
            }
            other => Err(bad(format!(
                "The given \"for_each\" argument value is unsuitable: the \"for_each\" argument must be a map, or set of strings, and you have provided a value of type {}.",
                other.ty().friendly_name()
            ))
            .help("Convert a list of strings with toset(), or build a map with a for expression.")),
        }
    }

    /// Reads a `replace_triggered_by` entry: a reference to a managed resource, one of
    /// its instances (the key may use `count.index` or `each.key`), or an attribute.
    fn trigger(
        &self,
        e: &Expr,
        scope: &InstanceScope,
        inst: &ModuleInstance,
    ) -> Result<Trigger, Diagnostic> {
        use hcl_edit::expr::{Expression, TraversalOperator};
        use hcl_edit::Span as _;
        let invalid = || {
            Diagnostic::error("Invalid replace_triggered_by expression")
                .detail("replace_triggered_by entries must be references to managed resources, their instances, or their attributes.")
                .at_opt(e.expr.span().map(|r| Span::new(e.file, r)))
        };
        let (root, ops) = match &e.expr {
            Expression::Traversal(t) => match &t.expr {
                Expression::Variable(v) => (v, t.operators.as_slice()),
                _ => return Err(invalid()),
            },
            _ => return Err(invalid()),
        };
        let root_span = root
            .span()
            .map(|r| Span::new(e.file, r))
            .ok_or_else(invalid)?;
        let reference = crate::lang::refs::parse_reference(root.as_str(), root_span, ops, e.file)?;
        if let Some(d) = undeclared(self.config, scope.module, &reference) {
            return Err(d);
        }
        let Subject::Resource {
            mode: ResourceMode::Managed,
            type_name,
            name,
        } = &reference.subject
        else {
            return Err(invalid());
        };
        let resource = addrs::Resource::managed(type_name, name).in_module(inst);
        let mut rest = &ops[reference.ops_consumed..];
        let key = match rest.first().map(|op| op.value()) {
            Some(TraversalOperator::Index(ix)) => {
                rest = &rest[1..];
                Some(Evaluator::new(e.file, &self.sources.get(e.file).text, scope).eval(ix)?)
            }
            Some(TraversalOperator::LegacyIndex(n)) => {
                rest = &rest[1..];
                Some(Value::number(*n.value() as usize))
            }
            _ => None,
        };
        let target = match key.map(|k| k.peel().0.clone()) {
            Some(Value::Number(n)) => {
                let i = n.to_i64().and_then(|i| usize::try_from(i).ok());
                addrs::Target::Instance(resource.instance(InstanceKey::Int(i.ok_or_else(invalid)?)))
            }
            Some(Value::String(k)) => {
                addrs::Target::Instance(resource.instance(InstanceKey::Str(k)))
            }
            Some(_) => return Err(invalid()),
            None => addrs::Target::Resource(resource),
        };
        let attribute = match rest.first().map(|op| op.value()) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str().to_string()),
            _ => None,
        };
        Ok(Trigger { target, attribute })
    }

    /// Evaluates a resource node's instances in every instance of its module: the
    /// first half of handling it; the handler's calls and [`Walk::finish_resource`]
    /// follow.
    fn prepare_resource(&mut self, m: ModuleId, r: &'a Resource) -> ResourceWork<'a> {
        let schema = match r.mode {
            ResourceMode::Data => self.options.providers.data_schema(&r.type_name),
            ResourceMode::Managed => self.options.providers.resource_schema(&r.type_name),
        };
        let ty = schema.map_or(Type::Dynamic, Schema::implied_type);
        let block = BlockName::Resource(r.addr());
        let mut parts = Vec::new();
        for inst in self.instances_of(m) {
            let scope = self.scope(m, &inst, Repetition::None);
            let expansion = self
                .expand(r.count.as_ref(), r.for_each.as_ref(), &scope)
                .and_then(|e| {
                    self.require_known(e, r.count.as_ref(), r.for_each.as_ref(), m, &block)
                })
                .unwrap_or_else(|d| {
                    self.diags.push(d);
                    Expansion::Unknown
                });
            let mut diags = Diagnostics::default();
            let mut jobs = Vec::new();
            for (instance_key, repetition) in expansion.instances() {
                let scope = self.scope(m, &inst, repetition);
                let before = diags.errors().count();
                let config = self.body(&r.body, schema, &scope, &mut Vec::new(), &mut diags);
                for check in &r.lifecycle.preconditions {
                    if let Some(message) = self.failed_check(check, &scope, &mut diags) {
                        diags.push(
                            Diagnostic::error("Resource precondition failed")
                                .detail(message)
                                .at_opt(check.condition.span()),
                        );
                    }
                }
                let mut triggers = Vec::new();
                for e in &r.lifecycle.replace_triggered_by {
                    match self.trigger(e, &scope, &inst) {
                        Ok(t) => triggers.push(t),
                        Err(d) => diags.push(d),
                    }
                }
                let call = self.handler.is_some()
                    && instance_key != InstanceKey::Unknown
                    && diags.errors().count() == before;
                let address = r.addr().in_module(&inst).instance(instance_key.clone());
                jobs.push(Job {
                    key: instance_key,
                    address,
                    config,
                    call,
                    triggers,
                });
            }
            // An instance whose configuration had errors stops its siblings' calls too.
            if diags.has_errors() {
                for j in &mut jobs {
                    j.call = false;
                }
            }
            self.diags.extend(diags);
            parts.push((inst, expansion, jobs));
        }
        ResourceWork {
            m,
            resource: r,
            ty,
            parts,
        }
    }

    /// Stores what the handler decided for each instance (`results[part][job]`).
    fn finish_resource(
        &mut self,
        work: ResourceWork<'a>,
        results: Vec<Vec<Option<Value>>>,
        diags: Diagnostics,
    ) {
        self.diags.extend(diags);
        let key = work.resource.address();
        for ((inst, expansion, jobs), values) in work.parts.into_iter().zip(results) {
            let mut instance_values: HashMap<InstanceKey, Value> = HashMap::new();
            for (job, value) in jobs.into_iter().zip(values) {
                let value = value.unwrap_or_else(|| Value::Unknown(work.ty.clone()));
                instance_values.insert(job.key, value);
                self.result.resource_configs.insert(job.address, job.config);
            }
            let value = expansion.shape(|k| {
                instance_values
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| Value::Unknown(work.ty.clone()))
            });
            let values = self.values_mut(&inst);
            values.resources.insert(key.clone(), value);
            values.resource_expansions.insert(key.clone(), expansion);
        }
    }

    /// Evaluates a block body into an object: arguments by name, nested blocks as
    /// lists of objects, `dynamic` blocks expanded. With a schema, names and types are
    /// checked against it.
    fn body(
        &self,
        body: &Body,
        schema: Option<&Schema>,
        scope: &InstanceScope,
        bindings: &mut Vec<(String, Value)>,
        diags: &mut Diagnostics,
    ) -> Value {
        let mut out = BTreeMap::new();
        let eval = |e: &Expr, bindings: &Vec<(String, Value)>| {
            let mut ev = Evaluator::new(e.file, &self.sources.get(e.file).text, scope);
            for (n, v) in bindings {
                ev.bind(n, v.clone());
            }
            ev.eval(&e.expr)
        };
        for a in &body.attrs {
            let attr_schema = schema.map(|s| s.attributes.get(&a.name));
            if let Some(None)
            | Some(Some(crate::schema::AttributeSchema {
                required: false,
                optional: false,
                ..
            })) = attr_schema
            {
                let valid = schema.map(Schema::argument_names).unwrap_or_default();
                let computed_only = matches!(attr_schema, Some(Some(_)));
                diags.push(
                    Diagnostic::error(if computed_only { "Value for unconfigurable attribute" } else { "Unsupported argument" })
                        .detail(if computed_only {
                            format!("Can't configure a value for {:?}: its value will be decided automatically based on the result of applying this configuration.", a.name)
                        } else {
                            format!("An argument named {:?} is not expected here.", a.name)
                        })
                        .at(a.name_span)
                        .help_opt(did_you_mean(&a.name, valid.iter().copied()).or_else(|| Some(format!("Valid arguments here are: {}.", valid.join(", "))))),
                );
                continue;
            }
            let value = match eval(&a.expr, bindings) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d);
                    Value::unknown()
                }
            };
            let value = match attr_schema.flatten() {
                Some(s) => convert(value, &Constraint::from_type(&s.ty)).unwrap_or_else(|e| {
                    diags.push(
                        Diagnostic::error("Incorrect attribute value type")
                            .detail(format!(
                                "Inappropriate value for attribute {:?}: {e}.",
                                a.name
                            ))
                            .at_opt(a.expr.span()),
                    );
                    Value::unknown()
                }),
                None => value,
            };
            out.insert(a.name.clone(), value);
        }
        if let Some(s) = schema {
            for (name, a) in &s.attributes {
                if a.required && !out.contains_key(name) {
                    diags.push(
                        Diagnostic::error("Missing required argument")
                            .detail(format!(
                                "The argument {name:?} is required, but no definition was found."
                            ))
                            .at_opt(body.blocks.first().map(|b| b.span)),
                    );
                }
            }
        }
        let mut blocks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown_blocks: Vec<String> = Vec::new();
        for b in &body.blocks {
            let (kind, is_dynamic) = if b.kind == "dynamic" {
                (b.labels.first().cloned().unwrap_or_default(), true)
            } else {
                (b.kind.clone(), false)
            };
            let nested = match schema {
                Some(s) => match s.blocks.get(&kind) {
                    Some(n) => Some(n),
                    None => {
                        diags.push(
                            Diagnostic::error("Unsupported block type")
                                .detail(format!("Blocks of type {kind:?} are not expected here."))
                                .at(b.span)
                                .help_opt(did_you_mean(&kind, s.blocks.keys().map(String::as_str))),
                        );
                        continue;
                    }
                },
                None => None,
            };
            let nested_schema = nested.map(|n| &n.block);
            if !is_dynamic {
                let v = self.body(&b.body, nested_schema, scope, bindings, diags);
                blocks.entry(kind).or_default().push(v);
                continue;
            }
            match self.dynamic_block(b, &kind, nested_schema, scope, bindings, diags) {
                Some(values) => blocks.entry(kind).or_default().extend(values),
                None => unknown_blocks.push(kind),
            }
        }
        for (kind, values) in blocks {
            let nesting = schema.and_then(|s| s.blocks.get(&kind)).map(|n| n.nesting);
            let v = match nesting {
                Some(Nesting::Single | Nesting::Group) => {
                    values.into_iter().next().unwrap_or_else(Value::null)
                }
                _ => Value::Tuple(values),
            };
            out.insert(kind, v);
        }
        for kind in unknown_blocks {
            out.insert(kind, Value::unknown());
        }
        Value::Object(out)
    }

    /// Expands a `dynamic` block: one block of content per element of `for_each`,
    /// with the iterator bound. `None` when `for_each` is unknown.
    fn dynamic_block(
        &self,
        b: &crate::config::NestedBlock,
        kind: &str,
        schema: Option<&Schema>,
        scope: &InstanceScope,
        bindings: &mut Vec<(String, Value)>,
        diags: &mut Diagnostics,
    ) -> Option<Vec<Value>> {
        let mut for_each = None;
        let mut iterator = kind.to_string();
        for a in &b.body.attrs {
            match a.name.as_str() {
                "for_each" => for_each = Some(&a.expr),
                "iterator" => match &a.expr.expr {
                    hcl_edit::expr::Expression::Variable(v) => iterator = v.as_str().to_string(),
                    _ => diags.push(
                        Diagnostic::error("Invalid dynamic iterator name")
                            .detail("The iterator argument must be a single name, such as iterator = rule.")
                            .at_opt(a.expr.span()),
                    ),
                },
                "labels" => {}
                other => diags.push(
                    Diagnostic::error("Unsupported argument")
                        .detail(format!("An argument named {other:?} is not expected in a dynamic block."))
                        .at(a.name_span)
                        .help("A dynamic block takes for_each, iterator, labels and one content block."),
                ),
            }
        }
        let contents: Vec<&crate::config::NestedBlock> = b
            .body
            .blocks
            .iter()
            .filter(|c| c.kind == "content")
            .collect();
        for other in b.body.blocks.iter().filter(|c| c.kind != "content") {
            diags.push(
                Diagnostic::error("Unsupported block type")
                    .detail(format!("Blocks of type {:?} are not expected in a dynamic block; put them inside its content block.", other.kind))
                    .at(other.span),
            );
        }
        let Some(for_each) = for_each else {
            diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("The argument \"for_each\" is required in a dynamic block.")
                    .at(b.span),
            );
            return Some(Vec::new());
        };
        let [content] = contents.as_slice() else {
            diags.push(
                Diagnostic::error(if contents.is_empty() {
                    "Missing content block"
                } else {
                    "Duplicate content block"
                })
                .detail("A dynamic block must have exactly one nested block of type \"content\".")
                .at(b.span),
            );
            return Some(Vec::new());
        };
        let mut ev = Evaluator::new(for_each.file, &self.sources.get(for_each.file).text, scope);
        for (n, v) in bindings.iter() {
            ev.bind(n, v.clone());
        }
        let collection = match ev.eval(&for_each.expr) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                return None;
            }
        };
        let (collection, marked) = collection.unmark();
        let items: Vec<(Value, Value)> = match collection {
            Value::Unknown(_) => return None,
            Value::Null(_) => {
                diags.push(
                    Diagnostic::error("Invalid dynamic for_each value")
                        .detail("Cannot use a null value in for_each.")
                        .at_opt(for_each.span()),
                );
                return Some(Vec::new());
            }
            Value::List(_, e) | Value::Tuple(e) => e
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::number(i), v))
                .collect(),
            Value::Set(_, e) => e.into_iter().map(|v| (v.clone(), v)).collect(),
            Value::Map(_, m) | Value::Object(m) => {
                m.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
            }
            other => {
                diags.push(
                    Diagnostic::error("Invalid dynamic for_each value")
                        .detail(format!("Cannot use a {} value in for_each. An iterable collection is required.", other.ty().friendly_name()))
                        .at_opt(for_each.span()),
                );
                return Some(Vec::new());
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (k, v) in items {
            let it = Value::Object(
                [
                    ("key".to_string(), k.mark(marked)),
                    ("value".to_string(), v.mark(marked)),
                ]
                .into(),
            );
            bindings.push((iterator.clone(), it));
            out.push(self.body(&content.body, schema, scope, bindings, diags));
            bindings.pop();
        }
        Some(out)
    }
}
