//! The function call mechanism: signatures, argument conversion, and the rules every
//! function shares for unknown arguments (unknown in, unknown out) and sensitive ones
//! (the mark carries to the result). The complete Terraform library is built on this.

mod collections;
mod datetime;
mod encoding;
mod filesystem;
mod gzip;
mod network;
mod numeric;
mod strings;
mod yaml;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

pub use datetime::{impure_known, ImpureGuard};
pub(crate) use filesystem::{expand as expand_path, read_bounded};

use super::convert::{convert, convert_to_type, unify};
use super::limits;
use super::number::Number;
use super::types::{Constraint, Type};
use super::value::Value;

pub struct Param {
    pub name: &'static str,
    pub ty: Constraint,
    /// The function looks inside unknown values itself (`length` of a list of unknowns).
    pub allow_unknown: bool,
    pub allow_null: bool,
}

type Impl = fn(&[Value]) -> Result<Value, FnError>;

pub struct Function {
    pub params: Vec<Param>,
    pub variadic: Option<Param>,
    /// The result type when it cannot be computed because an argument is unknown.
    pub returns: fn(&[Value]) -> Type,
    /// The function sees sensitive marks and decides the result's marks itself.
    pub handles_marks: bool,
    pub body: Impl,
}

/// A failed call; `arg` says which argument is to blame, so the diagnostic can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnError {
    pub arg: Option<usize>,
    pub message: String,
}

impl FnError {
    pub fn arg(i: usize, message: impl Into<String>) -> FnError {
        FnError {
            arg: Some(i),
            message: message.into(),
        }
    }
    pub fn call(message: impl Into<String>) -> FnError {
        FnError {
            arg: None,
            message: message.into(),
        }
    }
    /// `Err` when a result of `bytes` would be beyond the bound on one value.
    pub fn bound(bytes: usize) -> Result<(), FnError> {
        limits::check(bytes).map_err(FnError::call)
    }
}

pub struct Functions {
    table: HashMap<&'static str, Function>,
}

impl Functions {
    /// The functions every stack can call.
    pub fn standard() -> &'static Functions {
        static TABLE: OnceLock<Functions> = OnceLock::new();
        TABLE.get_or_init(build_table)
    }

    pub fn get(&self, name: &str) -> Option<&Function> {
        self.table.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.table.keys().copied()
    }
}

impl Function {
    /// Calls the function: checks arity, converts each argument to its parameter type,
    /// short-circuits unknowns, and carries sensitive marks to the result.
    pub fn call(&self, args: Vec<Value>) -> Result<Value, FnError> {
        if args.len() < self.params.len() {
            let missing = &self.params[args.len()];
            return Err(FnError::call(format!(
                "Not enough function arguments: the function requires at least {} argument(s); the \"{}\" argument is missing.",
                self.params.len(),
                missing.name
            )));
        }
        if self.variadic.is_none() && args.len() > self.params.len() {
            return Err(FnError::arg(
                self.params.len(),
                format!(
                    "Too many function arguments: the function takes exactly {} argument(s).",
                    self.params.len()
                ),
            ));
        }
        let mut marked = false;
        let mut unknown = false;
        let mut converted = Vec::with_capacity(args.len());
        for (i, arg) in args.into_iter().enumerate() {
            let param = self
                .params
                .get(i)
                .or(self.variadic.as_ref())
                .ok_or_else(|| FnError::arg(i, "Too many function arguments."))?;
            let (value, was_marked) = if self.handles_marks {
                (arg, false)
            } else {
                arg.unmark()
            };
            marked |= was_marked;
            if value.is_null() && !param.allow_null {
                return Err(FnError::arg(
                    i,
                    format!(
                        "Invalid value for \"{}\" parameter: argument must not be null.",
                        param.name
                    ),
                ));
            }
            let value = convert(value, &param.ty).map_err(|e| {
                FnError::arg(
                    i,
                    format!("Invalid value for \"{}\" parameter: {e}.", param.name),
                )
            })?;
            if !value.is_known() && !param.allow_unknown {
                unknown = true;
            }
            converted.push(value);
        }
        if unknown {
            return Ok(Value::Unknown((self.returns)(&converted)).mark(marked));
        }
        let out = (self.body)(&converted)?;
        limits::check(limits::size(&out)).map_err(FnError::call)?;
        Ok(out.nfc().mark(marked))
    }
}

