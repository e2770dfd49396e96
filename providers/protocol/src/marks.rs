//! Sensitive marks by path: read off a value, put back onto another. A path is what
//! state records (Terraform's `sensitive_attributes`): one step per level, a string
//! for an attribute or map key, a number for a list or tuple index. A mark inside a
//! set element is recorded at the set, since a set element has no stable index.

use std::collections::BTreeMap;

use serde_json::Value as J;

use super::value::Value;

/// A path into a value; empty for the whole value.
pub type Path = Vec<J>;

impl Value {
    /// The paths of every sensitive mark in this value, outermost first; a mark
    /// inside a marked value is not listed again.
    pub fn sensitive_paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        collect(self, &mut Vec::new(), &mut out);
        out
    }

    /// Marks the values at `paths` sensitive. A path that does not lead into this
    /// value (an index past the end, a key not there) marks nothing.
    pub fn mark_paths(self, paths: &[Path]) -> Value {
        paths.iter().fold(self, |v, p| mark_at(v, p))
    }

    /// Every string that sits under a sensitive mark, for scrubbing text a provider
    /// writes back (an error that quotes its input).
    pub fn sensitive_strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        strings(self, false, &mut out);
        out.sort();
        out.dedup();
        out
    }
}

fn collect(v: &Value, at: &mut Path, out: &mut Vec<Path>) {
    match v {
        Value::Sensitive(_) => out.push(at.clone()),
        Value::List(_, e) | Value::Tuple(e) => {
            for (i, x) in e.iter().enumerate() {
                at.push(J::from(i));
                collect(x, at, out);
                at.pop();
            }
        }
        Value::Set(..) if v.contains_sensitive() => out.push(at.clone()),
        Value::Map(_, m) | Value::Object(m) => {
            for (k, x) in m {
                at.push(J::String(k.clone()));
                collect(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn mark_at(v: Value, path: &[J]) -> Value {
    let Some((step, rest)) = path.split_first() else {
        return v.sensitive();
    };
    let (inner, marked) = v.unmark();
    let at_key = |mut m: BTreeMap<String, Value>| {
        if let Some(k) = step.as_str() {
            if let Some(x) = m.remove(k) {
                m.insert(k.to_string(), mark_at(x, rest));
            }
        }
        m
    };
    let at_index = |mut e: Vec<Value>| {
        if let Some(i) = step.as_u64().and_then(|i| usize::try_from(i).ok()) {
            if let Some(slot) = e.get_mut(i) {
                let x = std::mem::replace(slot, Value::null());
                *slot = mark_at(x, rest);
            }
        }
        e
    };
    let inner = match inner {
        Value::Object(m) => Value::Object(at_key(m)),
        Value::Map(t, m) => Value::Map(t, at_key(m)),
        Value::List(t, e) => Value::List(t, at_index(e)),
        Value::Tuple(e) => Value::Tuple(at_index(e)),
        other => other,
    };
    inner.mark(marked)
}

fn strings(v: &Value, under: bool, out: &mut Vec<String>) {
    match v {
        Value::Sensitive(x) => strings(x, true, out),
        Value::String(s) if under && !s.is_empty() => out.push(s.clone()),
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
            for x in e {
                strings(x, under, out);
            }
        }
        Value::Map(_, m) | Value::Object(m) => {
            for x in m.values() {
                strings(x, under, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Type;

    fn obj(items: &[(&str, Value)]) -> Value {
        Value::Object(
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn nested_marks_survive_a_round_trip_through_paths() {
        let marked = obj(&[
            ("id", Value::string("i-1")),
            (
                "rule",
                Value::List(
                    Type::Dynamic,
                    vec![
                        obj(&[("token", Value::string("t0"))]),
                        obj(&[("token", Value::string("t1").sensitive())]),
                    ],
                ),
            ),
            ("whole", Value::string("w").sensitive()),
        ]);
        let paths = marked.sensitive_paths();
        assert_eq!(
            paths,
            vec![
                vec![J::from("rule"), J::from(1), J::from("token")],
                vec![J::from("whole")]
            ]
        );
        assert_eq!(marked.clone().deep_unmark().mark_paths(&paths), marked);
        assert_eq!(marked.sensitive_strings(), vec!["t1", "w"]);
    }

    #[test]
    fn a_path_that_does_not_lead_anywhere_marks_nothing() {
        let v = obj(&[("a", Value::List(Type::String, vec![Value::string("x")]))]);
        let paths = vec![
            vec![J::from("a"), J::from(3)],
            vec![J::from("b")],
            vec![J::from("a"), J::from("k")],
        ];
        assert_eq!(v.clone().mark_paths(&paths), v);
        assert!(v.mark_paths(&[vec![]]).is_sensitive());
    }

    #[test]
    fn a_mark_inside_a_set_is_recorded_at_the_set() {
        let v = obj(&[(
            "s",
            Value::Set(Type::String, vec![Value::string("x").sensitive()]),
        )]);
        assert_eq!(v.sensitive_paths(), vec![vec![J::from("s")]]);
    }
}
