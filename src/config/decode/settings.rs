//! The `terraform` (or `plinth`) block: `required_version`, `required_providers`,
//! `provider_meta`, and the `backend` or `cloud` block, kept for later.

use super::Decoder;
use crate::config::model::*;
use crate::diag::Diagnostic;
use crate::lang::Value;

impl Decoder<'_> {
    /// `overriding` is set for a block from an override file, whose
    /// `required_providers` entries replace those of the primary files.
    pub(super) fn decode_settings(&mut self, module: &mut Module, body: Body, overriding: bool) {
        for attr in &body.attrs {
            match attr.name.as_str() {
                "required_version" => {
                    let constraint = self.const_string(&attr.expr, "required_version");
                    if let Some(text) = &constraint {
                        self.check_required_version(module, text, attr);
                    }
                    module.settings.required_version = constraint;
                }
                "experiments" => {}
                _ => self.unexpected_attr(attr, &["required_version", "experiments"]),
            }
        }
        for block in body.blocks {
            match block.kind.as_str() {
                "required_providers" => {
                    if !overriding {
                        if let Some(first) = module.settings.required_providers_span {
                            self.diags.push(
                                Diagnostic::error("Duplicate required providers configuration")
                                    .detail(format!(
                                        "A module may have only one required providers configuration. The required providers were previously configured at {}.",
                                        self.sources.location(first)
                                    ))
                                    .at(block.span)
                                    .label(first, "first configured here"),
                            );
                            continue;
                        }
                        module.settings.required_providers_span = Some(block.span);
                    }
                    for attr in &block.body.attrs {
                        if !self.check_provider_local_name(&attr.name, attr.name_span) {
                            continue;
                        }
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
                "provider_meta" => self.decode_provider_meta(module, block),
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

    /// `provider_meta "aws" { user_agent = [...] }`: one per provider in a module,
    /// constant arguments only and no nested blocks, as Terraform loads it.
    fn decode_provider_meta(&mut self, module: &mut Module, block: NestedBlock) {
        let [provider] = block.labels.as_slice() else {
            self.diags.push(
                Diagnostic::error("Missing name for block")
                    .detail("A provider_meta block expects a provider local name (1 label).")
                    .at(block.span),
            );
            return;
        };
        if !self.check_provider_local_name(provider, block.span) {
            return;
        }
        for nested in &block.body.blocks {
            self.diags.push(
                Diagnostic::error(format!("Unexpected {:?} block", nested.kind))
                    .detail("Blocks are not allowed here.")
                    .at(nested.span),
            );
        }
        if block.body.blocks.is_empty() {
            for attr in &block.body.attrs {
                self.constant(&attr.expr);
            }
        }
        let settings = &mut module.settings;
        if let Some(first) = settings
            .provider_metas
            .iter()
            .find(|m| &m.provider == provider)
        {
            self.diags.push(
                Diagnostic::error("Duplicate provider_meta block")
                    .detail(format!(
                        "A provider_meta block for provider {provider:?} was already declared at {}. Providers may only have one provider_meta block per module.",
                        self.sources.location(first.span)
                    ))
                    .at(block.span)
                    .label(first.span, "first declared here"),
            );
            return;
        }
        settings.provider_metas.push(ProviderMeta {
            provider: provider.clone(),
            span: block.span,
            attrs: block.body.attrs,
        });
    }

    /// Checks a `required_version` constraint against the language version plinth
    /// follows, as Terraform checks it against its own version.
    fn check_required_version(&mut self, module: &Module, text: &str, attr: &Attr) {
        use crate::plugin::constraint::{parse_version, VersionConstraint};
        let span = attr.expr.span().unwrap_or(attr.name_span);
        let Ok(constraint) = VersionConstraint::parse(text) else {
            self.diags.push(
                Diagnostic::error("Invalid version constraint")
                    .detail("This string does not use correct version constraint syntax.")
                    .at(span),
            );
            return;
        };
        let version = crate::config::TERRAFORM_LANGUAGE_VERSION;
        let Ok(ours) = parse_version(version) else {
            return;
        };
        if constraint.matches(&ours) {
            return;
        }
        let what = if module.path.is_empty() {
            "This configuration".to_string()
        } else {
            format!("Module {}", module.display_path().trim_end_matches('.'))
        };
        self.diags.push(
            Diagnostic::error("Unsupported Terraform Core version")
                .detail(format!(
                    "{what} does not support Terraform version {version}. To proceed, either choose another supported Terraform version or update this version constraint. Version constraints are normally set for good reason, so updating the constraint may lead to other errors or unexpected behavior."
                ))
                .at(span)
                .help(format!("plinth follows the Terraform language of version {version}.")),
        );
    }
}
