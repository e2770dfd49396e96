//! `import` blocks: reading the objects they name into state before planning, each
//! `for_each` expanded first (its value must be known: variables, locals, constants).

use std::collections::BTreeMap;

use plinth_state::{ResourceState, Snapshot};

use crate::addrs::{InstanceKey, ResourceInstance};
use crate::config::{Import, Resource};
use crate::diag::{Diagnostic, Diagnostics};
use crate::lang::refs::{Reference, Subject};
use crate::lang::Value;
use crate::plan::declared_resource;
use crate::plugin::{runtime, ObjectState};
use crate::stack::Prepared;

/// What an `import` block's `for_each`, `id` and `to` key may refer to before
/// anything is planned: the root module's input variables and local values, and
/// `each`. Resources, data sources and module outputs are unknown here.
struct ImportScope<'a> {
    prepared: &'a Prepared,
    each: Option<(Value, Value)>,
    /// Local values being evaluated, to stop at a cycle.
    evaluating: std::cell::RefCell<Vec<String>>,
}

impl ImportScope<'_> {
    fn eval(&self, expr: &crate::config::Expr) -> Result<Value, Diagnostic> {
        let text = &self.prepared.sources.get(expr.file).text;
        crate::lang::Evaluator::new(expr.file, text, self).eval(&expr.expr)
    }

    fn variable(&self, name: &str, r: &Reference) -> Result<Value, Diagnostic> {
        let root = self.prepared.config.root();
        let Some(var) = root.variable(name) else {
            return Err(
                crate::graph::undeclared(&self.prepared.config, 0, r).unwrap_or_else(|| {
                    Diagnostic::error("Reference to undeclared input variable").at(r.span)
                }),
            );
        };
        let given = match self.prepared.inputs.get(name) {
            Some(input) => Some(input.value(&self.prepared.sources)?),
            None => None,
        };
        let value = match (given, &var.default) {
            (Some(v), _) => v,
            (None, Some(default)) => self.eval(default)?,
            (None, None) => Value::unknown(),
        };
        let value = crate::lang::convert::convert(value.clone(), &var.constraint).unwrap_or(value);
        Ok(if var.sensitive {
            value.sensitive()
        } else {
            value
        })
    }

    fn local(&self, name: &str, r: &Reference) -> Result<Value, Diagnostic> {
        let root = self.prepared.config.root();
        let Some(local) = root.local(name) else {
            return Err(
                crate::graph::undeclared(&self.prepared.config, 0, r).unwrap_or_else(|| {
                    Diagnostic::error("Reference to undeclared local value").at(r.span)
                }),
            );
        };
        if self.evaluating.borrow().iter().any(|n| n == name) {
            return Ok(Value::unknown());
        }
        self.evaluating.borrow_mut().push(name.to_string());
        let outer = ImportScope {
            prepared: self.prepared,
            each: None,
            evaluating: std::cell::RefCell::new(self.evaluating.borrow().clone()),
        };
        let value = outer.eval(&local.expr);
        self.evaluating.borrow_mut().pop();
        value
    }
}

impl crate::lang::Scope for ImportScope<'_> {
    fn resolve(&self, r: &Reference) -> Result<Value, Diagnostic> {
        match (&r.subject, &self.each) {
            (Subject::Var(name), _) => self.variable(name, r),
            (Subject::Local(name), _) => self.local(name, r),
            (Subject::EachKey, Some((key, _))) => Ok(key.clone()),
            (Subject::EachValue, Some((_, value))) => Ok(value.clone()),
            (Subject::EachKey | Subject::EachValue, None) => Err(Diagnostic::error("Reference to \"each\" in context without for_each")
                .detail("The \"each\" object can be used only in an import block with for_each, or in a \"module\" or \"resource\" block that has \"for_each\" set.")
                .at(r.span)),
            (Subject::Path(what), _) if what == "module" || what == "root" => {
                Ok(Value::string(self.prepared.dir.display().to_string()))
            }
            (Subject::TerraformWorkspace, _) => Err(Diagnostic::error("Invalid import reference")
                .detail("terraform.workspace is not available to import blocks in plinth.")
                .at(r.span)),
            _ => Ok(Value::unknown()),
        }
    }
}

