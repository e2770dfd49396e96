//! yamlencode, in the exact layout Terraform v1.0.3 writes: every string and key
//! double-quoted, strings with line breaks as literal blocks (`|`, `|-`, `|+`), block
//! sequences under a mapping key at the key's own indentation, and a plain scalar
//! document ended with `...`.

use std::collections::{BTreeMap, HashMap};

use super::{fixed, FnError, Function};
use crate::lang::limits;
use crate::lang::types::{Constraint, Type};
use crate::lang::value::Value;

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string as a literal block after `|`: the chomping indicator, then each line
/// indented (empty lines stay empty).
fn block(s: &str, indent: usize, out: &mut String) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    out.push_str(match trailing {
        0 => "|-\n",
        1 => "|\n",
        _ => "|+\n",
    });
    let mut lines: Vec<&str> = s.split('\n').collect();
    if trailing > 0 {
        lines.pop();
    }
    for line in lines {
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn scalar(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null(_) => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        _ => return None,
    })
}

fn entries(v: &Value) -> Option<Vec<(String, &Value)>> {
    match v {
        Value::Map(_, m) | Value::Object(m) => {
            Some(m.iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        _ => None,
    }
}

fn items(v: &Value) -> Option<&[Value]> {
    match v {
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => Some(e),
        _ => None,
    }
}

/// What follows `key:` or `- `: an inline scalar, a literal block, an empty
/// collection, or a nested block on the next lines.
fn value_after(v: &Value, indent: usize, in_sequence: bool, out: &mut String) {
    if let Value::String(s) = v {
        if s.contains('\n') {
            out.push(' ');
            block(s, indent + 2, out);
            return;
        }
    }
    if let Some(s) = scalar(v) {
        out.push(' ');
        out.push_str(&s);
        out.push('\n');
        return;
    }
    match (entries(v), items(v)) {
        (Some(e), _) if e.is_empty() => out.push_str(" {}\n"),
        (_, Some([])) => out.push_str(" []\n"),
        (Some(e), _) if in_sequence => {
            out.push(' ');
            mapping(&e, indent + 2, true, out);
        }
        (Some(e), _) => {
            out.push('\n');
            mapping(&e, indent + 2, false, out);
        }
        (_, Some(i)) if in_sequence => {
            out.push(' ');
            sequence(i, indent + 2, true, out);
        }
        (_, Some(i)) => {
            out.push('\n');
            sequence(i, indent, false, out);
        }
        _ => out.push_str(" null\n"),
    }
}

fn mapping(e: &[(String, &Value)], indent: usize, first_inline: bool, out: &mut String) {
    for (n, (k, v)) in e.iter().enumerate() {
        if n > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&quote(k));
        out.push(':');
        value_after(v, indent, false, out);
    }
}

fn sequence(items: &[Value], indent: usize, first_inline: bool, out: &mut String) {
    for (n, v) in items.iter().enumerate() {
        if n > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        out.push('-');
        value_after(v, indent, true, out);
    }
}

pub fn encode(v: &Value) -> String {
    let v = v.clone().deep_unmark();
    let mut out = String::new();
    match &v {
        Value::String(s) if s.contains('\n') => block(s, 2, &mut out),
        Value::String(s) => {
            out.push_str(&quote(s));
            out.push('\n');
        }
        other => {
            if let Some(s) = scalar(other) {
                out.push_str(&s);
                out.push_str("\n...\n");
            } else if let Some(e) = entries(other) {
                if e.is_empty() {
                    out.push_str("{}\n");
                } else {
                    mapping(&e, 0, false, &mut out);
                }
            } else if let Some(i) = items(other) {
                if i.is_empty() {
                    out.push_str("[]\n");
                } else {
                    sequence(i, 0, false, &mut out);
                }
            }
        }
    }
    out
}

/// Builds values from the parser's events, resolving plain scalars with YAML 1.1's
/// rules as Terraform's decoder does (`yes`, `on` and `~` included).
#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    done: Option<Value>,
    /// Anchored values with their sizes, so an alias costs what it copies.
    anchors: HashMap<usize, (Value, usize)>,
    error: Option<String>,
    /// The estimated size of everything built so far; aliases of aliases cannot grow
    /// the document past the bound on one value.
    bytes: usize,
}

