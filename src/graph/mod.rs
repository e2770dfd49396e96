//! The dependency graph: a node per variable, local, output, resource, data source,
//! module call and provider configuration of every module; an edge for every reference
//! and `depends_on`, each remembering where it is written. Cycles are reported with
//! every edge. [`walk`] evaluates the graph in dependency order, expanding `count` and
//! `for_each` into instances.

pub mod order;
pub mod render;
pub mod walk;

use crate::addrs::Target;
use std::collections::HashMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use crate::config::{Body, Config, Expr, ModuleId};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Span};
use crate::lang::refs::{collect_references, Reference, ResourceMode, Subject};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Variable,
    Local,
    Output,
    Resource(ResourceMode),
    ModuleCall,
    Provider,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub module: ModuleId,
    pub kind: NodeKind,
    /// The name within its module: `region`, `aws_instance.gpu`, `aws.west`.
    pub name: String,
    pub span: Option<Span>,
}

#[derive(Clone, Debug)]
pub struct Edge {
    /// Where the dependent node writes the reference (`None` for implied edges, such
    /// as a resource's dependency on its provider).
    pub span: Option<Span>,
}

pub struct Graph {
    /// Edges run from a dependency to the node that depends on it.
    pub inner: DiGraph<Node, Edge>,
    index: HashMap<(ModuleId, NodeKind, String), NodeIndex>,
    /// Provider source addresses by (module, local name), for display.
    provider_sources: HashMap<(ModuleId, String), String>,
}

impl Graph {
    pub fn find(&self, module: ModuleId, kind: NodeKind, name: &str) -> Option<NodeIndex> {
        self.index.get(&(module, kind, name.to_string())).copied()
    }

    /// How a user reads a node: `module.pool.var.size`, `aws_instance.gpu`,
    /// `provider["registry.terraform.io/hashicorp/aws"].west`.
    pub fn display(&self, config: &Config, ix: NodeIndex) -> String {
        let node = &self.inner[ix];
        let prefix = config.modules[node.module].display_path();
        let name = &node.name;
        match &node.kind {
            NodeKind::Variable => format!("{prefix}var.{name}"),
            NodeKind::Local => format!("{prefix}local.{name}"),
            NodeKind::Output => format!("{prefix}output.{name}"),
            NodeKind::Resource(ResourceMode::Managed) => format!("{prefix}{name}"),
            NodeKind::Resource(ResourceMode::Data) => format!("{prefix}data.{name}"),
            NodeKind::ModuleCall => format!("{prefix}module.{name}"),
            NodeKind::Provider => {
                let (local, alias) = match name.split_once('.') {
                    Some((l, a)) => (l, Some(a)),
                    None => (name.as_str(), None),
                };
                let source = self
                    .provider_sources
                    .get(&(node.module, local.to_string()))
                    .cloned()
                    .unwrap_or_else(|| format!("registry.terraform.io/hashicorp/{local}"));
                match alias {
                    Some(a) => format!("{prefix}provider[\"{source}\"].{a}"),
                    None => format!("{prefix}provider[\"{source}\"]"),
                }
            }
        }
    }

    /// The nodes that `ix` depends on.
    pub fn dependencies(&self, ix: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.inner.neighbors_directed(ix, Direction::Incoming)
    }

    /// Nodes in an order where every node comes after its dependencies. Nodes on a
    /// cycle (and those depending on one) are left out: the cycle is reported apart.
    pub fn evaluation_order(&self) -> Vec<NodeIndex> {
        // Depth first: the node made ready last goes next.
        let mut ready = self.schedule(self.inner.node_indices().rev().collect());
        let mut order = Vec::with_capacity(self.inner.node_count());
        while let Some(n) = ready.pop_back() {
            order.push(n);
            ready.done(&n);
        }
        order
    }

    /// The scheduler over `nodes` and the edges between them.
    pub fn schedule(&self, nodes: Vec<NodeIndex>) -> order::Ready<NodeIndex> {
        let edges: Vec<(NodeIndex, NodeIndex)> = nodes
            .iter()
            .flat_map(|&n| {
                self.inner
                    .neighbors_directed(n, Direction::Outgoing)
                    .map(move |next| (n, next))
            })
            .collect();
        order::Ready::new(nodes, edges)
    }
}