fn p(name: &'static str, ty: Constraint) -> Param {
    Param {
        name,
        ty,
        allow_unknown: false,
        allow_null: false,
    }
}

fn list_any() -> Constraint {
    Constraint::List(Box::new(Constraint::Any))
}

fn fixed<const N: usize>(params: [Param; N], ret: fn(&[Value]) -> Type, body: Impl) -> Function {
    Function {
        params: params.into(),
        variadic: None,
        returns: ret,
        handles_marks: false,
        body,
    }
}

fn variadic(params: Vec<Param>, rest: Param, ret: fn(&[Value]) -> Type, body: Impl) -> Function {
    Function {
        params,
        variadic: Some(rest),
        returns: ret,
        handles_marks: false,
        body,
    }
}

fn string_ty(_: &[Value]) -> Type {
    Type::String
}
fn number_ty(_: &[Value]) -> Type {
    Type::Number
}
fn bool_ty(_: &[Value]) -> Type {
    Type::Bool
}
fn dynamic_ty(_: &[Value]) -> Type {
    Type::Dynamic
}

fn str_arg(args: &[Value], i: usize) -> &str {
    args.get(i).and_then(Value::as_str).unwrap_or("")
}

/// A function of one string argument returning a string.
fn string_fn(body: Impl) -> Function {
    fixed([p("str", Constraint::String)], string_ty, body)
}

fn length(args: &[Value]) -> Result<Value, FnError> {
    let (v, _) = args[0].peel();
    match v {
        Value::Unknown(_) => Ok(Value::Unknown(Type::Number)),
        Value::String(s) => Ok(Value::number(
            unicode_segmentation::UnicodeSegmentation::graphemes(s.as_str(), true).count(),
        )),
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => Ok(Value::number(e.len())),
        Value::Map(_, m) | Value::Object(m) => Ok(Value::number(m.len())),
        _ => Err(FnError::arg(
            0,
            "Invalid value for \"value\" parameter: collection or structural type is required.",
        )),
    }
}

fn join(args: &[Value]) -> Result<Value, FnError> {
    let sep = str_arg(args, 0);
    let mut parts = Vec::new();
    let mut bytes = 0usize;
    for (i, list) in args[1..].iter().enumerate() {
        for e in list.elements().unwrap_or_default() {
            match e.as_str() {
                Some(s) => {
                    bytes = bytes.saturating_add(s.len() + sep.len());
                    FnError::bound(bytes)?;
                    parts.push(s)
                }
                None if e.is_null() => return Err(FnError::arg(
                    i + 1,
                    "Invalid function argument: element is null; cannot concatenate null values.",
                )),
                None => return Ok(Value::Unknown(Type::String)),
            }
        }
    }
    Ok(Value::String(parts.join(sep)))
}

fn keys(args: &[Value]) -> Result<Value, FnError> {
    match args[0].peel().0 {
        Value::Map(_, m) => Ok(Value::List(
            Type::String,
            m.keys().cloned().map(Value::String).collect(),
        )),
        Value::Object(m) => Ok(Value::Tuple(m.keys().cloned().map(Value::String).collect())),
        Value::Unknown(_) => Ok(Value::Unknown(Type::list(Type::String))),
        _ => Err(FnError::arg(
            0,
            "Invalid value for \"inputMap\" parameter: must have map or object type.",
        )),
    }
}

fn values(args: &[Value]) -> Result<Value, FnError> {
    match args[0].peel().0 {
        Value::Map(t, m) => Ok(Value::List(t.clone(), m.values().cloned().collect())),
        Value::Object(m) => Ok(Value::Tuple(m.values().cloned().collect())),
        _ => Err(FnError::arg(
            0,
            "Invalid value for \"mapping\" parameter: must have map or object type.",
        )),
    }
}

