//! Running a policy set's conftest rules against one plan.

use serde_json::Value as Json;

use super::load::{engine_error, PolicySet, PACKAGE};
use super::{Finding, PolicyReport};
use crate::diag::{Diagnostic, Diagnostics};

/// The policy input: Terraform's JSON plan (`plinth show --json`) with the cost
/// figures (Infracost's field names) at `cost` when there are any.
pub fn input(plan: Json, cost: Option<Json>) -> Json {
    match (plan, cost) {
        (Json::Object(mut document), Some(cost)) => {
            document.insert("cost".into(), cost);
            Json::Object(document)
        }
        (plan, _) => plan,
    }
}

impl PolicySet {
    /// Every message the conftest rules give for `input`, failures first; an error
    /// a rule raises is a diagnostic at its line.
    pub fn evaluate(&mut self, input: &Json) -> Result<PolicyReport, Diagnostics> {
        let fail = |d: Diagnostic| {
            let mut diagnostics = Diagnostics::default();
            diagnostics.push(d);
            diagnostics
        };
        let value = regorus::Value::from_json_str(&input.to_string()).map_err(|e| {
            fail(Diagnostic::error("Cannot read the policy input").detail(e.to_string()))
        })?;
        self.engine.set_input(value);
        let mut findings = Vec::new();
        self.engine
            .set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
                limit: self.time_limit,
                check_interval: std::num::NonZeroU32::MIN,
            });
        for rule in &self.rules {
            let file = &self.files[rule.file].name;
            let result = self.engine.eval_rule(rule.query()).map_err(|e| {
                let mut d = engine_error(
                    "Policy evaluation failed",
                    &e.to_string(),
                    &self.files,
                    &self.sources,
                );
                if d.span.is_none() {
                    d.detail = format!(
                        "{}/{file}, rule {PACKAGE}.{}: {}",
                        self.dir, rule.name, d.detail
                    );
                }
                fail(d)
            })?;
            let result = serde_json::to_value(&result).unwrap_or(Json::Null);
            for message in messages(&result, &rule.name) {
                findings.push(Finding {
                    kind: rule.kind,
                    file: file.clone(),
                    rule: format!("{PACKAGE}.{}", rule.name),
                    message,
                });
            }
        }
        findings.sort_by(|a, b| {
            (a.kind, &a.file, &a.rule, &a.message).cmp(&(b.kind, &b.file, &b.rule, &b.message))
        });
        findings.dedup();
        Ok(PolicyReport {
            dir: self.dir.clone(),
            files: self.files.len(),
            findings,
        })
    }
}

/// A rule's value as conftest reads it: each element of a set or array is one
/// message (a string, or an object's `msg`); a rule that is just `true` is one
/// message naming it.
fn messages(result: &Json, rule: &str) -> Vec<String> {
    match result {
        Json::Array(items) => items.iter().filter_map(message).collect(),
        Json::Bool(true) => vec![format!("{rule} is true")],
        Json::String(text) if text == "<undefined>" => Vec::new(),
        Json::String(_) | Json::Object(_) => message(result).into_iter().collect(),
        _ => Vec::new(),
    }
}

fn message(item: &Json) -> Option<String> {
    match item {
        Json::String(text) => Some(text.clone()),
        Json::Object(fields) => Some(match fields.get("msg") {
            Some(Json::String(text)) => text.clone(),
            _ => item.to_string(),
        }),
        Json::Null | Json::Bool(false) => None,
        other => Some(other.to_string()),
    }
}
