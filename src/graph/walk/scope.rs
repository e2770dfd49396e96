//! The scope of an expression inside the walk: what its references mean in one
//! module instance, with `count.index`, `each` and `path` where the block allows them.

use std::collections::HashMap;

use super::Walk;
use crate::addrs::ModuleInstance;
use crate::config::{Expr, ModuleId};
use crate::diag::Diagnostic;
use crate::graph::undeclared;
use crate::lang::refs::{Reference, ResourceMode, Subject};
use crate::lang::{Evaluator, Scope, Type, Value};

/// What `count.index` and `each` mean inside one instance.
#[derive(Clone, Debug)]
pub(super) enum Repetition {
    None,
    Count(Value),
    Each(Value, Value),
    /// An instance of a resource whose `count`/`for_each` is unknown.
    Unknown,
}

/// The scope of one expression: its module instance, and `count`/`each`/`self` where
/// the block allows them.
pub(super) struct InstanceScope<'w, 'a> {
    pub(super) walk: &'w Walk<'a>,
    pub(super) module: ModuleId,
    pub(super) instance: &'w ModuleInstance,
    pub(super) repetition: Repetition,
    /// Inside a variable's `validation`: only that variable may be referenced.
    pub(super) validating: Option<&'w str>,
    /// Inside a resource's `postcondition`: the instance's value, as `self`.
    pub(super) self_value: Option<Value>,
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
            Subject::SelfObject if self.self_value.is_some() => {
                Ok(self.self_value.clone().unwrap_or_else(Value::unknown))
            }
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
    pub(super) fn module_path(&self, m: ModuleId) -> String {
        let root = &self.config.modules[0].dir;
        let dir = &self.config.modules[m].dir;
        if m == 0 {
            return ".".into();
        }
        dir.strip_prefix(root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| dir.display().to_string())
    }

    pub(super) fn scope<'s>(
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
            self_value: None,
        }
    }

    pub(super) fn eval(&self, e: &Expr, scope: &InstanceScope) -> Result<Value, Diagnostic> {
        Evaluator::new(e.file, &self.sources.get(e.file).text, scope).eval(&e.expr)
    }
}