fn concat(args: &[Value]) -> Result<Value, FnError> {
    let bound = limits::max_value_bytes();
    let bytes = args.iter().fold(0usize, |n, a| {
        n.saturating_add(limits::size_capped(a, bound))
    });
    FnError::bound(bytes)?;
    let mut out = Vec::new();
    let mut all_lists = true;
    for (i, a) in args.iter().enumerate() {
        match a.peel().0 {
            Value::List(_, e) | Value::Set(_, e) => out.extend(e.iter().cloned()),
            Value::Tuple(e) => {
                all_lists = false;
                out.extend(e.iter().cloned())
            }
            _ => {
                return Err(FnError::arg(
                    i,
                    "Invalid value for \"seqs\" parameter: all arguments must be lists or tuples.",
                ))
            }
        }
    }
    if all_lists {
        let types: Vec<Type> = out.iter().map(Value::ty).collect();
        if let Some(t) = unify(&types) {
            let elems = out
                .into_iter()
                .map(|v| convert_to_type(v, &t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| FnError::call(e.to_string()))?;
            return Ok(Value::List(t, elems));
        }
    }
    Ok(Value::Tuple(out))
}

fn merge(args: &[Value]) -> Result<Value, FnError> {
    let mut out = BTreeMap::new();
    let mut all_maps = true;
    for (i, a) in args.iter().enumerate() {
        match a.peel().0 {
            Value::Null(_) => {}
            Value::Map(_, m) => out.extend(m.clone()),
            Value::Object(m) => {
                all_maps = false;
                out.extend(m.clone())
            }
            _ => {
                return Err(FnError::arg(
                    i,
                    "Invalid value for \"maps\" parameter: arguments must be maps or objects.",
                ))
            }
        }
    }
    if all_maps {
        let types: Vec<Type> = out.values().map(Value::ty).collect();
        if let Some(t) = unify(&types) {
            return Ok(Value::Map(t, out));
        }
    }
    Ok(Value::Object(out))
}

fn lookup(args: &[Value]) -> Result<Value, FnError> {
    let key = str_arg(args, 1);
    let found = match args[0].peel().0 {
        Value::Map(_, m) | Value::Object(m) => m.get(key).cloned(),
        _ => {
            return Err(FnError::arg(
                0,
                "Invalid value for \"inputMap\" parameter: must have map or object type.",
            ))
        }
    };
    match (found, args.get(2)) {
        (Some(v), _) => Ok(v),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(FnError::arg(
            1,
            format!("Invalid function argument: the given key {key:?} does not exist in the map."),
        )),
    }
}

fn element(args: &[Value]) -> Result<Value, FnError> {
    let list = args[0].elements().unwrap_or_default();
    if list.is_empty() {
        return Err(FnError::arg(
            0,
            "Invalid function argument: cannot use element function with an empty list.",
        ));
    }
    let index = args[1]
        .as_number()
        .and_then(Number::to_i64)
        .ok_or_else(|| {
            FnError::arg(
                1,
                "Invalid function argument: index must be a whole number.",
            )
        })?;
    if index < 0 {
        return Err(FnError::arg(
            1,
            "Invalid function argument: cannot use element function with a negative index.",
        ));
    }
    Ok(list[index as usize % list.len()].clone())
}

fn coalesce(args: &[Value]) -> Result<Value, FnError> {
    for a in args {
        if !a.is_known() {
            return Ok(Value::unknown());
        }
        if !a.is_null() && a.as_str() != Some("") {
            return Ok(a.clone());
        }
    }
    Err(FnError::call(
        "Invalid function argument: no non-null, non-empty-string arguments.",
    ))
}

fn contains(args: &[Value]) -> Result<Value, FnError> {
    let needle = &args[1];
    let elems = args[0].elements().unwrap_or_default();
    if elems.iter().any(|e| !e.is_wholly_known()) || !needle.is_wholly_known() {
        return Ok(Value::Unknown(Type::Bool));
    }
    Ok(Value::Bool(elems.iter().any(|e| e.strict_equal(needle))))
}

fn range(args: &[Value]) -> Result<Value, FnError> {
    let nums: Vec<Number> = args.iter().filter_map(|a| a.as_number().cloned()).collect();
    let (start, end, step) = match nums.as_slice() {
        [end] => (Number::from_i64(0), end.clone(), Number::one()),
        [start, end] => {
            let step = if end < start {
                Number::one().neg()
            } else {
                Number::one()
            };
            (start.clone(), end.clone(), step)
        }
        [start, end, step] => (start.clone(), end.clone(), step.clone()),
        _ => {
            return Err(FnError::call(
                "Invalid number of arguments: range takes one to three numbers.",
            ))
        }
    };
    if step.is_zero() {
        return Err(FnError::arg(
            2,
            "Invalid function argument: step must not be zero.",
        ));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (!step.is_negative() && i < end) || (step.is_negative() && i > end) {
        if out.len() >= 1024 {
            return Err(FnError::call("Invalid function argument: more than 1024 values were generated; either decrease the difference between start and end or use a smaller step."));
        }
        out.push(Value::Number(i.clone()));
        i = i.add(&step);
    }
    Ok(Value::List(Type::Number, out))
}

fn max_min(args: &[Value], want_max: bool) -> Result<Value, FnError> {
    let mut best: Option<&Number> = None;
    for a in args {
        if let Some(n) = a.as_number() {
            if best.is_none_or(|b| if want_max { n > b } else { n < b }) {
                best = Some(n);
            }
        }
    }
    best.cloned().map(Value::Number).ok_or_else(|| {
        FnError::call("Not enough function arguments: must pass at least one number.")
    })
}

fn flatten_into(v: &Value, out: &mut Vec<Value>) -> bool {
    match v.peel().0 {
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
            for x in e {
                if !x.is_known() {
                    return false;
                }
                if matches!(
                    x.peel().0,
                    Value::List(..) | Value::Set(..) | Value::Tuple(..)
                ) {
                    if !flatten_into(x, out) {
                        return false;
                    }
                } else {
                    out.push(x.clone());
                }
            }
            true
        }
        _ => {
            out.push(v.clone());
            true
        }
    }
}

fn flatten(args: &[Value]) -> Result<Value, FnError> {
    let mut out = Vec::new();
    if !flatten_into(&args[0], &mut out) {
        return Ok(Value::unknown());
    }
    Ok(Value::Tuple(out))
}

/// JSON text as Terraform's `jsonencode` writes it: compact, keys sorted, and `<`, `>`
/// and `&` escaped as Go's encoder does.
pub fn json_text(v: &Value, out: &mut String) {
    match v.peel().0 {
        Value::Null(_) | Value::Unknown(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => {
            let quoted = serde_json::to_string(s).unwrap_or_default();
            out.push_str(
                &quoted
                    .replace('<', "\\u003c")
                    .replace('>', "\\u003e")
                    .replace('&', "\\u0026"),
            );
        }
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
            out.push('[');
            for (i, x) in e.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_text(x, out);
            }
            out.push(']');
        }
        Value::Map(_, m) | Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_text(&Value::String(k.clone()), out);
                out.push(':');
                json_text(x, out);
            }
            out.push('}');
        }
        Value::Sensitive(_) => out.push_str("null"),
    }
}

