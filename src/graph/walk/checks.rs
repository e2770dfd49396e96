//! Custom conditions: variable validations, pre/postconditions and `check` blocks,
//! each result recorded for the JSON plan's `checks`.

use super::scope::{InstanceScope, Repetition};
use super::Walk;
use crate::addrs::{InstanceKey, ModuleInstance};
use crate::config::{Check, ModuleId, Resource, Variable};
use crate::diag::{Diagnostic, Diagnostics, Severity, Span};
use crate::lang::convert::convert;
use crate::lang::{Constraint, Value};

/// What a set of conditions came to, in Terraform's words (`pass`, `fail`, `error`,
/// `unknown`: not known until apply).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckStatus {
    Pass,
    Unknown,
    Fail,
    Error,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "fail",
            CheckStatus::Error => "error",
            CheckStatus::Unknown => "unknown",
        }
    }
}

/// The configuration object conditions belong to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckObject {
    /// A resource's preconditions and postconditions.
    Resource(crate::addrs::Resource),
    /// An output's preconditions.
    Output(String),
    /// A `check` block's assertions.
    CheckBlock(String),
    /// A variable's validations.
    Variable(String),
}

/// The conditions of one object in one module instance (and one resource instance,
/// `key`), as the walk found them.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub module: ModuleInstance,
    /// The configuration module's path (call names, no keys).
    pub module_path: Vec<String>,
    pub object: CheckObject,
    pub key: InstanceKey,
    pub status: CheckStatus,
    /// The error messages of the conditions that failed.
    pub problems: Vec<String>,
}

/// One condition's result.
pub(super) enum Outcome {
    Pass,
    Fail(String),
    Unknown,
    Error,
}

impl Outcome {
    fn status(&self) -> CheckStatus {
        match self {
            Outcome::Pass => CheckStatus::Pass,
            Outcome::Fail(_) => CheckStatus::Fail,
            Outcome::Unknown => CheckStatus::Unknown,
            Outcome::Error => CheckStatus::Error,
        }
    }
}

impl Walk<'_> {
    /// Records the results of one object's conditions (nothing for an object without
    /// conditions).
    pub(super) fn record_checks(
        &mut self,
        m: ModuleId,
        inst: &ModuleInstance,
        object: CheckObject,
        key: InstanceKey,
        outcomes: Vec<Outcome>,
    ) {
        if outcomes.is_empty() {
            return;
        }
        let status = outcomes
            .iter()
            .map(Outcome::status)
            .max()
            .unwrap_or(CheckStatus::Pass);
        let problems = outcomes
            .into_iter()
            .filter_map(|o| match o {
                Outcome::Fail(m) => Some(m),
                _ => None,
            })
            .collect();
        self.result.checks.push(CheckResult {
            module: inst.clone(),
            module_path: self.config.modules[m].path.clone(),
            object,
            key,
            status,
            problems,
        });
    }

    /// Evaluates a condition: its error message when it is known to be false.
    /// Errors evaluating it are reported.
    pub(super) fn condition(
        &self,
        check: &Check,
        scope: &InstanceScope,
        diags: &mut Diagnostics,
    ) -> Outcome {
        let cond = match self.eval(&check.condition, scope) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                return Outcome::Error;
            }
        };
        let cond = match convert(cond.unmark().0, &Constraint::Bool) {
            Ok(c) => c,
            Err(e) => {
                diags.push(
                    Diagnostic::error("Invalid condition result")
                        .detail(format!("The condition must return a bool: {e}."))
                        .at_opt(check.condition.span()),
                );
                return Outcome::Error;
            }
        };
        // validate evaluates pre- and postconditions for their errors only.
        if self.options.validate && scope.validating.is_none() {
            return Outcome::Unknown;
        }
        match cond.as_bool() {
            Some(false) => {}
            Some(true) => return Outcome::Pass,
            None if !cond.is_known() => return Outcome::Unknown,
            None => return Outcome::Pass,
        }
        let message = match self.eval(&check.error_message, scope) {
            Ok(v) if v.is_sensitive() => "(error message is sensitive)".to_string(),
            Ok(v) => v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| "(error message is not a known string)".into()),
            Err(d) => {
                diags.push(d);
                "(error message could not be evaluated)".into()
            }
        };
        Outcome::Fail(message)
    }

    /// Runs a variable's `validation` blocks against its value (already stored), each
    /// able to see only that variable: the rules the value fails, and the errors
    /// evaluating the rules met.
    pub(super) fn validate_variable(
        &mut self,
        m: ModuleId,
        inst: &ModuleInstance,
        var: &Variable,
        name: &str,
        value_span: Option<Span>,
    ) -> (Diagnostics, Diagnostics) {
        let mut failures = Diagnostics::default();
        let mut errors = Diagnostics::default();
        let mut outcomes = Vec::new();
        for check in &var.validations {
            let mut scope = self.scope(m, inst, Repetition::None);
            scope.validating = Some(name);
            let outcome = self.condition(check, &scope, &mut errors);
            if let Outcome::Fail(message) = &outcome {
                failures.push(
                    Diagnostic::error("Invalid value for variable")
                        .detail(format!(
                            "{message}\n\nThis was checked by the validation rule at {}.",
                            check
                                .condition
                                .span()
                                .map(|s| self.sources.location(s))
                                .unwrap_or_default()
                        ))
                        .at_opt(value_span.or(check.condition.span()))
                        .label(
                            check.condition.span().unwrap_or(var.span),
                            "validation rule",
                        ),
                );
            }
            outcomes.push(outcome);
        }
        // (validate checks a root variable twice, and writes no JSON plan.)
        if !self.options.validate {
            self.record_checks(
                m,
                inst,
                CheckObject::Variable(name.to_string()),
                InstanceKey::None,
                outcomes,
            );
        }
        (failures, errors)
    }
}

