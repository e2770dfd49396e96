//! Custom conditions: variable validations and pre/postconditions.

use super::scope::{InstanceScope, Repetition};
use super::Walk;
use crate::addrs::ModuleInstance;
use crate::config::{Check, ModuleId, Variable};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::lang::convert::convert;
use crate::lang::Constraint;

impl Walk<'_> {
    /// Evaluates a condition; returns the error message if it is known to be false.
    /// Errors evaluating it are reported and count as passing.
    pub(super) fn failed_check(
        &self,
        check: &Check,
        scope: &InstanceScope,
        diags: &mut Diagnostics,
    ) -> Option<String> {
        let cond = match self.eval(&check.condition, scope) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                return None;
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
                return None;
            }
        };
        // validate evaluates pre- and postconditions for their errors only.
        let validating_a_variable = scope.validating.is_some();
        if cond.as_bool() != Some(false) || (self.options.validate && !validating_a_variable) {
            return None;
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
        Some(message)
    }

    /// Runs a variable's `validation` blocks against its value (already stored), each
    /// able to see only that variable: the rules the value fails, and the errors
    /// evaluating the rules met.
    pub(super) fn validate_variable(
        &self,
        m: ModuleId,
        inst: &ModuleInstance,
        var: &Variable,
        name: &str,
        value_span: Option<Span>,
    ) -> (Diagnostics, Diagnostics) {
        let mut failures = Diagnostics::default();
        let mut errors = Diagnostics::default();
        for check in &var.validations {
            let mut scope = self.scope(m, inst, Repetition::None);
            scope.validating = Some(name);
            if let Some(message) = self.failed_check(check, &scope, &mut errors) {
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
        }
        (failures, errors)
    }
}
