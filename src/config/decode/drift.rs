//! `drift` blocks (plinth's own): `ignore = [ADDR.path, ...]`, the attribute paths
//! something else owns (an autoscaler's replica count, a controller's tags), which
//! `plinth drift` and `plinth reconcile` do not report. Root module only.

use hcl_edit::expr::Expression;
use hcl_edit::Span as _;

use super::Decoder;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};

impl Decoder<'_> {
    pub(super) fn decode_drift(&mut self, module: &mut Module, header: Span, body: Body) {
        if !module.path.is_empty() {
            self.diags.push(
                Diagnostic::error("Drift block in a child module")
                    .detail("A drift block belongs in the root module: its ignore rules name addresses from the root.")
                    .at(header),
            );
            return;
        }
        for a in &body.attrs {
            if a.name != "ignore" {
                self.unexpected_attr(a, &["ignore"]);
                continue;
            }
            let Expression::Array(items) = &a.expr.expr else {
                self.diags.push(
                    Diagnostic::error("Invalid drift ignore list")
                        .detail("ignore must be a list of addresses with attribute paths, such as aws_eks_node_group.gpu.scaling_config[0].desired_size.")
                        .at_opt(a.expr.span()),
                );
                continue;
            };
            for item in items.iter() {
                let Some(range) = item.span() else { continue };
                let span = Span::new(a.expr.file, range);
                let text = match item {
                    Expression::String(s) => s.value().to_string(),
                    _ => self.sources.text(span).to_string(),
                };
                match crate::drift::rules::Rule::parse(&text) {
                    Ok(_) => module.drift_ignore.push(DriftIgnore { text, span }),
                    Err(why) => self.diags.push(
                        Diagnostic::error("Invalid drift ignore rule")
                            .detail(why)
                            .at(span),
                    ),
                }
            }
        }
        for b in &body.blocks {
            self.unexpected_block(b);
        }
    }
}
