//! Collection functions: chunklist, coalescelist, index, matchkeys, one, setintersection,
//! setproduct, setsubtract, setunion, slice, sort, transpose.

use std::collections::{BTreeMap, HashMap};

use super::{dynamic_ty, fixed, list_any, p, variadic, FnError, Function, Param};
use crate::lang::convert::{convert_to_type, unify};
use crate::lang::limits;
use crate::lang::types::{Constraint, Type};
use crate::lang::value::Value;

fn elems(v: &Value) -> Vec<Value> {
    v.peel()
        .0
        .elements()
        .map(|e| e.into_iter().cloned().collect())
        .unwrap_or_default()
}

fn elem_type(v: &Value) -> Type {
    match v.peel().0 {
        Value::List(t, _) | Value::Set(t, _) => t.clone(),
        _ => Type::Dynamic,
    }
}

fn int(args: &[Value], i: usize) -> Result<i64, FnError> {
    args[i]
        .as_number()
        .and_then(|n| n.to_i64())
        .ok_or_else(|| FnError::arg(i, "Invalid function argument: a whole number is required."))
}

fn chunklist(args: &[Value]) -> Result<Value, FnError> {
    let size = int(args, 1)?;
    if size < 0 {
        return Err(FnError::arg(
            1,
            "Invalid value for \"size\" parameter: the size argument must be positive.",
        ));
    }
    let list = elems(&args[0]);
    let t = elem_type(&args[0]);
    if size == 0 {
        return Ok(Value::List(
            Type::list(t.clone()),
            vec![Value::List(t, list)],
        ));
    }
    let chunks = list
        .chunks(size as usize)
        .map(|c| Value::List(t.clone(), c.to_vec()))
        .collect();
    Ok(Value::List(Type::list(t), chunks))
}

fn coalescelist(args: &[Value]) -> Result<Value, FnError> {
    for (i, a) in args.iter().enumerate() {
        match a.peel().0 {
            Value::List(_, e) | Value::Tuple(e) if !e.is_empty() => return Ok(a.clone()),
            Value::List(..) | Value::Tuple(..) => {}
            _ => {
                return Err(FnError::arg(
                    i,
                    "Invalid value for \"vals\" parameter: a list or tuple is required.",
                ))
            }
        }
    }
    Err(FnError::call(
        "Invalid function argument: no non-null arguments.",
    ))
}

fn same(a: &Value, b: &Value) -> bool {
    a.clone()
        .deep_unmark()
        .strict_equal(&b.clone().deep_unmark())
}

fn index(args: &[Value]) -> Result<Value, FnError> {
    let list = elems(&args[0]);
    match list.iter().position(|e| same(e, &args[1])) {
        Some(i) => Ok(Value::number(i)),
        None => Err(FnError::call("Invalid function argument: item not found.")),
    }
}

fn matchkeys(args: &[Value]) -> Result<Value, FnError> {
    let (values, keys, search) = (elems(&args[0]), elems(&args[1]), elems(&args[2]));
    if values.len() != keys.len() {
        return Err(FnError::call(
            "Invalid function argument: length of keys and values should be equal.",
        ));
    }
    let picked: Vec<Value> = values
        .into_iter()
        .zip(keys)
        .filter(|(_, k)| search.iter().any(|s| same(s, k)))
        .map(|(v, _)| v)
        .collect();
    Ok(Value::List(elem_type(&args[0]), picked))
}

fn one(args: &[Value]) -> Result<Value, FnError> {
    let list = elems(&args[0]);
    match list.len() {
        0 => Ok(Value::Null(elem_type(&args[0]))),
        1 => Ok(list[0].clone()),
        _ => Err(FnError::arg(
            0,
            "Invalid function argument: must be a list, set, or tuple value with either zero or one elements.",
        )),
    }
}