/// One import to make: the instance and the id, with where the block is.
struct Planned<'a> {
    import: &'a Import,
    to: ResourceInstance,
    id: String,
}

/// The imports the root module's blocks ask for, each `for_each` expanded.
fn expand_imports<'p>(prepared: &'p Prepared, diags: &mut Diagnostics) -> Vec<Planned<'p>> {
    let mut out: Vec<Planned> = Vec::new();
    let mut seen: BTreeMap<String, crate::diag::Span> = BTreeMap::new();
    for import in &prepared.config.root().imports {
        let scope = ImportScope {
            prepared,
            each: None,
            evaluating: Default::default(),
        };
        let repetitions = match &import.for_each {
            None => vec![None],
            Some(e) => match scope.eval(e).and_then(|v| for_each_elements(v, e)) {
                Ok(elements) => elements.into_iter().map(Some).collect(),
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            },
        };
        for each in repetitions {
            let scope = ImportScope {
                prepared,
                each,
                evaluating: Default::default(),
            };
            let to =
                match &import.to_key {
                    None => Ok(import.to.clone()),
                    Some(key) => scope.eval(key).and_then(|k| instance_key(k, key)).map(|k| {
                        ResourceInstance {
                            key: k,
                            ..import.to.clone()
                        }
                    }),
                };
            let planned = to.and_then(|to| {
                Ok(Planned {
                    id: import_id(&scope, import)?,
                    to,
                    import,
                })
            });
            match planned {
                Ok(p) => {
                    let address = p.to.to_string();
                    if let Some(first) = seen.insert(address.clone(), import.to_span) {
                        diags.push(
                            Diagnostic::error(format!("Duplicate import configuration for {address:?}"))
                                .detail(format!(
                                    "An import for the resource {address:?} was already declared at {}. A resource can have only one import block.",
                                    prepared.sources.location(first)
                                ))
                                .at(import.to_span),
                        );
                        continue;
                    }
                    if let Some(d) = undeclared_instance(prepared, &p.to, import.to_span) {
                        diags.push(d);
                        continue;
                    }
                    out.push(p)
                }
                Err(d) => diags.push(d),
            }
        }
    }
    out
}

/// An import into an instance its resource does not declare (a key on a resource
/// without count or for_each, a string key on a counted one, a key its `for_each`
/// does not hold where that is known before planning) would be planned for
/// destruction at once; Terraform refuses it.
fn undeclared_instance(
    prepared: &Prepared,
    to: &ResourceInstance,
    at: crate::diag::Span,
) -> Option<Diagnostic> {
    let r = declared_resource(&prepared.config, to)?;
    // A child module's count or for_each is evaluated in its own scope; only the
    // kind of key is checked there.
    let known = |e: &crate::config::Expr| {
        if !to.module.is_root() {
            return None;
        }
        let scope = ImportScope {
            prepared,
            each: None,
            evaluating: Default::default(),
        };
        scope.eval(e).ok().filter(Value::is_wholly_known)
    };
    let fits = match (&to.key, &r.count, &r.for_each) {
        (InstanceKey::None, None, None) => true,
        (InstanceKey::Int(i), Some(count), None) => match known(count) {
            Some(n) => n
                .peel()
                .0
                .as_number()
                .and_then(|n| n.to_i64())
                .is_none_or(|n| (*i as i64) < n),
            None => true,
        },
        (InstanceKey::Str(k), None, Some(for_each)) => {
            match known(for_each).as_ref().map(|v| v.peel().0) {
                Some(Value::Map(_, m) | Value::Object(m)) => m.contains_key(k),
                Some(Value::Set(_, items)) => items.iter().any(|v| v.as_str() == Some(k.as_str())),
                _ => true,
            }
        }
        _ => false,
    };
    (!fits).then(|| {
        Diagnostic::error("Configuration for import target does not exist")
            .detail(format!("The configuration for the given import {to} does not exist. All target instances must have an associated configuration to be imported."))
            .at(at)
    })
}

