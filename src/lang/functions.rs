//! The function call mechanism: signatures, argument conversion, and the rules every
//! function shares for unknown arguments (unknown in, unknown out) and sensitive ones
//! (the mark carries to the result), and the registry of every function. The bodies
//! live in `functions/`, one file per group.

mod collections;
mod conversion;
mod datetime;
mod encoding;
mod filesystem;
mod format;
mod gzip;
mod network;
mod numeric;
mod sensitive;
mod strings;
pub(crate) mod terraform;
mod yaml;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use datetime::{impure_known, now_rfc3339, plan_time, ImpureGuard, PlanTimeGuard};
pub(crate) use filesystem::{expand as expand_path, read_bounded};

use super::convert::convert;
use super::limits;
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

/// A parameter whose function looks inside unknown values itself.
fn unknown_ok(name: &'static str, ty: Constraint) -> Param {
    Param {
        allow_unknown: true,
        ..p(name, ty)
    }
}

fn build_table() -> Functions {
    let mut t: HashMap<&'static str, Function> = HashMap::new();
    collections::register(&mut t);
    conversion::register(&mut t);
    datetime::register(&mut t);
    encoding::register(&mut t);
    encoding::register_text(&mut t);
    encoding::register_rsa(&mut t);
    filesystem::register(&mut t);
    format::register(&mut t);
    network::register(&mut t);
    numeric::register(&mut t);
    sensitive::register(&mut t);
    strings::register(&mut t);
    terraform::register(&mut t);
    yaml::register(&mut t);
    Functions { table: t }
}
