//! The plan in Terraform's JSON plan format (`terraform show -json PLANFILE`), so
//! policy and cost tools (Checkov, OPA/conftest, Infracost) read plinth's plan as they
//! read Terraform's: `variables`, `planned_values`, `resource_changes`,
//! `resource_drift`, `output_changes`, `prior_state`, `configuration`,
//! `relevant_attributes`, `timestamp`, `applyable`, `complete`, `errored`.
//!
//! Every key Terraform v1.0.3 writes is written as it writes it (values without their
//! unknowns, `after_unknown` and the `*_sensitive` masks with their `false`s left out,
//! an output's `after` left out while unknown); the keys later releases added (format
//! 1.2) come beside them. It decides nothing: what planning knew beside the changes
//! (the configuration, the state planned from, schema versions) comes in a [`Context`]
//! the planner filled.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value as J};

use super::json_state::{self, provider_name, resource_head};
use super::{Action, Plan, PlannedChange};
use crate::lang::Value;
use plinth_protocol::marks::Path;

/// The JSON plan format version written: Terraform 1.2's, whose keys tools read.
pub const FORMAT_VERSION: &str = "1.2";

pub use crate::TERRAFORM_VERSION;

/// What planning knew beside the changes, for the parts of the JSON plan that are not
/// changes.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// `variables`: every root variable's value.
    pub variables: BTreeMap<String, Value>,
    /// `configuration`, from [`super::json_config::configuration`].
    pub configuration: J,
    /// `prior_state.values`: the refreshed state planned from, with the data sources
    /// read while planning and the root outputs known at plan time.
    pub prior_state: J,
    /// Each resource type's schema version, by `managed.TYPE` / `data.TYPE`.
    pub schema_versions: BTreeMap<String, u64>,
    /// The paths each instance's configuration marks sensitive (by address): what
    /// `planned_values` shows as `sensitive_values`.
    pub config_sensitive: BTreeMap<String, Vec<Path>>,
    /// Root output values as planned, sensitive ones marked.
    pub outputs: BTreeMap<String, Value>,
    /// `relevant_attributes`: resource attributes the configuration reads, of
    /// resources that changed outside plinth.
    pub relevant_attributes: Vec<J>,
    /// When the plan was made, RFC 3339 in UTC.
    pub timestamp: String,
    /// Whether every change the configuration asks for is in the plan (not so for a
    /// plan limited by `--target`).
    pub complete: bool,
}

/// The key `schema_versions` is read under.
pub fn schema_key(mode: crate::lang::refs::ResourceMode, type_name: &str) -> String {
    match mode {
        crate::lang::refs::ResourceMode::Managed => format!("managed.{type_name}"),
        crate::lang::refs::ResourceMode::Data => format!("data.{type_name}"),
    }
}

/// The whole JSON plan. Without a context (a plan built in memory by a test) the
/// parts that need one are left out.
pub fn document(plan: &Plan) -> J {
    let context = plan.json.as_deref();
    let mut doc = Map::new();
    doc.insert("format_version".into(), json!(FORMAT_VERSION));
    doc.insert("terraform_version".into(), json!(TERRAFORM_VERSION));
    doc.insert("plinth_version".into(), json!(env!("CARGO_PKG_VERSION")));
    let variables: Map<String, J> = context
        .map_or(&plan.variables, |c| &c.variables)
        .iter()
        .map(|(name, v)| (name.clone(), json!({ "value": plain(v) })))
        .collect();
    if !variables.is_empty() {
        doc.insert("variables".into(), J::Object(variables));
    }
    if let Some(c) = context {
        doc.insert("planned_values".into(), planned_values(plan, c));
    }
    let drift: Vec<J> = plan
        .drift
        .iter()
        .map(|c| resource_change(plan, c))
        .collect();
    if !drift.is_empty() {
        doc.insert("resource_drift".into(), J::Array(drift));
    }
    let changes: Vec<J> = if plan.refresh_only {
        Vec::new()
    } else {
        plan.changes
            .iter()
            .map(|c| resource_change(plan, c))
            .collect()
    };
    if !changes.is_empty() {
        doc.insert("resource_changes".into(), J::Array(changes));
    }
    let outputs = output_changes(plan, context);
    if !outputs.is_empty() {
        doc.insert("output_changes".into(), J::Object(outputs));
    }
    if let Some(c) = context {
        let mut prior = json!({
            "format_version": FORMAT_VERSION,
            "terraform_version": TERRAFORM_VERSION,
        });
        if has_values(&c.prior_state) {
            prior["values"] = c.prior_state.clone();
        }
        doc.insert("prior_state".into(), prior);
        doc.insert("configuration".into(), c.configuration.clone());
        if !c.relevant_attributes.is_empty() {
            doc.insert(
                "relevant_attributes".into(),
                J::Array(c.relevant_attributes.clone()),
            );
        }
        doc.insert("timestamp".into(), json!(c.timestamp));
    }
    let checks = super::json_checks::checks(&plan.checks);
    if !checks.is_empty() {
        doc.insert("checks".into(), J::Array(checks));
    }
    if !plan.deferred.is_empty() {
        let deferred: Vec<J> = plan.deferred.iter().map(deferred_change).collect();
        doc.insert("deferred_changes".into(), J::Array(deferred));
    }
    doc.insert("applyable".into(), json!(plan.has_changes()));
    doc.insert(
        "complete".into(),
        json!(context.is_none_or(|c| c.complete) && plan.deferred.is_empty()),
    );
    doc.insert("errored".into(), json!(false));
    J::Object(doc)
}

