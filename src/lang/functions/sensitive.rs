//! sensitive, nonsensitive and issensitive (Terraform 1.8): the functions that see
//! sensitive marks and decide the result's marks themselves.

use std::collections::HashMap;

use super::{bool_ty, dynamic_ty, Function, Param};
use crate::lang::types::{Constraint, Type};
use crate::lang::value::Value;

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
            params: vec![Param {
                name: "value",
                ty: Constraint::Any,
                allow_unknown: true,
                allow_null: true,
            }],
            variadic: None,
            returns: dynamic_ty,
            handles_marks: true,
            // A value that is not sensitive comes back as it is: Terraform 1.7 (and
            // OpenTofu 1.6) no longer call that redundant use an error.
            body: |a| Ok(a[0].clone().unmark().0),
        },
    );
    // Whether the value itself is marked; an unknown value that is not marked may
    // still turn out sensitive, so the answer is unknown.
    t.insert(
        "issensitive",
        Function {
            params: vec![Param {
                name: "value",
                ty: Constraint::Any,
                allow_unknown: true,
                allow_null: true,
            }],
            variadic: None,
            returns: bool_ty,
            handles_marks: true,
            body: |a| {
                Ok(if a[0].is_sensitive() {
                    Value::Bool(true)
                } else if !a[0].is_known() {
                    Value::Unknown(Type::Bool)
                } else {
                    Value::Bool(false)
                })
            },
        },
    );
}
