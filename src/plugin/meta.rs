//! Each module's `provider_meta` blocks, evaluated against the `provider_meta` schema
//! of the provider their resources use, so that PlanResourceChange,
//! ApplyResourceChange, ReadResource and ReadDataSource can send them.
//!
//! As in Terraform, a block matters only to resources of its own module that use its
//! provider: a block for a provider whose schema declares no `provider_meta` is an
//! error at each such resource, and one for a provider plinth has no schema for (not
//! installed) is left alone.

use std::collections::BTreeMap;

use super::Providers;
use crate::config::{Config, ProviderMeta};
use crate::diag::{Diagnostic, Diagnostics, Sources};
use crate::lang::convert::convert;
use crate::lang::refs::Reference;
use crate::lang::{Constraint, Evaluator, Scope, Value};
use crate::schema::Schema;

/// The blocks take constants only (loading has reported any reference already).
struct Constants;

impl Scope for Constants {
    fn resolve(&self, reference: &Reference) -> Result<Value, Diagnostic> {
        Err(Diagnostic::error("Variables not allowed")
            .detail("Variables may not be used here.")
            .at(reference.span))
    }
}

/// Evaluates every module's `provider_meta` blocks and records the values in
/// `providers` for the calls; returns the errors.
pub fn evaluate(config: &Config, sources: &Sources, providers: &mut Providers) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let mut values = Vec::new();
    for module in &config.modules {
        for meta in &module.settings.provider_metas {
            let users = module
                .resources
                .iter()
                .filter(|r| r.provider_name() == meta.provider);
            let mut schema = None;
            for resource in users {
                let Some((address, _)) = providers.for_resource(resource) else {
                    continue;
                };
                match providers.meta_schemas.get(address) {
                    Some(Some(s)) => schema = Some(s.clone()),
                    Some(None) => diags.push(
                        Diagnostic::error(format!(
                            "Provider {} doesn't support provider_meta",
                            provider_name(address)
                        ))
                        .detail(format!(
                            "The resource {} belongs to a provider that doesn't support provider_meta blocks",
                            resource.address()
                        ))
                        .at(meta.span),
                    ),
                    None => {}
                }
            }
            if let Some(schema) = schema {
                if let Some(v) = value(meta, &schema, sources, &mut diags) {
                    values.push((module.path.clone(), meta.provider.clone(), v));
                }
            }
        }
    }
    for (path, local, v) in values {
        providers.set_provider_meta(path, &local, v);
    }
    diags
}

/// `registry.terraform.io/hashicorp/aws` out of `provider["registry.terraform.io/hashicorp/aws"]`.
fn provider_name(address: &str) -> &str {
    address
        .strip_prefix("provider[\"")
        .and_then(|a| a.split('"').next())
        .unwrap_or(address)
}

/// The block's arguments as an object of the schema's type, or `None` after an error.
fn value(
    meta: &ProviderMeta,
    schema: &Schema,
    sources: &Sources,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let before = diags.items.len();
    let mut object = BTreeMap::new();
    for attr in &meta.attrs {
        let Some(declared) = schema.attributes.get(&attr.name) else {
            diags.push(
                Diagnostic::error("Unsupported argument")
                    .detail(format!(
                        "An argument named {:?} is not expected here.",
                        attr.name
                    ))
                    .at(attr.name_span),
            );
            continue;
        };
        let text = &sources.get(attr.expr.file).text;
        let evaluated = Evaluator::new(attr.expr.file, text, &Constants).eval(&attr.expr.expr);
        let v = match evaluated {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        match convert(v, &Constraint::from_type(&declared.ty)) {
            Ok(v) => {
                object.insert(attr.name.clone(), v);
            }
            Err(e) => diags.push(
                Diagnostic::error("Incorrect attribute value type")
                    .detail(format!(
                        "Inappropriate value for attribute {:?}: {e}.",
                        attr.name
                    ))
                    .at_opt(attr.expr.span()),
            ),
        }
    }
    for (name, declared) in &schema.attributes {
        if declared.required && !object.contains_key(name) {
            diags.push(
                Diagnostic::error("Missing required argument")
                    .detail(format!(
                        "The argument {name:?} is required, but no definition was found."
                    ))
                    .at(meta.span),
            );
        }
        object
            .entry(name.clone())
            .or_insert_with(|| Value::Null(declared.ty.clone()));
    }
    (diags.items.len() == before).then_some(Value::Object(object))
}