/// A deferred instance as Terraform 1.9's JSON plan lists it (`reason` and the
/// `resource_change`, whose change is not planned yet), with plinth's words.
fn deferred_change(d: &super::deferred::DeferredChange) -> J {
    let mut change = resource_head(&d.address);
    if !d.address.module.is_root() {
        change.insert("module_address".into(), json!(d.address.module.to_string()));
    }
    change.insert("provider_name".into(), json!(provider_name(&d.provider)));
    json!({
        "reason": d.reason.code(),
        "plinth_detail": d.reason.describe(),
        "resource_change": change,
    })
}

fn has_values(values: &J) -> bool {
    values.get("outputs").is_some()
        || values["root_module"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
}

fn plain(v: &Value) -> J {
    v.clone().deep_unmark().to_json()
}

fn actions(a: Action) -> Vec<&'static str> {
    match a {
        Action::NoOp => vec!["no-op"],
        Action::Read => vec!["read"],
        Action::Create => vec!["create"],
        Action::Update => vec!["update"],
        Action::DeleteThenCreate => vec!["delete", "create"],
        Action::CreateThenDelete => vec!["create", "delete"],
        Action::Delete => vec!["delete"],
        // Terraform 1.7's JSON plan spelling for a `removed` block's objects.
        Action::Forget => vec!["forget"],
    }
}

/// One entry of `resource_changes` or `resource_drift`.
fn resource_change(plan: &Plan, c: &PlannedChange) -> J {
    let mut entry = resource_head(&c.address);
    if !c.address.module.is_root() {
        entry.insert("module_address".into(), json!(c.address.module.to_string()));
    }
    entry.insert("provider_name".into(), json!(provider_name(&c.provider)));
    if let Some(p) = &c.previous_address {
        entry.insert("previous_address".into(), json!(p.to_string()));
    }
    let mut change = Map::new();
    change.insert("actions".into(), json!(actions(c.action)));
    change.insert("before".into(), c.before.as_ref().map_or(J::Null, plain));
    let (after, after_unknown) = match &c.after {
        Some(a) if a.is_wholly_known() => (Some(plain(a)), json!({})),
        Some(a) => (omit_unknowns(a), unknown_as_bool(a)),
        None => (Some(J::Null), json!({})),
    };
    if let Some(after) = after {
        change.insert("after".into(), after);
    }
    change.insert("after_unknown".into(), after_unknown);
    change.insert("before_sensitive".into(), mask(c.before.as_ref()));
    change.insert("after_sensitive".into(), mask(c.after.as_ref()));
    if !c.replace_paths.is_empty() {
        let paths: Vec<J> = c.replace_paths.iter().map(|p| json!([p])).collect();
        change.insert("replace_paths".into(), J::Array(paths));
    }
    if let Some(id) = plan.imports.get(&c.address.to_string()) {
        change.insert("importing".into(), json!({ "id": id }));
    }
    entry.insert("change".into(), J::Object(change));
    if let Some(r) = c.reason {
        entry.insert("action_reason".into(), json!(r));
    }
    J::Object(entry)
}