/// Source addresses of the providers built into the engine.
fn builtin_provider_source(name: &str) -> Option<&'static str> {
    match name {
        "terraform" => Some("terraform.io/builtin/terraform"),
        "plinth" => Some("plinth.dev/builtin/plinth"),
        _ => None,
    }
}

/// Canonical provider source: `hashicorp/aws` → `registry.terraform.io/hashicorp/aws`.
pub fn provider_source(source: &str) -> String {
    match source.matches('/').count() {
        0 => format!("registry.terraform.io/hashicorp/{source}"),
        1 => format!("registry.terraform.io/{source}"),
        _ => source.to_string(),
    }
}

pub fn build_graph(config: &Config) -> (Graph, Diagnostics) {
    let mut g = Graph {
        inner: DiGraph::new(),
        index: HashMap::new(),
        provider_sources: HashMap::new(),
    };
    let mut diags = Diagnostics::default();
    for (m, module) in config.modules.iter().enumerate() {
        for (local, req) in &module.settings.required_providers {
            g.provider_sources
                .insert((m, local.clone()), provider_source(&req.source));
        }
        let mut add = |kind: NodeKind, name: String, span: Option<Span>| {
            let key = (m, kind.clone(), name.clone());
            if !g.index.contains_key(&key) {
                let ix = g.inner.add_node(Node {
                    module: m,
                    kind,
                    name,
                    span,
                });
                g.index.insert(key, ix);
            }
        };
        for v in &module.variables {
            add(NodeKind::Variable, v.name.clone(), Some(v.span));
        }
        for l in &module.locals {
            add(NodeKind::Local, l.name.clone(), Some(l.span));
        }
        for o in &module.outputs {
            add(NodeKind::Output, o.name.clone(), Some(o.span));
        }
        for r in &module.resources {
            add(
                NodeKind::Resource(r.mode),
                format!("{}.{}", r.type_name, r.name),
                Some(r.span),
            );
        }
        for c in &module.module_calls {
            add(NodeKind::ModuleCall, c.name.clone(), Some(c.span));
        }
        for p in &module.providers {
            add(NodeKind::Provider, p.local_address(), Some(p.span));
        }
    }
    let mut b = Builder {
        config,
        g,
        diags: &mut diags,
    };
    b.add_edges();
    let g = b.g;
    report_cycles(config, &g, &mut diags);
    (g, diags)
}

struct Builder<'a> {
    config: &'a Config,
    g: Graph,
    diags: &'a mut Diagnostics,
}

/// The diagnostic for a reference to something a module does not declare. The graph
/// builder and the evaluator both use it, so the user sees it once.
pub fn undeclared(config: &Config, module: ModuleId, r: &Reference) -> Option<Diagnostic> {
    let m = &config.modules[module];
    let where_ = if m.path.is_empty() {
        "the root module".to_string()
    } else {
        m.display_path().trim_end_matches('.').to_string()
    };
    let d = match &r.subject {
        Subject::Var(n) if m.variable(n).is_none() => Diagnostic::error("Reference to undeclared input variable")
            .detail(format!("An input variable with the name {n:?} has not been declared in {where_}. This variable can be declared with a variable {n:?} {{}} block."))
            .help_opt(did_you_mean(n, m.variables.iter().map(|v| v.name.as_str()))),
        Subject::Local(n) if m.local(n).is_none() => Diagnostic::error("Reference to undeclared local value")
            .detail(format!("A local value with the name {n:?} has not been declared in {where_}."))
            .help_opt(did_you_mean(n, m.locals.iter().map(|l| l.name.as_str()))),
        Subject::Resource { mode, type_name, name } if m.resource(*mode, type_name, name).is_none() => {
            let (kind, prefix) = match mode {
                ResourceMode::Managed => ("A managed resource", ""),
                ResourceMode::Data => ("A data resource", "data."),
            };
            let candidates: Vec<String> = m
                .resources
                .iter()
                .filter(|x| x.mode == *mode)
                .map(|x| format!("{prefix}{}.{}", x.type_name, x.name))
                .collect();
            let wanted = format!("{prefix}{type_name}.{name}");
            Diagnostic::error("Reference to undeclared resource")
                .detail(format!("{kind} {type_name:?} {name:?} has not been declared in {where_}."))
                .help_opt(did_you_mean(&wanted, candidates.iter().map(String::as_str)))
        }
        Subject::ModuleCall(n) if m.module_call(n).is_none() => Diagnostic::error("Reference to undeclared module")
            .detail(format!("No module call named {n:?} is declared in {where_}."))
            .help_opt(did_you_mean(n, m.module_calls.iter().map(|c| c.name.as_str()))),
        Subject::ModuleCall(n) => {
            let call = m.module_call(n)?;
            let child = &config.modules[call.child?];
            let out = r.output.as_ref()?;
            if child.output(out).is_some() {
                return None;
            }
            Diagnostic::error("Unsupported attribute")
                .detail(format!("This object does not have an attribute named {out:?}: module.{n} declares no output of that name."))
                .help_opt(did_you_mean(out, child.outputs.iter().map(|o| o.name.as_str())).or_else(|| {
                    let names: Vec<&str> = child.outputs.iter().map(|o| o.name.as_str()).collect();
                    (!names.is_empty()).then(|| format!("Its outputs are: {}.", names.join(", ")))
                }))
        }
        _ => return None,
    };
    Some(d.at(r.span))
}

