//! What Terraform's JSON plan shows beside the changes, gathered while planning:
//! `configuration` (each module's provider configurations, variables, outputs,
//! resources and module calls, every argument as a `constant_value` or the
//! `references` it reads, in Terraform's spelling), the state planned from, and the
//! schema versions and configuration marks `planned_values` needs ([`context`]).

use std::collections::{BTreeMap, HashMap};

use hcl_edit::expr::{Expression, TraversalOperator};
use plinth_state::{ResourceState, Snapshot};
use serde_json::{json, Map, Value as J};

use super::json::{schema_key, Context};
use super::json_state;
use super::{DataRead, PlannedChange};
use crate::addrs::InstanceKey;
use crate::config::vars::InputValue;
use crate::config::{Body, Config, Expr, Module, ModuleId, Resource};
use crate::diag::Diagnostic;
use crate::diag::Sources;
use crate::graph::walk::Evaluation;
use crate::lang::refs::{visit_references, Ops, Reference, ResourceMode, Subject};
use crate::lang::{Evaluator, Scope, Value};
use crate::plugin::discovery::SourceAddress;
use crate::plugin::Providers;
use crate::schema::{Nesting, Schema};

/// What planning knew, for the JSON plan: `refreshed` is the state the plan compared
/// with, `reads` the data sources read while planning, `outputs` the root outputs
/// (sensitive ones marked), `drift` what changed outside plinth.
pub struct Planned<'a> {
    pub refreshed: &'a Snapshot,
    pub reads: &'a [DataRead],
    pub outputs: &'a BTreeMap<String, Value>,
    pub evaluation: Option<&'a Evaluation>,
    pub drift: &'a [PlannedChange],
    pub targeted: bool,
    /// The root variables as the walk evaluated them; `None` when nothing was
    /// evaluated (a destroy plan): then they are read from `inputs` and defaults.
    pub variables: Option<&'a BTreeMap<String, Value>>,
    pub inputs: &'a HashMap<String, InputValue>,
}

static NO_OUTPUTS: BTreeMap<String, Value> = BTreeMap::new();

impl<'a> Planned<'a> {
    /// What a plan that walked nothing knew (a destroy or refresh-only plan).
    pub fn refreshed(
        refreshed: &'a Snapshot,
        drift: &'a [PlannedChange],
        inputs: &'a HashMap<String, InputValue>,
        targeted: bool,
    ) -> Planned<'a> {
        Planned {
            refreshed,
            reads: &[],
            outputs: &NO_OUTPUTS,
            evaluation: None,
            drift,
            targeted,
            variables: None,
            inputs,
        }
    }
}

