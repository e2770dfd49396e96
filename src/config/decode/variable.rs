//! `variable` blocks: type constraint, default (checked against the type), description,
//! sensitive, nullable and validations.

use super::Decoder;
use super::NoReferences;
use crate::config::model::*;
use crate::config::typeexpr::parse_constraint;
use crate::diag::{Diagnostic, Sources, Span};
use crate::lang::refs::{visit_references, Subject};
use crate::lang::{Constraint, Evaluator};

/// Names a variable cannot take: a module block's own arguments and blocks.
const RESERVED_VARIABLE_NAMES: [&str; 8] = [
    "source",
    "version",
    "providers",
    "count",
    "for_each",
    "lifecycle",
    "depends_on",
    "locals",
];

impl Decoder<'_> {
    pub(super) fn decode_variable(
        &mut self,
        module: &mut Module,
        name: String,
        span: Span,
        body: Body,
    ) {
        let mut var = Variable {
            name,
            span,
            constraint: Constraint::Any,
            has_type: false,
            default: None,
            description: None,
            sensitive: false,
            nullable: true,
            validations: Vec::new(),
        };
        if RESERVED_VARIABLE_NAMES.contains(&var.name.as_str()) {
            self.diags.push(
                Diagnostic::error("Invalid variable name")
                    .detail(format!(
                        "The variable name {:?} is reserved due to its special meaning inside module blocks.",
                        var.name
                    ))
                    .at(span),
            );
        }
        let valid = ["type", "default", "description", "sensitive", "nullable"];
        for attr in &body.attrs {
            match attr.name.as_str() {
                "type" => {
                    let sources: &Sources = self.sources;
                    let default_of = |e: &Expr| {
                        let text = &sources.get(e.file).text;
                        Evaluator::new(e.file, text, &NoReferences).eval(&e.expr)
                    };
                    match parse_constraint(&attr.expr, &default_of) {
                        Ok(c) => {
                            var.constraint = c;
                            var.has_type = true;
                        }
                        Err(d) => self.diags.push(d),
                    }
                }
                "default" => var.default = Some(attr.expr.clone()),
                "description" => var.description = self.const_string(&attr.expr, "description"),
                "sensitive" => var.sensitive = self.const_bool(&attr.expr, "sensitive"),
                "nullable" => var.nullable = self.const_bool(&attr.expr, "nullable"),
                _ => self.unexpected_attr(attr, &valid),
            }
        }
        for block in &body.blocks {
            match block.kind.as_str() {
                "validation" => {
                    if let Some(c) = self.decode_checks(block) {
                        self.check_validation_refers_to(&var.name, &c);
                        var.validations.push(c);
                    }
                }
                _ => self.unexpected_block(block),
            }
        }
        if let Some(default) = var.default.clone() {
            if let Some(value) = self.constant(&default) {
                if let Err(e) = crate::lang::convert::convert(value.clone(), &var.constraint) {
                    self.diags.push(
                        Diagnostic::error("Invalid default value for variable")
                            .detail(format!("This default value is not compatible with the variable's type constraint: {e}."))
                            .at_opt(default.span())
                            .help(format!(
                                "The type constraint is {}; the default is {}.",
                                var.constraint,
                                value.ty().describe()
                            )),
                    );
                } else if value.is_null() && !var.nullable {
                    self.diags.push(
                        Diagnostic::error("Invalid default value for variable")
                            .detail("A null default value is not valid when nullable=false.")
                            .at_opt(default.span()),
                    );
                }
            }
        }
        module.variables.push(var);
    }
}

impl Decoder<'_> {
    /// A validation condition must refer to the variable it validates; since
    /// Terraform 1.9 it may refer to other objects of the module too.
    fn check_validation_refers_to(&mut self, name: &str, check: &Check) {
        let mut refers = false;
        visit_references(
            &check.condition.expr,
            check.condition.file,
            &mut Vec::new(),
            &mut |r, _| refers |= matches!(&r.subject, Subject::Var(v) if v == name),
        );
        if !refers {
            self.diags.push(
                Diagnostic::error("Invalid variable validation condition")
                    .detail(format!("The condition for variable {name:?} must refer to var.{name} in order to test incoming values."))
                    .at_opt(check.condition.span()),
            );
        }
    }
}
