//! Expression evaluation: every HCL expression form over the value model, with
//! unknowns and sensitive marks flowing through operators, conditionals, `for`
//! expressions, splats and templates. References are resolved through a [`Scope`], so
//! the evaluator knows nothing about graphs, state or providers.

use std::collections::BTreeMap;

use hcl_edit::expr::{
    BinaryOperator, Expression, ForExpr, FuncCall, ObjectKey, TraversalOperator, UnaryOperator,
};
use hcl_edit::template::{Directive, Element, Strip, Template};
use hcl_edit::{Decorated, Span as _};

use super::convert::{convert, convert_to_type, unify};
use super::functions::Functions;
use super::limits;
use super::number::{Number, NumberError};
use super::refs::{parse_reference, Reference};
use super::types::{Constraint, Type};
use super::value::{nfc, Value};
use crate::diag::{did_you_mean, Diagnostic, FileId, Span};

/// Resolves what references name. Implemented by the graph walk for each module
/// instance, and by tests with a handful of fixed values.
pub trait Scope {
    fn resolve(&self, reference: &Reference) -> std::result::Result<Value, Diagnostic>;

    /// `reference[key]` without building the whole collection, where the scope can
    /// (one instance of a counted resource). `None` falls back to `resolve`.
    fn resolve_indexed(&self, _reference: &Reference, _key: &Value) -> Option<Value> {
        None
    }
}

/// Evaluates expressions of one source file against a scope.
pub struct Evaluator<'a> {
    file: FileId,
    source: &'a str,
    scope: &'a dyn Scope,
    functions: &'a Functions,
    /// Names bound by enclosing `for` expressions, template `for` directives and
    /// `dynamic` block iterators; innermost last.
    bindings: Vec<(String, Value)>,
}

type Result<T> = std::result::Result<T, Diagnostic>;

