//! Kubernetes objects as JSON beside plinth's values: conversion both ways, the
//! projection of a live object onto the fields a configuration sets (so fields the
//! server fills never show as drift), and the merge patch from one owned set of
//! fields to the next.

use plinth_provider_sdk::{Number, Type, Value};
use serde_json::{Map, Value as J};

/// The JSON of a known value; unknowns and nulls are `null`.
pub fn to_json(v: &Value) -> J {
    v.to_json()
}

/// A value of type `ty` from JSON, converting the primitives Kubernetes spells either
/// way (a quantity `1` or `"1"`, a port `"80"`); JSON that cannot be that type is null.
pub fn typed(j: &J, ty: &Type) -> Value {
    match (ty, j) {
        (_, J::Null) => Value::Null(ty.clone()),
        (Type::Dynamic, _) => dynamic(j),
        (Type::String, J::String(s)) => Value::String(s.clone()),
        (Type::String, J::Number(n)) => Value::String(n.to_string()),
        (Type::String, J::Bool(b)) => Value::String(b.to_string()),
        (Type::Number, J::Number(n)) => number(&n.to_string()),
        (Type::Number, J::String(s)) => number(s),
        (Type::Bool, J::Bool(b)) => Value::Bool(*b),
        (Type::Bool, J::String(s)) if s == "true" || s == "false" => Value::Bool(s == "true"),
        (Type::List(e), J::Array(a)) => {
            Value::List((**e).clone(), a.iter().map(|x| typed(x, e)).collect())
        }
        (Type::Set(e), J::Array(a)) => {
            Value::set((**e).clone(), a.iter().map(|x| typed(x, e)).collect())
        }
        (Type::Map(e), J::Object(o)) => Value::Map(
            (**e).clone(),
            o.iter().map(|(k, x)| (k.clone(), typed(x, e))).collect(),
        ),
        (Type::Object(attrs), J::Object(o)) => Value::Object(
            attrs
                .iter()
                .map(|(k, t)| (k.clone(), typed(o.get(k).unwrap_or(&J::Null), t)))
                .collect(),
        ),
        _ => Value::Null(ty.clone()),
    }
}

fn number(text: &str) -> Value {
    Number::parse(text).map_or(Value::Null(Type::Number), Value::Number)
}

/// A value of no declared type from JSON: objects stay objects and arrays tuples, as
/// Terraform reads `jsondecode`'s result.
pub fn dynamic(j: &J) -> Value {
    Value::from_json(j)
}

/// `live` cut to the shape of `shape`: the keys `shape` has, recursively; list
/// elements pairwise (elements `live` has beyond `shape`'s stay whole, so an added
/// container shows as drift). A key `shape` sets and `live` lacks is `null`.
pub fn project(live: &J, shape: &J) -> J {
    match (live, shape) {
        (J::Object(l), J::Object(s)) => J::Object(
            s.iter()
                .map(|(k, sv)| {
                    let v = l.get(k).map_or(J::Null, |lv| project(lv, sv));
                    (k.clone(), v)
                })
                .collect(),
        ),
        (J::Array(l), J::Array(s)) => J::Array(
            l.iter()
                .enumerate()
                .map(|(i, lv)| s.get(i).map_or_else(|| lv.clone(), |sv| project(lv, sv)))
                .collect(),
        ),
        _ => live.clone(),
    }
}

/// The JSON merge patch (RFC 7386) that takes an object plinth wrote as `before` to
/// `after`: every field of `after`, and `null` for each field `before` set that
/// `after` no longer does. Fields neither sets (the server's) are left alone.
pub fn merge_patch(before: &J, after: &J) -> J {
    match (before, after) {
        (J::Object(b), J::Object(a)) => {
            let mut out = Map::new();
            for (k, av) in a {
                let pv = b
                    .get(k)
                    .map_or_else(|| av.clone(), |bv| merge_patch(bv, av));
                out.insert(k.clone(), pv);
            }
            for k in b.keys() {
                if !a.contains_key(k) {
                    out.insert(k.clone(), J::Null);
                }
            }
            J::Object(out)
        }
        _ => after.clone(),
    }
}

