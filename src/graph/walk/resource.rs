//! Resource nodes: evaluating each instance's configuration, asking the handler about
//! the instances (concurrently), and storing what it decided.

use std::collections::HashMap;

use petgraph::graph::NodeIndex;

use super::checks::{CheckObject, Outcome};
use super::expand::Expansion;
use super::scope::Repetition;
use super::{ResourceHandler, Trigger, Walk};
use crate::addrs::{BlockName, InstanceKey, ModuleInstance, ResourceInstance};
use crate::config::{ModuleId, Resource};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{Graph, NodeKind};
use crate::lang::refs::ResourceMode;
use crate::lang::{Type, Value};
use crate::schema::Schema;

/// One resource instance waiting for the handler.
pub(super) struct Job {
    key: InstanceKey,
    address: ResourceInstance,
    config: Value,
    /// Whether to ask the handler (not when its configuration had errors, or its
    /// key is unknown).
    call: bool,
    triggers: Vec<Trigger>,
    /// `count.index` or `each` for its postconditions.
    repetition: Repetition,
    /// Its preconditions' results, recorded with its postconditions'.
    outcomes: Vec<Outcome>,
}

/// A resource node's evaluated instances, per module instance.
pub(super) struct ResourceWork<'a> {
    m: ModuleId,
    resource: &'a Resource,
    ty: Type,
    pub(super) parts: Vec<(ModuleInstance, Expansion, Vec<Job>)>,
}

/// Asks the handler about every instance of a resource node, all at once; `limit`
/// bounds how many calls run at a time across the whole walk (`--parallelism`). A
/// panicking call is reported as an error on its resource instead of ending the walk.
pub(super) async fn run_calls(
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

impl<'a> Walk<'a> {
    /// For a resource node, its evaluated instances; `None` for other nodes.
    pub(super) fn begin_resource(
        &mut self,
        graph: &Graph,
        ix: NodeIndex,
    ) -> Option<ResourceWork<'a>> {
        let node = &graph.inner[ix];
        let NodeKind::Resource(mode) = node.kind else {
            return None;
        };
        let config = self.config;
        let (type_name, rname) = node.name.split_once('.').unwrap_or((&node.name, ""));
        let r = config.modules[node.module].resource(mode, type_name, rname)?;
        Some(self.prepare_resource(node.module, r))
    }
    /// Evaluates a resource node's instances in every instance of its module: the
    /// first half of handling it; the handler's calls and [`Walk::finish_resource`]
    /// follow.
    pub(super) fn prepare_resource(&mut self, m: ModuleId, r: &'a Resource) -> ResourceWork<'a> {
        let schema = match r.mode {
            ResourceMode::Data => self.options.providers.data_schema(&r.type_name),
            ResourceMode::Managed => self.options.providers.resource_schema(&r.type_name),
        };
        let ty = schema.map_or(Type::Dynamic, Schema::implied_type);
        let data = r.mode == ResourceMode::Data;
        if let Some(detail) =
            self.options
                .providers
                .unsupported_type(data, r.provider_name(), &r.type_name)
        {
            let summary = if data {
                "Invalid data source"
            } else {
                "Invalid resource type"
            };
            self.diags
                .push(Diagnostic::error(summary).detail(detail).at(r.span));
        }
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
                let scope = self.scope(m, &inst, repetition.clone());
                let before = diags.errors().count();
                let config = self.body(&r.body, schema, &scope, &mut Vec::new(), &mut diags);
                let mut outcomes = Vec::new();
                for check in &r.lifecycle.preconditions {
                    let outcome = self.condition(check, &scope, &mut diags);
                    if let Outcome::Fail(message) = &outcome {
                        diags.push(
                            Diagnostic::error("Resource precondition failed")
                                .detail(message.clone())
                                .at_opt(check.condition.span()),
                        );
                    }
                    outcomes.push(outcome);
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
                    repetition,
                    outcomes,
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
    pub(super) fn finish_resource(
        &mut self,
        work: ResourceWork<'a>,
        results: Vec<Vec<Option<Value>>>,
        mut diags: Diagnostics,
    ) {
        if let Some(check) = &work.resource.check {
            // A scoped data source's errors are warnings; its check fails with the first.
            if let Some(e) = diags.errors().next() {
                let message = match e.detail.is_empty() {
                    true => e.summary.clone(),
                    false => format!("{}: {}", e.summary, e.detail),
                };
                self.failed_scoped_reads
                    .entry((work.m, check.clone()))
                    .or_insert(message);
            }
            diags = super::checks::as_warnings(diags);
        }
        self.diags.extend(diags);
        let key = work.resource.address();
        for ((inst, expansion, jobs), values) in work.parts.into_iter().zip(results) {
            let mut instance_values: HashMap<InstanceKey, Value> = HashMap::new();
            for (job, value) in jobs.into_iter().zip(values) {
                let decided = value.is_some();
                let value = value.unwrap_or_else(|| Value::Unknown(work.ty.clone()));
                let mut outcomes = job.outcomes;
                outcomes.extend(self.postconditions(
                    work.m,
                    &inst,
                    work.resource,
                    job.repetition,
                    decided.then_some(&value),
                ));
                self.record_checks(
                    work.m,
                    &inst,
                    CheckObject::Resource(work.resource.addr()),
                    job.key.clone(),
                    outcomes,
                );
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
}
