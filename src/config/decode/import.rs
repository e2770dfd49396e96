//! `import` blocks: the `to` address, the `id` expression, an optional provider and
//! an optional `for_each`, whose `to` names each instance with an index expression
//! of `each.key` or `each.value` (`aws_s3_bucket.b[each.key]`).

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::Span as _;

use super::Decoder;
use crate::addrs::{InstanceKey, ResourceInstance, Target};
use crate::config::model::*;
use crate::diag::{Diagnostic, Span};
use crate::lang::refs::{walk_references, ResourceMode, Subject};

impl Decoder<'_> {
    pub(super) fn decode_import(&mut self, module: &mut Module, span: Span, body: Body) {
        let mut to = None;
        let mut id = None;
        let mut provider = None;
        let mut for_each = None;
        for a in &body.attrs {
            match a.name.as_str() {
                "to" => to = Some(a.expr.clone()),
                "id" => id = Some(a.expr.clone()),
                "provider" => provider = self.provider_ref(&a.expr),
                "for_each" => for_each = Some(a.expr.clone()),
                _ => self.unexpected_attr(a, &["to", "id", "provider", "for_each"]),
            }
        }
        let (Some(to_expr), Some(id)) = (to, id) else {
            self.diags.push(
                Diagnostic::error("Missing required argument")
                    .detail("An import block needs both \"to\" and \"id\".")
                    .at(span),
            );
            return;
        };
        let target = match &for_each {
            None => self
                .static_import_target(&to_expr)
                .map(|(to, s)| (to, s, None)),
            Some(_) => self.repeated_import_target(&to_expr),
        };
        let Some((to, to_span, to_key)) = target else {
            return;
        };
        if to.resource.mode == ResourceMode::Data {
            self.diags.push(
                Diagnostic::error("Invalid import address")
                    .detail("Only managed resources can be imported.")
                    .at(to_span),
            );
            return;
        }
        module.imports.push(Import {
            to,
            to_span,
            for_each,
            to_key,
            id,
            provider,
        });
    }

    fn static_import_target(&mut self, expr: &Expr) -> Option<(ResourceInstance, Span)> {
        let (target, span) = self.address(expr, "to")?;
        let instance = match target {
            Target::Resource(r) => r.instance(InstanceKey::None),
            Target::Instance(i) => i,
            Target::Module(_) => {
                self.diags.push(
                    Diagnostic::error("Invalid \"to\" address")
                        .detail("An import block's \"to\" is a resource instance, such as aws_instance.gpu or aws_instance.gpu[0].")
                        .at(span),
                );
                return None;
            }
        };
        Some((instance, span))
    }

    /// `to` of an import with `for_each`: a resource address followed by one index
    /// whose expression may use only `each.key` and `each.value`.
    fn repeated_import_target(
        &mut self,
        expr: &Expr,
    ) -> Option<(ResourceInstance, Span, Option<Expr>)> {
        let span = expr.span().unwrap_or(Span::new(expr.file, 0..0));
        let keyed = match &expr.expr {
            Expression::Traversal(t) => match t.operators.last().map(|op| op.value()) {
                Some(TraversalOperator::Index(key)) => {
                    let before = t.operators.len().checked_sub(2);
                    let prefix_end = match before {
                        Some(i) => t.operators[i].span().map(|r| r.end),
                        None => t.expr.span().map(|r| r.end),
                    };
                    prefix_end.map(|end| (Span::new(expr.file, span.start as usize..end), key))
                }
                _ => None,
            },
            _ => None,
        };
        let Some((prefix, key)) = keyed else {
            self.diags.push(
                Diagnostic::error("Invalid import address")
                    .detail("An import block with for_each imports one instance for each element, so \"to\" must end with an instance key that uses each.key or each.value, such as aws_s3_bucket.b[each.key].")
                    .at(span),
            );
            return None;
        };
        let resource = match Target::parse(self.sources.text(prefix)) {
            Ok(Target::Resource(r)) => r,
            _ => {
                self.diags.push(
                    Diagnostic::error("Invalid import address")
                        .detail("\"to\" must be the address of a managed resource followed by an instance key, such as aws_s3_bucket.b[each.key].")
                        .at(span),
                );
                return None;
            }
        };
        let key = Expr {
            file: expr.file,
            expr: key.clone(),
        };
        let mut bad = None;
        walk_references(&key.expr, key.file, &mut Vec::new(), &mut |r, _| {
            let span = match r {
                Ok(r) if matches!(r.subject, Subject::EachKey | Subject::EachValue) => return,
                Ok(r) => r.span,
                Err(d) => d.span.unwrap_or(span),
            };
            bad.get_or_insert(span);
        });
        if let Some(at) = bad {
            self.diags.push(
                Diagnostic::error("Invalid import address")
                    .detail("Only \"each.key\" and \"each.value\" can be used in import address index expressions.")
                    .at(at),
            );
            return None;
        }
        Some((resource.instance(InstanceKey::None), span, Some(key)))
    }
}
