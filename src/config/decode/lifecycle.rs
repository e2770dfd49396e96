//! A resource's `lifecycle` block: create_before_destroy, prevent_destroy,
//! ignore_changes, replace_triggered_by, preconditions and postconditions.

use hcl_edit::expr::Expression;

use super::Decoder;
use crate::config::model::*;
use crate::diag::Diagnostic;

impl Decoder<'_> {
    pub(super) fn decode_lifecycle(&mut self, block: &NestedBlock, lc: &mut Lifecycle) {
        for a in &block.body.attrs {
            match a.name.as_str() {
                "create_before_destroy" => lc.create_before_destroy = self.const_bool(&a.expr, "create_before_destroy"),
                "prevent_destroy" => lc.prevent_destroy = self.const_bool(&a.expr, "prevent_destroy"),
                "ignore_changes" => match &a.expr.expr {
                    Expression::Variable(v) if v.as_str() == "all" => lc.ignore_all_changes = true,
                    Expression::Array(items) => {
                        for item in items.iter() {
                            if let Expression::String(s) = item {
                                if s.value() == "*" {
                                    self.diags.push(
                                        Diagnostic::error("Invalid ignore_changes wildcard")
                                            .detail("The [\"*\"] form of ignore_changes wildcard is was deprecated and is now invalid. Use \"ignore_changes = all\" to ignore changes to all attributes.")
                                            .at_opt(a.expr.span()),
                                    );
                                    continue;
                                }
                            }
                            let expr = self.unquoted(item, a.expr.file).unwrap_or_else(|| item.clone());
                            lc.ignore_changes.push(Expr { file: a.expr.file, expr });
                        }
                    }
                    _ => self.diags.push(
                        Diagnostic::error("Invalid ignore_changes value")
                            .detail("ignore_changes must be a list of attribute references, or the keyword all.")
                            .at_opt(a.expr.span()),
                    ),
                },
                "replace_triggered_by" => match &a.expr.expr {
                    Expression::Array(items) => {
                        for item in items.iter() {
                            lc.replace_triggered_by.push(Expr { file: a.expr.file, expr: item.clone() });
                        }
                    }
                    _ => self.diags.push(
                        Diagnostic::error("Invalid replace_triggered_by value")
                            .detail("replace_triggered_by must be a list of references to resources or their attributes.")
                            .at_opt(a.expr.span()),
                    ),
                },
                _ => self.unexpected_attr(a, &["create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"]),
            }
        }
        for b in &block.body.blocks {
            match b.kind.as_str() {
                "precondition" => {
                    if let Some(c) = self.decode_checks(b) {
                        lc.preconditions.push(c);
                    }
                }
                "postcondition" => {
                    if let Some(c) = self.decode_checks(b) {
                        lc.postconditions.push(c);
                    }
                }
                _ => self.unexpected_block(b),
            }
        }
    }
}