/// Where the configuration still declares what `target` (written in module `m`)
/// names, following module calls down: a resource in a child module, or a module call.
fn still_declared(config: &Config, m: ModuleId, target: &Target) -> Option<Span> {
    let (calls, resource) = match target {
        Target::Module(mi) => (&mi.0, None),
        Target::Resource(r) => (&r.module.0, Some(&r.resource)),
        Target::Instance(i) => (&i.module.0, Some(&i.resource)),
    };
    let mut module = m;
    let mut call_span = None;
    for (name, _) in calls {
        let call = config.modules[module].module_call(name)?;
        call_span = Some(call.span);
        match call.child {
            Some(child) => module = child,
            // A module that could not be loaded is reported where it is called.
            None => return if resource.is_none() { call_span } else { None },
        }
    }
    match resource {
        Some(r) => config.modules[module]
            .resource(r.mode, &r.type_name, &r.name)
            .map(|r| r.span),
        None => call_span,
    }
}

/// Whether two addresses name some object in common, instance keys aside: the same
/// resource, or a module call and anything inside it.
fn targets_overlap(a: &Target, b: &Target) -> bool {
    fn parts(t: &Target) -> (Vec<&str>, Option<&crate::addrs::Resource>) {
        let (module, resource) = match t {
            Target::Module(m) => (m, None),
            Target::Resource(r) => (&r.module, Some(&r.resource)),
            Target::Instance(i) => (&i.module, Some(&i.resource)),
        };
        (module.0.iter().map(|(n, _)| n.as_str()).collect(), resource)
    }
    let ((ma, ra), (mb, rb)) = (parts(a), parts(b));
    match (ra, rb) {
        (Some(ra), Some(rb)) => ma == mb && ra == rb,
        (None, Some(_)) => mb.starts_with(&ma),
        (Some(_), None) => ma.starts_with(&mb),
        (None, None) => ma.starts_with(&mb) || mb.starts_with(&ma),
    }
}

/// The error for a reference to a data source scoped to a check block from outside
/// that block (`within`: the check the reference is written in, if any).
fn scoped_reference(
    config: &Config,
    module: ModuleId,
    r: &Reference,
    within: Option<&str>,
) -> Option<Diagnostic> {
    let Subject::Resource {
        mode,
        type_name,
        name,
    } = &r.subject
    else {
        return None;
    };
    let check = config.modules[module]
        .resource(*mode, type_name, name)?
        .check
        .as_deref()?;
    if within == Some(check) {
        return None;
    }
    Some(
        Diagnostic::error("Reference to scoped resource")
            .detail(format!("The referenced data resource {type_name:?} {name:?} is not available from this context: it is declared in check {check:?}, and only that check block's assertions may refer to it."))
            .at(r.span),
    )
}

fn body_references(body: &Body, shadow: &mut Vec<String>, out: &mut Vec<Reference>) {
    for a in &body.attrs {
        collect_references(&a.expr.expr, a.expr.file, shadow, out);
    }
    for b in &body.blocks {
        if b.kind == "dynamic" {
            let iterator = b
                .body
                .attrs
                .iter()
                .find(|a| a.name == "iterator")
                .and_then(|a| match &a.expr.expr {
                    hcl_edit::expr::Expression::Variable(v) => Some(v.as_str().to_string()),
                    _ => None,
                })
                .or_else(|| b.labels.first().cloned())
                .unwrap_or_default();
            for a in &b.body.attrs {
                match a.name.as_str() {
                    "iterator" => {}
                    "labels" => {
                        shadow.push(iterator.clone());
                        collect_references(&a.expr.expr, a.expr.file, shadow, out);
                        shadow.pop();
                    }
                    _ => collect_references(&a.expr.expr, a.expr.file, shadow, out),
                }
            }
            shadow.push(iterator);
            for content in &b.body.blocks {
                body_references(&content.body, shadow, out);
            }
            shadow.pop();
        } else {
            body_references(&b.body, shadow, out);
        }
    }
}

