//! `import` blocks: reading the objects they name into state before planning.

use std::collections::BTreeMap;

use plinth_state::{ResourceState, Snapshot};

use crate::config::Resource;
use crate::diag::{Diagnostic, Diagnostics};
use crate::lang::Value;
use crate::plan::declared_resource;
use crate::plugin::{runtime, ObjectState};
use crate::stack::Prepared;

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
