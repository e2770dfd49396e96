//! The JSON forms: the type notation the protocol uses in schemas and dynamic values
//! (`"string"`, `["list","number"]`, `["object",{"a":"bool"}]`), and values as stored
//! state holds them, decoded against the schema's type. A value of type `dynamic` is
//! stored as `{"value": …, "type": …}`. JSON cannot hold unknown values.

use std::collections::BTreeMap;

use serde_json::{json, Value as J};

use crate::number::Number;
use crate::types::Type;
use crate::value::Value;

pub fn type_to_json(ty: &Type) -> J {
    match ty {
        Type::Bool => json!("bool"),
        Type::Number => json!("number"),
        Type::String => json!("string"),
        Type::Dynamic => json!("dynamic"),
        Type::List(e) => json!(["list", type_to_json(e)]),
        Type::Set(e) => json!(["set", type_to_json(e)]),
        Type::Map(e) => json!(["map", type_to_json(e)]),
        Type::Tuple(ts) => json!(["tuple", ts.iter().map(type_to_json).collect::<Vec<_>>()]),
        Type::Object(attrs) => {
            let m: serde_json::Map<String, J> = attrs
                .iter()
                .map(|(k, t)| (k.clone(), type_to_json(t)))
                .collect();
            json!(["object", m])
        }
    }
}

/// JSON that is not a type in the protocol's notation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{json} is not a type")]
pub struct TypeError {
    pub json: String,
}

/// A stored value that does not fit the type it is read as.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// `path` is `value` for the whole value.
    #[error("{path}: expected {expected}, found {found}")]
    Mismatch {
        path: String,
        expected: String,
        found: String,
    },
    #[error("{path}: unsupported attribute")]
    Unsupported { path: String },
    #[error(transparent)]
    Type(#[from] TypeError),
}

pub fn type_from_json(j: &J) -> Result<Type, TypeError> {
    let bad = || TypeError {
        json: j.to_string(),
    };
    match j {
        J::String(s) => match s.as_str() {
            "bool" => Ok(Type::Bool),
            "number" => Ok(Type::Number),
            "string" => Ok(Type::String),
            "dynamic" => Ok(Type::Dynamic),
            _ => Err(bad()),
        },
        J::Array(parts) => match (parts.first().and_then(J::as_str), parts.get(1)) {
            (Some("list"), Some(e)) => Ok(Type::list(type_from_json(e)?)),
            (Some("set"), Some(e)) => Ok(Type::set(type_from_json(e)?)),
            (Some("map"), Some(e)) => Ok(Type::map(type_from_json(e)?)),
            (Some("tuple"), Some(J::Array(ts))) => Ok(Type::Tuple(
                ts.iter().map(type_from_json).collect::<Result<_, _>>()?,
            )),
            // A third element lists optional attributes; it does not change the type.
            (Some("object"), Some(J::Object(attrs))) => Ok(Type::Object(
                attrs
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), type_from_json(t)?)))
                    .collect::<Result<_, TypeError>>()?,
            )),
            _ => Err(bad()),
        },
        _ => Err(bad()),
    }
}

/// A value as state stores it. Unknown values have no JSON form and become null.
pub fn value_to_json(v: &Value, ty: &Type) -> J {
    let v = v.peel().0;
    if *ty == Type::Dynamic && !v.is_null() && v.is_known() {
        let actual = v.ty();
        return json!({ "value": value_to_json(v, &actual), "type": type_to_json(&actual) });
    }
    match (v, ty) {
        (Value::Null(_) | Value::Unknown(_), _) => J::Null,
        (Value::List(_, items) | Value::Set(_, items), Type::List(e) | Type::Set(e)) => {
            J::Array(items.iter().map(|i| value_to_json(i, e)).collect())
        }
        (Value::Tuple(items), Type::Tuple(ts)) => J::Array(
            items
                .iter()
                .zip(ts)
                .map(|(i, t)| value_to_json(i, t))
                .collect(),
        ),
        (Value::Map(_, m) | Value::Object(m), Type::Map(e)) => J::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), value_to_json(x, e)))
                .collect(),
        ),
        (Value::Object(m), Type::Object(attrs)) => J::Object(
            attrs
                .iter()
                .map(|(k, t)| {
                    let x = m.get(k).map_or(J::Null, |x| value_to_json(x, t));
                    (k.clone(), x)
                })
                .collect(),
        ),
        (other, _) => other.to_json(),
    }
}