impl<'a> Evaluator<'a> {
    pub fn new(file: FileId, source: &'a str, scope: &'a dyn Scope) -> Evaluator<'a> {
        Evaluator {
            file,
            source,
            scope,
            functions: Functions::standard(),
            bindings: Vec::new(),
        }
    }

    /// Binds a name for the expressions evaluated next (a `dynamic` block's iterator).
    pub fn bind(&mut self, name: &str, value: Value) {
        self.bindings.push((name.to_string(), value));
    }

    pub fn unbind(&mut self) {
        self.bindings.pop();
    }

    pub fn file(&self) -> FileId {
        self.file
    }

    fn span_of(&self, e: &dyn hcl_edit::Span) -> Option<Span> {
        e.span().map(|r| Span::new(self.file, r))
    }

    fn err(&self, summary: &str, detail: impl Into<String>, at: &dyn hcl_edit::Span) -> Diagnostic {
        Diagnostic::error(summary)
            .detail(detail)
            .at_opt(self.span_of(at))
    }

    /// An error at `at` when a value of `bytes` would be beyond the bound on one value.
    fn bound(&self, bytes: usize, at: &dyn hcl_edit::Span) -> Result<()> {
        limits::check(bytes).map_err(|e| self.err("Value too large", format!("{e}."), at))
    }

    pub fn eval(&mut self, expr: &Expression) -> Result<Value> {
        match expr {
            Expression::Null(_) => Ok(Value::null()),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => {
                let text = n
                    .span()
                    .and_then(|r| self.source.get(r))
                    .map(str::to_string)
                    .unwrap_or_else(|| n.value().to_string());
                Number::parse(&text).map(Value::Number).map_err(|_| {
                    self.err(
                        "Invalid number literal",
                        format!("{text:?} is not a number."),
                        n,
                    )
                })
            }
            Expression::String(s) => Ok(Value::String(nfc(s.value().clone()))),
            Expression::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                let mut bytes = 0usize;
                for e in a.iter() {
                    let v = self.eval(e)?;
                    bytes = bytes.saturating_add(limits::size(&v));
                    self.bound(bytes, expr)?;
                    out.push(v);
                }
                Ok(Value::Tuple(out))
            }
            Expression::Object(o) => {
                let mut out = BTreeMap::new();
                let mut bytes = 0usize;
                let mut unknown_key = false;
                let mut marked = false;
                for (k, v) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(id) => id.as_str().to_string(),
                        ObjectKey::Expression(e) => {
                            let (kv, m) = self.eval(e)?.unmark();
                            marked |= m;
                            if kv.is_null() {
                                return Err(self.err(
                                    "Invalid object key",
                                    "Key expression in object constructor must not be null.",
                                    e,
                                ));
                            }
                            if !kv.is_known() {
                                unknown_key = true;
                                self.eval(v.expr())?;
                                continue;
                            }
                            match convert(kv, &Constraint::String) {
                                Ok(s) => s.as_str().unwrap_or_default().to_string(),
                                Err(_) => {
                                    return Err(self.err(
                                        "Incorrect key type",
                                        "Can't use this value as a key: string required.",
                                        e,
                                    ))
                                }
                            }
                        }
                    };
                    let value = self.eval(v.expr())?;
                    bytes = bytes.saturating_add(limits::size(&value) + key.len());
                    self.bound(bytes, expr)?;
                    out.insert(key, value);
                }
                if unknown_key {
                    return Ok(Value::unknown().mark(marked));
                }
                Ok(Value::Object(out).mark(marked))
            }
            Expression::StringTemplate(t) => self.eval_template(t, false, false, true),
            Expression::HeredocTemplate(h) => self.eval_template(&h.template, false, false, true),
            Expression::Parenthesis(p) => self.eval(p.inner()),
            Expression::Variable(v) => self.eval_root(v.as_str(), v, &[]),
            Expression::Conditional(c) => {
                self.eval_conditional(&c.cond_expr, &c.true_expr, &c.false_expr)
            }
            Expression::FuncCall(f) => self.eval_call(f),
            Expression::Traversal(t) => match &t.expr {
                Expression::Variable(root) => self.eval_root(root.as_str(), root, &t.operators),
                other => {
                    let base = self.eval(other)?;
                    self.apply_ops(base, &t.operators)
                }
            },
            Expression::UnaryOp(u) => {
                let (v, marked) = self.eval(&u.expr)?.unmark();
                let out = match u.operator.value() {
                    UnaryOperator::Neg => {
                        let n = self.operand(v, &Constraint::Number, "operand", &u.expr)?;
                        match n {
                            Value::Number(n) => Value::Number(n.neg()),
                            other => other,
                        }
                    }
                    UnaryOperator::Not => {
                        match self.operand(v, &Constraint::Bool, "operand", &u.expr)? {
                            Value::Bool(b) => Value::Bool(!b),
                            other => other,
                        }
                    }
                };
                Ok(out.mark(marked))
            }
            Expression::BinaryOp(b) => {
                self.eval_binary(*b.operator.value(), &b.lhs_expr, &b.rhs_expr, &b.operator)
            }
            Expression::ForExpr(f) => self.eval_for(f),
        }
    }

    /// A variable name, or the root of a traversal: a local binding or a reference.
    fn eval_root(
        &mut self,
        root: &str,
        root_node: &dyn hcl_edit::Span,
        ops: &[Decorated<TraversalOperator>],
    ) -> Result<Value> {
        if let Some((_, v)) = self.bindings.iter().rev().find(|(n, _)| n == root) {
            let v = v.clone();
            return self.apply_ops(v, ops);
        }
        let root_span = self.span_of(root_node).unwrap_or(Span {
            file: self.file,
            start: 0,
            end: 0,
        });
        let reference = parse_reference(root, root_span, ops, self.file)?;
        let rest = &ops[reference.ops_consumed..];
        if let Some((first, after)) = rest.split_first() {
            if let TraversalOperator::Index(key_expr) = first.value() {
                let key = self.eval(key_expr)?;
                if let Some(v) = self.scope.resolve_indexed(&reference, &key) {
                    return self.apply_ops(v, after);
                }
                let whole = self.scope.resolve(&reference)?;
                let v = self.index(whole, key, first)?;
                return self.apply_ops(v, after);
            }
        }
        let value = self.scope.resolve(&reference)?;
        self.apply_ops(value, rest)
    }

    /// Converts an operand of an operator, with Terraform's messages for nulls and
    /// wrong types. Unknown operands become unknown of the operator's type.
    fn operand(&self, v: Value, want: &Constraint, side: &str, at: &Expression) -> Result<Value> {
        if v.is_null() {
            return Err(self.err(
                "Invalid operand",
                format!("Unsuitable value for {side}: argument must not be null."),
                at,
            ));
        }
        convert(v, want).map_err(|e| {
            self.err(
                "Invalid operand",
                format!("Unsuitable value for {side}: {e}."),
                at,
            )
        })
    }

    fn eval_binary(
        &mut self,
        op: BinaryOperator,
        lhs: &Expression,
        rhs: &Expression,
        op_node: &dyn hcl_edit::Span,
    ) -> Result<Value> {
        let (l, lm) = self.eval(lhs)?.unmark();
        let (r, rm) = self.eval(rhs)?.unmark();
        let marked = lm || rm;
        use BinaryOperator as B;
        let out = match op {
            B::Eq | B::NotEq => {
                if !l.is_wholly_known() || !r.is_wholly_known() {
                    Value::Unknown(Type::Bool)
                } else {
                    Value::Bool(l.strict_equal(&r) == (op == B::Eq))
                }
            }
            B::And | B::Or => {
                let l = self.operand(l, &Constraint::Bool, "left operand", lhs)?;
                let r = self.operand(r, &Constraint::Bool, "right operand", rhs)?;
                match (l.as_bool(), r.as_bool()) {
                    (Some(a), Some(b)) => Value::Bool(if op == B::And { a && b } else { a || b }),
                    _ => Value::Unknown(Type::Bool),
                }
            }
            _ => {
                let l = self.operand(l, &Constraint::Number, "left operand", lhs)?;
                let r = self.operand(r, &Constraint::Number, "right operand", rhs)?;
                let is_compare = matches!(op, B::Less | B::LessEq | B::Greater | B::GreaterEq);
                match (l.as_number(), r.as_number()) {
                    (Some(a), Some(b)) => match op {
                        B::Plus => Value::Number(a.add(b)),
                        B::Minus => Value::Number(a.sub(b)),
                        B::Mul => Value::Number(a.mul(b)),
                        B::Div | B::Mod => {
                            let result = if op == B::Div { a.div(b) } else { a.rem(b) };
                            match result {
                                Ok(n) => Value::Number(n),
                                Err(NumberError::DivideByZero) | Err(NumberError::Invalid) => {
                                    return Err(self
                                        .err(
                                            "Division by zero",
                                            "The right operand of this operation is zero.",
                                            op_node,
                                        )
                                        .at_opt(self.span_of(rhs)))
                                }
                            }
                        }
                        B::Less => Value::Bool(a < b),
                        B::LessEq => Value::Bool(a <= b),
                        B::Greater => Value::Bool(a > b),
                        B::GreaterEq => Value::Bool(a >= b),
                        _ => Value::unknown(),
                    },
                    _ if is_compare => Value::Unknown(Type::Bool),
                    _ => Value::Unknown(Type::Number),
                }
            }
        };
        Ok(out.mark(marked))
    }

    fn eval_conditional(
        &mut self,
        cond: &Expression,
        t: &Expression,
        f: &Expression,
    ) -> Result<Value> {
        let (c, marked) = self.eval(cond)?.unmark();
        if c.is_null() {
            return Err(self.err(
                "Null condition",
                "The condition value is null. Conditions must either be true or false.",
                cond,
            ));
        }
        let c = convert(c, &Constraint::Bool).map_err(|e| {
            self.err(
                "Incorrect condition type",
                format!("The condition expression must be of type bool: {e}."),
                cond,
            )
        })?;
        let tv = self.eval(t);
        let fv = self.eval(f);
        let ty_of = |r: &Result<Value>| r.as_ref().map_or(Type::Dynamic, Value::ty);
        let unified = unify(&[ty_of(&tv), ty_of(&fv)]).ok_or_else(|| {
            Diagnostic::error("Inconsistent conditional result types")
                .detail(format!(
                    "The true and false result expressions must have consistent types. The true result is {}, but the false result is {}.",
                    ty_of(&tv).friendly_name(),
                    ty_of(&fv).friendly_name()
                ))
                .at_opt(self.span_of(t).map(|s| s.to(self.span_of(f).unwrap_or(s))))
        })?;
        let chosen = match c.as_bool() {
            Some(true) => tv?,
            Some(false) => fv?,
            // As in HCL, an unknown condition reports neither branch's errors: either
            // may be the one not taken.
            _ => {
                let marked_branch = [&tv, &fv]
                    .iter()
                    .any(|r| r.as_ref().is_ok_and(Value::is_sensitive));
                return Ok(Value::Unknown(unified).mark(marked || marked_branch));
            }
        };
        let chosen = convert_to_type(chosen, &unified).unwrap_or(Value::Unknown(unified));
        Ok(chosen.mark(marked))
    }

    fn eval_call(&mut self, call: &FuncCall) -> Result<Value> {
        let call_span = self.span_of(call);
        // `provider::terraform::encode_expr`: the built-in provider's functions are
        // registered under their full names.
        let full_name = call.name.is_namespaced().then(|| {
            let mut parts: Vec<&str> = call.name.namespace.iter().map(|n| n.as_str()).collect();
            parts.push(call.name.name.as_str());
            parts.join("::")
        });
        let name = full_name.as_deref().unwrap_or(call.name.name.as_str());
        if full_name.is_some() && self.functions.get(name).is_none() {
            return Err(Diagnostic::error("Call to unknown function")
                .detail(format!(
                    "There is no function named {:?} in that namespace.",
                    call.name.name.as_str()
                ))
                .at_opt(call_span));
        }
        let args: Vec<&Expression> = call.args.iter().collect();
        match name {
            "try" => return self.eval_try(&args, call_span),
            "templatefile" => return self.eval_templatefile(&args, call_span),
            "templatestring" => return self.eval_templatestring(&args, call_span),
            "can" => {
                let [arg] = args.as_slice() else {
                    return Err(Diagnostic::error("Invalid number of arguments")
                        .detail("Function \"can\" expects exactly one argument.")
                        .at_opt(call_span));
                };
                return Ok(match self.eval(arg) {
                    Ok(v) if !v.is_wholly_known() => Value::Unknown(Type::Bool),
                    Ok(_) => Value::Bool(true),
                    Err(_) => Value::Bool(false),
                });
            }
            _ => {}
        }
        let Some(function) = self.functions.get(name) else {
            let help = did_you_mean(name, self.functions.names().chain(["try", "can"]));
            return Err(Diagnostic::error("Call to unknown function")
                .detail(format!("There is no function named {name:?}."))
                .at_opt(self.span_of(&call.name.name).or(call_span))
                .help_opt(help));
        };
        let mut values = Vec::with_capacity(args.len());
        for a in &args {
            values.push(self.eval(a)?);
        }
        if call.args.expand_final() {
            let last = values.pop().unwrap_or_else(Value::null);
            let (last, marked) = last.unmark();
            match last {
                Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
                    values.extend(e.into_iter().map(|v| v.mark(marked)))
                }
                Value::Unknown(_) => return Ok(Value::unknown().mark(marked)),
                _ => {
                    let at = args.last().copied();
                    return Err(Diagnostic::error("Invalid expanding argument value")
                        .detail("The expanding argument (indicated by ...) must be of a tuple, list, or set type.")
                        .at_opt(at.and_then(|a| self.span_of(a)).or(call_span)));
                }
            }
        }
        function.call(values).map_err(|e| {
            let at = e
                .arg
                .and_then(|i| args.get(i.min(args.len().saturating_sub(1))))
                .and_then(|a| self.span_of(*a))
                .or(call_span);
            Diagnostic::error("Invalid function argument")
                .detail(format!("Call to {name}(): {}", e.message))
                .at_opt(at)
        })
    }

    /// `templatefile(path, vars)`: the file read as a template, evaluated with only
    /// `vars` in scope (and every function but templatefile itself).
    fn eval_templatefile(
        &mut self,
        args: &[&Expression],
        call_span: Option<Span>,
    ) -> Result<Value> {
        let fail = |detail: String, at: Option<Span>| {
            Err(invalid_argument("templatefile", detail, at.or(call_span)))
        };
        let [path_expr, vars_expr] = args else {
            return fail(
                "the function takes exactly 2 arguments (path and vars).".into(),
                None,
            );
        };
        let (path, path_marked) = self.eval(path_expr)?.unmark();
        let (vars, vars_marked) = self.eval(vars_expr)?.unmark();
        let path = match path {
            Value::String(p) => p,
            Value::Unknown(_) => return Ok(Value::Unknown(Type::String)),
            _ => {
                return fail(
                    "Invalid value for \"path\" parameter: a string is required.".into(),
                    self.span_of(*path_expr),
                )
            }
        };
        let Some(bindings) = self.template_vars(vars, vars_expr, "templatefile", call_span)? else {
            return Ok(Value::Unknown(Type::String));
        };
        let read =
            super::functions::read_bounded(&super::functions::expand_path(&path)).and_then(|b| {
                String::from_utf8(b)
                    .map_err(|_| format!("contents of {path:?} are not valid UTF-8."))
            });
        let text = match read {
            Ok(t) => t,
            Err(e) => {
                return fail(
                    format!("Invalid value for \"path\" parameter: {e}"),
                    self.span_of(*path_expr),
                )
            }
        };
        self.render_template("templatefile", &path, &text, bindings, call_span)
            .map(|v| v.mark(path_marked || vars_marked))
    }

    /// `templatestring(ref, vars)` (Terraform 1.9): a string from elsewhere in the
    /// module rendered as a template with only `vars` in scope. As in Terraform, the
    /// template must be a single reference (`local.t`, `data.x.y.body`): a template
    /// written in place is rendered where it is written, so it is refused here.
    fn eval_templatestring(
        &mut self,
        args: &[&Expression],
        call_span: Option<Span>,
    ) -> Result<Value> {
        let fail = |detail: String, at: Option<Span>| {
            Err(invalid_argument("templatestring", detail, at.or(call_span)))
        };
        let [template_expr, vars_expr] = args else {
            return fail(
                "the function takes exactly 2 arguments (template and vars).".into(),
                None,
            );
        };
        if !matches!(
            template_expr,
            Expression::Variable(_) | Expression::Traversal(_)
        ) {
            return Err(Diagnostic::error("Invalid template argument")
                .detail("The templatestring function's first argument must be a reference to a string defined elsewhere in the module, such as local.template or data.example.body. To render a template written here, write it as a string template directly.")
                .at_opt(self.span_of(*template_expr).or(call_span)));
        }
        let (template, template_marked) = self.eval(template_expr)?.unmark();
        let (vars, vars_marked) = self.eval(vars_expr)?.unmark();
        let text = match template {
            Value::String(t) => t,
            Value::Unknown(_) => return Ok(Value::Unknown(Type::String)),
            _ => {
                return fail(
                    "Invalid value for \"template\" parameter: a string is required.".into(),
                    self.span_of(*template_expr),
                )
            }
        };
        let Some(bindings) = self.template_vars(vars, vars_expr, "templatestring", call_span)?
        else {
            return Ok(Value::Unknown(Type::String));
        };
        self.render_template("templatestring", "the template", &text, bindings, call_span)
            .map(|v| v.mark(template_marked || vars_marked))
    }

    /// The `vars` argument of templatefile/templatestring as bindings; `None` when it
    /// is unknown (the result is then unknown too).
    fn template_vars(
        &self,
        vars: Value,
        vars_expr: &Expression,
        function: &str,
        call_span: Option<Span>,
    ) -> Result<Option<BTreeMap<String, Value>>> {
        match vars {
            Value::Object(m) | Value::Map(_, m) => Ok(Some(m)),
            Value::Unknown(_) => Ok(None),
            _ => Err(invalid_argument(
                function,
                "Invalid value for \"vars\" parameter: must be a map or object.".into(),
                self.span_of(vars_expr).or(call_span),
            )),
        }
    }

    /// `text` parsed and evaluated as a template with only `bindings` in scope.
    fn render_template(
        &self,
        function: &str,
        what: &str,
        text: &str,
        bindings: BTreeMap<String, Value>,
        call_span: Option<Span>,
    ) -> Result<Value> {
        let fail = |detail: String| Err(invalid_argument(function, detail, call_span));
        let template = match text.parse::<Template>() {
            Ok(t) => t,
            Err(e) => return fail(format!("failed to parse {what}: {e}")),
        };
        struct NoScope;
        impl Scope for NoScope {
            fn resolve(&self, r: &Reference) -> std::result::Result<Value, Diagnostic> {
                Err(Diagnostic::error("Invalid template variable").at(r.span))
            }
        }
        let mut inner = Evaluator::new(self.file, text, &NoScope);
        for (k, v) in bindings {
            inner.bind(&k, v);
        }
        match inner.eval_template(&template, false, false, true) {
            Ok(v) => Ok(v),
            Err(d) => fail(format!(
                "{what}: {}{}",
                d.summary,
                if d.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", d.detail)
                }
            )),
        }
    }

    fn eval_try(&mut self, args: &[&Expression], call_span: Option<Span>) -> Result<Value> {
        if args.is_empty() {
            return Err(Diagnostic::error("Invalid number of arguments")
                .detail("Function \"try\" requires at least one argument.")
                .at_opt(call_span));
        }
        let mut last_err = None;
        for a in args {
            match self.eval(a) {
                Ok(v) if !v.is_wholly_known() => return Ok(Value::unknown()),
                Ok(v) => return Ok(v),
                Err(e) => last_err = Some(e),
            }
        }
        Err(Diagnostic::error("No result for try")
            .detail(format!(
                "None of the expressions in the arguments of \"try\" succeeded; the last one failed with: {}",
                last_err.map(|e| e.to_string()).unwrap_or_default()
            ))
            .at_opt(call_span))
    }

    /// Applies attribute access, indexing and splats to a value.
    pub fn apply_ops(
        &mut self,
        mut v: Value,
        ops: &[Decorated<TraversalOperator>],
    ) -> Result<Value> {
        let mut i = 0;
        while i < ops.len() {
            let op = &ops[i];
            match op.value() {
                TraversalOperator::GetAttr(name) => {
                    v = self.get_attr(v, name.as_str(), op)?;
                }
                TraversalOperator::Index(key_expr) => {
                    let key = self.eval(key_expr)?;
                    v = self.index(v, key, op)?;
                }
                TraversalOperator::LegacyIndex(n) => {
                    v = self.index(v, Value::number(Number::from_u64(*n.value())), op)?;
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let full = matches!(op.value(), TraversalOperator::FullSplat(_));
                    let mut end = i + 1;
                    while end < ops.len()
                        && (full || matches!(ops[end].value(), TraversalOperator::GetAttr(_)))
                    {
                        end += 1;
                    }
                    v = self.splat(v, &ops[i + 1..end])?;
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        Ok(v)
    }

    fn splat(&mut self, source: Value, ops: &[Decorated<TraversalOperator>]) -> Result<Value> {
        let (source, marked) = source.unmark();
        let out = match source {
            Value::Unknown(_) => Value::unknown(),
            Value::Null(_) => Value::Tuple(Vec::new()),
            Value::List(_, elems) | Value::Set(_, elems) => {
                let mut out = Vec::with_capacity(elems.len());
                for e in elems {
                    out.push(self.apply_ops(e, ops)?);
                }
                let types: Vec<Type> = out.iter().map(Value::ty).collect();
                match unify(&types) {
                    Some(t) => Value::List(t, out),
                    None => Value::Tuple(out),
                }
            }
            Value::Tuple(elems) => {
                let mut out = Vec::with_capacity(elems.len());
                for e in elems {
                    out.push(self.apply_ops(e, ops)?);
                }
                Value::Tuple(out)
            }
            single => Value::Tuple(vec![self.apply_ops(single, ops)?]),
        };
        Ok(out.mark(marked))
    }

    fn get_attr(&self, v: Value, name: &str, at: &dyn hcl_edit::Span) -> Result<Value> {
        let (v, marked) = v.unmark();
        let out = match v {
            Value::Object(mut attrs) => match attrs.remove(name) {
                Some(a) => a,
                None => {
                    return Err(self
                        .err("Unsupported attribute", format!("This object does not have an attribute named {name:?}."), at)
                        .help_opt(did_you_mean(name, attrs.keys().map(String::as_str))))
                }
            },
            Value::Map(_, mut m) => match m.remove(name) {
                Some(a) => a,
                None => {
                    return Err(self.err(
                        "Missing map element",
                        format!("This map does not have an element with the key {name:?}."),
                        at,
                    ))
                }
            },
            Value::Unknown(Type::Object(attrs)) => match attrs.get(name) {
                Some(t) => Value::Unknown(t.clone()),
                None => {
                    return Err(self
                        .err("Unsupported attribute", format!("This object does not have an attribute named {name:?}."), at)
                        .help_opt(did_you_mean(name, attrs.keys().map(String::as_str))))
                }
            },
            Value::Unknown(Type::Map(e)) => Value::Unknown(*e),
            Value::Unknown(Type::Dynamic) => Value::unknown(),
            Value::Null(_) => {
                return Err(self.err(
                    "Attempt to get attribute from null value",
                    "This value is null, so it does not have any attributes.",
                    at,
                ))
            }
            Value::List(..) | Value::Set(..) | Value::Tuple(_) | Value::Unknown(Type::List(_) | Type::Set(_) | Type::Tuple(_)) => {
                return Err(self.err(
                    "Unsupported attribute",
                    "Can't access attributes on a list of objects. Did you mean to access an attribute for a specific element of the list, or across all elements of the list?",
                    at,
                ))
            }
            other => {
                return Err(self.err(
                    "Unsupported attribute",
                    format!("Can't access attributes on a primitive-typed value ({}).", other.ty().friendly_name()),
                    at,
                ))
            }
        };
        Ok(out.mark(marked))
    }

    fn index(&self, v: Value, key: Value, at: &dyn hcl_edit::Span) -> Result<Value> {
        let (v, vm) = v.unmark();
        let (key, km) = key.unmark();
        let marked = vm || km;
        if key.is_null() {
            return Err(self.err(
                "Invalid index",
                "Can't use a null value as an indexing key.",
                at,
            ));
        }
        let missing = || {
            self.err(
                "Invalid index",
                "The given key does not identify an element in this collection value.",
                at,
            )
        };
        let out = match v {
            Value::Null(_) => {
                return Err(self.err("Attempt to index null value", "This value is null, so it does not have any indices.", at))
            }
            Value::Set(..) | Value::Unknown(Type::Set(_)) => {
                return Err(self.err(
                    "Invalid index",
                    "Elements of a set are identified only by their value and don't have any separate index or key to select with, so it's only possible to perform operations across all elements of the set.",
                    at,
                ))
            }
            Value::List(_, elems) | Value::Tuple(elems) => {
                if !key.is_known() {
                    return Ok(Value::unknown().mark(marked));
                }
                let n = convert(key, &Constraint::Number).ok();
                let i = n.as_ref().and_then(Value::as_number).and_then(Number::to_i64).ok_or_else(|| {
                    self.err("Invalid index", "The given key does not identify an element in this collection value: a whole number is required.", at)
                })?;
                if i < 0 || i as usize >= elems.len() {
                    return Err(self.err(
                        "Invalid index",
                        format!(
                            "The given key does not identify an element in this collection value: the collection has {} element{}.",
                            elems.len(),
                            if elems.len() == 1 { "" } else { "s" }
                        ),
                        at,
                    ));
                }
                elems.into_iter().nth(i as usize).ok_or_else(missing)?
            }
            Value::Map(_, mut m) | Value::Object(mut m) => {
                if !key.is_known() {
                    return Ok(Value::unknown().mark(marked));
                }
                let k = convert(key, &Constraint::String)
                    .ok()
                    .and_then(|s| s.as_str().map(str::to_string))
                    .ok_or_else(|| self.err("Invalid index", "The given key does not identify an element in this collection value: string required.", at))?;
                m.remove(&k).ok_or_else(missing)?
            }
            Value::Unknown(Type::List(e) | Type::Map(e)) => Value::Unknown(*e),
            Value::Unknown(_) => Value::unknown(),
            _ => return Err(self.err("Invalid index", "This value does not have any indices.", at)),
        };
        Ok(out.mark(marked))
    }

    fn iterate(&self, collection: Value, at: &Expression) -> Result<Option<Vec<(Value, Value)>>> {
        match collection {
            Value::Null(_) => Err(self.err(
                "Iteration over null value",
                "A null value cannot be used as the collection in a 'for' expression.",
                at,
            )),
            Value::Unknown(_) => Ok(None),
            Value::List(_, e) | Value::Tuple(e) => Ok(Some(
                e.into_iter()
                    .enumerate()
                    .map(|(i, v)| (Value::number(i), v))
                    .collect(),
            )),
            Value::Set(_, e) => Ok(Some(e.into_iter().map(|v| (v.clone(), v)).collect())),
            Value::Map(_, m) | Value::Object(m) => Ok(Some(
                m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            )),
            other => Err(self.err(
                "Iteration over non-iterable value",
                format!(
                    "A value of type {} cannot be used as the collection in a 'for' expression.",
                    other.ty().friendly_name()
                ),
                at,
            )),
        }
    }

    fn eval_for(&mut self, f: &ForExpr) -> Result<Value> {
        let (collection, marked) = self.eval(&f.intro.collection_expr)?.unmark();
        let Some(items) = self.iterate(collection, &f.intro.collection_expr)? else {
            return Ok(Value::unknown().mark(marked));
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.as_str().to_string());
        let value_var = f.intro.value_var.as_str().to_string();
        let mut tuple = Vec::new();
        let mut object: BTreeMap<String, Value> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown = false;
        let mut bytes = 0usize;
        for (k, v) in items {
            let depth = self.bindings.len();
            if let Some(kv) = &key_var {
                self.bindings.push((kv.clone(), k));
            }
            self.bindings.push((value_var.clone(), v));
            let step = self.for_step(f, &mut tuple, &mut object, &mut groups, &mut bytes);
            self.bindings.truncate(depth);
            match step? {
                ForStep::Continue => {}
                ForStep::Unknown => unknown = true,
            }
        }
        if unknown {
            return Ok(Value::unknown().mark(marked));
        }
        let out = if f.key_expr.is_some() {
            if f.grouping {
                Value::Object(
                    groups
                        .into_iter()
                        .map(|(k, v)| (k, Value::Tuple(v)))
                        .collect(),
                )
            } else {
                Value::Object(object)
            }
        } else {
            Value::Tuple(tuple)
        };
        Ok(out.mark(marked))
    }

    fn for_step(
        &mut self,
        f: &ForExpr,
        tuple: &mut Vec<Value>,
        object: &mut BTreeMap<String, Value>,
        groups: &mut BTreeMap<String, Vec<Value>>,
        bytes: &mut usize,
    ) -> Result<ForStep> {
        if let Some(cond) = &f.cond {
            let (c, _) = self.eval(&cond.expr)?.unmark();
            if c.is_null() {
                return Err(self.err(
                    "Condition is null",
                    "The value of the 'if' clause must not be null.",
                    &cond.expr,
                ));
            }
            if !c.is_known() {
                return Ok(ForStep::Unknown);
            }
            let c = convert(c, &Constraint::Bool).map_err(|e| {
                self.err(
                    "Invalid 'for' condition",
                    format!("The 'if' clause value is invalid: {e}."),
                    &cond.expr,
                )
            })?;
            if c.as_bool() == Some(false) {
                return Ok(ForStep::Continue);
            }
        }
        let value = self.eval(&f.value_expr)?;
        *bytes = bytes.saturating_add(limits::size(&value));
        self.bound(*bytes, &f.value_expr)?;
        let Some(key_expr) = &f.key_expr else {
            tuple.push(value);
            return Ok(ForStep::Continue);
        };
        let (key, _) = self.eval(key_expr)?.unmark();
        if key.is_null() {
            return Err(self.err(
                "Invalid object key",
                "Key expression in 'for' expression must not produce a null value.",
                key_expr,
            ));
        }
        if !key.is_known() {
            return Ok(ForStep::Unknown);
        }
        let key = convert(key, &Constraint::String)
            .ok()
            .and_then(|k| k.as_str().map(str::to_string))
            .ok_or_else(|| {
                self.err(
                    "Invalid object key",
                    "The key expression produced an invalid result: string required.",
                    key_expr,
                )
            })?;
        if f.grouping {
            groups.entry(key).or_default().push(value);
            return Ok(ForStep::Continue);
        }
        match object.entry(key) {
            std::collections::btree_map::Entry::Occupied(e) => Err(self.err(
                "Duplicate object key",
                format!("Two different items produced the key {:?} in this 'for' expression. If duplicates are expected, use the ellipsis (...) after the value expression to enable grouping by key.", e.key()),
                key_expr,
            )),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(value);
                Ok(ForStep::Continue)
            }
        }
    }

    /// Evaluates a template. `lead`/`trail` say whether the enclosing directive's strip
    /// markers remove whitespace at the template's start and end. A template that is a
    /// single interpolation yields that value unconverted, as in Terraform.
    fn eval_template(&mut self, t: &Template, lead: bool, trail: bool, top: bool) -> Result<Value> {
        let elements: Vec<&Element> = t.iter().collect();
        if top {
            if let [Element::Interpolation(i)] = elements.as_slice() {
                return self.eval(&i.expr);
            }
        }
        let mut out = String::new();
        let mut unknown = false;
        let mut marked = false;
        for (idx, element) in elements.iter().enumerate() {
            match element {
                Element::Literal(lit) => {
                    let mut s: &str = lit.value();
                    let strip_before = if idx == 0 {
                        lead
                    } else {
                        strips(elements[idx - 1]).1
                    };
                    let strip_after = match elements.get(idx + 1) {
                        Some(next) => strips(next).0,
                        None => trail,
                    };
                    if strip_before {
                        s = s.trim_start();
                    }
                    if strip_after {
                        s = s.trim_end();
                    }
                    out.push_str(s);
                }
                Element::Interpolation(i) => {
                    let (v, m) = self.eval(&i.expr)?.unmark();
                    marked |= m;
                    match self.template_part(v, &i.expr)? {
                        Some(s) => {
                            self.bound(out.len().saturating_add(s.len()), &i.expr)?;
                            out.push_str(&s)
                        }
                        None => unknown = true,
                    }
                }
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        let cond_expr = &d.if_expr.cond_expr;
                        let (c, m) = self.eval(cond_expr)?.unmark();
                        marked |= m;
                        if c.is_null() {
                            return Err(self.err(
                                "Invalid template if directive",
                                "The condition value is null.",
                                cond_expr,
                            ));
                        }
                        let c = convert(c, &Constraint::Bool).map_err(|e| {
                            self.err(
                                "Invalid template if directive",
                                format!("The condition must be a bool: {e}."),
                                cond_expr,
                            )
                        })?;
                        let if_trail = d
                            .else_expr
                            .as_ref()
                            .map_or(d.endif_expr.strip.strip_start(), |e| e.strip.strip_start());
                        let branch = match c.as_bool() {
                            Some(true) => Some(self.eval_template(
                                &d.if_expr.template,
                                d.if_expr.strip.strip_end(),
                                if_trail,
                                false,
                            )?),
                            Some(false) => match &d.else_expr {
                                Some(e) => Some(self.eval_template(
                                    &e.template,
                                    e.strip.strip_end(),
                                    d.endif_expr.strip.strip_start(),
                                    false,
                                )?),
                                None => None,
                            },
                            None => {
                                unknown = true;
                                None
                            }
                        };
                        if let Some(b) = branch {
                            let (b, m) = b.unmark();
                            marked |= m;
                            match b.as_str() {
                                Some(s) => {
                                    self.bound(out.len().saturating_add(s.len()), cond_expr)?;
                                    out.push_str(s)
                                }
                                None => unknown = true,
                            }
                        }
                    }
                    Directive::For(d) => {
                        let fe = &d.for_expr;
                        let (collection, m) = self.eval(&fe.collection_expr)?.unmark();
                        marked |= m;
                        let Some(items) = self.iterate(collection, &fe.collection_expr)? else {
                            unknown = true;
                            continue;
                        };
                        for (k, v) in items {
                            let depth = self.bindings.len();
                            if let Some(kv) = &fe.key_var {
                                self.bindings.push((kv.as_str().to_string(), k));
                            }
                            self.bindings.push((fe.value_var.as_str().to_string(), v));
                            let part = self.eval_template(
                                &fe.template,
                                fe.strip.strip_end(),
                                d.endfor_expr.strip.strip_start(),
                                false,
                            );
                            self.bindings.truncate(depth);
                            let (part, m) = part?.unmark();
                            marked |= m;
                            match part.as_str() {
                                Some(s) => {
                                    self.bound(
                                        out.len().saturating_add(s.len()),
                                        &fe.collection_expr,
                                    )?;
                                    out.push_str(s)
                                }
                                None => unknown = true,
                            }
                        }
                    }
                },
            }
        }
        if unknown {
            return Ok(Value::Unknown(Type::String).mark(marked));
        }
        Ok(Value::String(nfc(out)).mark(marked))
    }

    /// The string an interpolated value contributes, or `None` if it is unknown.
    fn template_part(&self, v: Value, at: &Expression) -> Result<Option<String>> {
        if v.is_null() {
            return Err(self.err(
                "Invalid template interpolation value",
                "The expression result is null. Cannot include a null value in a string template.",
                at,
            ));
        }
        if !v.is_known() {
            let ty = v.ty();
            if ty.is_primitive() || ty == Type::Dynamic {
                return Ok(None);
            }
        }
        match convert(v, &Constraint::String) {
            Ok(s) if s.is_known() => Ok(Some(s.as_str().unwrap_or_default().to_string())),
            Ok(_) => Ok(None),
            Err(_) => Err(self.err(
                "Invalid template interpolation value",
                "Cannot include the given value in a string template: string required.",
                at,
            )),
        }
    }
}

enum ForStep {
    Continue,
    Unknown,
}

/// Whether a template element strips whitespace before it (`${~`, `%{~`) and after it
/// (`~}`).
fn strips(e: &Element) -> (bool, bool) {
    let both = |a: Strip, b: Strip| (a.strip_start(), b.strip_end());
    match e {
        Element::Literal(_) => (false, false),
        Element::Interpolation(i) => (i.strip.strip_start(), i.strip.strip_end()),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => both(d.if_expr.strip, d.endif_expr.strip),
            Directive::For(d) => both(d.for_expr.strip, d.endfor_expr.strip),
        },
    }
}

/// A call to `function` that cannot give a value, at `at`.
fn invalid_argument(function: &str, detail: String, at: Option<Span>) -> Diagnostic {
    Diagnostic::error("Invalid function argument")
        .detail(format!("Call to {function}(): {detail}"))
        .at_opt(at)
}
