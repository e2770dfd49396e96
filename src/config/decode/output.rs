//! `output` blocks: value, description, sensitive, depends_on and preconditions.

use super::Decoder;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};

impl Decoder<'_> {
    pub(super) fn decode_output(
        &mut self,
        module: &mut Module,
        name: String,
        span: Span,
        body: Body,
    ) {
        let mut out = Output {
            name,
            span,
            value: None,
            description: None,
            sensitive: false,
            depends_on: Vec::new(),
            preconditions: Vec::new(),
        };
        for attr in &body.attrs {
            match attr.name.as_str() {
                "value" => out.value = Some(attr.expr.clone()),
                "description" => out.description = self.const_string(&attr.expr, "description"),
                "sensitive" => out.sensitive = self.const_bool(&attr.expr, "sensitive"),
                "depends_on" => out.depends_on = self.references(&attr.expr, "depends_on"),
                _ => {
                    self.unexpected_attr(attr, &["value", "description", "sensitive", "depends_on"])
                }
            }
        }
        for block in &body.blocks {
            match block.kind.as_str() {
                "precondition" => {
                    if let Some(c) = self.decode_checks(block) {
                        out.preconditions.push(c);
                    }
                }
                _ => self.unexpected_block(block),
            }
        }
        if out.value.is_none() {
            self.diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("The argument \"value\" is required, but no definition was found.")
                    .at(span),
            );
        }
        module.outputs.push(out);
    }
}