fn jsonencode(args: &[Value]) -> Result<Value, FnError> {
    if !args[0].is_wholly_known() {
        return Ok(Value::Unknown(Type::String));
    }
    let mut out = String::new();
    json_text(&args[0], &mut out);
    Ok(Value::String(out).mark(args[0].contains_sensitive()))
}

/// One `%` verb of a format string: flags, explicit argument index, width,
/// precision and the verb letter.
struct Verb {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    index: Option<usize>,
    width: Option<usize>,
    precision: Option<usize>,
    letter: char,
}

fn parse_verb(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<Verb, FnError> {
    let mut v = Verb {
        minus: false,
        plus: false,
        space: false,
        zero: false,
        sharp: false,
        index: None,
        width: None,
        precision: None,
        letter: ' ',
    };
    while let Some(&c) = chars.peek() {
        match c {
            '-' => v.minus = true,
            '+' => v.plus = true,
            ' ' => v.space = true,
            '0' => v.zero = true,
            '#' => v.sharp = true,
            _ => break,
        }
        chars.next();
    }
    let number = |chars: &mut std::iter::Peekable<std::str::Chars>| {
        let mut n = String::new();
        while let Some(c) = chars.peek().filter(|c| c.is_ascii_digit()) {
            n.push(*c);
            chars.next();
        }
        n.parse::<usize>().ok()
    };
    if chars.peek() == Some(&'[') {
        chars.next();
        v.index = number(chars);
        if chars.next() != Some(']') {
            return Err(FnError::arg(
                0,
                "Error in format string: unterminated argument index.",
            ));
        }
    }
    v.width = number(chars);
    if chars.peek() == Some(&'.') {
        chars.next();
        v.precision = Some(number(chars).unwrap_or(0));
    }
    v.letter = chars
        .next()
        .ok_or_else(|| FnError::arg(0, "Error in format string: unterminated format verb."))?;
    Ok(v)
}

/// A whole number in `radix`, with `-` for negatives.
fn in_radix(n: &Number, radix: u32) -> Option<String> {
    let i = n.as_bigint()?;
    Some(i.to_str_radix(radix))
}

fn format_one(v: &Verb, arg: &Value, i: usize) -> Result<String, FnError> {
    let bad = |m: String| {
        FnError::arg(
            i,
            format!("Invalid value for format verb %{}: {m}.", v.letter),
        )
    };
    let as_type = |c: &Constraint| convert(arg.clone(), c).map_err(|e| bad(e.to_string()));
    if arg.is_null() {
        return Err(bad("null value cannot be formatted".into()));
    }
    FnError::bound(v.width.unwrap_or(0).max(v.precision.unwrap_or(0)))
        .map_err(|e| FnError::arg(0, e.message))?;
    let text = match v.letter {
        'v' if v.sharp => serde_json::to_string(&arg.to_json()).unwrap_or_default(),
        'v' => match arg.peel().0 {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => serde_json::to_string(&other.to_json()).unwrap_or_default(),
        },
        's' => {
            let s = as_type(&Constraint::String)?;
            let s = s.as_str().unwrap_or("").to_string();
            match v.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'q' => {
            let s = as_type(&Constraint::String)?;
            serde_json::to_string(s.as_str().unwrap_or("")).unwrap_or_default()
        }
        't' => as_type(&Constraint::Bool)?
            .as_bool()
            .unwrap_or(false)
            .to_string(),
        'd' | 'b' | 'o' | 'x' | 'X' => {
            let n = as_type(&Constraint::Number)?;
            let n = n
                .as_number()
                .cloned()
                .unwrap_or_else(|| Number::from_i64(0));
            let radix = match v.letter {
                'b' => 2,
                'o' => 8,
                'x' | 'X' => 16,
                _ => 10,
            };
            let digits =
                in_radix(&n, radix).ok_or_else(|| bad(format!("{n} is not a whole number")))?;
            let (negative, digits) = match digits.strip_prefix('-') {
                Some(d) => (true, d.to_string()),
                None => (false, digits),
            };
            let digits = if v.letter == 'X' {
                digits.to_uppercase()
            } else {
                digits
            };
            let prefix = match (v.sharp, v.letter) {
                (true, 'b') => "0b",
                (true, 'o') => "0",
                (true, 'x') => "0x",
                (true, 'X') => "0X",
                _ => "",
            };
            let sign = if negative {
                "-"
            } else if v.plus {
                "+"
            } else if v.space {
                " "
            } else {
                ""
            };
            return Ok(pad_number(v, sign, &format!("{prefix}{digits}")));
        }
        'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
            let n = as_type(&Constraint::Number)?;
            let n = n
                .as_number()
                .cloned()
                .unwrap_or_else(|| Number::from_i64(0));
            let fixed = match (v.letter, v.precision) {
                ('f' | 'F', p) => n.to_fixed(p.unwrap_or(6)),
                ('e', p) => n.to_exponential(p.unwrap_or(6)),
                ('E', p) => n.to_exponential(p.unwrap_or(6)).to_uppercase(),
                ('g', None) => n.to_general(),
                (_, None) => n.to_general().to_uppercase(),
                (_, Some(p)) => {
                    let text = n.to_exponential(p.saturating_sub(1));
                    if v.letter == 'G' {
                        text.to_uppercase()
                    } else {
                        text
                    }
                }
            };
            let (negative, digits) = match fixed.strip_prefix('-') {
                Some(d) => (true, d.to_string()),
                None => (false, fixed),
            };
            let sign = if negative {
                "-"
            } else if v.plus {
                "+"
            } else if v.space {
                " "
            } else {
                ""
            };
            return Ok(pad_number(v, sign, &digits));
        }
        other => {
            return Err(FnError::arg(
                0,
                format!("Error in format string: unsupported format verb %{other}."),
            ))
        }
    };
    Ok(pad(v, &text))
}

fn pad(v: &Verb, text: &str) -> String {
    let len = text.chars().count();
    match v.width {
        Some(w) if w > len && v.minus => format!("{text}{}", " ".repeat(w - len)),
        Some(w) if w > len => format!("{}{text}", " ".repeat(w - len)),
        _ => text.to_string(),
    }
}

/// A number with its sign: zero-padded after the sign with `0`, else as [`pad`].
fn pad_number(v: &Verb, sign: &str, digits: &str) -> String {
    let len = sign.len() + digits.chars().count();
    match v.width {
        Some(w) if w > len && v.zero && !v.minus => {
            format!("{sign}{}{digits}", "0".repeat(w - len))
        }
        _ => pad(v, &format!("{sign}{digits}")),
    }
}

fn format(args: &[Value]) -> Result<Value, FnError> {
    let spec = str_arg(args, 0);
    let mut out = String::new();
    let mut next = 1;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let verb = parse_verb(&mut chars)?;
        let index = verb.index.unwrap_or(next);
        let arg = args.get(index).ok_or_else(|| {
            FnError::arg(
                0,
                format!(
                    "Error in format string: not enough arguments for format verb %{}.",
                    verb.letter
                ),
            )
        })?;
        next = index + 1;
        if !arg.is_wholly_known() {
            return Ok(Value::Unknown(Type::String));
        }
        let piece = format_one(&verb, arg, index)?;
        FnError::bound(out.len().saturating_add(piece.len()))?;
        out.push_str(&piece);
    }
    if next < args.len() && !spec.contains("%[") {
        return Err(FnError::call(format!(
            "Error in format string: too many arguments; {} unused.",
            args.len() - next
        )));
    }
    Ok(Value::String(out))
}

