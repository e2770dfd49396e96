//! `provider` blocks: a provider configuration and its `alias`; the meta-argument
//! names Terraform keeps for itself (`count`, `for_each`, `lifecycle`, …) are errors.

use super::Decoder;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};

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
        for a in &body.attrs {
            if a.name == "version" {
                self.diags.push(
                    Diagnostic::warning("Version constraints inside provider configuration blocks are deprecated")
                        .detail("Terraform 0.13 and earlier allowed provider version constraints inside the provider configuration block, but that is now deprecated and will be removed in a future version of Terraform. To silence this warning, move the provider version constraint into the required_providers block.")
                        .at_opt(a.expr.span()),
                );
            }
            if matches!(
                a.name.as_str(),
                "count" | "depends_on" | "for_each" | "source"
            ) {
                self.diags.push(
                    Diagnostic::error("Reserved argument name in provider block")
                        .detail(format!(
                            "The provider argument name {:?} is reserved for use by Terraform in a future version.",
                            a.name
                        ))
                        .at(a.name_span),
                );
            }
        }
        for b in &body.blocks {
            if matches!(b.kind.as_str(), "lifecycle" | "locals") {
                self.reserved_block(b, "provider");
            }
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
