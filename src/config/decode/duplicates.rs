//! Declarations one module may hold only once: variables, locals, outputs, resources,
//! module calls, provider configurations and import targets, across all of its files.

use std::collections::HashMap;

use crate::config::model::*;
use crate::diag::{Diagnostic, Diagnostics, Sources, Span};
use crate::lang::refs::ResourceMode;

pub(in crate::config) fn check_duplicates(
    module: &Module,
    sources: &Sources,
    diags: &mut Diagnostics,
) {
    let mut report = |kind: &str, what: String, first: Span, again: Span, rule: &str| {
        diags.push(
            Diagnostic::error(format!("Duplicate {kind}"))
                .detail(format!(
                    "{what} was already declared at {}. {rule}",
                    sources.location(first)
                ))
                .at(again)
                .label(first, "first declared here"),
        );
    };
    let mut seen: HashMap<String, Span> = HashMap::new();
    for v in &module.variables {
        if let Some(first) = seen.insert(v.name.clone(), v.span) {
            report(
                "variable declaration",
                format!("A variable named {:?}", v.name),
                first,
                v.span,
                "Variable names must be unique within a module.",
            );
        }
    }
    seen.clear();
    for l in &module.locals {
        if let Some(first) = seen.insert(l.name.clone(), l.span) {
            report(
                "local value definition",
                format!("A local value named {:?}", l.name),
                first,
                l.span,
                "Local value names must be unique within a module.",
            );
        }
    }
    seen.clear();
    for o in &module.outputs {
        if let Some(first) = seen.insert(o.name.clone(), o.span) {
            report(
                "output definition",
                format!("An output named {:?}", o.name),
                first,
                o.span,
                "Output names must be unique within a module.",
            );
        }
    }
    seen.clear();
    for r in &module.resources {
        if let Some(first) = seen.insert(r.address(), r.span) {
            let kind = match r.mode {
                ResourceMode::Managed => "resource",
                ResourceMode::Data => "data",
            };
            report(
                &format!("{kind} {:?} configuration", r.type_name),
                format!("A {} {kind} named {:?}", r.type_name, r.name),
                first,
                r.span,
                &format!("Resource names must be unique per type in each module; the address {}{} is taken.", module.display_path(), r.address()),
            );
        }
    }
    seen.clear();
    for m in &module.module_calls {
        if let Some(first) = seen.insert(m.name.clone(), m.span) {
            report(
                "module call",
                format!("A module call named {:?}", m.name),
                first,
                m.span,
                "Module calls must have unique names within a module.",
            );
        }
    }
    seen.clear();
    for c in &module.checks {
        if let Some(first) = seen.insert(c.name.clone(), c.span) {
            report(
                "check block",
                format!("A check block named {:?}", c.name),
                first,
                c.span,
                "Check blocks must have unique names within a module.",
            );
        }
    }
    seen.clear();
    for p in &module.providers {
        if let Some(first) = seen.insert(p.local_address(), p.span) {
            report(
                "provider configuration",
                format!("A provider configuration for {:?}", p.local_address()),
                first,
                p.span,
                "Give each additional configuration of a provider a unique alias.",
            );
        }
    }
    seen.clear();
    for i in module.imports.iter().filter(|i| i.for_each.is_none()) {
        let address = i.to.to_string();
        if let Some(first) = seen.insert(address.clone(), i.to_span) {
            diags.push(
                Diagnostic::error(format!("Duplicate import configuration for {address:?}"))
                    .detail(format!(
                        "An import block for the resource {address:?} was already declared at {}. A resource can have only one import block.",
                        sources.location(first)
                    ))
                    .at(i.to_span)
                    .label(first, "first declared here"),
            );
        }
    }
}