/// `replace`: a substring, or a regular expression when written between slashes
/// (`/o(.)/`), whose replacement may use `$1`.
fn replace(args: &[Value]) -> Result<Value, FnError> {
    let (text, search, with) = (str_arg(args, 0), str_arg(args, 1), str_arg(args, 2));
    if search.len() > 1 && search.starts_with('/') && search.ends_with('/') {
        let re = regex::Regex::new(&search[1..search.len() - 1]).map_err(|e| {
            FnError::arg(
                1,
                format!("Invalid value for \"substr\" parameter: invalid regular expression: {e}."),
            )
        })?;
        let mut out = String::new();
        let mut last = 0;
        for caps in re.captures_iter(text) {
            let Some(m) = caps.get(0) else { continue };
            out.push_str(&text[last..m.start()]);
            caps.expand(with, &mut out);
            last = m.end();
            FnError::bound(out.len())?;
        }
        out.push_str(&text[last..]);
        return Ok(Value::String(out));
    }
    if with.len() > search.len() {
        let count = if search.is_empty() {
            text.chars().count() + 1
        } else {
            text.matches(search).count()
        };
        FnError::bound(
            text.len()
                .saturating_add(limits::product(count, with.len())),
        )?;
    }
    Ok(Value::String(text.replace(search, with)))
}

