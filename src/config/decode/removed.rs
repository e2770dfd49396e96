//! `removed` blocks (Terraform 1.7): a resource or module call that left the
//! configuration, and whether its objects are destroyed or only forgotten.

use super::Decoder;
use crate::addrs::Target;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};
use crate::lang::refs::ResourceMode;

impl Decoder<'_> {
    pub(super) fn decode_removed(&mut self, module: &mut Module, span: Span, body: Body) {
        let mut from = None;
        let mut from_written = false;
        for a in &body.attrs {
            match a.name.as_str() {
                "from" => {
                    from_written = true;
                    from = self.address(&a.expr, "from")
                }
                _ => self.unexpected_attr(a, &["from"]),
            }
        }
        let mut destroy = true;
        for b in &body.blocks {
            match b.kind.as_str() {
                "lifecycle" => {
                    for a in &b.body.attrs {
                        match a.name.as_str() {
                            "destroy" => {
                                destroy = self
                                    .const_of(&a.expr, &crate::lang::Constraint::Bool, "destroy")
                                    .and_then(|v| v.as_bool())
                                    .unwrap_or(true)
                            }
                            _ => self.unexpected_attr(a, &["destroy"]),
                        }
                    }
                    for inner in &b.body.blocks {
                        self.unexpected_block(inner);
                    }
                }
                // Terraform 1.9 runs destroy-time provisioners of removed resources;
                // plinth runs no provisioners.
                "provisioner" | "connection" => {}
                _ => self.unexpected_block(b),
            }
        }
        let Some((from, from_span)) = from else {
            if !from_written {
                self.diags.push(
                    Diagnostic::error("Missing required argument")
                        .detail("A removed block needs a \"from\" argument: the address of the resource or module call that was removed.")
                        .at(span),
                );
            }
            return;
        };
        let problem = match &from {
            Target::Instance(_) => Some("A removed block must name a whole resource, not one of its instances: Terraform removes every instance of the resource, so its address may not have an instance key."),
            Target::Module(m) if m.0.iter().any(|(_, k)| *k != crate::addrs::InstanceKey::None) => {
                Some("A removed block must name a whole module call, not one of its instances: the address may not have instance keys.")
            }
            Target::Resource(r) if r.module.0.iter().any(|(_, k)| *k != crate::addrs::InstanceKey::None) => {
                Some("The module path of a removed block's address may not have instance keys.")
            }
            Target::Resource(r) if r.resource.mode == ResourceMode::Data => {
                Some("Data sources are never in state for long, so they cannot be the target of a removed block; remove the data block instead.")
            }
            _ => None,
        };
        if let Some(detail) = problem {
            self.diags.push(
                Diagnostic::error("Invalid \"from\" address")
                    .detail(detail)
                    .at(from_span),
            );
            return;
        }
        module.removed.push(Removed {
            from,
            from_span,
            span,
            destroy,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load::root_and_errors as load;

    #[test]
    fn removed_blocks_forget_or_destroy() {
        let (m, errors) = load(
            r#"
removed {
  from = local_file.a
  lifecycle {
    destroy = false
  }
}
removed {
  from = module.old
  lifecycle {
    destroy = true
  }
}
removed {
  from = local_file.b
}
"#,
        );
        assert_eq!(errors, vec![]);
        let got: Vec<(String, bool)> = m
            .removed
            .iter()
            .map(|r| (r.from.to_string(), r.destroy))
            .collect();
        assert_eq!(
            got,
            vec![
                ("local_file.a".to_string(), false),
                ("module.old".to_string(), true),
                ("local_file.b".to_string(), true)
            ]
        );
    }

    #[test]
    fn load_time_errors_of_removed_blocks() {
        let cases: &[(&str, (&str, usize))] = &[
            ("removed {\n  from = local_file.a[0]\n}\n", ("Invalid \"from\" address", 2)),
            ("removed {\n  from = local_file.a[\"k\"]\n}\n", ("Invalid \"from\" address", 2)),
            ("removed {\n  from = module.m[1]\n}\n", ("Invalid \"from\" address", 2)),
            ("removed {\n  from = module.m[1].local_file.a\n}\n", ("Invalid \"from\" address", 2)),
            ("removed {\n  from = data.local_file.a\n}\n", ("Invalid \"from\" address", 2)),
            ("removed {\n  from = var.x\n}\n", ("Invalid \"from\" address", 2)),
            ("removed {\n}\n", ("Missing required argument", 1)),
            ("removed {\n  from = local_file.a\n  to = local_file.b\n}\n", ("Unsupported argument", 3)),
            (
                "removed {\n  from = local_file.a\n  lifecycle {\n    destroy = var.x\n  }\n}\n",
                ("Variables not allowed", 4),
            ),
            (
                "removed {\n  from = local_file.a\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n",
                ("Unsupported argument", 4),
            ),
            ("removed \"x\" {\n  from = local_file.a\n}\n", ("Extraneous label for block", 1)),
        ];
        for (text, (summary, line)) in cases {
            let (_, errors) = load(text);
            assert_eq!(errors, vec![(summary.to_string(), *line)], "{text}");
        }
    }
}
