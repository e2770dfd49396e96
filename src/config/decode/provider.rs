//! `provider` blocks: a provider configuration and its `alias`.

use super::Decoder;
use crate::config::model::*;
use crate::diag::Span;

impl Decoder<'_> {
    pub(super) fn decode_provider(
        &mut self,
        module: &mut Module,
        name: String,
        span: Span,
        mut body: Body,
    ) {
        if !self.check_provider_local_name(&name, span) {
            return;
        }
        let mut alias = None;
        body.attrs.retain(|a| {
            if a.name == "alias" {
                alias = Some(a.expr.clone());
                false
            } else {
                a.name != "version"
            }
        });
        let alias = alias.and_then(|e| self.const_string(&e, "alias"));
        module.providers.push(ProviderConfig {
            name,
            alias,
            span,
            body,
        });
    }
}
