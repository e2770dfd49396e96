//! `console`: expressions evaluated in the root module, with variables, locals and
//! outputs as validate computes them, resources as the state holds them (unknown
//! when state has none), and every function.

use std::collections::HashMap;

use plinth_state::Snapshot;

use crate::diag::{Diagnostic, Sources};
use crate::graph::walk::InstanceValues;
use crate::lang::refs::{Reference, ResourceMode, Subject};
use crate::lang::{Evaluator, Scope, Value};
use crate::stack::LoadedStack;

/// A stack evaluated once, and the state it is evaluated against.
pub struct Console {
    stack: LoadedStack,
    state: Snapshot,
    workspace: String,
}

/// One line's outcome, with the sources its diagnostic points into.
pub struct Evaluated {
    pub sources: Sources,
    pub result: Result<Value, Diagnostic>,
}

impl Console {
    pub fn new(stack: LoadedStack, state: Snapshot, workspace: String) -> Console {
        Console {
            stack,
            state,
            workspace,
        }
    }

    pub fn eval(&self, line: &str) -> Evaluated {
        let mut sources = Sources::default();
        let file = sources.add("<console>".into(), line.to_string());
        let scope = ConsoleScope {
            root: self.stack.evaluation.root(),
            state: &self.state,
            workspace: &self.workspace,
        };
        let result =
            match crate::config::load::parse_wide_numbers(line, hcl_edit::parser::parse_expr) {
                Ok(expr) => Evaluator::new(file, line, &scope).eval(&expr),
                Err(e) => Err(Diagnostic::error("Invalid expression").detail(e.to_string())),
            };
        Evaluated { sources, result }
    }
}

struct ConsoleScope<'a> {
    root: Option<&'a InstanceValues>,
    state: &'a Snapshot,
    workspace: &'a str,
}

impl ConsoleScope<'_> {
    /// A resource's value from state: one instance, or all of a counted or
    /// `for_each` resource.
    fn stored(&self, key: &str) -> Option<Value> {
        if let Some(rs) = self.state.resources.get(key) {
            return Some(crate::plan::state_value(rs));
        }
        let prefix = format!("{key}[");
        let instances: Vec<(&String, Value)> = self
            .state
            .resources
            .iter()
            .filter(|(a, _)| a.starts_with(&prefix))
            .map(|(a, rs)| (a, crate::plan::state_value(rs)))
            .collect();
        if instances.is_empty() {
            return None;
        }
        let keyed = instances.iter().any(|(a, _)| a.ends_with("\"]"));
        if keyed {
            let m = instances
                .into_iter()
                .map(|(a, v)| {
                    let k = a[prefix.len()..a.len() - 1].trim_matches('"').to_string();
                    (k, v)
                })
                .collect();
            return Some(Value::Object(m));
        }
        let mut indexed: Vec<(usize, Value)> = instances
            .into_iter()
            .filter_map(|(a, v)| a[prefix.len()..a.len() - 1].parse().ok().map(|i| (i, v)))
            .collect();
        indexed.sort_by_key(|(i, _)| *i);
        Some(Value::Tuple(indexed.into_iter().map(|(_, v)| v).collect()))
    }
}

impl Scope for ConsoleScope<'_> {
    fn resolve(&self, r: &Reference) -> Result<Value, Diagnostic> {
        let get = |m: Option<&HashMap<String, Value>>, k: &str, what: &str| {
            m.and_then(|m| m.get(k)).cloned().ok_or_else(|| {
                Diagnostic::error(format!("Reference to undeclared {what}"))
                    .detail(format!(
                        "There is no {what} named {k:?} in the root module."
                    ))
                    .at(r.span)
            })
        };
        match &r.subject {
            Subject::Var(n) => get(self.root.map(|v| &v.variables), n, "input variable"),
            Subject::Local(n) => get(self.root.map(|v| &v.locals), n, "local value"),
            Subject::Resource {
                mode,
                type_name,
                name,
            } => {
                let key = match mode {
                    ResourceMode::Managed => format!("{type_name}.{name}"),
                    ResourceMode::Data => format!("data.{type_name}.{name}"),
                };
                if let Some(v) = self.stored(&key) {
                    return Ok(v);
                }
                get(self.root.map(|v| &v.resources), &key, "resource")
            }
            Subject::Path(_) => Ok(Value::string(".")),
            Subject::TerraformWorkspace => Ok(Value::String(self.workspace.to_string())),
            _ => Ok(Value::unknown()),
        }
    }
}