fn all_any(args: &[Value], want_all: bool) -> Result<Value, FnError> {
    let mut unknown = false;
    for e in args[0].elements().unwrap_or_default() {
        let converted = convert(e.clone(), &Constraint::Bool).ok();
        let e = converted.as_ref().unwrap_or(e);
        match e.as_bool() {
            Some(b) if b != want_all => return Ok(Value::Bool(!want_all)),
            Some(_) => {}
            None if e.is_null() => return Ok(Value::Bool(false)),
            None => unknown = true,
        }
    }
    Ok(if unknown {
        Value::Unknown(Type::Bool)
    } else {
        Value::Bool(want_all)
    })
}

fn sum(args: &[Value]) -> Result<Value, FnError> {
    let elems = args[0].elements().unwrap_or_default();
    if elems.is_empty() {
        return Err(FnError::arg(
            0,
            "Invalid function argument: cannot sum an empty list.",
        ));
    }
    let mut total = Number::from_i64(0);
    for e in elems {
        if !e.is_known() {
            return Ok(Value::Unknown(Type::Number));
        }
        let n = convert(e.clone(), &Constraint::Number).map_err(|_| {
            FnError::arg(
                0,
                "Invalid function argument: argument must be list, set, or tuple of number values.",
            )
        })?;
        total = total.add(n.as_number().unwrap_or(&Number::from_i64(0)));
    }
    Ok(Value::Number(total))
}

fn distinct(args: &[Value]) -> Result<Value, FnError> {
    let (ty, elems) = match args[0].peel().0 {
        Value::List(t, e) => (t.clone(), e),
        _ => return Ok(args[0].clone()),
    };
    let mut out: Vec<Value> = Vec::new();
    for e in elems {
        if !out.iter().any(|o| o.strict_equal(e)) {
            out.push(e.clone());
        }
    }
    Ok(Value::List(ty, out))
}