fn mask(v: Option<&Value>) -> J {
    v.map_or(J::Bool(false), sensitive_as_bool)
}

/// `output_changes`: every root output, unchanged ones as `no-op`. An output's
/// masks are one boolean each, its sensitivity; its `after` is left out while
/// unknown.
fn output_changes(plan: &Plan, context: Option<&Context>) -> Map<String, J> {
    let mut out = Map::new();
    let changed: BTreeSet<&str> = plan
        .output_changes
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    if let Some(c) = context {
        for (name, v) in c
            .outputs
            .iter()
            .filter(|(n, _)| !changed.contains(n.as_str()))
        {
            out.insert(name.clone(), output_change(Action::NoOp, Some(v), Some(v)));
        }
    }
    for o in &plan.output_changes {
        out.insert(
            o.name.clone(),
            output_change(o.action, o.before.as_ref(), o.after.as_ref()),
        );
    }
    out
}

fn output_change(action: Action, before: Option<&Value>, after: Option<&Value>) -> J {
    let sensitive =
        before.is_some_and(Value::is_sensitive) || after.is_some_and(Value::is_sensitive);
    let mut change = Map::new();
    change.insert("actions".into(), json!(actions(action)));
    change.insert("before".into(), before.map_or(J::Null, plain));
    let known = after.is_none_or(Value::is_wholly_known);
    if known {
        change.insert("after".into(), after.map_or(J::Null, plain));
    }
    change.insert("after_unknown".into(), json!(!known));
    change.insert("before_sensitive".into(), json!(sensitive));
    change.insert("after_sensitive".into(), json!(sensitive));
    J::Object(change)
}

/// `planned_values`: what each resource instance and root output will be once the
/// plan is applied (deleted instances left out, unknown values left out).
fn planned_values(plan: &Plan, c: &Context) -> J {
    let resources = plan
        .changes
        .iter()
        .filter(|ch| ch.action != Action::Delete && !plan.refresh_only)
        .filter_map(|ch| {
            let after = ch.after.as_ref()?;
            let mut entry = resource_head(&ch.address);
            entry.insert("provider_name".into(), json!(provider_name(&ch.provider)));
            let key = schema_key(ch.address.resource.mode, &ch.address.resource.type_name);
            let version = c.schema_versions.get(&key).copied().unwrap_or(0);
            entry.insert("schema_version".into(), json!(version));
            // Terraform leaves out `values` when nothing is known yet.
            let values = omit_unknowns(after).unwrap_or_else(|| json!({}));
            if values.as_object().is_none_or(|o| !o.is_empty()) {
                entry.insert("values".into(), values);
            }
            let paths = c
                .config_sensitive
                .get(&ch.address.to_string())
                .map_or(&[][..], Vec::as_slice);
            let marked = after.clone().deep_unmark().mark_paths(paths);
            entry.insert("sensitive_values".into(), sensitive_as_bool(&marked));
            Some((ch.address.clone(), J::Object(entry)))
        });
    let outputs = c.outputs.iter().map(|(k, v)| (k.clone(), v.clone()));
    json_state::module_values(resources, outputs)
}

/// A value without its unknowns, as Terraform writes `after`: an unknown attribute,
/// map, set or tuple element is left out, an unknown list element is `null` (a list's
/// length may matter), and a wholly unknown value is nothing.
pub fn omit_unknowns(v: &Value) -> Option<J> {
    let (inner, _) = v.peel();
    match inner {
        Value::Unknown(_) => None,
        Value::List(_, items) => Some(J::Array(
            items
                .iter()
                .map(|x| omit_unknowns(x).unwrap_or(J::Null))
                .collect(),
        )),
        Value::Set(_, items) | Value::Tuple(items) => {
            Some(J::Array(items.iter().filter_map(omit_unknowns).collect()))
        }
        Value::Map(_, m) | Value::Object(m) => Some(J::Object(
            m.iter()
                .filter_map(|(k, x)| Some((k.clone(), omit_unknowns(x)?)))
                .collect(),
        )),
        other => Some(other.clone().deep_unmark().to_json()),
    }
}

