//! Condition blocks (`validation`, `precondition`, `postcondition`): a `condition` and
//! an `error_message`.

use super::Decoder;
use crate::config::model::*;
use crate::diag::Diagnostic;

impl Decoder<'_> {
    pub(super) fn decode_checks(&mut self, block: &NestedBlock) -> Option<Check> {
        let mut condition = None;
        let mut message = None;
        for a in &block.body.attrs {
            match a.name.as_str() {
                "condition" => condition = Some(a.expr.clone()),
                "error_message" => message = Some(a.expr.clone()),
                _ => self.unexpected_attr(a, &["condition", "error_message"]),
            }
        }
        match (condition, message) {
            (Some(condition), Some(error_message)) => Some(Check {
                condition,
                error_message,
            }),
            (c, _) => {
                let missing = if c.is_none() {
                    "condition"
                } else {
                    "error_message"
                };
                self.diags.push(
                    Diagnostic::error("Missing required argument")
                        .detail(format!(
                            "The argument {missing:?} is required in a {} block.",
                            block.kind
                        ))
                        .at(block.span),
                );
                None
            }
        }
    }
}