/// The [`Context`] of one plan.
pub fn context(
    config: &Config,
    sources: &Sources,
    providers: &Providers,
    planned: Planned<'_>,
) -> Context {
    let mut reader = ConfigReader {
        config,
        sources,
        providers,
        read: Vec::new(),
    };
    let configuration = reader.configuration();
    let mut schema_versions = BTreeMap::new();
    for module in &config.modules {
        for r in &module.resources {
            schema_versions.insert(
                schema_key(r.mode, &r.type_name),
                schema_version(providers, r),
            );
        }
    }
    let config_sensitive = planned
        .evaluation
        .map(|e| {
            e.resource_configs
                .iter()
                .map(|(a, v)| (a.to_string(), v.sensitive_paths()))
                .filter(|(_, p)| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let variables = match planned.variables {
        Some(v) => v.clone(),
        None => root_variables(config, sources, planned.inputs),
    };
    Context {
        variables,
        configuration,
        prior_state: prior_state(&planned, &schema_versions),
        schema_versions,
        config_sensitive,
        outputs: planned.outputs.clone(),
        relevant_attributes: relevant_attributes(&reader.read, planned.drift),
        timestamp: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        complete: !planned.targeted,
    }
}

/// The root variables from the values given for them, or their defaults.
fn root_variables(
    config: &Config,
    sources: &Sources,
    inputs: &HashMap<String, InputValue>,
) -> BTreeMap<String, Value> {
    let reader = ConfigReader {
        config,
        sources,
        providers: &Providers::default(),
        read: Vec::new(),
    };
    config
        .root()
        .variables
        .iter()
        .filter_map(|v| {
            let given = inputs.get(&v.name).and_then(|i| i.value(sources).ok());
            let value = given.or_else(|| v.default.as_ref().and_then(|d| reader.constant(d)))?;
            let value =
                crate::lang::convert::convert(value.clone(), &v.constraint).unwrap_or(value);
            Some((v.name.clone(), value))
        })
        .collect()
}

/// The refreshed state, with the data sources read while planning and the root
/// outputs whose planned values are known, as Terraform's plan records its prior
/// state.
fn prior_state(planned: &Planned<'_>, versions: &BTreeMap<String, u64>) -> J {
    let mut state = planned.refreshed.clone();
    for read in planned.reads {
        let version = versions
            .get(&schema_key(
                ResourceMode::Data,
                &read.address.resource.type_name,
            ))
            .copied()
            .unwrap_or(0);
        let address = read.address.to_string();
        state.resources.insert(
            address.clone(),
            ResourceState {
                address,
                provider: read.provider.clone(),
                schema_version: version,
                attributes: read.value.clone().deep_unmark().to_json(),
                sensitive_paths: read.value.sensitive_paths(),
                private: Vec::new(),
                dependencies: Vec::new(),
                create_before_destroy: false,
                tainted: false,
            },
        );
    }
    for (name, v) in planned.outputs {
        if v.is_wholly_known() {
            state.outputs.insert(
                name.clone(),
                plinth_state::OutputState {
                    value: v.clone().deep_unmark().to_json(),
                    sensitive: v.is_sensitive(),
                },
            );
        }
    }
    json_state::values(&state)
}

/// The attributes the configuration reads of each resource that changed outside
/// plinth: `{resource, attribute}`.
fn relevant_attributes(read: &[ReadAttribute], drift: &[PlannedChange]) -> Vec<J> {
    let mut out: Vec<J> = Vec::new();
    for c in drift {
        let resource = c.address.abs_resource();
        for r in read.iter().filter(|r| {
            r.module == resource.module.path() && r.resource == resource.resource.to_string()
        }) {
            let entry = json!({
                "resource": format!("{}{}", c.address.module.prefix(), r.subject),
                "attribute": r.attribute,
            });
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    out
}

fn schema_version(providers: &Providers, r: &Resource) -> u64 {
    match r.mode {
        ResourceMode::Managed => providers
            .for_resource(r)
            .map_or(0, |(_, p)| p.schema_version(&r.type_name)),
        ResourceMode::Data => 0,
    }
}

/// A resource attribute some expression reads: `local_file.f["a"].id` in module
/// `path` is resource `local_file.f`, subject `local_file.f["a"]`, attribute `["id"]`.
struct ReadAttribute {
    module: Vec<String>,
    resource: String,
    subject: String,
    attribute: Vec<J>,
}

struct ConfigReader<'a> {
    config: &'a Config,
    sources: &'a Sources,
    providers: &'a Providers,
    read: Vec<ReadAttribute>,
}

impl ConfigReader<'_> {
    fn configuration(&mut self) -> J {
        let mut provider_config = Map::new();
        for module in &self.config.modules {
            self.provider_configs(module, &mut provider_config);
        }
        json!({
            "provider_config": provider_config,
            "root_module": self.module(0),
        })
    }

    /// Each provider a module configures or requires: `aws` in the root,
    /// `module.net:aws` in a child, `aws.west` for an alias.
    fn provider_configs(&mut self, module: &Module, out: &mut Map<String, J>) {
        let prefix = module
            .path
            .iter()
            .map(|p| format!("module.{p}"))
            .collect::<Vec<_>>()
            .join(".");
        let key = |local: &str| {
            if prefix.is_empty() {
                local.to_string()
            } else {
                format!("{prefix}:{local}")
            }
        };
        let full_name = |name: &str| {
            let source = module
                .settings
                .required_providers
                .get(name)
                .map_or(name, |r| r.source.as_str());
            SourceAddress::parse(source).map_or_else(|_| source.to_string(), |s| s.to_string())
        };
        let head = |name: &str| {
            let mut entry = Map::new();
            entry.insert("name".into(), json!(name));
            entry.insert("full_name".into(), json!(full_name(name)));
            if !prefix.is_empty() {
                entry.insert("module_address".into(), json!(prefix));
            }
            if let Some(v) = module
                .settings
                .required_providers
                .get(name)
                .and_then(|r| r.version.as_ref())
            {
                entry.insert("version_constraint".into(), json!(v));
            }
            entry
        };
        for p in &module.providers {
            let mut entry = head(&p.name);
            if let Some(a) = &p.alias {
                entry.insert("alias".into(), json!(a));
            }
            let schema = self.providers.provider_schema(&p.name);
            let expressions = self.body(module, &p.body, schema);
            if !expressions.is_empty() {
                entry.insert("expressions".into(), J::Object(expressions));
            }
            out.insert(key(&p.local_address()), J::Object(entry));
        }
        for name in module.settings.required_providers.keys() {
            out.entry(key(name))
                .or_insert_with(|| J::Object(head(name)));
        }
    }

    fn module(&mut self, id: ModuleId) -> J {
        let module = &self.config.modules[id];
        let mut out = Map::new();
        let outputs: Map<String, J> = module
            .outputs
            .iter()
            .map(|o| {
                let mut entry = Map::new();
                if o.sensitive {
                    entry.insert("sensitive".into(), json!(true));
                }
                if let Some(e) = &o.value {
                    entry.insert("expression".into(), self.expression(module, e));
                }
                if let Some(d) = &o.description {
                    entry.insert("description".into(), json!(d));
                }
                if !o.depends_on.is_empty() {
                    entry.insert("depends_on".into(), depends_on(&o.depends_on));
                }
                (o.name.clone(), J::Object(entry))
            })
            .collect();
        if !outputs.is_empty() {
            out.insert("outputs".into(), J::Object(outputs));
        }
        let mut resources: Vec<&Resource> = module.resources.iter().collect();
        resources.sort_by_key(|r| (r.mode == ResourceMode::Data, r.address()));
        let resources: Vec<J> = resources
            .into_iter()
            .map(|r| self.resource(module, r))
            .collect();
        if !resources.is_empty() {
            out.insert("resources".into(), J::Array(resources));
        }
        let calls: Map<String, J> = module
            .module_calls
            .iter()
            .map(|call| {
                let mut entry = Map::new();
                entry.insert("source".into(), json!(call.source));
                let mut expressions = Map::new();
                for a in &call.inputs {
                    expressions.insert(a.name.clone(), self.expression(module, &a.expr));
                }
                entry.insert("expressions".into(), J::Object(expressions));
                if let Some(c) = &call.count {
                    // Terraform leaves out an expression with neither a constant value
                    // nor references (`toset([...])`, say).
                    let e = self.expression(module, c);
                    if e.as_object().is_some_and(|o| !o.is_empty()) {
                        entry.insert("count_expression".into(), e);
                    }
                }
                if let Some(f) = &call.for_each {
                    // Terraform leaves out an expression with neither a constant value
                    // nor references (`toset([...])`, say).
                    let e = self.expression(module, f);
                    if e.as_object().is_some_and(|o| !o.is_empty()) {
                        entry.insert("for_each_expression".into(), e);
                    }
                }
                if let Some(child) = call.child {
                    entry.insert("module".into(), self.module(child));
                }
                if let Some(v) = &call.version {
                    entry.insert("version_constraint".into(), json!(v));
                }
                if !call.depends_on.is_empty() {
                    entry.insert("depends_on".into(), depends_on(&call.depends_on));
                }
                (call.name.clone(), J::Object(entry))
            })
            .collect();
        if !calls.is_empty() {
            out.insert("module_calls".into(), J::Object(calls));
        }
        let variables: Map<String, J> = module
            .variables
            .iter()
            .map(|v| {
                let mut entry = Map::new();
                if let Some(d) = v.default.as_ref().and_then(|d| self.constant(d)) {
                    let d = crate::lang::convert::convert(d.clone(), &v.constraint).unwrap_or(d);
                    entry.insert("default".into(), d.deep_unmark().to_json());
                }
                if let Some(d) = &v.description {
                    entry.insert("description".into(), json!(d));
                }
                if v.sensitive {
                    entry.insert("sensitive".into(), json!(true));
                }
                (v.name.clone(), J::Object(entry))
            })
            .collect();
        if !variables.is_empty() {
            out.insert("variables".into(), J::Object(variables));
        }
        J::Object(out)
    }

    fn resource(&mut self, module: &Module, r: &Resource) -> J {
        let mut out = Map::new();
        out.insert("address".into(), json!(r.address()));
        let mode = match r.mode {
            ResourceMode::Managed => "managed",
            ResourceMode::Data => "data",
        };
        out.insert("mode".into(), json!(mode));
        out.insert("type".into(), json!(r.type_name));
        out.insert("name".into(), json!(r.name));
        let local = r.provider.as_ref().map_or_else(
            || {
                r.type_name
                    .split('_')
                    .next()
                    .unwrap_or(&r.type_name)
                    .to_string()
            },
            |p| match &p.alias {
                Some(a) => format!("{}.{a}", p.name),
                None => p.name.clone(),
            },
        );
        // Terraform v1.0.3 keys a child module's resources by the call's name alone.
        let key = if module.path.is_empty() {
            local
        } else {
            format!("{}:{local}", module.path.join("."))
        };
        out.insert("provider_config_key".into(), json!(key));
        let schema = match r.mode {
            ResourceMode::Managed => self.providers.resource_schema(&r.type_name),
            ResourceMode::Data => self.providers.data_schema(&r.type_name),
        };
        let expressions = self.body(module, &r.body, schema);
        out.insert("expressions".into(), J::Object(expressions));
        out.insert(
            "schema_version".into(),
            json!(schema_version(self.providers, r)),
        );
        if let Some(c) = &r.count {
            // Terraform leaves out an expression with neither a constant value
            // nor references (`toset([...])`, say).
            let e = self.expression(module, c);
            if e.as_object().is_some_and(|o| !o.is_empty()) {
                out.insert("count_expression".into(), e);
            }
        }
        if let Some(f) = &r.for_each {
            // Terraform leaves out an expression with neither a constant value
            // nor references (`toset([...])`, say).
            let e = self.expression(module, f);
            if e.as_object().is_some_and(|o| !o.is_empty()) {
                out.insert("for_each_expression".into(), e);
            }
        }
        if !r.depends_on.is_empty() {
            out.insert("depends_on".into(), depends_on(&r.depends_on));
        }
        J::Object(out)
    }

    /// A block body's arguments and nested blocks (a block nested once is an
    /// object, others a list of objects, as its schema says).
    fn body(&mut self, module: &Module, body: &Body, schema: Option<&Schema>) -> Map<String, J> {
        let mut out = Map::new();
        for a in &body.attrs {
            out.insert(a.name.clone(), self.expression(module, &a.expr));
        }
        let mut blocks: BTreeMap<&str, Vec<J>> = BTreeMap::new();
        for b in body.blocks.iter().filter(|b| b.kind != "dynamic") {
            let nested = schema.and_then(|s| s.blocks.get(&b.kind));
            let inner = self.body(module, &b.body, nested.map(|n| &n.block));
            blocks
                .entry(b.kind.as_str())
                .or_default()
                .push(J::Object(inner));
        }
        for (kind, items) in blocks {
            let single = schema
                .and_then(|s| s.blocks.get(kind))
                .is_some_and(|n| matches!(n.nesting, Nesting::Single | Nesting::Group));
            let value = match (single, items.len()) {
                (true, 1) => items.into_iter().next().unwrap_or(J::Null),
                _ => J::Array(items),
            };
            out.insert(kind.to_string(), value);
        }
        out
    }

    /// `{constant_value}` for an expression that needs nothing to evaluate,
    /// `{references}` for one that reads something, `{}` otherwise.
    fn expression(&mut self, module: &Module, e: &Expr) -> J {
        let mut refs = Vec::new();
        visit_references(&e.expr, e.file, &mut Vec::new(), &mut |r, ops| {
            if let Some(read) = read_attribute(&module.path, &r, ops) {
                self.read.push(read);
            }
            refs.extend(reference_strings(&r, ops));
        });
        if !refs.is_empty() {
            return json!({ "references": refs });
        }
        match self.constant(e) {
            Some(v) => json!({ "constant_value": v.deep_unmark().to_json() }),
            None => json!({}),
        }
    }

    fn constant(&self, e: &Expr) -> Option<Value> {
        if calls_a_function(&e.expr) {
            return None;
        }
        let text = &self.sources.get(e.file).text;
        let v = Evaluator::new(e.file, text, &NoReferences)
            .eval(&e.expr)
            .ok()?;
        v.is_wholly_known().then_some(v)
    }
}

/// Evaluates only what needs nothing: every reference fails.
struct NoReferences;

impl Scope for NoReferences {
    fn resolve(&self, reference: &Reference) -> Result<Value, Diagnostic> {
        Err(Diagnostic::error("Variables not allowed").at(reference.span))
    }
}

fn depends_on(refs: &[Reference]) -> J {
    refs.iter().map(|r| json!(r.subject.to_string())).collect()
}

/// One step of a traversal that needs nothing to evaluate: `.name`, `[0]`, `["k"]`.
enum Step {
    Attr(String),
    Key(InstanceKey),
}

impl Step {
    fn text(&self) -> String {
        match self {
            Step::Attr(n) => format!(".{n}"),
            Step::Key(k) => k.to_string(),
        }
    }
}

/// The traversal after a reference's root up to its first step that is not static
/// (a splat, or an index computed from something).
fn static_steps(ops: &Ops) -> Vec<Step> {
    let mut out = Vec::new();
    for op in ops {
        let step = match op.value() {
            TraversalOperator::GetAttr(n) => Step::Attr(n.as_str().to_string()),
            TraversalOperator::LegacyIndex(i) => Step::Key(InstanceKey::Int(*i.value() as usize)),
            TraversalOperator::Index(Expression::Number(n)) => match n.value().as_u64() {
                Some(i) => Step::Key(InstanceKey::Int(i as usize)),
                None => break,
            },
            TraversalOperator::Index(Expression::String(s)) => {
                Step::Key(InstanceKey::Str(s.value().to_string()))
            }
            _ => break,
        };
        out.push(step);
    }
    out
}

/// How many steps the reference's subject takes: a resource with its instance key,
/// a module call with its key and output.
fn subject_steps(r: &Reference, steps: &[Step]) -> usize {
    let keyed = |n: usize| n + usize::from(matches!(steps.get(n), Some(Step::Key(_))));
    match &r.subject {
        Subject::Resource { .. } => keyed(r.ops_consumed).min(steps.len()),
        Subject::ModuleCall(_) => {
            let n = keyed(1);
            let n = n + usize::from(matches!(steps.get(n), Some(Step::Attr(_))));
            n.min(steps.len())
        }
        _ => r.ops_consumed.min(steps.len()),
    }
}

fn root_text(r: &Reference) -> String {
    match &r.subject {
        Subject::Resource {
            mode: ResourceMode::Data,
            ..
        } => "data".into(),
        Subject::Resource { type_name, .. } => type_name.clone(),
        Subject::ModuleCall(_) => "module".into(),
        Subject::Var(_) => "var".into(),
        Subject::Local(_) => "local".into(),
        Subject::CountIndex => "count".into(),
        Subject::EachKey | Subject::EachValue => "each".into(),
        Subject::Path(_) => "path".into(),
        Subject::TerraformWorkspace => "terraform".into(),
        Subject::SelfObject => "self".into(),
    }
}

fn joined(root: &str, steps: &[Step]) -> String {
    let mut s = root.to_string();
    for step in steps {
        s.push_str(&step.text());
    }
    s
}

/// A reference as Terraform lists it: the whole static traversal, then each shorter
/// one down to the subject, then the resource or module call without its key.
fn reference_strings(r: &Reference, ops: &Ops) -> Vec<String> {
    let steps = static_steps(ops);
    let subject = subject_steps(r, &steps);
    let root = root_text(r);
    let mut out: Vec<String> = (subject + 1..=steps.len())
        .rev()
        .map(|n| joined(&root, &steps[..n]))
        .collect();
    out.push(joined(&root, &steps[..subject]));
    match &r.subject {
        Subject::Resource { .. } if matches!(steps.get(r.ops_consumed), Some(Step::Key(_))) => {
            out.push(joined(&root, &steps[..r.ops_consumed]));
        }
        Subject::ModuleCall(_) if subject > 1 => {
            let call = if matches!(steps.get(1), Some(Step::Key(_))) && subject == 2 {
                1
            } else {
                subject - 1
            };
            out.push(joined(&root, &steps[..call]));
        }
        _ => {}
    }
    out
}

/// The resource attribute a reference reads, if it reads one.
fn read_attribute(module: &[String], r: &Reference, ops: &Ops) -> Option<ReadAttribute> {
    let Subject::Resource { .. } = &r.subject else {
        return None;
    };
    let steps = static_steps(ops);
    let subject = subject_steps(r, &steps);
    let attribute: Vec<J> = steps[subject..]
        .iter()
        .map(|s| match s {
            Step::Attr(n) => json!(n),
            Step::Key(InstanceKey::Int(i)) => json!(i),
            Step::Key(k) => json!(k.to_string()),
        })
        .collect();
    if attribute.is_empty() {
        return None;
    }
    Some(ReadAttribute {
        module: module.to_vec(),
        resource: r.subject.to_string(),
        subject: joined(&root_text(r), &steps[..subject]),
        attribute,
    })
}

/// Whether an expression calls a function anywhere: Terraform gives such an
/// expression no `constant_value`.
fn calls_a_function(e: &Expression) -> bool {
    use hcl_edit::template::{Element, Template};
    fn template(t: &Template) -> bool {
        t.iter().any(|el| match el {
            Element::Interpolation(i) => calls_a_function(&i.expr),
            Element::Directive(_) => true,
            Element::Literal(_) => false,
        })
    }
    match e {
        Expression::FuncCall(_) => true,
        Expression::Array(a) => a.iter().any(calls_a_function),
        Expression::Object(o) => o
            .iter()
            .any(|(k, v)| k.as_expr().is_some_and(calls_a_function) || calls_a_function(v.expr())),
        Expression::StringTemplate(t) => template(t),
        Expression::HeredocTemplate(h) => template(&h.template),
        Expression::Parenthesis(p) => calls_a_function(p.inner()),
        Expression::Conditional(c) => {
            calls_a_function(&c.cond_expr)
                || calls_a_function(&c.true_expr)
                || calls_a_function(&c.false_expr)
        }
        Expression::Traversal(t) => calls_a_function(&t.expr),
        Expression::UnaryOp(u) => calls_a_function(&u.expr),
        Expression::BinaryOp(b) => calls_a_function(&b.lhs_expr) || calls_a_function(&b.rhs_expr),
        Expression::ForExpr(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::FileId;

    fn refs(text: &str) -> Vec<Vec<String>> {
        let expr: Expression = text.parse().expect("parses");
        let mut out = Vec::new();
        visit_references(&expr, FileId::default(), &mut Vec::new(), &mut |r, ops| {
            out.push(reference_strings(&r, ops))
        });
        out
    }

    #[test]
    fn references_are_spelled_as_terraform_lists_them() {
        assert_eq!(refs("var.x"), vec![vec!["var.x"]]);
        assert_eq!(
            refs("local_file.root.id"),
            vec![vec!["local_file.root.id", "local_file.root"]]
        );
        assert_eq!(
            refs("data.local_file.seed.content"),
            vec![vec!["data.local_file.seed.content", "data.local_file.seed"]]
        );
        assert_eq!(
            refs("aws_instance.a[0].tags.Name"),
            vec![vec![
                "aws_instance.a[0].tags.Name",
                "aws_instance.a[0].tags",
                "aws_instance.a[0]",
                "aws_instance.a"
            ]]
        );
        assert_eq!(
            refs("module.files.ids"),
            vec![vec!["module.files.ids", "module.files"]]
        );
        assert_eq!(
            refs("module.m[\"k\"].out"),
            vec![vec!["module.m[\"k\"].out", "module.m[\"k\"]"]]
        );
        assert_eq!(refs("each.value"), vec![vec!["each.value"]]);
        assert_eq!(
            refs("aws_subnet.s[count.index].id"),
            vec![vec!["aws_subnet.s"], vec!["count.index"]]
        );
    }

    #[test]
    fn only_literals_have_constant_values() {
        let parse = |t: &str| -> Expression { t.parse().expect("parses") };
        assert!(calls_a_function(&parse("toset([\"a\"])")));
        assert!(calls_a_function(&parse("\"${upper(\"a\")}\"")));
        assert!(!calls_a_function(&parse("[1, {a = \"b\"}]")));
    }
}
