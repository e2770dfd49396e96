//! Shorthands for writing resource types: schema building blocks, values, nested
//! block access, and waiting on asynchronous states with `timeouts`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::{
    Attribute, Block, Diagnostic, NestedBlock, Nesting, Object, Result, Schema, Type, Value,
};

// ---- waiting --------------------------------------------------------------------------

/// Parses a Terraform duration ("30m", "1h30m", "90s").
pub fn duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
    }
    if !digits.is_empty() {
        return None;
    }
    Some(Duration::from_secs(total))
}

/// The `timeouts { create = "…" }` value for `operation`, or `default`.
pub fn timeout(o: &Object, operation: &str, default: Duration) -> Duration {
    block_objects(o, "timeouts")
        .first()
        .and_then(|t| t.string(operation))
        .and_then(|t| duration(&t))
        .unwrap_or(default)
}

/// Polls `check` until it returns `Some`, with backoff, up to `limit`; says on stderr
/// (which plinth shows with PLINTH_LOG) what it is waiting for.
pub fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        if let Some(done) = check()? {
            return Ok(done);
        }
        if start.elapsed() >= limit {
            return Err(vec![Diagnostic::error(
                "Timed out",
                format!(
                    "{what} did not finish within {}s. It may still finish: run plan to see where it stands, or raise the timeout in a `timeouts` block.",
                    limit.as_secs()
                ),
            )]);
        }
        eprintln!(
            "waiting for {what} ({}s elapsed)",
            start.elapsed().as_secs()
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

// ---- schema shorthands --------------------------------------------------------------

pub fn required(ty: Type) -> Attribute {
    Attribute {
        required: true,
        ..Attribute::new(ty)
    }
}

pub fn optional(ty: Type) -> Attribute {
    Attribute {
        optional: true,
        ..Attribute::new(ty)
    }
}

pub fn computed(ty: Type) -> Attribute {
    Attribute {
        computed: true,
        ..Attribute::new(ty)
    }
}

pub fn optional_computed(ty: Type) -> Attribute {
    Attribute {
        optional: true,
        computed: true,
        ..Attribute::new(ty)
    }
}

pub fn string_map() -> Type {
    Type::map(Type::String)
}

pub fn string_set() -> Type {
    Type::set(Type::String)
}

pub fn string_list() -> Type {
    Type::list(Type::String)
}

pub fn block(attributes: Vec<(&str, Attribute)>, blocks: Vec<(&str, NestedBlock)>) -> Block {
    Block {
        attributes: attributes
            .into_iter()
            .map(|(k, a)| (k.to_string(), a))
            .collect(),
        blocks: blocks
            .into_iter()
            .map(|(k, b)| (k.to_string(), b))
            .collect(),
        ..Block::default()
    }
}

pub fn schema(attributes: Vec<(&str, Attribute)>, blocks: Vec<(&str, NestedBlock)>) -> Schema {
    Schema {
        version: 0,
        block: block(attributes, blocks),
    }
}

/// A nested block that may appear at most once (`list`, as HashiCorp declares them).
pub fn single(inner: Block, required: bool) -> NestedBlock {
    NestedBlock {
        nesting: Nesting::List,
        block: inner,
        min_items: i64::from(required),
        max_items: 1,
    }
}

pub fn set_of(inner: Block) -> NestedBlock {
    NestedBlock {
        nesting: Nesting::Set,
        block: inner,
        min_items: 0,
        max_items: 0,
    }
}

pub fn list_of(inner: Block) -> NestedBlock {
    NestedBlock {
        nesting: Nesting::List,
        block: inner,
        min_items: 0,
        max_items: 0,
    }
}

/// `timeouts { create update delete }`.
pub fn timeouts() -> (&'static str, NestedBlock) {
    let inner = block(
        vec![
            ("create", optional(Type::String)),
            ("update", optional(Type::String)),
            ("delete", optional(Type::String)),
        ],
        vec![],
    );
    (
        "timeouts",
        NestedBlock {
            nesting: Nesting::Single,
            block: inner,
            min_items: 0,
            max_items: 0,
        },
    )
}

// ---- values ---------------------------------------------------------------------------

pub fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

pub fn opt_s(text: Option<impl Into<String>>) -> Value {
    text.map_or(Value::Null(Type::String), |t| Value::String(t.into()))
}

pub fn n(number: i64) -> Value {
    Value::number(number)
}

pub fn b(flag: bool) -> Value {
    Value::Bool(flag)
}

pub fn strings_set<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
    Value::set(Type::String, items.into_iter().map(|i| s(i)).collect())
}

pub fn strings_list<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
    Value::List(Type::String, items.into_iter().map(|i| s(i)).collect())
}

pub fn string_map_value(map: &BTreeMap<String, String>) -> Value {
    Value::Map(
        Type::String,
        map.iter().map(|(k, v)| (k.clone(), s(v.clone()))).collect(),
    )
}

/// A string map attribute (`tags`, `labels`); empty when null.
pub fn map_of(o: &Object, name: &str) -> BTreeMap<String, String> {
    match o.get(name) {
        Value::Map(_, m) | Value::Object(m) => m
            .into_iter()
            .filter_map(|(k, v)| v.peel().0.as_str().map(|s| (k, s.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// A list or set of strings attribute; empty when null.
pub fn strings_of(o: &Object, name: &str) -> Vec<String> {
    o.get(name)
        .elements()
        .map(|e| {
            e.into_iter()
                .filter_map(|v| v.peel().0.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The objects of a nested block (none when absent).
pub fn block_objects(o: &Object, name: &str) -> Vec<Object> {
    let v = o.get(name);
    match v {
        Value::Object(_) => vec![Object::from_value(&v)],
        _ => v
            .elements()
            .map(|e| e.into_iter().map(Object::from_value).collect())
            .unwrap_or_default(),
    }
}

/// A nested block's value from objects, as a list or set of its object type.
pub fn objects_value(inner: &Block, nesting: Nesting, objects: Vec<Object>) -> Value {
    let ty = inner.implied_type();
    let values = objects.into_iter().map(Object::into_value).collect();
    match nesting {
        Nesting::Set => Value::set(ty, values),
        _ => Value::List(ty, values),
    }
}
