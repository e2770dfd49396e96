//! Where two values of one object differ, attribute path by attribute path.

use std::collections::BTreeSet;
use std::fmt;

use crate::lang::value::Value;

/// One step of an attribute path: `.name`, `[0]` or `["key"]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Attr(String),
    Index(usize),
    Key(String),
}

/// An attribute path in Terraform's spelling: `scaling_config[0].desired_size`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<Step>);

impl Path {
    /// Whether `self` is `other` or lies above it. A name and a key of the same text
    /// are the same step (`tags.team` and `tags["team"]`: state keeps maps as objects).
    pub fn covers(&self, other: &Path) -> bool {
        self.0.len() <= other.0.len() && self.0.iter().zip(&other.0).all(|(a, b)| same_step(a, b))
    }

    /// Whether one of the two lies above (or is) the other.
    pub fn overlaps(&self, other: &Path) -> bool {
        self.covers(other) || other.covers(self)
    }

    fn with(&self, step: Step) -> Path {
        let mut steps = self.0.clone();
        steps.push(step);
        Path(steps)
    }
}

fn same_step(a: &Step, b: &Step) -> bool {
    match (a, b) {
        (Step::Attr(x) | Step::Key(x), Step::Attr(y) | Step::Key(y)) => x == y,
        (Step::Index(x), Step::Index(y)) => x == y,
        _ => false,
    }
}

/// Whether a key can be written as a name after a dot.
fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Attr(name) if i == 0 => write!(f, "{name}")?,
                Step::Attr(name) => write!(f, ".{name}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::Key(k) => write!(f, "[{}]", serde_json::Value::String(k.clone()))?,
            }
        }
        Ok(())
    }
}

/// One path whose value differs.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    pub path: Path,
    pub before: Value,
    pub after: Value,
}

impl Difference {
    /// Whether either side is sensitive (its values are never shown).
    pub fn sensitive(&self) -> bool {
        self.before.contains_sensitive() || self.after.contains_sensitive()
    }
}

/// Every path where `after` differs from `before`, deepest first reached: objects and
/// maps key by key, lists and tuples of the same length element by element; sets,
/// lists of different lengths and leaves whole. A null and an empty collection are the
/// same (providers read back either), and a path unknown on either side is no known
/// difference.
pub fn differences(before: &Value, after: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    walk(&Path::default(), before, after, &mut out);
    out
}

