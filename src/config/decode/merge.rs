//! Override files (`override.tf`, `*_override.tf` and their `.tf.json` forms), merged
//! into the blocks of the primary files by Terraform's rules before anything is
//! decoded: each top-level block of an override file replaces, argument by argument,
//! the one with the same header; a nested block type it writes replaces every nested
//! block of that type, except `lifecycle`, merged argument by argument. A block with
//! nothing to override is an error at the override, except a default (unaliased)
//! provider configuration, which an absent one stands for.

use std::collections::HashSet;

use super::{Decoder, TopBlock};
use crate::config::model::*;
use crate::diag::Diagnostic;

/// Whether the file named `name` is an override file.
pub fn is_override_file(name: &str) -> bool {
    let stem = name
        .strip_suffix(".tf.json")
        .or_else(|| name.strip_suffix(".tf"));
    stem.is_some_and(|s| s == "override" || s.ends_with("_override"))
}

impl Decoder<'_> {
    /// Merges each override block, in order, into `base`.
    pub(in crate::config) fn merge_overrides(
        &mut self,
        base: &mut Vec<TopBlock>,
        overrides: Vec<TopBlock>,
    ) {
        self.check_override_backends(&overrides);
        for over in overrides {
            match over.kind.as_str() {
                "terraform" | "plinth" => merge_settings(base, over),
                "locals" => self.merge_locals(base, over),
                "provider" => self.merge_provider(base, over),
                "variable" | "output" | "module" | "resource" | "data" => {
                    self.merge_named(base, over)
                }
                kind => self.diags.push(
                    Diagnostic::error(format!("Cannot override '{kind}' blocks"))
                        .detail(format!("Override files cannot override '{kind}' blocks."))
                        .at(over.header),
                ),
            }
        }
    }

    /// An override file may replace the backend (or `cloud` block) of the others,
    /// but holds at most one of each itself.
    fn check_override_backends(&mut self, overrides: &[TopBlock]) {
        let mut seen: Vec<(crate::diag::FileId, &str, crate::diag::Span)> = Vec::new();
        let nested = overrides
            .iter()
            .filter(|b| b.kind == "terraform" || b.kind == "plinth")
            .flat_map(|b| b.body.blocks.iter())
            .filter(|n| n.kind == "backend" || n.kind == "cloud");
        for block in nested {
            let file = block.span.file;
            let Some(&(_, _, first)) = seen
                .iter()
                .find(|(f, kind, _)| *f == file && *kind == block.kind)
            else {
                seen.push((file, &block.kind, block.span));
                continue;
            };
            let at = self.sources.location(first);
            let (summary, detail) = if block.kind == "cloud" {
                ("Duplicate HCP Terraform configurations", format!("A module may have only one 'cloud' block configuring HCP Terraform or Terraform Enterprise. The 'cloud' block was previously configured at {at}."))
            } else {
                ("Duplicate backend configuration", format!("Each override file may have only one backend configuration. A backend was previously configured at {at}."))
            };
            self.diags.push(
                Diagnostic::error(summary)
                    .detail(detail)
                    .at(block.span)
                    .label(first, "first configured here"),
            );
        }
    }

    fn merge_named(&mut self, base: &mut [TopBlock], mut over: TopBlock) {
        let found = base
            .iter_mut()
            .find(|b| b.kind == over.kind && b.labels == over.labels);
        let Some(target) = found else {
            let (summary, detail) = missing_base(&over);
            self.diags
                .push(Diagnostic::error(summary).detail(detail).at(over.header));
            return;
        };
        if over.kind != "variable" {
            over.body.attrs.retain(|a| {
                if a.name != "depends_on" {
                    return true;
                }
                self.diags.push(
                    Diagnostic::error("Unsupported override")
                        .detail("The depends_on argument may not be overridden.")
                        .at(a.name_span),
                );
                false
            });
        }
        let lifecycle_by_argument = matches!(over.kind.as_str(), "resource" | "data");
        merge_body(&mut target.body, over.body, lifecycle_by_argument);
    }

    fn merge_locals(&mut self, base: &mut [TopBlock], over: TopBlock) {
        for attr in over.body.attrs {
            let slot = base
                .iter_mut()
                .filter(|b| b.kind == "locals")
                .flat_map(|b| b.body.attrs.iter_mut())
                .find(|a| a.name == attr.name);
            match slot {
                Some(slot) => *slot = attr,
                None => self.diags.push(
                    Diagnostic::error("Missing base local value definition to override")
                        .detail(format!(
                            "There is no local value named {:?}. An override file can only override a local value that was already defined in a primary configuration file.",
                            attr.name
                        ))
                        .at(attr.name_span),
                ),
            }
        }
    }

    fn merge_provider(&mut self, base: &mut Vec<TopBlock>, over: TopBlock) {
        let alias = self.alias_of(&over);
        let mut found = None;
        for (i, b) in base.iter().enumerate() {
            if b.kind == "provider" && b.labels == over.labels && self.alias_of(b) == alias {
                found = Some(i);
                break;
            }
        }
        match (found, alias) {
            (Some(i), _) => merge_body(&mut base[i].body, over.body, false),
            (None, None) => base.push(TopBlock {
                overriding: false,
                ..over
            }),
            (None, Some(alias)) => self.diags.push(
                Diagnostic::error("Missing base provider configuration for override")
                    .detail(format!(
                        "There is no {} provider configuration with the alias {alias:?}. An override file can only override an aliased provider configuration that was already defined in a primary configuration file.",
                        over.labels[0]
                    ))
                    .at(over.header),
            ),
        }
    }

    /// A provider block's `alias`, when it is a constant string.
    fn alias_of(&mut self, block: &TopBlock) -> Option<String> {
        let attr = block.body.attrs.iter().find(|a| a.name == "alias")?;
        let text = &self.sources.get(attr.expr.file).text;
        let mut ev = crate::lang::Evaluator::new(attr.expr.file, text, &super::NoReferences);
        ev.eval(&attr.expr.expr)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    }
}

