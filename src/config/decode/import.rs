//! `import` blocks: the `to` address, the `id` expression and an optional provider.

use super::Decoder;
use crate::addrs::Target;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};

impl Decoder<'_> {
    pub(super) fn decode_import(&mut self, module: &mut Module, span: Span, body: Body) {
        let mut to = None;
        let mut id = None;
        let mut provider = None;
        for a in &body.attrs {
            match a.name.as_str() {
                "to" => to = self.address(&a.expr, "to").and_then(|(t, span)| {
                    let instance = match t {
                        Target::Resource(r) => r.instance(crate::addrs::InstanceKey::None),
                        Target::Instance(i) => i,
                        Target::Module(_) => {
                            self.diags.push(
                                Diagnostic::error("Invalid \"to\" address")
                                    .detail("An import block's \"to\" is a resource instance, such as aws_instance.gpu or aws_instance.gpu[0].")
                                    .at(span),
                            );
                            return None;
                        }
                    };
                    Some((instance, span))
                }),
                "id" => id = Some(a.expr.clone()),
                "provider" => provider = self.provider_ref(&a.expr),
                _ => self.unexpected_attr(a, &["to", "id", "provider"]),
            }
        }
        match (to, id) {
            (Some((to, to_span)), Some(id)) => module.imports.push(Import {
                to,
                to_span,
                id,
                provider,
            }),
            _ => self.diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("An import block needs both \"to\" and \"id\".")
                    .at(span),
            ),
        }
    }
}
