//! Object constructors that set one key twice (`{ a = 1, a = 2 }`): Terraform accepts
//! them and the last value wins; hcl-edit refuses a redefined key. Each redefined key
//! is renamed in the text to a placeholder of the same length (so every span stays
//! true) until the text parses; each placeholder then gets its name back in the tree,
//! and the earlier item of that name is dropped.

use std::ops::Range;

use hcl_edit::expr::{Expression, Object, ObjectKey};
use hcl_edit::structure::Body;
use hcl_edit::visit_mut::VisitMut;
use hcl_edit::Span as _;

use super::load::parse_wide_numbers;

/// How many redefined keys one file may hold.
const MAX_RENAMES: usize = 1024;

/// How many placeholders are tried for one key before giving up.
const MAX_ATTEMPTS: usize = 64;

/// Characters a placeholder is made of: each may start an identifier.
const PLACEHOLDER_CHARS: &[u8] = b"_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Parses a body as Terraform does, wide number literals and redefined object keys
/// included.
pub fn parse_body(text: &str) -> Result<Body, hcl_edit::parser::Error> {
    let mut renamed: Vec<Rename> = Vec::new();
    let mut current = text.to_string();
    loop {
        let err = match parse_wide_numbers(&current, hcl_edit::parser::parse_body) {
            Ok(mut body) => {
                if !renamed.is_empty() {
                    Restore { renamed: &renamed }.visit_body_mut(&mut body);
                }
                return Ok(body);
            }
            Err(e) => e,
        };
        if !err.message().contains("redefined object key") || renamed.len() >= MAX_RENAMES {
            return Err(err);
        }
        let at = err.location().offset();
        let attempt = match renamed.last() {
            Some(last) if last.range.start == at || last.range.start == at + 1 => last.attempt + 1,
            _ => 0,
        };
        let rename = match renamed.last() {
            Some(last) if attempt > 0 => Rename {
                attempt,
                ..last.clone()
            },
            _ => match key_at(text, at) {
                Some((range, name)) => Rename {
                    range,
                    name,
                    attempt: 0,
                },
                None => return Err(err),
            },
        };
        if attempt > 0 {
            renamed.pop();
        }
        let Some(placeholder) = placeholder(rename.range.len(), rename.attempt, &rename.name)
        else {
            return Err(err);
        };
        current.replace_range(rename.range.clone(), &placeholder);
        renamed.push(rename);
    }
}

/// One redefined key: where its name is in the text (inside the quotes of a quoted
/// key), the name, and which placeholder stands for it.
#[derive(Clone)]
struct Rename {
    range: Range<usize>,
    name: String,
    attempt: usize,
}

/// The key starting at `at`: an identifier, or a quoted string without escapes or
/// templates (whose range is what lies between the quotes).
fn key_at(text: &str, at: usize) -> Option<(Range<usize>, String)> {
    let rest = text.get(at..)?;
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        let name = &quoted[..end];
        if name.is_empty() || name.contains(['\\', '$', '%', '\n']) {
            return None;
        }
        return Some((at + 1..at + 1 + end, name.to_string()));
    }
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    if len == 0 {
        return None;
    }
    Some((at..at + len, rest[..len].to_string()))
}

/// The `attempt`th identifier of `len` bytes, never `name` itself.
fn placeholder(len: usize, attempt: usize, name: &str) -> Option<String> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    (0..)
        .map(|index| spell(index, len))
        .take_while(Option::is_some)
        .flatten()
        .filter(|s| s != name)
        .nth(attempt)
}

/// The `index`th string of `len` placeholder characters; `None` past the last.
fn spell(mut index: usize, len: usize) -> Option<String> {
    let base = PLACEHOLDER_CHARS.len();
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        s.push(char::from(PLACEHOLDER_CHARS[index % base]));
        index /= base;
    }
    (index == 0 && len > 0).then_some(s)
}

/// Gives each placeholder key its name back, dropping the earlier item of that name.
struct Restore<'a> {
    renamed: &'a [Rename],
}

impl Restore<'_> {
    fn renamed_at(&self, key: &ObjectKey) -> Option<&str> {
        let span = match key {
            ObjectKey::Ident(id) => id.span(),
            ObjectKey::Expression(Expression::String(s)) => {
                s.span().map(|r| r.start + 1..r.end.saturating_sub(1))
            }
            ObjectKey::Expression(_) => None,
        }?;
        self.renamed
            .iter()
            .find(|r| r.range == span)
            .map(|r| r.name.as_str())
    }
}

impl VisitMut for Restore<'_> {
    fn visit_object_mut(&mut self, object: &mut Object) {
        hcl_edit::visit_mut::visit_object_mut(self, object);
        let placeholders: Vec<(ObjectKey, String)> = object
            .iter()
            .filter_map(|(k, _)| Some((k.clone(), self.renamed_at(k)?.to_string())))
            .collect();
        for (key, name) in placeholders {
            let Some((mut key, value)) = object.remove_entry(&key) else {
                continue;
            };
            match &mut key {
                ObjectKey::Ident(id) => {
                    let earlier = ObjectKey::Ident(hcl_edit::Decorated::new(hcl_edit::Ident::new(
                        name.as_str(),
                    )));
                    object.remove(&earlier);
                    *id.value_mut() = hcl_edit::Ident::new(name);
                }
                ObjectKey::Expression(Expression::String(s)) => {
                    let earlier = ObjectKey::Expression(Expression::String(
                        hcl_edit::Decorated::new(name.clone()),
                    ));
                    object.remove(&earlier);
                    *s.value_mut() = name;
                }
                ObjectKey::Expression(_) => {}
            }
            object.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_of_first_local(text: &str) -> Vec<String> {
        let body = parse_body(text).unwrap();
        let block = body.get_blocks("locals").next().unwrap();
        let attr = block.body.get_attribute("x").unwrap();
        let Expression::Object(o) = &attr.value else {
            panic!("not an object")
        };
        o.iter()
            .map(|(k, v)| {
                let k = match k {
                    ObjectKey::Ident(i) => i.as_str().to_string(),
                    ObjectKey::Expression(e) => e.to_string().trim().to_string(),
                };
                format!("{k}={}", v.expr().to_string().trim())
            })
            .collect()
    }

    #[test]
    fn the_last_value_of_a_redefined_key_wins() {
        let mut keys =
            keys_of_first_local("locals {\n  x = {\n    a = 1\n    b = 2\n    a = 3\n  }\n}\n");
        keys.sort();
        assert_eq!(keys, ["a=3", "b=2"]);
    }

    #[test]
    fn a_placeholder_that_collides_is_replaced_by_another() {
        let mut keys =
            keys_of_first_local("locals {\n  x = { _ = 0, a = 1, a = 2, A = 3, a = 4 }\n}\n");
        keys.sort();
        assert_eq!(keys, ["A=3", "_=0", "a=4"]);
    }

    #[test]
    fn quoted_keys_are_renamed_inside_their_quotes() {
        let mut keys = keys_of_first_local("locals {\n  x = { \"k\" = 1, \"k\" = 2 }\n}\n");
        keys.sort();
        assert_eq!(keys, ["\"k\"=2"]);
    }
}
