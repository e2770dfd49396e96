//! The one value model of plinth: every value a configuration, a provider or the state
//! holds. Beside Terraform's types it carries the two things an engine must never lose:
//! *unknown* ("known after apply", typed) and the *sensitive* mark.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::number::Number;
use super::types::Type;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A null of the given type (`Dynamic` for a bare `null`).
    Null(Type),
    /// A value that will only be known after apply.
    Unknown(Type),
    Bool(bool),
    Number(Number),
    String(String),
    /// A list of the given element type.
    List(Type, Vec<Value>),
    /// A set of the given element type; elements are kept deduplicated and in
    /// Terraform's order.
    Set(Type, Vec<Value>),
    /// A map of the given element type; keys sorted.
    Map(Type, BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    Object(BTreeMap<String, Value>),
    /// A value marked sensitive: it flows through every operation and is never printed.
    /// The inner value is never itself `Sensitive`.
    Sensitive(Box<Value>),
}

impl Value {
    pub fn null() -> Value {
        Value::Null(Type::Dynamic)
    }

    pub fn unknown() -> Value {
        Value::Unknown(Type::Dynamic)
    }

    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }

    /// A list whose element type is that of its elements (which must already agree).
    pub fn list(elem: Type, elems: Vec<Value>) -> Value {
        Value::List(elem, elems)
    }

    /// A set: deduplicates and orders the elements.
    pub fn set(elem: Type, mut elems: Vec<Value>) -> Value {
        elems.sort_by(set_order);
        elems.dedup_by(|a, b| a.strict_equal(b));
        Value::Set(elem, elems)
    }

    pub fn ty(&self) -> Type {
        match self {
            Value::Null(t) | Value::Unknown(t) => t.clone(),
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(e, _) => Type::list(e.clone()),
            Value::Set(e, _) => Type::set(e.clone()),
            Value::Map(e, _) => Type::map(e.clone()),
            Value::Tuple(elems) => Type::Tuple(elems.iter().map(Value::ty).collect()),
            Value::Object(attrs) => {
                Type::Object(attrs.iter().map(|(k, v)| (k.clone(), v.ty())).collect())
            }
            Value::Sensitive(v) => v.ty(),
        }
    }

    /// Marks a value sensitive (when `sensitive` is true).
    pub fn mark(self, sensitive: bool) -> Value {
        match self {
            v @ Value::Sensitive(_) => v,
            v if sensitive => Value::Sensitive(Box::new(v)),
            v => v,
        }
    }

    pub fn sensitive(self) -> Value {
        self.mark(true)
    }

    /// Removes the top-level sensitive mark, returning the value and whether it had one.
    pub fn unmark(self) -> (Value, bool) {
        match self {
            Value::Sensitive(v) => (*v, true),
            v => (v, false),
        }
    }

    /// The value behind a sensitive mark, borrowed.
    pub fn peel(&self) -> (&Value, bool) {
        match self {
            Value::Sensitive(v) => (v, true),
            v => (v, false),
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// Whether a sensitive mark sits anywhere in this value.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
                e.iter().any(Value::contains_sensitive)
            }
            Value::Map(_, m) | Value::Object(m) => m.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    /// Every string inside in Unicode Normalization Form C, as Terraform keeps all its
    /// strings (keys are left as they are, as Terraform leaves them).
    pub fn nfc(self) -> Value {
        match self {
            Value::String(s) => Value::String(nfc(s)),
            Value::Sensitive(v) => Value::Sensitive(Box::new(v.nfc())),
            Value::List(t, e) => Value::List(t, e.into_iter().map(Value::nfc).collect()),
            Value::Set(t, e) if e.iter().any(|v| !v.is_nfc()) => {
                Value::set(t, e.into_iter().map(Value::nfc).collect())
            }
            Value::Tuple(e) => Value::Tuple(e.into_iter().map(Value::nfc).collect()),
            Value::Map(t, m) => Value::Map(t, m.into_iter().map(|(k, v)| (k, v.nfc())).collect()),
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, v.nfc())).collect()),
            v => v,
        }
    }

    fn is_nfc(&self) -> bool {
        match self {
            Value::String(s) => unicode_normalization::is_nfc(s),
            Value::Sensitive(v) => v.is_nfc(),
            Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => e.iter().all(Value::is_nfc),
            Value::Map(_, m) | Value::Object(m) => m.values().all(Value::is_nfc),
            _ => true,
        }
    }

    /// Removes every sensitive mark, deep.
    pub fn deep_unmark(self) -> Value {
        match self {
            Value::Sensitive(v) => v.deep_unmark(),
            Value::List(t, e) => Value::List(t, e.into_iter().map(Value::deep_unmark).collect()),
            Value::Set(t, e) => Value::Set(t, e.into_iter().map(Value::deep_unmark).collect()),
            Value::Tuple(e) => Value::Tuple(e.into_iter().map(Value::deep_unmark).collect()),
            Value::Map(t, m) => Value::Map(
                t,
                m.into_iter().map(|(k, v)| (k, v.deep_unmark())).collect(),
            ),
            Value::Object(m) => {
                Value::Object(m.into_iter().map(|(k, v)| (k, v.deep_unmark())).collect())
            }
            v => v,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.peel().0, Value::Null(_))
    }

    /// Whether the value itself is known (its elements may still be unknown).
    pub fn is_known(&self) -> bool {
        !matches!(self.peel().0, Value::Unknown(_))
    }

    /// Whether the value and everything inside it is known.
    pub fn is_wholly_known(&self) -> bool {
        match self.peel().0 {
            Value::Unknown(_) => false,
            Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
                e.iter().all(Value::is_wholly_known)
            }
            Value::Map(_, m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// Terraform's `==`: same type and same content. Callers handle unknowns first.
    pub fn strict_equal(&self, other: &Value) -> bool {
        let (a, _) = self.peel();
        let (b, _) = other.peel();
        match (a, b) {
            (Value::Null(_), Value::Null(_)) => true,
            (Value::Null(_), _) | (_, Value::Null(_)) => false,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Number(x), Value::Number(y)) => x == y,
            (Value::String(x), Value::String(y)) => x == y,
            (Value::List(_, x), Value::List(_, y))
            | (Value::Set(_, x), Value::Set(_, y))
            | (Value::Tuple(x), Value::Tuple(y)) => {
                a.ty() == b.ty()
                    && x.len() == y.len()
                    && x.iter().zip(y).all(|(p, q)| p.strict_equal(q))
            }
            (Value::Map(_, x), Value::Map(_, y)) | (Value::Object(x), Value::Object(y)) => {
                a.ty() == b.ty()
                    && x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|((k1, v1), (k2, v2))| k1 == k2 && v1.strict_equal(v2))
            }
            _ => false,
        }
    }

    /// The elements of a list, set or tuple; the values of a map or object.
    pub fn elements(&self) -> Option<Vec<&Value>> {
        match self.peel().0 {
            Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => Some(e.iter().collect()),
            Value::Map(_, m) | Value::Object(m) => Some(m.values().collect()),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.peel().0 {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.peel().0 {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.peel().0 {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Renders the value as `terraform console` does, with `(sensitive value)` and
    /// `(known after apply)` in place of what must not or cannot be shown.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out, 0);
        out
    }

    fn render_into(&self, out: &mut String, indent: usize) {
        let pad = "  ".repeat(indent + 1);
        let close = "  ".repeat(indent);
        match self {
            Value::Sensitive(_) => out.push_str("(sensitive value)"),
            Value::Unknown(_) => out.push_str("(known after apply)"),
            Value::Null(_) => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::String(s) => out.push_str(&quote_string(s)),
            Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
                let (open, end) = match self {
                    Value::List(..) => ("tolist([", "])"),
                    Value::Set(..) => ("toset([", "])"),
                    _ => ("[", "]"),
                };
                if e.is_empty() {
                    out.push_str(open);
                    out.push_str(end);
                    return;
                }
                out.push_str(open);
                out.push('\n');
                for v in e {
                    out.push_str(&pad);
                    v.render_into(out, indent + 1);
                    out.push_str(",\n");
                }
                out.push_str(&close);
                out.push_str(end);
            }
            Value::Map(_, m) | Value::Object(m) => {
                let (open, end) = if matches!(self, Value::Map(..)) {
                    ("tomap({", "})")
                } else {
                    ("{", "}")
                };
                if m.is_empty() {
                    out.push_str(open);
                    out.push_str(end);
                    return;
                }
                out.push_str(open);
                out.push('\n');
                for (k, v) in m {
                    let _ = write!(out, "{pad}{} = ", quote_string(k));
                    v.render_into(out, indent + 1);
                    out.push('\n');
                }
                out.push_str(&close);
                out.push_str(end);
            }
        }
    }

    /// A value from JSON (a JSON variables file, stored state): arrays become tuples
    /// and objects become objects, as Terraform reads untyped JSON.
    pub fn from_json(v: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match v {
            J::Null => Value::null(),
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Number::parse(&n.to_string())
                .map(Value::Number)
                .unwrap_or(Value::null()),
            J::String(s) => Value::String(s.clone()),
            J::Array(a) => Value::Tuple(a.iter().map(Value::from_json).collect()),
            J::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The JSON form of a known, unmarked value (as `terraform output -json` prints it).
    /// Unknowns become `null`; callers that must not reveal sensitive values check first.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self.peel().0 {
            Value::Null(_) | Value::Unknown(_) | Value::Sensitive(_) => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => {
                let text = n.to_string();
                serde_json::from_str(&text).unwrap_or(J::String(text))
            }
            Value::String(s) => J::String(s.clone()),
            Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
                J::Array(e.iter().map(Value::to_json).collect())
            }
            Value::Map(_, m) | Value::Object(m) => {
                J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

/// Quotes a string as HCL source would spell it.
/// `s` in Unicode Normalization Form C (returned as is when it already is, which
/// the check answers without allocating).
pub fn nfc(s: String) -> String {
    use unicode_normalization::UnicodeNormalization;
    if s.is_ascii()
        || unicode_normalization::is_nfc_quick(s.chars())
            == unicode_normalization::IsNormalized::Yes
    {
        return s;
    }
    s.nfc().collect()
}

pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The order of set elements: Terraform sorts strings lexically, numbers by value,
/// false before true; other kinds keep a stable order by their rendering.
pub fn set_order(a: &Value, b: &Value) -> Ordering {
    match (a.peel().0, b.peel().0) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Unknown(_), Value::Unknown(_)) => Ordering::Equal,
        (Value::Unknown(_), _) => Ordering::Greater,
        (_, Value::Unknown(_)) => Ordering::Less,
        (x, y) => x.render().cmp(&y.render()),
    }
}