fn build_table() -> Functions {
    let mut t: HashMap<&'static str, Function> = HashMap::new();
    collections::register(&mut t);
    datetime::register(&mut t);
    encoding::register(&mut t);
    encoding::register_text(&mut t);
    encoding::register_rsa(&mut t);
    filesystem::register(&mut t);
    network::register(&mut t);
    numeric::register(&mut t);
    strings::register(&mut t);
    yaml::register(&mut t);
    let any = || Constraint::Any;
    let unknown_ok = |name, ty| Param {
        name,
        ty,
        allow_unknown: true,
        allow_null: false,
    };

    t.insert(
        "length",
        fixed([unknown_ok("value", any())], number_ty, length),
    );
    t.insert(
        "upper",
        string_fn(|a| Ok(Value::String(str_arg(a, 0).to_uppercase()))),
    );
    t.insert(
        "lower",
        string_fn(|a| Ok(Value::String(str_arg(a, 0).to_lowercase()))),
    );
    t.insert(
        "trimspace",
        string_fn(|a| Ok(Value::String(str_arg(a, 0).trim().to_string()))),
    );
    t.insert(
        "join",
        variadic(
            vec![p("separator", Constraint::String)],
            p("lists", Constraint::List(Box::new(Constraint::String))),
            string_ty,
            join,
        ),
    );
    t.insert(
        "split",
        fixed(
            [
                p("separator", Constraint::String),
                p("str", Constraint::String),
            ],
            |_| Type::list(Type::String),
            |a| {
                let sep = str_arg(a, 0);
                let s = str_arg(a, 1);
                let count = if sep.is_empty() {
                    s.chars().count()
                } else {
                    s.matches(sep).count() + 1
                };
                FnError::bound(
                    limits::product(count, limits::ELEMENT_BYTES).saturating_add(s.len()),
                )?;
                let parts: Vec<Value> = if sep.is_empty() {
                    s.chars().map(|c| Value::String(c.to_string())).collect()
                } else {
                    s.split(sep).map(|x| Value::String(x.to_string())).collect()
                };
                Ok(Value::List(Type::String, parts))
            },
        ),
    );
    t.insert(
        "replace",
        fixed(
            [
                p("str", Constraint::String),
                p("substr", Constraint::String),
                p("replace", Constraint::String),
            ],
            string_ty,
            replace,
        ),
    );
    t.insert(
        "format",
        variadic(
            vec![p("format", Constraint::String)],
            Param {
                name: "args",
                ty: Constraint::Any,
                allow_unknown: true,
                allow_null: true,
            },
            string_ty,
            format,
        ),
    );
    t.insert(
        "tostring",
        fixed(
            [Param {
                allow_null: true,
                ..p("v", Constraint::String)
            }],
            string_ty,
            |a| Ok(a[0].clone()),
        ),
    );
    t.insert(
        "tonumber",
        fixed(
            [Param {
                allow_null: true,
                ..p("v", Constraint::Number)
            }],
            number_ty,
            |a| Ok(a[0].clone()),
        ),
    );
    t.insert(
        "tobool",
        fixed(
            [Param {
                allow_null: true,
                ..p("v", Constraint::Bool)
            }],
            bool_ty,
            |a| Ok(a[0].clone()),
        ),
    );
    t.insert(
        "tolist",
        fixed([p("v", list_any())], |a| a[0].ty(), |a| Ok(a[0].clone())),
    );
    t.insert(
        "toset",
        fixed(
            [p("v", Constraint::Set(Box::new(Constraint::Any)))],
            |a| a[0].ty(),
            |a| Ok(a[0].clone()),
        ),
    );
    t.insert(
        "tomap",
        fixed(
            [p("v", Constraint::Map(Box::new(Constraint::Any)))],
            |a| a[0].ty(),
            |a| Ok(a[0].clone()),
        ),
    );
    t.insert(
        "jsonencode",
        fixed(
            [Param {
                allow_null: true,
                ..unknown_ok("val", any())
            }],
            string_ty,
            jsonencode,
        ),
    );
    t.insert(
        "keys",
        fixed([p("inputMap", any())], |_| Type::list(Type::String), keys),
    );
    t.insert("values", fixed([p("mapping", any())], dynamic_ty, values));
    t.insert(
        "concat",
        variadic(vec![], p("seqs", any()), dynamic_ty, concat),
    );
    t.insert(
        "merge",
        variadic(
            vec![],
            Param {
                allow_null: true,
                ..p("maps", any())
            },
            dynamic_ty,
            merge,
        ),
    );
    t.insert(
        "lookup",
        variadic(
            vec![p("inputMap", any()), p("key", Constraint::String)],
            Param {
                allow_null: true,
                ..p("default", any())
            },
            dynamic_ty,
            lookup,
        ),
    );
    t.insert(
        "element",
        fixed(
            [p("list", any()), p("index", Constraint::Number)],
            dynamic_ty,
            element,
        ),
    );
    t.insert(
        "coalesce",
        variadic(
            vec![],
            Param {
                name: "vals",
                ty: any(),
                allow_unknown: true,
                allow_null: true,
            },
            dynamic_ty,
            coalesce,
        ),
    );
    t.insert(
        "contains",
        fixed(
            [unknown_ok("list", any()), unknown_ok("value", any())],
            bool_ty,
            contains,
        ),
    );
    t.insert(
        "range",
        variadic(
            vec![],
            p("params", Constraint::Number),
            |_| Type::list(Type::Number),
            range,
        ),
    );
    t.insert(
        "max",
        variadic(vec![], p("numbers", Constraint::Number), number_ty, |a| {
            max_min(a, true)
        }),
    );
    t.insert(
        "min",
        variadic(vec![], p("numbers", Constraint::Number), number_ty, |a| {
            max_min(a, false)
        }),
    );
    t.insert(
        "abs",
        fixed([p("num", Constraint::Number)], number_ty, |a| {
            let n = a[0].as_number().cloned().unwrap_or(Number::from_i64(0));
            Ok(Value::Number(if n.is_negative() { n.neg() } else { n }))
        }),
    );
    t.insert(
        "alltrue",
        fixed([unknown_ok("list", list_any())], bool_ty, |a| {
            all_any(a, true)
        }),
    );
    t.insert(
        "anytrue",
        fixed([unknown_ok("list", list_any())], bool_ty, |a| {
            all_any(a, false)
        }),
    );
    t.insert("sum", fixed([unknown_ok("list", any())], number_ty, sum));
    t.insert(
        "distinct",
        fixed([p("list", list_any())], |a| a[0].ty(), distinct),
    );
    t.insert(
        "compact",
        fixed(
            [p("list", Constraint::List(Box::new(Constraint::String)))],
            |_| Type::list(Type::String),
            |a| {
                let kept = a[0]
                    .elements()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|e| e.as_str() != Some("") && !e.is_null())
                    .cloned()
                    .collect();
                Ok(Value::List(Type::String, kept))
            },
        ),
    );
    t.insert(
        "reverse",
        fixed([p("list", any())], dynamic_ty, |a| match a[0].peel().0 {
            Value::List(t, e) => Ok(Value::List(t.clone(), e.iter().rev().cloned().collect())),
            Value::Tuple(e) => Ok(Value::Tuple(e.iter().rev().cloned().collect())),
            _ => Err(FnError::arg(
                0,
                "Invalid function argument: list or tuple required.",
            )),
        }),
    );
    t.insert(
        "zipmap",
        fixed(
            [
                p("keys", Constraint::List(Box::new(Constraint::String))),
                p("values", any()),
            ],
            dynamic_ty,
            |a| {
                let keys = a[0].elements().unwrap_or_default();
                let values = a[1].elements().unwrap_or_default();
                if keys.len() != values.len() {
                    return Err(FnError::call(
                        "Invalid function argument: number of keys and values must match.",
                    ));
                }
                let mut out = BTreeMap::new();
                for (k, v) in keys.into_iter().zip(values) {
                    out.insert(k.as_str().unwrap_or("").to_string(), v.clone());
                }
                Ok(Value::Object(out))
            },
        ),
    );
    t.insert(
        "flatten",
        fixed([unknown_ok("list", any())], dynamic_ty, flatten),
    );
    t.insert(
        "sensitive",
        Function {
            params: vec![Param {
                name: "value",
                ty: any(),
                allow_unknown: true,
                allow_null: true,
            }],
            variadic: None,
            returns: dynamic_ty,
            handles_marks: true,
            body: |a| Ok(a[0].clone().sensitive()),
        },
    );
    t.insert(
        "nonsensitive",
        Function {
            params: vec![Param { name: "value", ty: any(), allow_unknown: true, allow_null: true }],
            variadic: None,
            returns: dynamic_ty,
            handles_marks: true,
            body: |a| {
                if !a[0].is_sensitive() {
                    return Err(FnError::arg(0, "Invalid function argument: the given value is not sensitive, so this call is redundant."));
                }
                Ok(a[0].clone().unmark().0)
            },
        },
    );
    Functions { table: t }
}