fn missing_base(over: &TopBlock) -> (&'static str, String) {
    let name = over.labels.last().cloned().unwrap_or_default();
    match over.kind.as_str() {
        "variable" => ("Missing base variable declaration to override", format!("There is no variable named {name:?}. An override file can only override a variable that was already declared in a primary configuration file.")),
        "output" => ("Missing base output definition to override", format!("There is no output named {name:?}. An override file can only override an output that was already defined in a primary configuration file.")),
        "module" => ("Missing module call to override", format!("There is no module call named {name:?}. An override file can only override a module call that was defined in a primary configuration file.")),
        "data" => ("Missing data resource to override", format!("There is no {} data resource named {name:?}. An override file can only override a data block defined in a primary configuration file.", over.labels[0])),
        _ => ("Missing resource to override", format!("There is no {} resource named {name:?}. An override file can only override a resource block defined in a primary configuration file.", over.labels[0])),
    }
}

/// Arguments replace arguments of the same name; each nested block type written in
/// `over` replaces all of `base`'s blocks of that type (so any `provisioner` replaces
/// every provisioner, a `connection` the connection), except `lifecycle` where
/// `lifecycle_by_argument`, which is merged argument by argument.
fn merge_body(base: &mut Body, over: Body, lifecycle_by_argument: bool) {
    for attr in over.attrs {
        match base.attrs.iter_mut().find(|a| a.name == attr.name) {
            Some(slot) => *slot = attr,
            None => base.attrs.push(attr),
        }
    }
    let replaced: HashSet<String> = over
        .blocks
        .iter()
        .filter(|b| !(lifecycle_by_argument && b.kind == "lifecycle"))
        .map(|b| b.kind.clone())
        .collect();
    base.blocks.retain(|b| !replaced.contains(&b.kind));
    for block in over.blocks {
        let existing = if lifecycle_by_argument && block.kind == "lifecycle" {
            base.blocks.iter_mut().find(|b| b.kind == "lifecycle")
        } else {
            None
        };
        match existing {
            Some(lifecycle) => merge_body(&mut lifecycle.body, block.body, false),
            None => base.blocks.push(block),
        }
    }
}

/// A `terraform` block of an override file: each argument it sets replaces the
/// primary files' (`required_version`), each `required_providers` entry replaces
/// the entry of that name, a `backend` or `cloud` block replaces both kinds, and a
/// `provider_meta` block the one for its provider. It is then kept as a block of
/// its own, after the primary ones.
fn merge_settings(base: &mut Vec<TopBlock>, over: TopBlock) {
    let settings = |b: &&mut TopBlock| b.kind == "terraform" || b.kind == "plinth";
    for b in base.iter_mut().filter(settings) {
        b.body
            .attrs
            .retain(|a| !over.body.attrs.iter().any(|o| o.name == a.name));
        for nested in &over.body.blocks {
            match nested.kind.as_str() {
                "required_providers" => {
                    for rp in b
                        .body
                        .blocks
                        .iter_mut()
                        .filter(|x| x.kind == "required_providers")
                    {
                        rp.body
                            .attrs
                            .retain(|a| !nested.body.attrs.iter().any(|o| o.name == a.name));
                    }
                }
                "backend" | "cloud" => b
                    .body
                    .blocks
                    .retain(|x| x.kind != "backend" && x.kind != "cloud"),
                "provider_meta" => b
                    .body
                    .blocks
                    .retain(|x| !(x.kind == "provider_meta" && x.labels == nested.labels)),
                _ => {}
            }
        }
    }
    base.push(TopBlock {
        overriding: true,
        ..over
    });
}

