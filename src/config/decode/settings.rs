//! The `terraform` (or `plinth`) block: `required_version`, `required_providers`,
//! and the `backend` or `cloud` block, kept for later.

use super::Decoder;
use crate::config::model::*;
use crate::diag::Diagnostic;
use crate::lang::Value;

impl Decoder<'_> {
    pub(super) fn decode_settings(&mut self, module: &mut Module, body: Body) {
        for attr in &body.attrs {
            match attr.name.as_str() {
                "required_version" => {
                    module.settings.required_version =
                        self.const_string(&attr.expr, "required_version")
                }
                "experiments" => {}
                _ => self.unexpected_attr(attr, &["required_version", "experiments"]),
            }
        }
        for block in body.blocks {
            match block.kind.as_str() {
                "required_providers" => {
                    for attr in &block.body.attrs {
                        let Some(v) = self.constant(&attr.expr) else {
                            continue;
                        };
                        let (source, version) = match v.peel().0 {
                            Value::String(version) => {
                                (format!("hashicorp/{}", attr.name), Some(version.clone()))
                            }
                            Value::Object(o) | Value::Map(_, o) => (
                                o.get("source")
                                    .and_then(Value::as_str)
                                    .map(str::to_string)
                                    .unwrap_or_else(|| format!("hashicorp/{}", attr.name)),
                                o.get("version").and_then(Value::as_str).map(str::to_string),
                            ),
                            _ => {
                                self.diags.push(
                                    Diagnostic::error("Invalid required_providers object")
                                        .detail("A provider requirement must be an object with \"source\" and \"version\" attributes.")
                                        .at_opt(attr.expr.span()),
                                );
                                continue;
                            }
                        };
                        module.settings.required_providers.insert(
                            attr.name.clone(),
                            ProviderRequirement {
                                source,
                                version,
                                span: attr.name_span,
                            },
                        );
                    }
                }
                "backend" | "cloud" => {
                    if block.labels.len() != 1 && block.kind == "backend" {
                        self.diags.push(
                            Diagnostic::error("Missing backend type")
                                .detail("A backend block needs one label: the backend type.")
                                .at(block.span),
                        );
                        continue;
                    }
                    module.settings.backend = Some(Backend {
                        kind: block
                            .labels
                            .first()
                            .cloned()
                            .unwrap_or_else(|| "cloud".into()),
                        span: block.span,
                        body: block.body,
                    });
                }
                _ => self.unexpected_block(&block),
            }
        }
    }
}