/// Terraform's `after_unknown` mask: `true` where a value is unknown; in objects and
/// maps the `false`s are left out, in sequences every element is kept.
pub fn unknown_as_bool(v: &Value) -> J {
    let (inner, _) = v.peel();
    match inner {
        Value::Unknown(_) => J::Bool(true),
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            J::Array(items.iter().map(unknown_as_bool).collect())
        }
        Value::Map(_, m) | Value::Object(m) => J::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), unknown_as_bool(x)))
                .filter(|(_, b)| b != &J::Bool(false))
                .collect(),
        ),
        _ => J::Bool(false),
    }
}

/// Terraform's `*_sensitive` masks and `sensitive_values`: `true` where a value is
/// marked sensitive; in objects and maps the `false`s are left out, in sequences
/// every element is kept; an unknown collection is empty.
pub fn sensitive_as_bool(v: &Value) -> J {
    let (inner, marked) = v.peel();
    if marked {
        return J::Bool(true);
    }
    match inner {
        Value::Unknown(t) => match t {
            crate::lang::Type::List(_)
            | crate::lang::Type::Set(_)
            | crate::lang::Type::Tuple(_) => json!([]),
            crate::lang::Type::Map(_) | crate::lang::Type::Object(_) => json!({}),
            _ => J::Bool(false),
        },
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            J::Array(items.iter().map(sensitive_as_bool).collect())
        }
        Value::Map(_, m) | Value::Object(m) => J::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), sensitive_as_bool(x)))
                .filter(|(_, b)| b != &J::Bool(false))
                .collect(),
        ),
        _ => J::Bool(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Type;

    fn object(entries: Vec<(&str, Value)>) -> Value {
        Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    #[test]
    fn unknowns_are_left_out_of_values_and_shown_in_the_mask() {
        let v = object(vec![
            ("id", Value::Unknown(Type::String)),
            ("name", Value::string("a")),
            (
                "list",
                Value::List(
                    Type::String,
                    vec![Value::Unknown(Type::String), Value::string("x")],
                ),
            ),
            // A set's or tuple's unknown elements are left out (Terraform's
            // omitUnknowns keeps a null only where a list's length may matter).
            (
                "set",
                Value::Set(
                    Type::String,
                    vec![Value::Unknown(Type::String), Value::string("y")],
                ),
            ),
            (
                "tuple",
                Value::Tuple(vec![Value::Unknown(Type::String), Value::string("z")]),
            ),
            ("tags", object(vec![("k", Value::string("v"))])),
            ("none", Value::null()),
        ]);
        assert_eq!(
            omit_unknowns(&v),
            Some(
                json!({"name": "a", "list": [null, "x"], "set": ["y"], "tuple": ["z"], "tags": {"k": "v"}, "none": null})
            )
        );
        assert_eq!(
            unknown_as_bool(&v),
            json!({"id": true, "list": [true, false], "set": [true, false], "tuple": [true, false], "tags": {}})
        );
        assert_eq!(omit_unknowns(&Value::Unknown(Type::String)), None);
    }

    #[test]
    fn sensitive_masks_keep_only_the_marks() {
        let v = object(vec![
            ("password", Value::string("p").sensitive()),
            ("name", Value::string("a")),
            ("tags_all", Value::Unknown(Type::map(Type::String))),
            ("list", Value::Tuple(vec![Value::string("x")])),
        ]);
        assert_eq!(
            sensitive_as_bool(&v),
            json!({"password": true, "tags_all": {}, "list": [false]})
        );
        assert_eq!(sensitive_as_bool(&Value::null()), json!(false));
    }

    #[test]
    fn an_unknown_output_has_no_after() {
        let c = output_change(Action::Create, None, Some(&Value::Unknown(Type::String)));
        assert!(c.get("after").is_none());
        assert_eq!(c["after_unknown"], json!(true));
        let s = output_change(Action::Create, None, Some(&Value::string("s").sensitive()));
        assert_eq!(s["before_sensitive"], json!(true));
        assert_eq!(s["after"], json!("s"));
    }
}