#[cfg(test)]
mod tests {
    use crate::config::load::load_stack;
    use crate::config::model::*;
    use crate::diag::Sources;

    /// Loads `files` and returns the root module with the source text of each of
    /// its resource's arguments, failing on any error.
    fn load(files: &[(&str, &str)]) -> (Module, Sources) {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        let mut sources = Sources::default();
        let (mut config, diags) = load_stack(dir.path(), &mut sources);
        let errors: Vec<_> = diags.items.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        (config.modules.swap_remove(0), sources)
    }

    fn text(sources: &Sources, e: &Expr) -> String {
        sources.text(e.span().expect("span")).trim().to_string()
    }

    #[test]
    fn override_replaces_arguments_and_nested_block_types() {
        let (m, sources) = load(&[
            (
                "main.tf",
                r#"
resource "x_thing" "a" {
  keep  = 1
  size  = 2
  tag { name = "one" }
  tag { name = "two" }
  rule { n = 1 }
  provisioner "local-exec" { command = "a" }
  provisioner "local-exec" { command = "b" }
  connection { host = "a" }
  lifecycle {
    ignore_changes        = [keep]
    create_before_destroy = false
  }
}
"#,
            ),
            (
                "override.tf",
                r#"
resource "x_thing" "a" {
  size = 3
  tag { name = "three" }
  provisioner "local-exec" { command = "c" }
  lifecycle {
    create_before_destroy = true
  }
}
"#,
            ),
        ]);
        let r = &m.resources[0];
        let attr = |name: &str| {
            let a = r.body.attrs.iter().find(|a| a.name == name).expect(name);
            text(&sources, &a.expr)
        };
        assert_eq!(attr("keep"), "1");
        assert_eq!(attr("size"), "3");
        let kinds: Vec<_> = r.body.blocks.iter().map(|b| b.kind.as_str()).collect();
        assert_eq!(kinds, ["rule", "tag"]);
        assert!(r.lifecycle.create_before_destroy);
        assert_eq!(r.lifecycle.ignore_changes.len(), 1);
    }

    #[test]
    fn overrides_apply_in_file_name_order() {
        let (m, sources) = load(&[
            ("main.tf", "locals {\n  a = 1\n  b = 2\n}\nvariable \"v\" {\n  default = \"x\"\n  description = \"d\"\n}\n"),
            ("b_override.tf", "locals {\n  a = 30\n}\n"),
            ("a_override.tf", "locals {\n  a = 20\n  b = 21\n}\nvariable \"v\" {\n  default = \"y\"\n}\n"),
        ]);
        let local = |n: &str| text(&sources, &m.local(n).expect(n).expr);
        assert_eq!(local("a"), "30");
        assert_eq!(local("b"), "21");
        let v = m.variable("v").expect("v");
        assert_eq!(
            text(&sources, v.default.as_ref().expect("default")),
            "\"y\""
        );
        assert_eq!(v.description.as_deref(), Some("d"));
    }

    #[test]
    fn override_settings_replace_entries() {
        let (m, _) = load(&[
            (
                "main.tf",
                r#"
terraform {
  required_version = ">= 0.1"
  required_providers {
    a = { source = "hashicorp/a", version = "1.0" }
    b = { source = "hashicorp/b" }
  }
  backend "local" {}
}
"#,
            ),
            (
                "override.tf",
                r#"
terraform {
  required_version = ">= 0.2"
  required_providers {
    a = { source = "example/a" }
  }
  backend "s3" {}
}
"#,
            ),
        ]);
        let s = &m.settings;
        assert_eq!(s.required_version.as_deref(), Some(">= 0.2"));
        assert_eq!(s.required_providers["a"].source, "example/a");
        assert_eq!(s.required_providers["a"].version, None);
        assert_eq!(s.required_providers["b"].source, "hashicorp/b");
        assert_eq!(s.backend.as_ref().map(|b| b.kind.as_str()), Some("s3"));
    }

    #[test]
    fn an_unaliased_provider_override_needs_no_base() {
        let (m, _) = load(&[
            (
                "main.tf",
                "provider \"aws\" {\n  alias = \"w\"\n  region = \"a\"\n}\n",
            ),
            (
                "override.tf",
                "provider \"aws\" {}\nprovider \"aws\" {\n  alias = \"w\"\n  region = \"b\"\n}\n",
            ),
        ]);
        let names: Vec<_> = m.providers.iter().map(|p| p.local_address()).collect();
        assert_eq!(names, ["aws.w", "aws"]);
    }

    #[test]
    fn override_file_names() {
        for name in [
            "override.tf",
            "a_override.tf",
            "override.tf.json",
            "x_override.tf.json",
        ] {
            assert!(super::is_override_file(name), "{name}");
        }
        for name in ["overrides.tf", "aoverride.tf", "override.hcl", "main.tf"] {
            assert!(!super::is_override_file(name), "{name}");
        }
    }
}
