//! `resource` and `data` blocks: the meta-arguments (count, for_each, provider,
//! depends_on, lifecycle) taken out, the rest kept as the resource's body.

use super::Decoder;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};
use crate::lang::refs::{ResourceMode, Subject};

impl Decoder<'_> {
    pub(super) fn decode_resource(
        &mut self,
        module: &mut Module,
        mode: ResourceMode,
        type_name: String,
        name: String,
        span: Span,
        mut body: Body,
    ) {
        let mut r = Resource {
            mode,
            type_name,
            name,
            span,
            count: None,
            for_each: None,
            provider: None,
            depends_on: Vec::new(),
            lifecycle: Lifecycle::default(),
            body: Body {
                json: body.json,
                ..Body::default()
            },
            check: None,
        };
        let mut count_span = None;
        for attr in std::mem::take(&mut body.attrs) {
            match attr.name.as_str() {
                "count" => {
                    count_span = Some(attr.name_span);
                    r.count = Some(attr.expr)
                }
                "for_each" => r.for_each = Some(attr.expr),
                "provider" => r.provider = self.provider_ref(&attr.expr),
                "depends_on" => r.depends_on = self.references(&attr.expr, "depends_on"),
                _ => r.body.attrs.push(attr),
            }
        }
        if let (Some(count_span), Some(fe)) = (count_span, &r.for_each) {
            self.diags.push(
                Diagnostic::error("Invalid combination of \"count\" and \"for_each\"")
                    .detail("The \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of resources to be created.")
                    .at(count_span)
                    .label(fe.span().unwrap_or(count_span), "for_each is also set here"),
            );
        }
        for block in std::mem::take(&mut body.blocks) {
            match block.kind.as_str() {
                "lifecycle" => {
                    let mut lc = std::mem::take(&mut r.lifecycle);
                    let owner = Subject::Resource {
                        mode,
                        type_name: r.type_name.clone(),
                        name: r.name.clone(),
                    };
                    self.decode_lifecycle(&block, &mut lc, &owner);
                    r.lifecycle = lc;
                }
                "provisioner" if mode == ResourceMode::Managed => {
                    let kind = block.labels.first().map(String::as_str);
                    if let Some(removed @ ("chef" | "habitat" | "puppet" | "salt-masterless")) =
                        kind
                    {
                        self.diags.push(
                            Diagnostic::error(format!("The {removed:?} provisioner has been removed"))
                                .detail(format!("The {removed:?} provisioner was deprecated in Terraform 0.13.4 has been removed from Terraform. Visit https://learn.hashicorp.com/collections/terraform/provision for alternatives to using provisioners that are a better fit for the Terraform workflow."))
                                .at(block.span),
                        );
                    }
                }
                "connection" if mode == ResourceMode::Managed => {}
                "locals" => self.reserved_block(&block, "resource"),
                _ => r.body.blocks.push(block),
            }
        }
        module.resources.push(r);
    }
}
