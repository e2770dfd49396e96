//! Module instances, and the values of their input variables, outputs and calls.

use super::checks::{CheckObject, Outcome};
use super::expand::Expansion;
use super::scope::Repetition;
use super::Walk;
use crate::addrs::{InstanceKey, ModuleInstance};
use crate::config::{Expr, ModuleId};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::lang::convert::convert;
use crate::lang::{Type, Value};

impl Walk<'_> {
    pub(super) fn module_call_value(
        &self,
        module: ModuleId,
        instance: &ModuleInstance,
        name: &str,
    ) -> Value {
        let Some(call) = self.config.modules[module].module_call(name) else {
            return Value::unknown();
        };
        let Some(child) = call.child else {
            return Value::unknown();
        };
        if self.options.validate {
            // As in Terraform's validate: an unknown object with the child's output
            // names, of any type and not marked (the child was checked for any
            // input), a list of them for `count` and a map for `for_each`.
            let outputs = Type::Object(
                self.config.modules[child]
                    .outputs
                    .iter()
                    .map(|o| (o.name.clone(), Type::Dynamic))
                    .collect(),
            );
            return Value::Unknown(match (&call.count, &call.for_each) {
                (Some(_), _) => Type::list(outputs),
                (_, Some(_)) => Type::map(outputs),
                _ => outputs,
            });
        }
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
    pub(super) fn instances_of(&mut self, m: ModuleId) -> Vec<ModuleInstance> {
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
    pub(super) fn variable(&mut self, m: ModuleId, inst: &ModuleInstance, name: &str) {
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
        // validate: a child module is checked for any input of its variables' types
        // (a caller's argument was type-checked above).
        let value = if self.options.validate && inst.parent().is_some() {
            Value::Unknown(var.constraint.to_type()).mark(value.is_sensitive())
        } else {
            value
        };
        if value.is_null() && !var.nullable {
            self.diags.push(
                Diagnostic::error("Required variable not set")
                    .detail(format!("The variable {name:?} is required (nullable = false), but the given value is null."))
                    .at(value_span.unwrap_or(var.span)),
            );
        }
        let value = value.mark(var.sensitive);
        let sensitive = value.is_sensitive();
        self.values_mut(inst)
            .variables
            .insert(name.to_string(), value);
        let (failures, mut errors) = self.validate_variable(m, inst, var, name, value_span);
        self.diags.extend(failures);
        // validate: a root variable's default or given value is checked against its
        // type and validation rules above (plinth checks the inputs it is given); the
        // rules themselves, and the configuration, are then checked for any value of
        // the variable's type, as Terraform's validate does (`contains(list, var.x)`
        // with a null default fails only in plan).
        if self.options.validate && inst.parent().is_none() {
            self.values_mut(inst).variables.insert(
                name.to_string(),
                Value::Unknown(var.constraint.to_type()).mark(sensitive),
            );
            errors = self.validate_variable(m, inst, var, name, value_span).1;
        }
        self.diags.extend(errors);
    }

    pub(super) fn output(&mut self, m: ModuleId, inst: &ModuleInstance, name: &str) {
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
        let mut outcomes = Vec::new();
        for check in &out.preconditions {
            let scope = self.scope(m, inst, Repetition::None);
            let outcome = self.condition(check, &scope, &mut diags);
            if let Outcome::Fail(message) = &outcome {
                diags.push(
                    Diagnostic::error("Module output value precondition failed")
                        .detail(message.clone())
                        .at_opt(check.condition.span()),
                );
            }
            outcomes.push(outcome);
        }
        self.record_checks(
            m,
            inst,
            CheckObject::Output(name.to_string()),
            InstanceKey::None,
            outcomes,
        );
        self.diags.extend(diags);
        self.values_mut(inst)
            .outputs
            .insert(name.to_string(), value);
    }
}
