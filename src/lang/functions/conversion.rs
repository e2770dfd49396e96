//! Type conversion functions: tostring, tonumber, tobool, tolist, toset, tomap. The
//! call mechanism converts the argument to the parameter's type; the body returns it.

use std::collections::HashMap;

use super::{bool_ty, fixed, list_any, number_ty, p, string_ty, Function, Param};
use crate::lang::types::Constraint;

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert(
        "tostring",
        fixed(
            [Param {
                allow_null: true,
                ..p("v", Constraint::String)
            }],
            string_ty,
            |a| Ok(a[0].clone()),
        ),
    );
    t.insert(
        "tonumber",
        fixed(
            [Param {
                allow_null: true,
                ..p("v", Constraint::Number)
            }],
            number_ty,
            |a| Ok(a[0].clone()),
        ),
    );
    t.insert(
        "tobool",
        fixed(
            [Param {
                allow_null: true,
                ..p("v", Constraint::Bool)
            }],
            bool_ty,
            |a| Ok(a[0].clone()),
        ),
    );
    t.insert(
        "tolist",
        fixed([p("v", list_any())], |a| a[0].ty(), |a| Ok(a[0].clone())),
    );
    t.insert(
        "toset",
        fixed(
            [p("v", Constraint::Set(Box::new(Constraint::Any)))],
            |a| a[0].ty(),
            |a| Ok(a[0].clone()),
        ),
    );
    t.insert(
        "tomap",
        fixed(
            [p("v", Constraint::Map(Box::new(Constraint::Any)))],
            |a| a[0].ty(),
            |a| Ok(a[0].clone()),
        ),
    );
}
