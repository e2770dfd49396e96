//! `module` blocks: source, version, count, for_each, depends_on, providers, and the
//! child module's input variables.

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::Span as _;

use super::Decoder;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};

impl Decoder<'_> {
    pub(super) fn decode_module_call(
        &mut self,
        module: &mut Module,
        name: String,
        span: Span,
        body: Body,
    ) {
        let mut call = ModuleCall {
            name,
            span,
            source: String::new(),
            source_span: span,
            version: None,
            count: None,
            for_each: None,
            depends_on: Vec::new(),
            providers: Vec::new(),
            inputs: Vec::new(),
            child: None,
        };
        let mut has_source = false;
        let mut count_span = None;
        for attr in body.attrs {
            match attr.name.as_str() {
                "source" => {
                    has_source = true;
                    call.source_span = attr.expr.span().unwrap_or(span);
                    call.source = self.const_string(&attr.expr, "source").unwrap_or_default();
                }
                "version" => call.version = self.const_string(&attr.expr, "version"),
                "count" => {
                    count_span = Some(attr.name_span);
                    call.count = Some(attr.expr)
                }
                "for_each" => call.for_each = Some(attr.expr),
                "depends_on" => call.depends_on = self.references(&attr.expr, "depends_on"),
                "providers" => match &attr.expr.expr {
                    Expression::Object(obj) => {
                        for (k, v) in obj.iter() {
                            let key = match k {
                                ObjectKey::Ident(id) => id.as_str().to_string(),
                                ObjectKey::Expression(e) => {
                                    let e = self.unquoted(e, attr.expr.file).unwrap_or_else(|| e.clone());
                                    let text = e.span().map(|r| self.sources.text(Span::new(attr.expr.file, r)).to_string());
                                    text.unwrap_or_default()
                                }
                            };
                            let value = Expr { file: attr.expr.file, expr: v.expr().clone() };
                            if let Some(p) = self.provider_ref(&value) {
                                call.providers.push((key, p));
                            }
                        }
                    }
                    _ => self.diags.push(
                        Diagnostic::error("Invalid providers argument")
                            .detail("The providers argument must be a map from the child module's provider names to this module's provider configurations.")
                            .at_opt(attr.expr.span()),
                    ),
                },
                _ => call.inputs.push(attr),
            }
        }
        if let (Some(count_span), Some(fe)) = (count_span, &call.for_each) {
            self.diags.push(
                Diagnostic::error("Invalid combination of \"count\" and \"for_each\"")
                    .detail("The \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of module instances to be created.")
                    .at(count_span)
                    .label(fe.span().unwrap_or(count_span), "for_each is also set here"),
            );
        }
        for b in &body.blocks {
            match b.kind.as_str() {
                "lifecycle" | "locals" => self.reserved_block(b, "module"),
                _ => self.unexpected_block(b),
            }
        }
        if !has_source {
            self.diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("The argument \"source\" is required, but no definition was found.")
                    .at(span),
            );
        }
        module.module_calls.push(call);
    }
}