enum Frame {
    Seq(usize, Vec<Value>),
    Map(usize, BTreeMap<String, Value>, Option<String>),
}

fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::null(),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    let numeric = s.trim_start_matches(['+', '-']);
    let looks_numeric = numeric
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && numeric
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'));
    if looks_numeric {
        if let Ok(n) =
            crate::lang::number::Number::parse(s.replace('_', "").trim_start_matches('+'))
        {
            return Value::Number(n);
        }
    }
    Value::String(s.to_string())
}

impl Builder {
    fn push(&mut self, v: Value, anchor: usize, cost: usize) {
        if self.error.is_some() {
            return;
        }
        self.bytes = self.bytes.saturating_add(cost);
        if let Err(e) = limits::check(self.bytes) {
            self.error = Some(e.to_string());
            return;
        }
        if anchor > 0 {
            let size = limits::size(&v);
            self.anchors.insert(anchor, (v.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.done = Some(v),
            Some(Frame::Seq(_, items)) => items.push(v),
            Some(Frame::Map(_, m, key)) => match key.take() {
                Some(k) => {
                    m.insert(k, v);
                }
                None => match v {
                    Value::String(k) => *key = Some(k),
                    Value::Null(_) => *key = Some("null".into()),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    Value::Number(n) => *key = Some(n.to_string()),
                    _ => self.error = Some("only scalar mapping keys are supported".into()),
                },
            },
        }
    }
}

impl yaml_rust2::parser::MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: yaml_rust2::parser::Event, _mark: yaml_rust2::scanner::Marker) {
        use yaml_rust2::parser::Event;
        use yaml_rust2::scanner::TScalarStyle;
        match ev {
            Event::Scalar(s, style, anchor, tag) => {
                let v = match (&tag, style) {
                    (Some(t), _) if t.suffix == "str" => Value::String(s),
                    (_, TScalarStyle::Plain) => resolve_plain(&s),
                    _ => Value::String(s),
                };
                let cost = limits::size(&v);
                self.push(v, anchor, cost);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(anchor, Vec::new())),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(anchor, BTreeMap::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (v, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(a, items)) => (Value::Tuple(items), a),
                    Some(Frame::Map(a, m, _)) => (Value::Object(m), a),
                    None => return,
                };
                self.push(v, anchor, limits::ELEMENT_BYTES);
            }
            Event::Alias(id) => {
                let size = self.anchors.get(&id).map(|(_, size)| *size);
                if let Some(e) =
                    size.and_then(|n| limits::check(self.bytes.saturating_add(n)).err())
                {
                    self.error.get_or_insert(e.to_string());
                    return;
                }
                match self.anchors.get(&id).cloned() {
                    Some((v, size)) => self.push(v, 0, size),
                    None => {
                        self.error.get_or_insert(format!("unknown anchor {id}"));
                    }
                }
            }
            _ => {}
        }
    }
}

fn yamldecode(args: &[Value]) -> Result<Value, FnError> {
    let text = args[0].as_str().unwrap_or("");
    let mut builder = Builder::default();
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        return Err(FnError::arg(
            0,
            format!(
                "Invalid value for \"src\" parameter: on line {}, column {}: {}.",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            ),
        ));
    }
    if let Some(e) = builder.error {
        return Err(FnError::arg(
            0,
            format!("Invalid value for \"src\" parameter: {e}."),
        ));
    }
    builder.done.ok_or_else(|| {
        FnError::arg(
            0,
            "Invalid value for \"src\" parameter: on line 1, column 1: missing start of document.",
        )
    })
}

fn yamlencode(args: &[Value]) -> Result<Value, FnError> {
    if !args[0].is_wholly_known() {
        return Ok(Value::Unknown(Type::String));
    }
    Ok(Value::String(encode(&args[0])))
}

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert(
        "yamldecode",
        fixed(
            [super::p("src", Constraint::String)],
            super::dynamic_ty,
            yamldecode,
        ),
    );
    t.insert(
        "yamlencode",
        fixed(
            [super::Param {
                name: "value",
                ty: Constraint::Any,
                allow_unknown: true,
                allow_null: true,
            }],
            super::string_ty,
            yamlencode,
        ),
    );
}