/// `each.key` and `each.value` for every element of an import's `for_each`: a map's
/// or object's entries, a set's elements (key and value alike), a list's indexes.
fn for_each_elements(
    value: Value,
    expr: &crate::config::Expr,
) -> Result<Vec<(Value, Value)>, Diagnostic> {
    let invalid = |detail: &str| {
        Diagnostic::error("Invalid for_each argument")
            .detail(detail.to_string())
            .at_opt(expr.span())
    };
    if !value.is_wholly_known() {
        return Err(invalid("The \"for_each\" expression includes values derived from other resource attributes that cannot be determined until apply, and so plinth cannot determine the full set of values that might be used to import this resource."));
    }
    let (inner, sensitive) = value.peel();
    if sensitive {
        return Err(invalid("Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments."));
    }
    Ok(match inner {
        Value::Null(_) => Vec::new(),
        Value::Map(_, m) | Value::Object(m) => m
            .iter()
            .map(|(k, v)| (Value::string(k.clone()), v.clone()))
            .collect(),
        Value::Set(_, items) => items.iter().map(|v| (v.clone(), v.clone())).collect(),
        Value::List(_, items) | Value::Tuple(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (Value::number(i), v.clone()))
            .collect(),
        other => {
            return Err(invalid(&format!(
            "The \"for_each\" argument of an import block must be a map, a set or a list, not {}.",
            other.ty().friendly_name()
        )))
        }
    })
}

/// The instance key `to`'s index expression gives for one element.
fn instance_key(key: Value, expr: &crate::config::Expr) -> Result<InstanceKey, Diagnostic> {
    let invalid = |detail: String| {
        Diagnostic::error("Invalid import address")
            .detail(detail)
            .at_opt(expr.span())
    };
    match key.peel().0 {
        Value::String(s) => Ok(InstanceKey::Str(s.clone())),
        Value::Number(n) => n
            .to_i64()
            .and_then(|i| usize::try_from(i).ok())
            .map(InstanceKey::Int)
            .ok_or_else(|| {
                invalid(format!(
                    "An instance key must be a string or a whole number, not {n}."
                ))
            }),
        other => Err(invalid(format!(
            "An instance key must be a string or a whole number, not {}.",
            other.ty().friendly_name()
        ))),
    }
}

fn import_id(scope: &ImportScope, import: &Import) -> Result<String, Diagnostic> {
    let invalid = |detail: String| {
        Diagnostic::error("Invalid import id argument")
            .detail(detail)
            .at_opt(import.id.span())
    };
    let value = scope.eval(&import.id)?;
    if !value.is_wholly_known() {
        return Err(invalid("The import block \"id\" argument depends on values that cannot be determined until apply, so plinth cannot plan to import this resource.".into()));
    }
    match crate::lang::convert::convert(value.clone(), &crate::lang::Constraint::String) {
        Ok(v) => match v.peel().0 {
            Value::String(s) if s.is_empty() => Err(invalid(
                "The import ID value evaluates to an empty string, please provide a non-empty value.".into(),
            )),
            Value::String(s) => Ok(s.clone()),
            _ => Err(invalid("The import ID cannot be null.".into())),
        },
        Err(_) => Err(invalid(format!(
            "The id must be a string, not {}.",
            value.ty().friendly_name()
        ))),
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
    let planned = expand_imports(prepared, &mut diags);
    if diags.has_errors() {
        return (state, imported, diags);
    }
    for Planned { import, to, id } in planned {
        let key = to.to_string();
        if prior.resources.contains_key(&key) {
            continue;
        }
        let instance = to;
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
                        "No provider serves {type_name}, so {key} cannot be imported."
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
                        tainted: false,
                    },
                );
                imported.insert(key.clone(), id.clone());
            }
            Ok(ObjectState { value: None, .. }) => diags.push(
                Diagnostic::error("Cannot import non-existent remote object")
                    .detail(format!("Nothing exists with id {id:?} for {key}."))
                    .at(import.to_span),
            ),
            Err(d) => {
                for mut x in d.items {
                    x.detail = format!("{}\n\nwhile importing {key} (id {id:?})", x.detail);
                    diags.push(x.at(import.to_span));
                }
            }
        }
    }
    (state, imported, diags)
}