/// Reads a stored value as a value of type `ty`.
pub fn value_from_json(j: &J, ty: &Type) -> Result<Value, ValueError> {
    value_at(j, ty, "")
}

fn value_at(j: &J, ty: &Type, path: &str) -> Result<Value, ValueError> {
    let at = |what: &str| ValueError::Mismatch {
        path: if path.is_empty() { "value" } else { path }.to_string(),
        expected: what.to_string(),
        found: j.to_string(),
    };
    if j.is_null() {
        return Ok(Value::Null(ty.clone()));
    }
    match ty {
        // Terraform stores a value of no declared type with its type beside it;
        // plinth's state holds the value alone (its JSON says its shape).
        Type::Dynamic => match (j.as_object(), j.get("value"), j.get("type")) {
            (Some(o), Some(v), Some(t)) if o.len() == 2 => match type_from_json(t) {
                Ok(actual) => value_at(v, &actual, path),
                Err(_) => Ok(Value::from_json(j)),
            },
            _ => Ok(Value::from_json(j)),
        },
        Type::String => match j {
            J::String(s) => Ok(Value::String(s.clone())),
            J::Number(n) => Ok(Value::String(n.to_string())),
            J::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(at("a string")),
        },
        Type::Number => {
            let text = match j {
                J::Number(n) => n.to_string(),
                J::String(s) => s.clone(),
                _ => return Err(at("a number")),
            };
            Number::parse(&text)
                .map(Value::Number)
                .map_err(|_| at("a number"))
        }
        Type::Bool => match j {
            J::Bool(b) => Ok(Value::Bool(*b)),
            J::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            _ => Err(at("a bool")),
        },
        Type::List(e) | Type::Set(e) => {
            let J::Array(items) = j else {
                return Err(at("an array"));
            };
            let items = items
                .iter()
                .enumerate()
                .map(|(i, x)| value_at(x, e, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if matches!(ty, Type::Set(_)) {
                Value::set((**e).clone(), items)
            } else {
                Value::List((**e).clone(), items)
            })
        }
        Type::Tuple(ts) => {
            let J::Array(items) = j else {
                return Err(at("an array"));
            };
            if items.len() != ts.len() {
                return Err(at(&format!("{} items", ts.len())));
            }
            Ok(Value::Tuple(
                items
                    .iter()
                    .zip(ts)
                    .enumerate()
                    .map(|(i, (x, t))| value_at(x, t, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ))
        }
        Type::Map(e) => {
            let J::Object(m) = j else {
                return Err(at("an object"));
            };
            let m: BTreeMap<String, Value> = m
                .iter()
                .map(|(k, x)| Ok((k.clone(), value_at(x, e, &format!("{path}[{k:?}]"))?)))
                .collect::<Result<_, ValueError>>()?;
            Ok(Value::Map((**e).clone(), m))
        }
        Type::Object(attrs) => {
            let J::Object(m) = j else {
                return Err(at("an object"));
            };
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(ValueError::Unsupported {
                    path: format!("{path}.{extra}")
                        .trim_start_matches('.')
                        .to_string(),
                });
            }
            let out = attrs
                .iter()
                .map(|(k, t)| {
                    let step = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    let v = match m.get(k) {
                        Some(x) => value_at(x, t, &step)?,
                        None => Value::Null(t.clone()),
                    };
                    Ok((k.clone(), v))
                })
                .collect::<Result<_, ValueError>>()?;
            Ok(Value::Object(out))
        }
    }
}
