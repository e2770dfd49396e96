//! Type conversion and unification by Terraform's rules: what `tolist`, a variable's
//! type constraint, a function parameter or a conditional's two branches do to a value.

use std::collections::BTreeMap;

use super::number::Number;
use super::types::{Constraint, Type};
use super::value::Value;

/// Why a value does not fit a type, with the path inside the value where it fails
/// (`attribute "gpus": a number is required`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvertError {
    pub path: Vec<PathStep>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    Attribute(String),
    Index(usize),
    Key(String),
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(step) = self.path.first() {
            match step {
                PathStep::Attribute(a) => write!(f, "attribute {a:?}: ")?,
                PathStep::Index(i) => write!(f, "element {i}: ")?,
                PathStep::Key(k) => write!(f, "element {k:?}: ")?,
            }
            let rest = ConvertError {
                path: self.path[1..].to_vec(),
                message: self.message.clone(),
            };
            return write!(f, "{rest}");
        }
        f.write_str(&self.message)
    }
}

fn fail(message: impl Into<String>) -> ConvertError {
    ConvertError {
        path: Vec::new(),
        message: message.into(),
    }
}

fn at(step: PathStep) -> impl FnOnce(ConvertError) -> ConvertError {
    move |mut e| {
        e.path.insert(0, step);
        e
    }
}

pub fn convert_to_type(value: Value, ty: &Type) -> Result<Value, ConvertError> {
    if ty == &Type::Dynamic {
        return Ok(value);
    }
    convert(value, &Constraint::from_type(ty))
}

/// Converts a value to a type constraint, filling in optional object attributes.
pub fn convert(value: Value, target: &Constraint) -> Result<Value, ConvertError> {
    let (v, marked) = value.unmark();
    convert_unmarked(v, target).map(|r| r.mark(marked))
}

