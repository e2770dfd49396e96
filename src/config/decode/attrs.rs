//! What every block decoder shares: errors for unexpected arguments and blocks,
//! constants (evaluated with no references allowed), reference lists (`depends_on`),
//! provider references and resource or module addresses.

use crate::addrs::Target;
use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::Span as _;

use super::Decoder;
use crate::config::model::*;
use crate::diag::{did_you_mean, Diagnostic, FileId, Span};
use crate::lang::refs::{parse_reference, Reference, Subject};
use crate::lang::{Constraint, Evaluator, Scope, Value};

/// Evaluates only constants: every reference is an error.
pub struct NoReferences;

impl Scope for NoReferences {
    fn resolve(&self, reference: &Reference) -> Result<Value, Diagnostic> {
        Err(Diagnostic::error("Variables not allowed")
            .detail("Variables may not be used here.")
            .at(reference.span))
    }
}

impl Decoder<'_> {
    pub(super) fn unexpected_block(&mut self, b: &NestedBlock) {
        self.diags.push(
            Diagnostic::error("Unsupported block type")
                .detail(format!(
                    "Blocks of type {:?} are not expected here.",
                    b.kind
                ))
                .at(b.span),
        );
    }

    /// A nested block type Terraform keeps for its own future use.
    pub(super) fn reserved_block(&mut self, b: &NestedBlock, container: &str) {
        self.diags.push(
            Diagnostic::error(format!("Reserved block type name in {container} block"))
                .detail(format!(
                    "The block type name {:?} is reserved for use by Terraform in a future version.",
                    b.kind
                ))
                .at(b.span),
        );
    }

    pub(super) fn unexpected_attr(&mut self, a: &Attr, valid: &[&str]) {
        self.diags.push(
            Diagnostic::error("Unsupported argument")
                .detail(format!(
                    "An argument named {:?} is not expected here.",
                    a.name
                ))
                .at(a.name_span)
                .help_opt(did_you_mean(&a.name, valid.iter().copied()).or_else(|| {
                    (!valid.is_empty())
                        .then(|| format!("Valid arguments here are: {}.", valid.join(", ")))
                })),
        );
    }

    pub(super) fn constant(&mut self, expr: &Expr) -> Option<Value> {
        let text = &self.sources.get(expr.file).text;
        let mut ev = Evaluator::new(expr.file, text, &NoReferences);
        match ev.eval(&expr.expr) {
            Ok(v) if v.is_known() => Some(v),
            Ok(_) => None,
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    pub(super) fn const_of(&mut self, expr: &Expr, want: &Constraint, what: &str) -> Option<Value> {
        let v = self.constant(expr)?;
        match crate::lang::convert::convert(v, want) {
            Ok(v) => Some(v),
            Err(e) => {
                self.diags.push(
                    Diagnostic::error("Incorrect attribute value type")
                        .detail(format!("Inappropriate value for attribute {what:?}: {e}."))
                        .at_opt(expr.span()),
                );
                None
            }
        }
    }

    pub(super) fn const_bool(&mut self, expr: &Expr, what: &str) -> bool {
        self.const_of(expr, &Constraint::Bool, what)
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    pub(super) fn const_string(&mut self, expr: &Expr, what: &str) -> Option<String> {
        self.const_of(expr, &Constraint::String, what)
            .and_then(|v| v.as_str().map(str::to_string))
    }

    pub(super) fn references(&mut self, expr: &Expr, what: &str) -> Vec<Reference> {
        let items: Vec<Expression> = match &expr.expr {
            Expression::Array(a) => a
                .iter()
                .map(|e| self.unquoted(e, expr.file).unwrap_or_else(|| e.clone()))
                .collect(),
            _ => {
                self.diags.push(
                    Diagnostic::error(format!("Invalid {what} argument"))
                        .detail(format!("The {what} argument must be a list of references."))
                        .at_opt(expr.span()),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in &items {
            match traversal_reference(item, expr.file) {
                Some(Ok(r)) if matches!(r.subject, Subject::Resource { .. } | Subject::ModuleCall(_) | Subject::Var(_) | Subject::Local(_)) => out.push(r),
                Some(Err(d)) => self.diags.push(d),
                _ => self.diags.push(
                    Diagnostic::error(format!("Invalid {what} reference"))
                        .detail(format!("References in {what} must be to a whole object (a resource, data source or module call), without further operations."))
                        .at_opt(item.span().map(|r| Span::new(expr.file, r))),
                ),
            }
        }
        out
    }

    pub(super) fn provider_ref(&mut self, expr: &Expr) -> Option<ProviderRef> {
        let span = expr.span().unwrap_or(Span::new(expr.file, 0..0));
        let unquoted = self.unquoted(&expr.expr, expr.file);
        let parsed = match unquoted.as_ref().unwrap_or(&expr.expr) {
            Expression::Variable(v) => Some((v.as_str().to_string(), None)),
            Expression::Traversal(t) => match (&t.expr, t.operators.as_slice()) {
                (Expression::Variable(v), [op]) => match op.value() {
                    TraversalOperator::GetAttr(a) => {
                        Some((v.as_str().to_string(), Some(a.as_str().to_string())))
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        match parsed {
            Some((name, _)) if !self.check_provider_local_name(&name, span) => None,
            Some((name, alias)) => Some(ProviderRef {
                name,
                alias,
                span,
                root: None,
            }),
            None => {
                self.diags.push(
                    Diagnostic::error("Invalid provider reference")
                        .detail("A provider reference is a provider name, optionally followed by a dot and an alias: aws or aws.west.")
                        .at(span),
                );
                None
            }
        }
    }

    /// A literal string written where a reference belongs (`depends_on =
    /// ["aws_instance.x"]`, `provider = "aws.west"`): the reference it quotes, with
    /// Terraform's deprecation warning. `None` for anything else.
    pub(super) fn unquoted(&mut self, e: &Expression, file: FileId) -> Option<Expression> {
        let Expression::String(_) = e else {
            return None;
        };
        let range = e.span()?;
        let parsed = reparse_string(&self.sources.get(file).text, range.clone()).ok()?;
        self.diags.push(
            Diagnostic::warning("Quoted references are deprecated")
                .detail("In this context, references are expected literally rather than in quotes. Terraform 0.11 and earlier required quotes, but quoted references are now deprecated and will be removed in a future version of Terraform. Remove the quotes surrounding this reference to silence this warning.")
                .at(Span::new(file, range)),
        );
        Some(parsed)
    }

    pub(super) fn address(&mut self, expr: &Expr, what: &str) -> Option<(Target, Span)> {
        let span = expr.span()?;
        match traversal_reference(&expr.expr, expr.file) {
            Some(Ok(r))
                if matches!(r.subject, Subject::Resource { .. } | Subject::ModuleCall(_)) =>
            {
                match Target::parse(self.sources.text(span)) {
                    Ok(t) => Some((t, span)),
                    Err(e) => {
                        self.diags.push(
                            Diagnostic::error(format!("Invalid \"{what}\" address"))
                                .detail(e.why)
                                .at(span),
                        );
                        None
                    }
                }
            }
            _ => {
                self.diags.push(
                    Diagnostic::error(format!("Invalid \"{what}\" address"))
                        .detail("Must be the address of a resource or a module call, such as aws_instance.gpu or module.pool.")
                        .at(span),
                );
                None
            }
        }
    }
}

/// The text inside the string literal at `range` of `text`, parsed as an
/// expression whose spans lie where that text is in the file.
pub(super) fn reparse_string(
    text: &str,
    range: std::ops::Range<usize>,
) -> Result<Expression, hcl_edit::parser::Error> {
    let inner = (range.start + 1)..range.end.saturating_sub(1).max(range.start + 1);
    let content = text.get(inner.clone()).unwrap_or("");
    // Parenthesised and padded: `inner.start` is past the opening quote.
    let padded = format!("({}{content})", " ".repeat(inner.start - 1));
    hcl_edit::parser::parse_expr(&padded).map(|e| match e {
        Expression::Parenthesis(p) => p.into_inner(),
        other => other,
    })
}

/// The reference a bare traversal expression (`aws_instance.x`, `module.m`) names.
pub(super) fn traversal_reference(
    e: &Expression,
    file: FileId,
) -> Option<Result<Reference, Diagnostic>> {
    let (root, ops) = match e {
        Expression::Variable(v) => (v, &[][..]),
        Expression::Traversal(t) => match &t.expr {
            Expression::Variable(v) => (v, t.operators.as_slice()),
            _ => return None,
        },
        _ => return None,
    };
    let root_span = Span::new(file, root.span()?);
    Some(parse_reference(root.as_str(), root_span, ops, file))
}

/// What is wrong with a provider local name (`aws`, `google-beta`), as Terraform
/// checks it where a name is declared: letters, digits and dashes, no leading,
/// trailing or doubled dash, and written in lower case.
pub(super) fn provider_local_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some(format!(
            "{name:?} is an invalid provider local name: must have at least one character"
        ));
    }
    if !name.chars().all(|c| c.is_alphanumeric() || c == '-')
        || name.starts_with('-')
        || name.ends_with('-')
    {
        return Some(format!("{name} is an invalid provider local name: must contain only letters, digits, and dashes, and may not use leading or trailing dashes"));
    }
    if name.contains("--") {
        return Some(format!(
            "{name} is an invalid provider local name: cannot use multiple consecutive dashes"
        ));
    }
    let lower = name.to_lowercase();
    (lower != name).then(|| {
        format!(
            "Provider names must be normalized. Replace {name:?} with {lower:?} to fix this error."
        )
    })
}

impl Decoder<'_> {
    /// Reports a provider local name Terraform would refuse; true when it is valid.
    pub(super) fn check_provider_local_name(&mut self, name: &str, span: Span) -> bool {
        match provider_local_name_problem(name) {
            Some(detail) => {
                self.diags.push(
                    Diagnostic::error("Invalid provider local name")
                        .detail(detail)
                        .at(span),
                );
                false
            }
            None => true,
        }
    }
}
