//! sensitive and nonsensitive: the two functions that see sensitive marks and decide
//! the result's marks themselves.

use std::collections::HashMap;

use super::{dynamic_ty, FnError, Function, Param};
use crate::lang::types::Constraint;

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert(
        "sensitive",
        Function {
            params: vec![Param {
                name: "value",
                ty: Constraint::Any,
                allow_unknown: true,
                allow_null: true,
            }],
            variadic: None,
            returns: dynamic_ty,
            handles_marks: true,
            body: |a| Ok(a[0].clone().sensitive()),
        },
    );
    t.insert(
        "nonsensitive",
        Function {
            params: vec![Param { name: "value", ty: Constraint::Any, allow_unknown: true, allow_null: true }],
            variadic: None,
            returns: dynamic_ty,
            handles_marks: true,
            body: |a| {
                if !a[0].is_sensitive() {
                    return Err(FnError::arg(0, "Invalid function argument: the given value is not sensitive, so this call is redundant."));
                }
                Ok(a[0].clone().unmark().0)
            },
        },
    );
}
