//! `locals` blocks: each argument is a local value.

use super::Decoder;
use crate::config::model::*;

impl Decoder<'_> {
    pub(super) fn decode_locals(&mut self, module: &mut Module, body: Body) {
        for attr in body.attrs {
            module.locals.push(Local {
                name: attr.name,
                span: attr.name_span,
                expr: attr.expr,
            });
        }
        for b in body.blocks {
            self.unexpected_block(&b);
        }
    }
}