fn convert_unmarked(v: Value, target: &Constraint) -> Result<Value, ConvertError> {
    if let Constraint::Any = target {
        return Ok(v);
    }
    match v {
        Value::Null(_) => return Ok(Value::Null(target.to_type())),
        Value::Unknown(ref t) => {
            return if type_fits(t, target) {
                Ok(Value::Unknown(target.to_type()))
            } else {
                Err(fail(required(target)))
            };
        }
        _ => {}
    }
    match target {
        Constraint::Any => Ok(v),
        Constraint::String => match v {
            Value::String(_) => Ok(v),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(fail("string required")),
        },
        Constraint::Number => match v {
            Value::Number(_) => Ok(v),
            Value::String(s) => Number::parse(&s)
                .map(Value::Number)
                .map_err(|_| fail("a number is required")),
            _ => Err(fail("number required")),
        },
        Constraint::Bool => match v {
            Value::Bool(_) => Ok(v),
            Value::String(s) if s == "true" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" => Ok(Value::Bool(false)),
            Value::String(_) => Err(fail("a bool is required")),
            _ => Err(fail("bool required")),
        },
        Constraint::List(elem) | Constraint::Set(elem) => {
            let is_set = matches!(target, Constraint::Set(_));
            let elems = match v {
                Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => e,
                _ => return Err(fail(required(target))),
            };
            let (ety, converted) = convert_elements(elems, elem, PathStep::Index)?;
            Ok(if is_set {
                Value::set(ety, converted)
            } else {
                Value::List(ety, converted)
            })
        }
        Constraint::Map(elem) => {
            let entries = match v {
                Value::Map(_, m) | Value::Object(m) => m,
                _ => return Err(fail(required(target))),
            };
            let (keys, vals): (Vec<String>, Vec<Value>) = entries.into_iter().unzip();
            let keys_for_path = keys.clone();
            let (ety, converted) =
                convert_elements(vals, elem, |i| PathStep::Key(keys_for_path[i].clone()))?;
            Ok(Value::Map(ety, keys.into_iter().zip(converted).collect()))
        }
        Constraint::Object(attrs) => {
            let mut entries = match v {
                Value::Map(_, m) | Value::Object(m) => m,
                _ => return Err(fail(required(target))),
            };
            let mut out = BTreeMap::new();
            for (name, attr) in attrs {
                let converted = match entries.remove(name) {
                    Some(v) if !(v.is_null() && attr.optional) => convert(v, &attr.constraint)
                        .map_err(at(PathStep::Attribute(name.clone())))?,
                    Some(_) | None if attr.optional => match &attr.default {
                        Some(d) => convert(d.clone(), &attr.constraint)
                            .map_err(at(PathStep::Attribute(name.clone())))?,
                        None => Value::Null(attr.constraint.to_type()),
                    },
                    _ => return Err(fail(format!("attribute {name:?} is required"))),
                };
                out.insert(name.clone(), converted);
            }
            Ok(Value::Object(out))
        }
        Constraint::Tuple(elems) => {
            let vals = match v {
                Value::List(_, e) | Value::Tuple(e) | Value::Set(_, e) => e,
                _ => return Err(fail(required(target))),
            };
            if vals.len() != elems.len() {
                return Err(fail(format!(
                    "tuple required with exactly {} elements",
                    elems.len()
                )));
            }
            let out = vals
                .into_iter()
                .zip(elems)
                .enumerate()
                .map(|(i, (v, c))| convert(v, c).map_err(at(PathStep::Index(i))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Tuple(out))
        }
    }
}

/// Converts each element to `elem`; where `elem` contains `any`, the elements are first
/// unified to one type, as Terraform does for `list(any)`.
fn convert_elements(
    elems: Vec<Value>,
    elem: &Constraint,
    step: impl Fn(usize) -> PathStep,
) -> Result<(Type, Vec<Value>), ConvertError> {
    let mut converted = Vec::with_capacity(elems.len());
    for (i, e) in elems.into_iter().enumerate() {
        converted.push(convert(e, elem).map_err(at(step(i)))?);
    }
    let wanted = elem.to_type();
    if !wanted.has_dynamic() {
        return Ok((wanted, converted));
    }
    let types: Vec<Type> = converted.iter().map(Value::ty).collect();
    let unified = unify(&types).ok_or_else(|| fail("all elements must have the same type"))?;
    let mut out = Vec::with_capacity(converted.len());
    for (i, e) in converted.into_iter().enumerate() {
        out.push(convert_to_type(e, &unified).map_err(at(step(i)))?);
    }
    Ok((unified, out))
}

/// Whether a value of type `t` may convert to `c` (used for unknown values, whose
/// content cannot be checked yet).
fn type_fits(t: &Type, c: &Constraint) -> bool {
    match (t, c) {
        (Type::Dynamic, _) | (_, Constraint::Any) => true,
        (Type::Bool | Type::Number | Type::String, Constraint::String) => true,
        (Type::Number | Type::String, Constraint::Number) => true,
        (Type::Bool | Type::String, Constraint::Bool) => true,
        (Type::List(e) | Type::Set(e), Constraint::List(ce) | Constraint::Set(ce)) => {
            type_fits(e, ce)
        }
        (Type::Tuple(es), Constraint::List(ce) | Constraint::Set(ce)) => {
            es.iter().all(|e| type_fits(e, ce))
        }
        (Type::Map(e), Constraint::Map(ce)) => type_fits(e, ce),
        (Type::Object(attrs), Constraint::Map(ce)) => attrs.values().all(|e| type_fits(e, ce)),
        (Type::Object(attrs), Constraint::Object(cattrs)) => cattrs.iter().all(|(k, ca)| {
            attrs
                .get(k)
                .map_or(ca.optional, |t| type_fits(t, &ca.constraint))
        }),
        (Type::Map(e), Constraint::Object(cattrs)) => {
            cattrs.values().all(|ca| type_fits(e, &ca.constraint))
        }
        (Type::Tuple(es), Constraint::Tuple(cs)) => {
            es.len() == cs.len() && es.iter().zip(cs).all(|(e, c)| type_fits(e, c))
        }
        (Type::List(e), Constraint::Tuple(cs)) => cs.iter().all(|c| type_fits(e, c)),
        _ => false,
    }
}

fn required(c: &Constraint) -> String {
    match c {
        Constraint::List(e) => format!("list of {} required", e.to_type().friendly_name()),
        Constraint::Set(e) => format!("set of {} required", e.to_type().friendly_name()),
        Constraint::Map(e) => format!("map of {} required", e.to_type().friendly_name()),
        Constraint::Object(_) => "object required".into(),
        Constraint::Tuple(_) => "tuple required".into(),
        other => format!("{} required", other.to_type().friendly_name()),
    }
}

/// The single type a group of types can all convert to, by Terraform's unification
/// rules; `None` when there is none (number and bool, say). Types of one kind unify
/// kind by kind (lists and tuples as a list, objects and maps as a map); types of
/// different kinds (`cond ? toset(x) : []`) unify to the first of them, collections
/// before structural types, that every other one converts to, as cty does.
pub fn unify(types: &[Type]) -> Option<Type> {
    unify_by_kind(types).or_else(|| {
        let mut candidates: Vec<&Type> = types.iter().filter(|t| **t != Type::Dynamic).collect();
        candidates.sort_by_key(|t| !matches!(t, Type::List(_) | Type::Set(_) | Type::Map(_)));
        candidates
            .iter()
            .find(|target| types.iter().all(|t| converts(t, target)))
            .map(|t| (*t).clone())
    })
}

/// Whether a value of type `from` converts to `to` (Terraform's unsafe conversions:
/// a string to a number or bool may still fail on the value).
fn converts(from: &Type, to: &Type) -> bool {
    match (from, to) {
        _ if from == to => true,
        (Type::Dynamic, _) | (_, Type::Dynamic) => true,
        (Type::String, Type::Number | Type::Bool) | (Type::Number | Type::Bool, Type::String) => {
            true
        }
        (Type::List(e) | Type::Set(e), Type::List(t) | Type::Set(t)) => converts(e, t),
        (Type::Tuple(es), Type::List(t) | Type::Set(t)) => es.iter().all(|e| converts(e, t)),
        (Type::Map(e), Type::Map(t)) => converts(e, t),
        (Type::Object(attrs), Type::Map(t)) => attrs.values().all(|e| converts(e, t)),
        (Type::Tuple(es), Type::Tuple(ts)) => {
            es.len() == ts.len() && es.iter().zip(ts).all(|(e, t)| converts(e, t))
        }
        (Type::Object(attrs), Type::Object(want)) => want
            .iter()
            .all(|(k, t)| attrs.get(k).is_some_and(|e| converts(e, t))),
        (Type::Map(e), Type::Object(want)) => want.values().all(|t| converts(e, t)),
        _ => false,
    }
}

fn unify_by_kind(types: &[Type]) -> Option<Type> {
    let concrete: Vec<&Type> = types.iter().filter(|t| **t != Type::Dynamic).collect();
    let Some(first) = concrete.first() else {
        return Some(Type::Dynamic);
    };
    if concrete.iter().all(|t| t == first) {
        return Some((*first).clone());
    }
    if concrete.iter().all(|t| t.is_primitive()) {
        return concrete
            .iter()
            .any(|t| **t == Type::String)
            .then_some(Type::String);
    }
    let all = |f: fn(&Type) -> bool| concrete.iter().all(|t| f(t));
    if all(|t| matches!(t, Type::List(_) | Type::Tuple(_))) {
        let mut elems = Vec::new();
        for t in &concrete {
            match t {
                Type::List(e) => elems.push((**e).clone()),
                Type::Tuple(es) => elems.extend(es.iter().cloned()),
                _ => {}
            }
        }
        if all(|t| matches!(t, Type::Tuple(_))) {
            let len = match first {
                Type::Tuple(es) => es.len(),
                _ => 0,
            };
            if concrete
                .iter()
                .all(|t| matches!(t, Type::Tuple(es) if es.len() == len))
            {
                let mut out = Vec::with_capacity(len);
                for i in 0..len {
                    let column: Vec<Type> = concrete
                        .iter()
                        .filter_map(|t| match t {
                            Type::Tuple(es) => es.get(i).cloned(),
                            _ => None,
                        })
                        .collect();
                    out.push(unify(&column)?);
                }
                return Some(Type::Tuple(out));
            }
        }
        return unify(&elems).map(Type::list);
    }
    if all(|t| matches!(t, Type::Set(_))) {
        let elems: Vec<Type> = concrete
            .iter()
            .filter_map(|t| t.element().cloned())
            .collect();
        return unify(&elems).map(Type::set);
    }
    if all(|t| matches!(t, Type::Map(_) | Type::Object(_))) {
        if all(|t| matches!(t, Type::Object(_))) {
            let keys: Vec<Vec<&String>> = concrete
                .iter()
                .map(|t| match t {
                    Type::Object(a) => a.keys().collect(),
                    _ => Vec::new(),
                })
                .collect();
            if keys.iter().all(|k| *k == keys[0]) {
                let mut out = BTreeMap::new();
                for k in &keys[0] {
                    let column: Vec<Type> = concrete
                        .iter()
                        .filter_map(|t| match t {
                            Type::Object(a) => a.get(*k).cloned(),
                            _ => None,
                        })
                        .collect();
                    out.insert((*k).clone(), unify(&column)?);
                }
                return Some(Type::Object(out));
            }
        }
        let mut elems = Vec::new();
        for t in &concrete {
            match t {
                Type::Map(e) => elems.push((**e).clone()),
                Type::Object(a) => elems.extend(a.values().cloned()),
                _ => {}
            }
        }
        return unify(&elems).map(Type::map);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    #[test]
    fn tuple_to_list_of_any_unifies_to_string() {
        let v = Value::Tuple(vec![Value::number(1), s("a")]);
        let out = convert(v, &Constraint::List(Box::new(Constraint::Any))).unwrap();
        assert_eq!(out, Value::List(Type::String, vec![s("1"), s("a")]));
    }

    #[test]
    fn optional_attribute_takes_its_default() {
        let mut attrs = BTreeMap::new();
        attrs.insert(
            "size".to_string(),
            crate::lang::types::AttributeConstraint {
                constraint: Constraint::Number,
                optional: true,
                default: Some(Value::number(3)),
            },
        );
        let out = convert(Value::Object(BTreeMap::new()), &Constraint::Object(attrs)).unwrap();
        assert_eq!(
            out,
            Value::Object([("size".to_string(), Value::number(3))].into())
        );
    }

    #[test]
    fn error_names_the_path() {
        let mut attrs = BTreeMap::new();
        attrs.insert(
            "gpus".to_string(),
            crate::lang::types::AttributeConstraint {
                constraint: Constraint::Number,
                optional: false,
                default: None,
            },
        );
        let v = Value::Object([("gpus".to_string(), s("many"))].into());
        let err = convert(v, &Constraint::Object(attrs)).unwrap_err();
        assert_eq!(err.to_string(), "attribute \"gpus\": a number is required");
    }

    #[test]
    fn sensitive_mark_survives_conversion() {
        let v = Value::number(5).sensitive();
        assert_eq!(
            convert(v, &Constraint::String).unwrap(),
            Value::string("5").sensitive()
        );
    }

    #[test]
    fn number_and_bool_do_not_unify() {
        assert_eq!(unify(&[Type::Number, Type::Bool]), None);
        assert_eq!(unify(&[Type::Number, Type::String]), Some(Type::String));
    }
}
