//! `moved` blocks: a `from` and a `to` address.

use super::Decoder;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};

impl Decoder<'_> {
    pub(super) fn decode_moved(&mut self, module: &mut Module, span: Span, body: Body) {
        let mut from = None;
        let mut to = None;
        for a in &body.attrs {
            match a.name.as_str() {
                "from" => from = self.address(&a.expr, "from"),
                "to" => to = self.address(&a.expr, "to"),
                _ => self.unexpected_attr(a, &["from", "to"]),
            }
        }
        match (from, to) {
            (Some((from, from_span)), Some((to, to_span))) => module.moved.push(Moved {
                from,
                from_span,
                to,
                to_span,
            }),
            (None, _) | (_, None) if !self.diags.has_errors() => self.diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("A moved block needs both \"from\" and \"to\".")
                    .at(span),
            ),
            _ => {}
        }
    }
}