fn walk(path: &Path, before: &Value, after: &Value, out: &mut Vec<Difference>) {
    let (b, _) = before.peel();
    let (a, _) = after.peel();
    if !b.is_known() || !a.is_known() || same(b, a) {
        return;
    }
    let none = std::collections::BTreeMap::new();
    let (b, a) = match (b, a) {
        // A map or object that appeared or went: key by key, from nothing.
        (Value::Null(_), Value::Object(_) | Value::Map(..)) => (&Value::Object(none.clone()), a),
        (Value::Object(_) | Value::Map(..), Value::Null(_)) => (b, &Value::Object(none.clone())),
        _ => (b, a),
    };
    match (b, a) {
        (Value::Object(bm) | Value::Map(_, bm), Value::Object(am) | Value::Map(_, am)) => {
            let keys: BTreeSet<&String> = bm.keys().chain(am.keys()).collect();
            let null = Value::null();
            for key in keys {
                let step = if is_name(key) {
                    Step::Attr(key.clone())
                } else {
                    Step::Key(key.clone())
                };
                walk(
                    &path.with(step),
                    bm.get(key).unwrap_or(&null),
                    am.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        (Value::List(_, be), Value::List(_, ae)) | (Value::Tuple(be), Value::Tuple(ae))
            if be.len() == ae.len() =>
        {
            for (i, (x, y)) in be.iter().zip(ae).enumerate() {
                walk(&path.with(Step::Index(i)), x, y, out);
            }
        }
        (Value::List(_, be), Value::Tuple(ae)) | (Value::Tuple(be), Value::List(_, ae))
            if be.len() == ae.len() =>
        {
            for (i, (x, y)) in be.iter().zip(ae).enumerate() {
                walk(&path.with(Step::Index(i)), x, y, out);
            }
        }
        _ => out.push(Difference {
            path: path.clone(),
            before: before.clone(),
            after: after.clone(),
        }),
    }
}

/// Equal as stored, marks aside, with a null the same as an empty collection.
fn same(a: &Value, b: &Value) -> bool {
    if empty(a) && empty(b) {
        return true;
    }
    if !a.is_wholly_known() || !b.is_wholly_known() {
        return false;
    }
    a.clone().deep_unmark().to_json() == b.clone().deep_unmark().to_json()
}

fn empty(v: &Value) -> bool {
    match v.peel().0 {
        Value::Null(_) => true,
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => e.is_empty(),
        Value::Map(_, m) => m.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::types::Type;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn n(i: i64) -> Value {
        Value::number(crate::lang::number::Number::from_i64(i))
    }

    fn s(x: &str) -> Value {
        Value::String(x.into())
    }

    fn paths(b: &Value, a: &Value) -> Vec<String> {
        differences(b, a)
            .iter()
            .map(|d| d.path.to_string())
            .collect()
    }

    #[test]
    fn nested_blocks_and_maps_differ_at_their_leaves() {
        let before = obj(&[
            ("id", s("ng-1")),
            (
                "scaling_config",
                Value::List(
                    Type::Dynamic,
                    vec![obj(&[("desired_size", n(2)), ("max_size", n(4))])],
                ),
            ),
            (
                "tags",
                Value::Map(Type::String, [("team".to_string(), s("ml"))].into()),
            ),
        ]);
        let after = obj(&[
            ("id", s("ng-1")),
            (
                "scaling_config",
                Value::List(
                    Type::Dynamic,
                    vec![obj(&[("desired_size", n(3)), ("max_size", n(4))])],
                ),
            ),
            (
                "tags",
                Value::Map(
                    Type::String,
                    [
                        ("team".to_string(), s("ml")),
                        ("owner".to_string(), s("x")),
                        ("app.kubernetes.io/name".to_string(), s("api")),
                    ]
                    .into(),
                ),
            ),
        ]);
        assert_eq!(
            paths(&before, &after),
            [
                "scaling_config[0].desired_size",
                "tags[\"app.kubernetes.io/name\"]",
                "tags.owner"
            ]
        );
    }

    #[test]
    fn null_and_empty_are_the_same_and_unknowns_are_no_difference() {
        let before = obj(&[
            ("tags", Value::Null(Type::Dynamic)),
            ("arn", Value::Unknown(Type::String)),
        ]);
        let after = obj(&[
            ("tags", Value::Map(Type::String, Default::default())),
            ("arn", s("arn:aws:x")),
        ]);
        assert!(paths(&before, &after).is_empty());
    }

    #[test]
    fn sets_and_lists_of_other_lengths_differ_whole() {
        let one = Value::Set(Type::String, vec![s("a")]);
        let two = Value::Set(Type::String, vec![s("a"), s("b")]);
        let before = obj(&[
            ("ingress", one.clone()),
            ("subnets", Value::List(Type::String, vec![s("a")])),
        ]);
        let after = obj(&[
            ("ingress", two),
            ("subnets", Value::List(Type::String, vec![])),
        ]);
        assert_eq!(paths(&before, &after), ["ingress", "subnets"]);
    }

    #[test]
    fn a_sensitive_side_is_flagged() {
        let before = obj(&[("token", Value::Sensitive(Box::new(s("a"))))]);
        let after = obj(&[("token", Value::Sensitive(Box::new(s("b"))))]);
        let d = differences(&before, &after);
        assert_eq!(d.len(), 1);
        assert!(d[0].sensitive());
    }

    #[test]
    fn paths_cover_their_descendants() {
        let tags = Path(vec![Step::Attr("tags".into())]);
        let team = Path(vec![Step::Attr("tags".into()), Step::Key("team".into())]);
        assert!(tags.covers(&team) && !team.covers(&tags) && team.overlaps(&tags));
        let dotted = Path(vec![Step::Attr("tags".into()), Step::Attr("team".into())]);
        assert!(team.covers(&dotted) && dotted.covers(&team));
    }
}
