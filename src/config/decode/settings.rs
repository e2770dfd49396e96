//! The `terraform` (or `plinth`) block: `required_version`, `required_providers`,
//! `provider_meta`, and the `backend` or `cloud` block, kept for later.

use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::Span as _;

use super::Decoder;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};
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
                "experiments" => self.diags.push(
                    Diagnostic::error("Module uses experimental features")
                        .detail("Experimental features are intended only for gathering early feedback on new language designs, and so are available only in alpha releases of Terraform.")
                        .at(attr.name_span),
                ),
                "language" => self.check_language_edition(&attr.expr),
                _ => self.unexpected_attr(attr, &["required_version", "experiments", "language"]),
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
                        let (requirement, aliases) =
                            self.split_configuration_aliases(&attr.name, &attr.expr);
                        let Some(v) = self.constant(&requirement) else {
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
                        self.check_source_type(&source, &requirement);
                        module.settings.required_providers.insert(
                            attr.name.clone(),
                            ProviderRequirement {
                                source,
                                version,
                                span: attr.name_span,
                                configuration_aliases: aliases,
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
                    if let (Some(first), false) = (&module.settings.backend, overriding) {
                        self.duplicate_backend(first, &block);
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

    /// `language = TF2021`: the only edition of the language there is.
    fn check_language_edition(&mut self, expr: &Expr) {
        let keyword = match &expr.expr {
            Expression::Variable(v) => Some(v.as_str()),
            _ => None,
        };
        let problem = match keyword {
            Some("TF2021") => return,
            None => ("Invalid language edition", format!("The language argument expects a bare language edition keyword. Terraform {} supports only language edition TF2021, which is the default.", crate::TERRAFORM_VERSION)),
            Some(other) => ("Unsupported language edition", format!(
                "Terraform v{} only supports language edition TF2021. This module requires a {} version of Terraform CLI.",
                crate::TERRAFORM_VERSION,
                if other > "TF2021" { "newer" } else { "different" }
            )),
        };
        self.diags.push(
            Diagnostic::error(problem.0)
                .detail(problem.1)
                .at_opt(expr.span()),
        );
    }

    /// A second `backend` or `cloud` block in the primary files of a module.
    fn duplicate_backend(&mut self, first: &Backend, second: &NestedBlock) {
        let at = self.sources.location(first.span);
        let (summary, detail) = match (first.kind == "cloud", second.kind.as_str()) {
            (true, "cloud") => ("Duplicate HCP Terraform configurations", format!("A module may have only one 'cloud' block configuring HCP Terraform or Terraform Enterprise. The 'cloud' block was previously configured at {at}.")),
            (false, "backend") => ("Duplicate backend configuration", format!("A module may have only one backend configuration. The backend was previously configured at {at}.")),
            _ => ("Both a backend and cloud configuration are present", format!("A module may declare either one 'cloud' block OR one 'backend' block configuring a state backend; the first is configured at {at}.")),
        };
        self.diags.push(
            Diagnostic::error(summary)
                .detail(detail)
                .at(second.span)
                .label(first.span, "first configured here"),
        );
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
        let version = crate::TERRAFORM_VERSION;
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

    /// A requirement object with its `configuration_aliases` (references such as
    /// `aws.west`, which no constant can hold) taken out and read as provider
    /// references, each of which must name this provider.
    fn split_configuration_aliases(
        &mut self,
        local: &str,
        expr: &Expr,
    ) -> (Expr, Vec<ProviderRef>) {
        let Expression::Object(obj) = &expr.expr else {
            return (expr.clone(), Vec::new());
        };
        let is_aliases = |k: &ObjectKey| match k {
            ObjectKey::Ident(id) => id.as_str() == "configuration_aliases",
            ObjectKey::Expression(Expression::String(s)) => s.value() == "configuration_aliases",
            ObjectKey::Expression(_) => false,
        };
        let mut aliases = Vec::new();
        let mut rest = obj.clone();
        let Some(key) = obj.iter().map(|(k, _)| k).find(|k| is_aliases(k)).cloned() else {
            return (expr.clone(), aliases);
        };
        let Some(list) = rest.remove(&key).map(|v| v.expr().clone()) else {
            return (expr.clone(), aliases);
        };
        let items: Vec<Expression> = match list {
            Expression::Array(items) => items.iter().cloned().collect(),
            other => {
                self.diags.push(
                    Diagnostic::error("Invalid configuration_aliases value")
                        .detail("configuration_aliases must be a list of provider configuration references, such as [aws.west].")
                        .at_opt(other.span().map(|r| Span::new(expr.file, r))),
                );
                Vec::new()
            }
        };
        for item in items {
            let item = Expr {
                file: expr.file,
                expr: item,
            };
            let Some(r) = self.provider_ref(&item) else {
                continue;
            };
            if r.name != local {
                self.diags.push(
                    Diagnostic::error("Invalid configuration_aliases value")
                        .detail(format!(
                            "Configuration aliases must be prefixed with the provider name. Expected {local:?}, but found {:?}.",
                            r.name
                        ))
                        .at(r.span),
                );
                continue;
            }
            aliases.push(r);
        }
        (
            Expr {
                file: expr.file,
                expr: Expression::Object(rest),
            },
            aliases,
        )
    }

    /// A source address whose type keeps the repository prefix
    /// `terraform-provider-`, which Terraform refuses.
    fn check_source_type(&mut self, source: &str, expr: &Expr) {
        let Some(ty) = source.rsplit('/').next() else {
            return;
        };
        let Some(short) = ty.strip_prefix("terraform-provider-") else {
            return;
        };
        let suggestion = format!("{}{short}", &source[..source.len() - ty.len()]);
        let at = match &expr.expr {
            Expression::Object(obj) => obj
                .iter()
                .find(|(k, _)| match k {
                    ObjectKey::Ident(id) => id.as_str() == "source",
                    ObjectKey::Expression(Expression::String(s)) => s.value() == "source",
                    ObjectKey::Expression(_) => false,
                })
                .and_then(|(_, v)| v.expr().span())
                .map(|r| Span::new(expr.file, r)),
            _ => None,
        };
        self.diags.push(
            Diagnostic::error("Invalid provider type")
                .detail(format!(
                    "Provider source {source:?} has a type with the prefix \"terraform-provider-\", which isn't valid. Although that prefix is often used in the names of version control repositories for Terraform providers, provider source strings should not include it."
                ))
                .at_opt(at.or(expr.span()))
                .help(format!("Did you mean {suggestion:?}?")),
        );
    }
}