impl Walk<'_> {
    /// Evaluates a resource instance's postconditions with `self` its value (the
    /// handler's: planned in plan, new in apply); not known without one.
    pub(super) fn postconditions(
        &mut self,
        m: ModuleId,
        inst: &ModuleInstance,
        resource: &Resource,
        repetition: Repetition,
        value: Option<&Value>,
    ) -> Vec<Outcome> {
        let checks = &resource.lifecycle.postconditions;
        let Some(value) = value else {
            return checks.iter().map(|_| Outcome::Unknown).collect();
        };
        let mut diags = Diagnostics::default();
        let mut scope = self.scope(m, inst, repetition);
        scope.self_value = Some(value.clone());
        let mut outcomes = Vec::new();
        for check in checks {
            let outcome = self.condition(check, &scope, &mut diags);
            if let Outcome::Fail(message) = &outcome {
                diags.push(
                    Diagnostic::error("Resource postcondition failed")
                        .detail(message.clone())
                        .at_opt(check.condition.span()),
                );
            }
            outcomes.push(outcome);
        }
        self.diags.extend(diags);
        outcomes
    }
}

/// Diagnostics downgraded to warnings: what a `check` block or its scoped data
/// source reports never stops a plan or an apply.
pub(super) fn as_warnings(diags: Diagnostics) -> Diagnostics {
    let mut out = Diagnostics::default();
    for mut d in diags.items {
        d.severity = Severity::Warning;
        out.push(d);
    }
    out
}

impl Walk<'_> {
    /// Evaluates every `check` block's assertions in each instance of its module, once
    /// everything else is evaluated (Terraform runs checks as the last step of a plan
    /// and of an apply). A failed assertion is a warning; one not known until apply
    /// is reported as unknown.
    pub(super) fn check_blocks(&mut self) {
        let config = self.config;
        for (m, module) in config.modules.iter().enumerate() {
            if module.checks.is_empty() {
                continue;
            }
            for inst in self.instances_of(m) {
                for check in &module.checks {
                    let mut diags = Diagnostics::default();
                    // As Terraform does, a scoped data source that could not be read
                    // fails its check with the error's text; the assertions then
                    // see an unknown value.
                    let mut outcomes: Vec<Outcome> = self
                        .failed_scoped_reads
                        .get(&(m, check.name.clone()))
                        .map(|message| Outcome::Fail(message.clone()))
                        .into_iter()
                        .collect();
                    let scope = self.scope(m, &inst, Repetition::None);
                    for a in &check.asserts {
                        let outcome = self.condition(a, &scope, &mut diags);
                        if let Outcome::Fail(message) = &outcome {
                            let within = match inst.is_root() {
                                true => String::new(),
                                false => format!(" in {inst}"),
                            };
                            diags.push(
                                Diagnostic::warning("Check block assertion failed")
                                    .detail(format!(
                                        "{message}\n\nThis was checked by an assertion of check {:?}{within}.",
                                        check.name
                                    ))
                                    .at_opt(a.condition.span())
                                    .label(check.span, "check block"),
                            );
                        }
                        outcomes.push(outcome);
                    }
                    self.diags.extend(as_warnings(diags));
                    self.record_checks(
                        m,
                        &inst,
                        CheckObject::CheckBlock(check.name.clone()),
                        InstanceKey::None,
                        outcomes,
                    );
                }
            }
        }
    }
}
