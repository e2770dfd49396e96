//! A resource's `lifecycle` block: create_before_destroy, prevent_destroy,
//! ignore_changes, replace_triggered_by, preconditions and postconditions. A data
//! resource's lifecycle holds only the conditions; no condition may refer to the
//! resource it belongs to (`self` stands for it in a postcondition).

use hcl_edit::expr::Expression;

use super::Decoder;
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};
use crate::lang::refs::{walk_references, ResourceMode, Subject};

impl Decoder<'_> {
    /// `owner` is the resource the block belongs to (a `Subject::Resource`).
    pub(super) fn decode_lifecycle(
        &mut self,
        block: &NestedBlock,
        lc: &mut Lifecycle,
        owner: &Subject,
    ) {
        let data = matches!(
            owner,
            Subject::Resource {
                mode: ResourceMode::Data,
                ..
            }
        );
        for a in &block.body.attrs {
            if data {
                self.diags.push(
                    Diagnostic::error("Invalid data resource lifecycle argument")
                        .detail(format!("The lifecycle argument {:?} is defined only for managed resources (\"resource\" blocks), and is not valid for data resources.", a.name))
                        .at(a.name_span),
                );
                continue;
            }
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
                            let item = Expr { file: a.expr.file, expr: item.clone() };
                            if self.check_replace_trigger(&item) {
                                lc.replace_triggered_by.push(item);
                            }
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
                        self.check_no_self_reference(&c, "precondition", owner);
                        lc.preconditions.push(c);
                    }
                }
                "postcondition" => {
                    if let Some(c) = self.decode_checks(b) {
                        self.check_no_self_reference(&c, "postcondition", owner);
                        lc.postconditions.push(c);
                    }
                }
                _ => self.unexpected_block(b),
            }
        }
    }

    /// One `replace_triggered_by` entry, as Terraform checks it: exactly one resource
    /// reference, and besides it only `count.index` and `each.key`. True when valid.
    fn check_replace_trigger(&mut self, item: &Expr) -> bool {
        let span = item.span().unwrap_or(Span::new(item.file, 0..0));
        let mut problems = Vec::new();
        let mut resources = 0;
        walk_references(&item.expr, item.file, &mut Vec::new(), &mut |r, _| {
            match r {
            Err(d) => problems.push(d),
            Ok(r) => match r.subject {
                Subject::Resource { .. } => resources += 1,
                Subject::EachKey | Subject::CountIndex => {}
                Subject::EachValue => problems.push(
                    Diagnostic::error("Invalid each reference in replace_triggered_by expression")
                        .detail("Only each.key may be used in replace_triggered_by.")
                        .at(r.span),
                ),
                _ => problems.push(
                    Diagnostic::error("Invalid reference in replace_triggered_by expression")
                        .detail("Only resources, count.index, and each.key may be used in replace_triggered_by.")
                        .at(r.span),
                ),
            },
        }
        });
        let count_problem = match resources {
            1 => None,
            0 => Some("Missing resource reference in replace_triggered_by expression."),
            _ => Some("Multiple resource references in replace_triggered_by expression."),
        };
        if let Some(detail) = count_problem {
            problems.push(
                Diagnostic::error("Invalid replace_triggered_by expression")
                    .detail(detail)
                    .at(span),
            );
        }
        let valid = problems.is_empty();
        self.diags.items.extend(problems);
        valid
    }

    /// A condition of a resource's lifecycle that names the resource itself.
    fn check_no_self_reference(&mut self, check: &Check, kind: &str, owner: &Subject) {
        for expr in [&check.condition, &check.error_message] {
            let mut found = None;
            walk_references(&expr.expr, expr.file, &mut Vec::new(), &mut |r, _| {
                if let Ok(r) = r {
                    if &r.subject == owner && found.is_none() {
                        found = Some(r.span);
                    }
                }
            });
            if let Some(span) = found {
                self.diags.push(
                    Diagnostic::error(format!("Invalid reference in {kind}"))
                        .detail(format!(
                            "Configuration for {owner} may not refer to itself."
                        ))
                        .at(span),
                );
            }
        }
    }
}
