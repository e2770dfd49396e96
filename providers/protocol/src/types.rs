//! Terraform's type system: the types a value can have, and the type constraints a
//! variable or function parameter can declare (which add `any` and optional attributes).

use std::collections::BTreeMap;
use std::fmt;

use super::value::Value;

/// The type of a value. `Dynamic` is the type of a value whose type is not known yet
/// (Terraform's `DynamicPseudoType`), and of `null` before it is given a type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    Bool,
    Number,
    String,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
    Dynamic,
}

impl Type {
    pub fn list(elem: Type) -> Type {
        Type::List(Box::new(elem))
    }
    pub fn set(elem: Type) -> Type {
        Type::Set(Box::new(elem))
    }
    pub fn map(elem: Type) -> Type {
        Type::Map(Box::new(elem))
    }

    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::Bool | Type::Number | Type::String)
    }

    /// The element type of a list, set or map.
    pub fn element(&self) -> Option<&Type> {
        match self {
            Type::List(e) | Type::Set(e) | Type::Map(e) => Some(e),
            _ => None,
        }
    }

    /// The name a user reads in an error: "string", "list of number", "object".
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::List(e) => format!("list of {}", e.friendly_name()),
            Type::Set(e) => format!("set of {}", e.friendly_name()),
            Type::Map(e) => format!("map of {}", e.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
            Type::Dynamic => "dynamic".into(),
        }
    }

    /// The type as a hint names what a user gave: "a string", "an object with
    /// attributes gpus, name", "null".
    pub fn describe(&self) -> String {
        match self {
            Type::Object(attrs) if attrs.is_empty() => "an empty object".into(),
            Type::Object(attrs) => {
                let names: Vec<&str> = attrs.keys().map(String::as_str).collect();
                format!("an object with attributes {}", names.join(", "))
            }
            Type::Tuple(elems) => {
                let s = if elems.len() == 1 { "" } else { "s" };
                format!("a tuple of {} element{s}", elems.len())
            }
            Type::Dynamic => "null".into(),
            other => {
                let name = other.friendly_name();
                let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                format!("{article} {name}")
            }
        }
    }

    /// Whether this type still contains `Dynamic` somewhere, so it is not fully known.
    pub fn has_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::List(e) | Type::Set(e) | Type::Map(e) => e.has_dynamic(),
            Type::Object(attrs) => attrs.values().any(Type::has_dynamic),
            Type::Tuple(elems) => elems.iter().any(Type::has_dynamic),
            _ => false,
        }
    }
}

/// Renders a type in the syntax of a Terraform type constraint: `list(string)`,
/// `object({name=string})`.
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::List(e) => write!(f, "list({e})"),
            Type::Set(e) => write!(f, "set({e})"),
            Type::Map(e) => write!(f, "map({e})"),
            Type::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (k, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{k}={t}")?;
                }
                f.write_str("})")
            }
            Type::Tuple(elems) => {
                f.write_str("tuple([")?;
                for (i, t) in elems.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
            Type::Dynamic => f.write_str("dynamic"),
        }
    }
}

/// A type constraint as written in a `variable` block's `type` or a function signature.
/// `Any` matches any type; object attributes may be `optional(type, default)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Constraint {
    Any,
    Bool,
    Number,
    String,
    List(Box<Constraint>),
    Set(Box<Constraint>),
    Map(Box<Constraint>),
    Object(BTreeMap<String, AttributeConstraint>),
    Tuple(Vec<Constraint>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttributeConstraint {
    pub constraint: Constraint,
    pub optional: bool,
    pub default: Option<Value>,
}

impl Constraint {
    /// The exact type this constraint describes, when it has no `any` in it.
    pub fn to_type(&self) -> Type {
        match self {
            Constraint::Any => Type::Dynamic,
            Constraint::Bool => Type::Bool,
            Constraint::Number => Type::Number,
            Constraint::String => Type::String,
            Constraint::List(e) => Type::list(e.to_type()),
            Constraint::Set(e) => Type::set(e.to_type()),
            Constraint::Map(e) => Type::map(e.to_type()),
            Constraint::Object(attrs) => Type::Object(
                attrs
                    .iter()
                    .map(|(k, a)| (k.clone(), a.constraint.to_type()))
                    .collect(),
            ),
            Constraint::Tuple(elems) => {
                Type::Tuple(elems.iter().map(Constraint::to_type).collect())
            }
        }
    }

    pub fn is_primitive(&self) -> bool {
        matches!(
            self,
            Constraint::Bool | Constraint::Number | Constraint::String
        )
    }

    pub fn from_type(ty: &Type) -> Constraint {
        match ty {
            Type::Bool => Constraint::Bool,
            Type::Number => Constraint::Number,
            Type::String => Constraint::String,
            Type::List(e) => Constraint::List(Box::new(Constraint::from_type(e))),
            Type::Set(e) => Constraint::Set(Box::new(Constraint::from_type(e))),
            Type::Map(e) => Constraint::Map(Box::new(Constraint::from_type(e))),
            Type::Object(attrs) => Constraint::Object(
                attrs
                    .iter()
                    .map(|(k, t)| {
                        let a = AttributeConstraint {
                            constraint: Constraint::from_type(t),
                            optional: false,
                            default: None,
                        };
                        (k.clone(), a)
                    })
                    .collect(),
            ),
            Type::Tuple(elems) => {
                Constraint::Tuple(elems.iter().map(Constraint::from_type).collect())
            }
            Type::Dynamic => Constraint::Any,
        }
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constraint::Any => f.write_str("any"),
            Constraint::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (k, a)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    if a.optional {
                        write!(f, "{k}=optional({})", a.constraint)?;
                    } else {
                        write!(f, "{k}={}", a.constraint)?;
                    }
                }
                f.write_str("})")
            }
            Constraint::List(e) => write!(f, "list({e})"),
            Constraint::Set(e) => write!(f, "set({e})"),
            Constraint::Map(e) => write!(f, "map({e})"),
            Constraint::Tuple(elems) => {
                f.write_str("tuple([")?;
                for (i, c) in elems.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("])")
            }
            other => write!(f, "{}", other.to_type()),
        }
    }
}