/// The sets among `args`, converted to one element type.
fn sets(args: &[Value]) -> Result<(Type, Vec<Vec<Value>>), FnError> {
    let all: Vec<Vec<Value>> = args.iter().map(elems).collect();
    let types: Vec<Type> = args
        .iter()
        .map(elem_type)
        .chain(all.iter().flatten().map(Value::ty))
        .filter(|t| *t != Type::Dynamic)
        .collect();
    let t = if types.is_empty() {
        Type::Dynamic
    } else {
        unify(&types).ok_or_else(|| {
            FnError::call(
                "Invalid function argument: given sets must all have compatible element types.",
            )
        })?
    };
    let converted = all
        .into_iter()
        .map(|s| {
            s.into_iter()
                .map(|v| convert_to_type(v, &t).map_err(|e| FnError::call(e.to_string())))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((t, converted))
}

fn setunion(args: &[Value]) -> Result<Value, FnError> {
    let (t, all) = sets(args)?;
    Ok(Value::set(t.clone(), all.into_iter().flatten().collect()))
}

fn setintersection(args: &[Value]) -> Result<Value, FnError> {
    let (t, all) = sets(args)?;
    let mut it = all.into_iter();
    let first = it.next().unwrap_or_default();
    let rest: Vec<Vec<Value>> = it.collect();
    let kept = first
        .into_iter()
        .filter(|v| rest.iter().all(|s| s.iter().any(|x| same(x, v))))
        .collect();
    Ok(Value::set(t, kept))
}

fn setsubtract(args: &[Value]) -> Result<Value, FnError> {
    let (t, all) = sets(args)?;
    let (a, b) = (&all[0], &all[1]);
    let kept = a
        .iter()
        .filter(|v| !b.iter().any(|x| same(x, v)))
        .cloned()
        .collect();
    Ok(Value::set(t, kept))
}

fn setproduct(args: &[Value]) -> Result<Value, FnError> {
    if args.len() < 2 {
        return Err(FnError::call(
            "Invalid function argument: at least two arguments are required.",
        ));
    }
    let all: Vec<Vec<Value>> = args.iter().map(elems).collect();
    let rows_count = all
        .iter()
        .fold(1usize, |n, set| n.saturating_mul(set.len()));
    FnError::bound(limits::product(
        rows_count,
        (all.len() + 1) * limits::ELEMENT_BYTES,
    ))?;
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for set in &all {
        let mut next = Vec::new();
        for row in &rows {
            for v in set {
                let mut r = row.clone();
                r.push(v.clone());
                next.push(r);
            }
        }
        rows = next;
    }
    let all_lists = args.iter().all(|a| matches!(a.peel().0, Value::List(..)));
    let any_set = args.iter().any(|a| matches!(a.peel().0, Value::Set(..)));
    let types: Vec<Type> = args.iter().map(elem_type).collect();
    let tuples: Vec<Value> = rows.into_iter().map(Value::Tuple).collect();
    let ty = Type::Tuple(types);
    Ok(if any_set {
        Value::set(ty, tuples)
    } else if all_lists {
        Value::List(ty, tuples)
    } else {
        Value::Tuple(tuples)
    })
}

fn slice(args: &[Value]) -> Result<Value, FnError> {
    let list = elems(&args[0]);
    let (start, end) = (int(args, 1)?, int(args, 2)?);
    if start < 0 {
        return Err(FnError::arg(
            1,
            "Invalid value for \"start_index\" parameter: must be greater than or equal to 0.",
        ));
    }
    if end as usize > list.len() {
        return Err(FnError::arg(2, "Invalid value for \"end_index\" parameter: must be less than or equal to the length of the list."));
    }
    if start > end {
        return Err(FnError::call(
            "Invalid function argument: start index must be less than or equal to end index.",
        ));
    }
    let part = list[start as usize..end as usize].to_vec();
    Ok(match args[0].peel().0 {
        Value::Tuple(_) => Value::Tuple(part),
        _ => Value::List(elem_type(&args[0]), part),
    })
}

fn sort(args: &[Value]) -> Result<Value, FnError> {
    let mut strings = Vec::new();
    for e in elems(&args[0]) {
        match e {
            Value::String(s) => strings.push(s),
            Value::Null(_) => {
                return Err(FnError::arg(0, "Invalid value for \"list\" parameter: given list element 0 is null; a null list element cannot be sorted."))
            }
            _ => return Ok(Value::Unknown(Type::list(Type::String))),
        }
    }
    strings.sort();
    Ok(Value::List(
        Type::String,
        strings.into_iter().map(Value::String).collect(),
    ))
}

fn transpose(args: &[Value]) -> Result<Value, FnError> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    if let Value::Map(_, m) | Value::Object(m) = args[0].peel().0 {
        for (k, list) in m {
            for v in elems(list) {
                let Value::String(s) = v else {
                    return Err(FnError::arg(0, "Invalid value for \"values\" parameter: a map of lists of strings is required."));
                };
                out.entry(s).or_default().push(Value::String(k.clone()));
            }
        }
    }
    Ok(Value::Map(
        Type::list(Type::String),
        out.into_iter()
            .map(|(k, v)| (k, Value::List(Type::String, v)))
            .collect(),
    ))
}

fn set_of(_: &[Value]) -> Type {
    Type::set(Type::Dynamic)
}

fn list_of(_: &[Value]) -> Type {
    Type::list(Type::Dynamic)
}

fn number(_: &[Value]) -> Type {
    Type::Number
}

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    let any = || Constraint::Any;
    let set_any = || Constraint::Set(Box::new(Constraint::Any));
    t.insert(
        "chunklist",
        fixed(
            [p("list", list_any()), p("size", Constraint::Number)],
            list_of,
            chunklist,
        ),
    );
    t.insert(
        "coalescelist",
        variadic(Vec::new(), p("vals", any()), dynamic_ty, coalescelist),
    );
    t.insert(
        "index",
        fixed([p("list", any()), p("value", any())], number, index),
    );
    t.insert(
        "matchkeys",
        fixed(
            [
                p("values", list_any()),
                p("keys", list_any()),
                p("searchset", list_any()),
            ],
            list_of,
            matchkeys,
        ),
    );
    t.insert(
        "one",
        fixed(
            [Param {
                name: "list",
                ty: any(),
                allow_unknown: false,
                allow_null: false,
            }],
            dynamic_ty,
            one,
        ),
    );
    t.insert(
        "setunion",
        variadic(
            vec![p("first_set", set_any())],
            p("other_sets", set_any()),
            set_of,
            setunion,
        ),
    );
    t.insert(
        "setintersection",
        variadic(
            vec![p("first_set", set_any())],
            p("other_sets", set_any()),
            set_of,
            setintersection,
        ),
    );
    t.insert(
        "setsubtract",
        fixed([p("a", set_any()), p("b", set_any())], set_of, setsubtract),
    );
    t.insert(
        "setproduct",
        variadic(Vec::new(), p("sets", any()), dynamic_ty, setproduct),
    );
    t.insert(
        "slice",
        fixed(
            [
                p("list", any()),
                p("start_index", Constraint::Number),
                p("end_index", Constraint::Number),
            ],
            dynamic_ty,
            slice,
        ),
    );
    t.insert(
        "sort",
        fixed(
            [p("list", Constraint::List(Box::new(Constraint::String)))],
            list_of,
            sort,
        ),
    );
    t.insert(
        "transpose",
        fixed(
            [p(
                "values",
                Constraint::Map(Box::new(Constraint::List(Box::new(Constraint::String)))),
            )],
            dynamic_ty,
            transpose,
        ),
    );
}
