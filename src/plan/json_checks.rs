//! The JSON plan's `checks` (Terraform ≥ 1.5): the results of every checkable
//! object's conditions — resource preconditions, output preconditions, variable
//! validations and `check` blocks — by configuration object, then by instance.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as J};

use crate::addrs::InstanceKey;
use crate::graph::walk::{CheckObject, CheckResult, CheckStatus};
use crate::lang::refs::ResourceMode;

/// The `checks` array; empty when nothing in the configuration has conditions.
pub fn checks(results: &[CheckResult]) -> Vec<J> {
    let mut by_object: BTreeMap<String, (J, Vec<&CheckResult>)> = BTreeMap::new();
    for r in results {
        let (display, address) = static_address(&r.module_path, &r.object);
        by_object
            .entry(display)
            .or_insert_with(|| (address, Vec::new()))
            .1
            .push(r);
    }
    by_object
        .into_values()
        .map(|(address, mut instances)| {
            instances.retain(|r| r.key != InstanceKey::Unknown);
            let mut dynamic: Vec<(String, J)> = instances
                .iter()
                .map(|r| {
                    let (display, entry) = instance_entry(r);
                    (display, entry)
                })
                .collect();
            dynamic.sort_by(|a, b| a.0.cmp(&b.0));
            let status = instances
                .iter()
                .map(|r| r.status)
                .max()
                .unwrap_or(CheckStatus::Unknown);
            let mut entry = json!({ "address": address, "status": status.as_str() });
            if !dynamic.is_empty() {
                entry["instances"] = J::Array(dynamic.into_iter().map(|(_, e)| e).collect());
            }
            entry
        })
        .collect()
}

/// `module.a.module.b` for a configuration module (no instance keys).
fn config_module(path: &[String]) -> String {
    path.iter()
        .map(|p| format!("module.{p}"))
        .collect::<Vec<_>>()
        .join(".")
}

/// The object's address within its module: `aws_instance.x`, `output.o`, …
fn local_display(object: &CheckObject) -> String {
    match object {
        CheckObject::Resource(r) => r.to_string(),
        CheckObject::Output(n) => format!("output.{n}"),
        CheckObject::CheckBlock(n) => format!("check.{n}"),
        CheckObject::Variable(n) => format!("var.{n}"),
    }
}

fn with_module(module: &str, local: &str) -> String {
    if module.is_empty() {
        local.to_string()
    } else {
        format!("{module}.{local}")
    }
}

/// The configuration object's `address`, and its `to_display` (the sort key).
fn static_address(path: &[String], object: &CheckObject) -> (String, J) {
    let module = config_module(path);
    let display = with_module(&module, &local_display(object));
    let mut a = Map::new();
    a.insert("to_display".into(), json!(display));
    match object {
        CheckObject::Resource(r) => {
            a.insert("kind".into(), json!("resource"));
            let mode = match r.mode {
                ResourceMode::Managed => "managed",
                ResourceMode::Data => "data",
            };
            a.insert("mode".into(), json!(mode));
            a.insert("type".into(), json!(r.type_name));
            a.insert("name".into(), json!(r.name));
        }
        CheckObject::Output(n) => {
            a.insert("kind".into(), json!("output_value"));
            a.insert("name".into(), json!(n));
        }
        CheckObject::CheckBlock(n) => {
            a.insert("kind".into(), json!("check"));
            a.insert("name".into(), json!(n));
        }
        CheckObject::Variable(n) => {
            a.insert("kind".into(), json!("var"));
            a.insert("name".into(), json!(n));
        }
    }
    if !module.is_empty() {
        a.insert("module".into(), json!(module));
    }
    (display, J::Object(a))
}

/// One instance's entry: its address (`to_display`, `module`, `instance_key`),
/// status and the messages of the conditions that failed.
fn instance_entry(r: &CheckResult) -> (String, J) {
    let module = r.module.prefix();
    let module = module.trim_end_matches('.').to_string();
    let local = match (&r.object, &r.key) {
        (CheckObject::Resource(res), key) => format!("{res}{key}"),
        (other, _) => local_display(other),
    };
    let display = with_module(&module, &local);
    let mut a = Map::new();
    a.insert("to_display".into(), json!(display));
    if !module.is_empty() {
        a.insert("module".into(), json!(module));
    }
    match &r.key {
        InstanceKey::Int(i) => {
            a.insert("instance_key".into(), json!(i));
        }
        InstanceKey::Str(s) => {
            a.insert("instance_key".into(), json!(s));
        }
        InstanceKey::None | InstanceKey::Unknown => {}
    }
    let mut entry = json!({ "address": a, "status": r.status.as_str() });
    if !r.problems.is_empty() {
        entry["problems"] = J::Array(r.problems.iter().map(|m| json!({ "message": m })).collect());
    }
    (display, entry)
}