/// Drops `null` fields (a configuration's unset optional arguments) from an object
/// before it is sent, so that they do not erase what the server defaults.
pub fn without_nulls(j: &J) -> J {
    match j {
        J::Object(o) => J::Object(
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        J::Array(a) => J::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// The value at a dotted path (`status.availableReplicas`, `spec.containers[0].image`).
pub fn at_path<'a>(j: &'a J, path: &str) -> Option<&'a J> {
    let mut here = j;
    for part in split_path(path) {
        here = match part {
            Step::Key(k) => here.get(k)?,
            Step::Index(i) => here.get(i)?,
        };
    }
    Some(here)
}

/// Sets the value at a dotted path, making the objects on the way.
pub fn set_path(j: &mut J, path: &str, value: J) {
    let steps = split_path(path);
    let mut here = j;
    for (n, step) in steps.iter().enumerate() {
        let last = n + 1 == steps.len();
        match step {
            Step::Key(k) => {
                if !here.is_object() {
                    *here = J::Object(Map::new());
                }
                let Some(map) = here.as_object_mut() else {
                    return;
                };
                if last {
                    map.insert(k.to_string(), value);
                    return;
                }
                here = map.entry(k.to_string()).or_insert(J::Null);
            }
            Step::Index(i) => {
                let Some(list) = here.as_array_mut() else {
                    return;
                };
                let Some(slot) = list.get_mut(*i) else { return };
                if last {
                    *slot = value;
                    return;
                }
                here = slot;
            }
        }
    }
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `a.b[0]["c.d"]` as steps; keys may be quoted to hold dots.
fn split_path(path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap_or(r.len());
            let inner = &r[..end];
            let key = inner.trim_matches('"');
            steps.push(match key.parse() {
                Ok(i) if key == inner => Step::Index(i),
                _ => Step::Key(key),
            });
            rest = r.get(end + 1..).unwrap_or("");
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        steps.push(Step::Key(&rest[..end]));
        rest = &rest[end..];
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projection_keeps_only_the_fields_the_shape_sets() {
        let live = json!({"metadata": {"name": "a", "uid": "u"}, "data": {"k": "v"},
                          "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicy": "Always"}]}});
        let shape = json!({"metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "image": "x"}]}});
        assert_eq!(
            project(&live, &shape),
            json!({"metadata": {"name": "a"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
        );
        // A field the shape sets and the object lacks reads as null.
        assert_eq!(project(&json!({}), &json!({"a": 1})), json!({"a": null}));
        // Elements beyond the shape's stay whole.
        assert_eq!(
            project(&json!([{"a": 1, "b": 2}, {"c": 3}]), &json!([{"a": 0}])),
            json!([{"a": 1}, {"c": 3}])
        );
    }

    #[test]
    fn merge_patch_removes_what_plinth_stopped_setting() {
        let before = json!({"data": {"a": "1", "b": "2"}, "metadata": {"labels": {"x": "1"}}});
        let after = json!({"data": {"a": "3"}, "metadata": {}});
        assert_eq!(
            merge_patch(&before, &after),
            json!({"data": {"a": "3", "b": null}, "metadata": {"labels": null}})
        );
    }

    #[test]
    fn paths_read_and_write_nested_fields() {
        let mut j = json!({"status": {"conditions": [{"type": "Ready"}]}});
        assert_eq!(
            at_path(&j, "status.conditions[0].type"),
            Some(&json!("Ready"))
        );
        assert_eq!(at_path(&j, "status.missing"), None);
        set_path(
            &mut j,
            "metadata.labels[\"app.kubernetes.io/name\"]",
            json!("x"),
        );
        assert_eq!(
            j["metadata"]["labels"]["app.kubernetes.io/name"],
            json!("x")
        );
    }

    #[test]
    fn typed_reads_primitives_either_way() {
        assert_eq!(typed(&json!(1), &Type::String), Value::String("1".into()));
        assert_eq!(typed(&json!("8"), &Type::Number), Value::number(8));
        assert!(typed(&json!({"a": 1}), &Type::String).is_null());
    }
}
