//! `check` blocks (Terraform 1.5): one or more `assert` blocks and at most one scoped
//! `data` block, which is decoded as a data source of the module marked with the
//! check's name.

use super::{valid_identifier, Decoder};
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};
use crate::lang::refs::ResourceMode;

impl Decoder<'_> {
    pub(super) fn decode_check_block(
        &mut self,
        module: &mut Module,
        name: String,
        span: Span,
        body: Body,
    ) {
        for a in &body.attrs {
            self.unexpected_attr(a, &[]);
        }
        let mut asserts = Vec::new();
        let mut data: Option<Span> = None;
        for block in body.blocks {
            match block.kind.as_str() {
                "assert" => {
                    if let Some(c) = self.decode_checks(&block) {
                        asserts.push(c);
                    }
                }
                "data" => {
                    if let Some(first) = data {
                        self.diags.push(
                            Diagnostic::error("Multiple data resource blocks")
                                .detail(format!(
                                    "This check block already has a data resource defined at {}.",
                                    self.sources.location(first)
                                ))
                                .at(block.span)
                                .label(first, "first data block"),
                        );
                        continue;
                    }
                    data = Some(block.span);
                    self.decode_scoped_data(module, &name, block);
                }
                _ => self.diags.push(
                    Diagnostic::error("Unsupported block type")
                        .detail(format!(
                            "Blocks of type {:?} are not expected in a check block; only \"assert\" and \"data\" blocks are.",
                            block.kind
                        ))
                        .at(block.span),
                ),
            }
        }
        if asserts.is_empty() && !self.diags.has_errors() {
            self.diags.push(
                Diagnostic::error("Zero assert blocks")
                    .detail("Check blocks must have at least one assert block.")
                    .at(span),
            );
        }
        module.checks.push(CheckBlock {
            name,
            span,
            asserts,
        });
    }

    fn decode_scoped_data(&mut self, module: &mut Module, check: &str, block: NestedBlock) {
        let [type_name, name] = block.labels.as_slice() else {
            self.diags.push(
                Diagnostic::error("Missing name for block")
                    .detail(format!(
                        "A data block expects a type and a name (2 labels), but has {}.",
                        block.labels.len()
                    ))
                    .at(block.span),
            );
            return;
        };
        if let Some(bad) = [type_name, name].into_iter().find(|l| !valid_identifier(l)) {
            self.diags.push(
                Diagnostic::error("Invalid name")
                    .detail(format!("{bad:?} is not a valid name: a name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes."))
                    .at(block.span),
            );
            return;
        }
        for a in &block.body.attrs {
            if matches!(a.name.as_str(), "count" | "for_each") {
                self.diags.push(
                    Diagnostic::error("Invalid meta-argument")
                        .detail(format!(
                            "A data source scoped to a check block cannot use {:?}: check \"{check}\" reads it once.",
                            a.name
                        ))
                        .at(a.name_span),
                );
            }
        }
        let before = module.resources.len();
        let (type_name, name) = (type_name.clone(), name.clone());
        self.decode_resource(
            module,
            ResourceMode::Data,
            type_name,
            name,
            block.span,
            block.body,
        );
        if let Some(r) = module.resources.get_mut(before) {
            r.count = None;
            r.for_each = None;
            r.check = Some(check.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load::root_and_errors as load;

    #[test]
    fn a_check_holds_its_assertions_and_marks_its_scoped_data_source() {
        let (m, errors) = load(
            r#"
check "health" {
  data "local_file" "page" {
    filename = "index.html"
  }
  assert {
    condition     = data.local_file.page.content != ""
    error_message = "empty page"
  }
  assert {
    condition     = true
    error_message = "never"
  }
}
"#,
        );
        assert_eq!(errors, vec![]);
        assert_eq!(m.checks.len(), 1);
        assert_eq!(m.checks[0].name, "health");
        assert_eq!(m.checks[0].asserts.len(), 2);
        assert_eq!(m.resources.len(), 1);
        assert_eq!(m.resources[0].address(), "data.local_file.page");
        assert_eq!(m.resources[0].check.as_deref(), Some("health"));
    }

    #[test]
    fn load_time_errors_of_check_blocks() {
        let cases: &[(&str, &[(&str, usize)])] = &[
            (
                "check \"a\" {\n  assert {\n    condition = true\n  }\n}\n",
                &[("Missing required argument", 2)],
            ),
            (
                "check \"a\" {\n  assert {\n    error_message = \"x\"\n  }\n}\n",
                &[("Missing required argument", 2)],
            ),
            (
                "check \"a\" {\n  data \"x\" \"y\" {}\n}\n",
                &[("Zero assert blocks", 1)],
            ),
            (
                "check \"a\" {\n  resource \"x\" \"y\" {}\n  assert {\n    condition = true\n    error_message = \"m\"\n  }\n}\n",
                &[("Unsupported block type", 2)],
            ),
            (
                "check \"a\" {\n  data \"x\" \"y\" {}\n  data \"x\" \"z\" {}\n  assert {\n    condition = true\n    error_message = \"m\"\n  }\n}\n",
                &[("Multiple data resource blocks", 3)],
            ),
            (
                "check \"a\" {\n  data \"x\" \"y\" {\n    count = 2\n  }\n  assert {\n    condition = true\n    error_message = \"m\"\n  }\n}\n",
                &[("Invalid meta-argument", 3)],
            ),
            (
                "check \"a\" {\n  assert {\n    condition = true\n    error_message = \"m\"\n  }\n}\ncheck \"a\" {\n  assert {\n    condition = true\n    error_message = \"m\"\n  }\n}\n",
                &[("Duplicate check block", 7)],
            ),
            (
                "check {\n  assert {\n    condition = true\n    error_message = \"m\"\n  }\n}\n",
                &[("Missing name for block", 1)],
            ),
            (
                "check \"a\" {\n  x = 1\n  assert {\n    condition = true\n    error_message = \"m\"\n  }\n}\n",
                &[("Unsupported argument", 2)],
            ),
        ];
        for (text, want) in cases {
            let (_, errors) = load(text);
            let want: Vec<(String, usize)> =
                want.iter().map(|(s, l)| (s.to_string(), *l)).collect();
            assert_eq!(errors, want, "{text}");
        }
    }

    #[test]
    fn check_and_removed_blocks_in_json_syntax() {
        let dir = tempfile::tempdir().expect("temp dir");
        let text = r#"{
  "check": {
    "health": {
      "data": { "local_file": { "page": { "filename": "index.html" } } },
      "assert": [
        { "condition": "${length(data.local_file.page.content) > 0}", "error_message": "empty" }
      ]
    }
  },
  "removed": [
    { "from": "local_file.old", "lifecycle": { "destroy": false } }
  ]
}"#;
        std::fs::write(dir.path().join("main.tf.json"), text).expect("write");
        let mut sources = crate::diag::Sources::default();
        let (mut config, diags) = crate::config::load::load_stack(dir.path(), &mut sources);
        assert!(!diags.has_errors(), "{diags:#?}");
        let m = config.modules.swap_remove(0);
        assert_eq!(m.checks.len(), 1);
        assert_eq!(m.checks[0].asserts.len(), 1);
        assert_eq!(m.resources[0].address(), "data.local_file.page");
        assert_eq!(m.resources[0].check.as_deref(), Some("health"));
        assert_eq!(m.removed.len(), 1);
        assert_eq!(m.removed[0].from.to_string(), "local_file.old");
        assert!(!m.removed[0].destroy);
    }
}