fn expr_references(e: &Expr, out: &mut Vec<Reference>) {
    collect_references(&e.expr, e.file, &mut Vec::new(), out);
}

impl Builder<'_> {
    fn node(&self, m: ModuleId, kind: NodeKind, name: &str) -> Option<NodeIndex> {
        self.g.find(m, kind, name)
    }

    fn edge(&mut self, from: NodeIndex, to: NodeIndex, span: Option<Span>) {
        if !self
            .g
            .inner
            .edges_connecting(from, to)
            .any(|e| e.weight().span == span)
        {
            self.g.inner.add_edge(from, to, Edge { span });
        }
    }

    /// Since Terraform 1.9 a variable's validation may refer to any object of its
    /// module (each must be declared); `count`, `each` and `self` mean nothing there.
    fn check_validation_references(&mut self, m: ModuleId, v: &crate::config::Variable) {
        for check in &v.validations {
            let mut refs = Vec::new();
            expr_references(&check.condition, &mut refs);
            expr_references(&check.error_message, &mut refs);
            for r in refs {
                if let Some(d) = undeclared(self.config, m, &r) {
                    self.diags.push(d);
                } else if matches!(
                    r.subject,
                    Subject::CountIndex
                        | Subject::EachKey
                        | Subject::EachValue
                        | Subject::SelfObject
                ) {
                    self.diags.push(
                        Diagnostic::error("Invalid reference in variable validation")
                            .detail(format!("The validation of variable {:?} cannot use {}: count, each and self have no value there.", v.name, r.subject))
                            .at(r.span),
                    );
                }
            }
        }
    }

    /// Adds edges from what each reference names to `to` (a node of module `m`).
    fn reference_edges(&mut self, m: ModuleId, to: NodeIndex, refs: &[Reference]) {
        for r in refs {
            if let Some(d) = undeclared(self.config, m, r) {
                self.diags.push(d);
                continue;
            }
            let span = Some(r.span);
            match &r.subject {
                Subject::Var(n) => {
                    if let Some(from) = self.node(m, NodeKind::Variable, n) {
                        self.edge(from, to, span);
                    }
                }
                Subject::Local(n) => {
                    if let Some(from) = self.node(m, NodeKind::Local, n) {
                        self.edge(from, to, span);
                    }
                }
                Subject::Resource {
                    mode,
                    type_name,
                    name,
                } => {
                    if let Some(d) = scoped_reference(self.config, m, r, None) {
                        self.diags.push(d);
                        continue;
                    }
                    if let Some(from) =
                        self.node(m, NodeKind::Resource(*mode), &format!("{type_name}.{name}"))
                    {
                        self.edge(from, to, span);
                    }
                }
                Subject::ModuleCall(n) => {
                    if let Some(from) = self.node(m, NodeKind::ModuleCall, n) {
                        self.edge(from, to, span);
                    }
                    let child = self.config.modules[m].module_call(n).and_then(|c| c.child);
                    if let Some(child) = child {
                        let outputs: Vec<String> = match &r.output {
                            Some(o) => vec![o.clone()],
                            None => self.config.modules[child]
                                .outputs
                                .iter()
                                .map(|o| o.name.clone())
                                .collect(),
                        };
                        for o in outputs {
                            if let Some(from) = self.node(child, NodeKind::Output, &o) {
                                self.edge(from, to, span);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The provider configuration node a resource in module `m` uses, following
    /// `providers` maps and inheritance of default configurations up to the root.
    fn provider_node(&mut self, m: ModuleId, name: &str, alias: Option<&str>) -> Option<NodeIndex> {
        let key = match alias {
            Some(a) => format!("{name}.{a}"),
            None => name.to_string(),
        };
        if let Some(ix) = self.node(m, NodeKind::Provider, &key) {
            return Some(ix);
        }
        let module = &self.config.modules[m];
        let parent = module.parent?;
        let call_name = module.path.last()?;
        let call = self.config.modules[parent].module_call(call_name)?;
        if let Some((_, p)) = call.providers.iter().find(|(k, _)| *k == key) {
            let (pname, palias) = (p.name.clone(), p.alias.clone());
            return self.provider_node(parent, &pname, palias.as_deref());
        }
        if alias.is_none() {
            return self.provider_node(parent, name, None);
        }
        None
    }

    /// The root's provider configuration for `name` when no `provider` block declares
    /// one: Terraform configures such a provider with an empty body.
    fn implicit_provider(&mut self, name: &str, first_use: Span) -> NodeIndex {
        if let Some(ix) = self.node(0, NodeKind::Provider, name) {
            return ix;
        }
        let ix = self.g.inner.add_node(Node {
            module: 0,
            kind: NodeKind::Provider,
            name: name.to_string(),
            span: Some(first_use),
        });
        self.g
            .index
            .insert((0, NodeKind::Provider, name.to_string()), ix);
        if let Some(source) = builtin_provider_source(name) {
            self.g
                .provider_sources
                .entry((0, name.to_string()))
                .or_insert(source.to_string());
        }
        ix
    }

    /// `moved` and `import` blocks must name what the configuration declares: a move
    /// away from something still declared, or an import into something undeclared, is
    /// a mistake Terraform reports before planning.
    fn check_moves_and_imports(&mut self, m: ModuleId) {
        let module = &self.config.modules[m];
        // Whether this module declares what the address names (`None`: it names
        // something inside a module call, which this check does not follow).
        let declared = |target: &Target| -> Option<bool> {
            let resource = |r: &crate::addrs::Resource| {
                module.resource(r.mode, &r.type_name, &r.name).is_some()
            };
            match target {
                Target::Module(m) => match m.0.as_slice() {
                    [(name, _)] => Some(module.module_call(name).is_some()),
                    _ => None,
                },
                Target::Resource(r) if r.module.is_root() => Some(resource(&r.resource)),
                Target::Instance(i) if i.module.is_root() => Some(resource(&i.resource)),
                _ => None,
            }
        };
        for mv in &module.moved {
            // An instance may move between keys of a block that is still declared
            // (count to for_each); whether that instance still exists is only known
            // once the block is expanded.
            let instance = matches!(mv.from, Target::Instance(_));
            if mv.from != mv.to && !instance && declared(&mv.from) == Some(true) {
                self.diags.push(
                    Diagnostic::error("Moved object still exists")
                        .detail(format!("This statement declares a move from {}, but that object is still declared in the configuration.", mv.from))
                        .at(mv.from_span)
                        .help("Change the \"from\" address to the old name, or remove the old block."),
                );
            }
        }
        for rm in &module.removed {
            // Terraform points at the block that still declares it.
            if let Some(declared_at) = still_declared(self.config, m, &rm.from) {
                let what = match rm.from {
                    Target::Module(_) => "module",
                    _ => "resource",
                };
                self.diags.push(
                    Diagnostic::error(format!("Removed {what} still exists"))
                        .detail(format!("This statement declares that {} was removed, but it is still declared in configuration.", rm.from))
                        .at(declared_at)
                        .label(rm.from_span, "removed here")
                        .help(format!("Remove the {what} block, or this removed block.")),
                );
            }
            let overlaps = |t: &Target| targets_overlap(t, &rm.from);
            if let Some(mv) = module
                .moved
                .iter()
                .find(|mv| overlaps(&mv.from) || overlaps(&mv.to))
            {
                self.diags.push(
                    Diagnostic::error("Conflicting moved and removed blocks")
                        .detail(format!(
                            "A removed block for {} conflicts with a moved block from {} to {}: an object cannot be moved and removed in the same plan.",
                            rm.from, mv.from, mv.to
                        ))
                        .at(rm.from_span)
                        .label(mv.from_span, "moved here"),
                );
            }
        }
        for import in &module.imports {
            if declared(&Target::Instance(import.to.clone())) == Some(false) {
                let names: Vec<String> = module
                    .resources
                    .iter()
                    .filter(|r| r.mode == ResourceMode::Managed)
                    .map(|r| r.address())
                    .collect();
                self.diags.push(
                    Diagnostic::error("Configuration for import target does not exist")
                        .detail(format!("The configuration for the given import target {} does not exist. All import targets must be declared in the configuration.", import.to))
                        .at(import.to_span)
                        .help_opt(did_you_mean(&import.to.to_string(), names.iter().map(String::as_str))),
                );
            }
            let mut refs = Vec::new();
            for e in std::iter::once(&import.id).chain(&import.for_each) {
                expr_references(e, &mut refs);
            }
            for r in refs {
                if let Some(d) = undeclared(self.config, m, &r) {
                    self.diags.push(d);
                }
            }
        }
    }

    /// A check block's assertions may read anything in their module, and the check's
    /// own scoped data source; nothing else may read that data source.
    fn check_assertion_references(&mut self, m: ModuleId) {
        for check in &self.config.modules[m].checks {
            let mut refs = Vec::new();
            for a in &check.asserts {
                expr_references(&a.condition, &mut refs);
                expr_references(&a.error_message, &mut refs);
            }
            for r in refs {
                let d = undeclared(self.config, m, &r)
                    .or_else(|| scoped_reference(self.config, m, &r, Some(&check.name)));
                if let Some(d) = d {
                    self.diags.push(d);
                }
            }
        }
    }

    fn add_edges(&mut self) {
        let config = self.config;
        for (m, module) in config.modules.iter().enumerate() {
            self.check_moves_and_imports(m);
            self.check_assertion_references(m);
            for l in &module.locals {
                let mut refs = Vec::new();
                expr_references(&l.expr, &mut refs);
                let to = self.node(m, NodeKind::Local, &l.name);
                if let Some(to) = to {
                    self.reference_edges(m, to, &refs);
                }
            }
            for v in &module.variables {
                self.check_validation_references(m, v);
            }
            for o in &module.outputs {
                let Some(to) = self.node(m, NodeKind::Output, &o.name) else {
                    continue;
                };
                let mut refs = o.depends_on.clone();
                if let Some(v) = &o.value {
                    expr_references(v, &mut refs);
                }
                for c in &o.preconditions {
                    expr_references(&c.condition, &mut refs);
                    expr_references(&c.error_message, &mut refs);
                }
                self.reference_edges(m, to, &refs);
            }
            for p in &module.providers {
                let Some(to) = self.node(m, NodeKind::Provider, &p.local_address()) else {
                    continue;
                };
                let mut refs = Vec::new();
                body_references(&p.body, &mut Vec::new(), &mut refs);
                self.reference_edges(m, to, &refs);
            }
            for r in &module.resources {
                let Some(to) = self.node(
                    m,
                    NodeKind::Resource(r.mode),
                    &format!("{}.{}", r.type_name, r.name),
                ) else {
                    continue;
                };
                let mut refs = r.depends_on.clone();
                for e in r
                    .count
                    .iter()
                    .chain(&r.for_each)
                    .chain(&r.lifecycle.replace_triggered_by)
                {
                    expr_references(e, &mut refs);
                }
                for c in r
                    .lifecycle
                    .preconditions
                    .iter()
                    .chain(&r.lifecycle.postconditions)
                {
                    expr_references(&c.condition, &mut refs);
                    expr_references(&c.error_message, &mut refs);
                }
                body_references(&r.body, &mut Vec::new(), &mut refs);
                self.reference_edges(m, to, &refs);
                let alias = r.provider.as_ref().and_then(|p| p.alias.clone());
                match self.provider_node(m, r.provider_name(), alias.as_deref()) {
                    Some(p) => self.edge(p, to, None),
                    None if alias.is_some() => {
                        let p = r.provider.as_ref().map(|p| p.span).unwrap_or(r.span);
                        self.diags.push(
                            Diagnostic::error("Provider configuration not present")
                                .detail(format!(
                                    "{} refers to provider configuration {}.{}, but no provider block with that alias is declared in {} or passed to it in a module call's providers argument.",
                                    r.address(),
                                    r.provider_name(),
                                    alias.unwrap_or_default(),
                                    if module.path.is_empty() { "the root module".to_string() } else { module.display_path().trim_end_matches('.').to_string() }
                                ))
                                .at(p),
                        );
                    }
                    None => {
                        let p = self.implicit_provider(r.provider_name(), r.span);
                        self.edge(p, to, None);
                    }
                }
            }
            for c in &module.module_calls {
                let Some(call_ix) = self.node(m, NodeKind::ModuleCall, &c.name) else {
                    continue;
                };
                let mut refs = c.depends_on.clone();
                for e in c.count.iter().chain(&c.for_each) {
                    expr_references(e, &mut refs);
                }
                self.reference_edges(m, call_ix, &refs);
                for (key, p) in &c.providers {
                    if self.provider_node(m, &p.name, p.alias.as_deref()).is_none()
                        && p.alias.is_some()
                    {
                        self.diags.push(
                            Diagnostic::error("Provider configuration not present")
                                .detail(format!("The providers argument passes {key} = {}.{}, but no such provider configuration is declared.", p.name, p.alias.clone().unwrap_or_default()))
                                .at(p.span),
                        );
                    }
                }
                let Some(child) = c.child else { continue };
                let child_module = &config.modules[child];
                let valid: Vec<&str> = child_module
                    .variables
                    .iter()
                    .map(|v| v.name.as_str())
                    .collect();
                for input in &c.inputs {
                    match self.node(child, NodeKind::Variable, &input.name) {
                        Some(var_ix) => {
                            let mut refs = Vec::new();
                            expr_references(&input.expr, &mut refs);
                            self.reference_edges(m, var_ix, &refs);
                        }
                        None => self.diags.push(
                            Diagnostic::error("Unsupported argument")
                                .detail(format!("An argument named {:?} is not expected here: module.{} declares no variable of that name.", input.name, c.name))
                                .at(input.name_span)
                                .help_opt(did_you_mean(&input.name, valid.iter().copied()).or_else(|| {
                                    (!valid.is_empty()).then(|| format!("Its variables are: {}.", valid.join(", ")))
                                })),
                        ),
                    }
                }
                for v in &child_module.variables {
                    if v.default.is_none() && !c.inputs.iter().any(|i| i.name == v.name) {
                        self.diags.push(
                            Diagnostic::error("Missing required argument")
                                .detail(format!("The argument {:?} is required by module.{}, but no definition was found.", v.name, c.name))
                                .at(c.span)
                                .label(v.span, "declared here without a default"),
                        );
                    }
                }
                // Every node of the child module is evaluated per instance of this call.
                let child_nodes: Vec<NodeIndex> = self
                    .g
                    .inner
                    .node_indices()
                    .filter(|n| self.g.inner[*n].module == child)
                    .collect();
                for n in child_nodes {
                    self.edge(call_ix, n, None);
                }
            }
        }
    }
}

fn report_cycles(config: &Config, g: &Graph, diags: &mut Diagnostics) {
    for scc in petgraph::algo::tarjan_scc(&g.inner) {
        let self_loop = scc.len() == 1 && g.inner.contains_edge(scc[0], scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let members: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc.iter().min().unwrap_or(&scc[0]);
        // Walk "depends on" edges inside the component until we are back at the start.
        let mut path = vec![start];
        let mut spans: Vec<Option<Span>> = Vec::new();
        let mut visited = std::collections::HashSet::new();
        let mut current = start;
        loop {
            visited.insert(current);
            let deps: Vec<_> = g
                .inner
                .edges_directed(current, Direction::Incoming)
                .filter(|e| members.contains(&petgraph::visit::EdgeRef::source(e)))
                .map(|e| (petgraph::visit::EdgeRef::source(&e), e.weight().span))
                .collect();
            let next = deps
                .iter()
                .find(|(n, _)| *n == start)
                .or_else(|| deps.iter().find(|(n, _)| !visited.contains(n)))
                .copied();
            let Some((n, span)) = next else { break };
            spans.push(span);
            path.push(n);
            if n == start {
                break;
            }
            current = n;
        }
        let names: Vec<String> = path.iter().map(|n| g.display(config, *n)).collect();
        let mut d = Diagnostic::error("Cycle in the dependency graph").detail(format!(
            "{}: each depends on the next, so none can be evaluated first.",
            names.join(" → ")
        ));
        for (i, span) in spans.iter().enumerate() {
            let text = format!("{} refers to {}", names[i], names[i + 1]);
            match (span, d.span) {
                (Some(s), None) => d = d.at(*s),
                (Some(s), Some(_)) => d = d.label(*s, text),
                (None, _) => {}
            }
        }
        if d.span.is_none() {
            d = d.at_opt(g.inner[start].span);
        }
        diags.push(d);
    }
}
