//! Collection functions: alltrue, anytrue, chunklist, coalesce, coalescelist, compact,
//! concat, contains, distinct, element, flatten, index, keys, length, lookup, matchkeys,
//! merge, one, range, reverse, setintersection, setproduct, setsubtract, setunion, slice,
//! sort, sum, transpose, values, zipmap.

use std::collections::{BTreeMap, HashMap};

use super::{
    bool_ty, dynamic_ty, fixed, list_any, number_ty, p, str_arg, unknown_ok, variadic, FnError,
    Function, Param,
};
use crate::lang::convert::{convert, convert_to_type, unify};
use crate::lang::limits;
use crate::lang::number::Number;
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

fn length(args: &[Value]) -> Result<Value, FnError> {
    let (v, _) = args[0].peel();
    match v {
        Value::Unknown(_) => Ok(Value::Unknown(Type::Number)),
        Value::String(s) => Ok(Value::number(
            unicode_segmentation::UnicodeSegmentation::graphemes(s.as_str(), true).count(),
        )),
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => Ok(Value::number(e.len())),
        Value::Map(_, m) | Value::Object(m) => Ok(Value::number(m.len())),
        _ => Err(FnError::arg(
            0,
            "Invalid value for \"value\" parameter: collection or structural type is required.",
        )),
    }
}

fn keys(args: &[Value]) -> Result<Value, FnError> {
    match args[0].peel().0 {
        Value::Map(_, m) => Ok(Value::List(
            Type::String,
            m.keys().cloned().map(Value::String).collect(),
        )),
        Value::Object(m) => Ok(Value::Tuple(m.keys().cloned().map(Value::String).collect())),
        Value::Unknown(_) => Ok(Value::Unknown(Type::list(Type::String))),
        _ => Err(FnError::arg(
            0,
            "Invalid value for \"inputMap\" parameter: must have map or object type.",
        )),
    }
}

fn values(args: &[Value]) -> Result<Value, FnError> {
    match args[0].peel().0 {
        Value::Map(t, m) => Ok(Value::List(t.clone(), m.values().cloned().collect())),
        Value::Object(m) => Ok(Value::Tuple(m.values().cloned().collect())),
        _ => Err(FnError::arg(
            0,
            "Invalid value for \"mapping\" parameter: must have map or object type.",
        )),
    }
}

fn concat(args: &[Value]) -> Result<Value, FnError> {
    let bound = limits::max_value_bytes();
    let bytes = args.iter().fold(0usize, |n, a| {
        n.saturating_add(limits::size_capped(a, bound))
    });
    FnError::bound(bytes)?;
    let mut out = Vec::new();
    let mut all_lists = true;
    for (i, a) in args.iter().enumerate() {
        match a.peel().0 {
            Value::List(_, e) | Value::Set(_, e) => out.extend(e.iter().cloned()),
            Value::Tuple(e) => {
                all_lists = false;
                out.extend(e.iter().cloned())
            }
            _ => {
                return Err(FnError::arg(
                    i,
                    "Invalid value for \"seqs\" parameter: all arguments must be lists or tuples.",
                ))
            }
        }
    }
    if all_lists {
        let types: Vec<Type> = out.iter().map(Value::ty).collect();
        if let Some(t) = unify(&types) {
            let elems = out
                .into_iter()
                .map(|v| convert_to_type(v, &t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| FnError::call(e.to_string()))?;
            return Ok(Value::List(t, elems));
        }
    }
    Ok(Value::Tuple(out))
}

fn merge(args: &[Value]) -> Result<Value, FnError> {
    let mut out = BTreeMap::new();
    let mut all_maps = true;
    for (i, a) in args.iter().enumerate() {
        match a.peel().0 {
            Value::Null(_) => {}
            Value::Map(_, m) => out.extend(m.clone()),
            Value::Object(m) => {
                all_maps = false;
                out.extend(m.clone())
            }
            _ => {
                return Err(FnError::arg(
                    i,
                    "Invalid value for \"maps\" parameter: arguments must be maps or objects.",
                ))
            }
        }
    }
    if all_maps {
        let types: Vec<Type> = out.values().map(Value::ty).collect();
        if let Some(t) = unify(&types) {
            return Ok(Value::Map(t, out));
        }
    }
    Ok(Value::Object(out))
}

fn lookup(args: &[Value]) -> Result<Value, FnError> {
    let key = str_arg(args, 1);
    let found = match args[0].peel().0 {
        Value::Map(_, m) | Value::Object(m) => m.get(key).cloned(),
        _ => {
            return Err(FnError::arg(
                0,
                "Invalid value for \"inputMap\" parameter: must have map or object type.",
            ))
        }
    };
    match (found, args.get(2)) {
        (Some(v), _) => Ok(v),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(FnError::arg(
            1,
            format!("Invalid function argument: the given key {key:?} does not exist in the map."),
        )),
    }
}

fn element(args: &[Value]) -> Result<Value, FnError> {
    let list = args[0].elements().unwrap_or_default();
    if list.is_empty() {
        return Err(FnError::arg(
            0,
            "Invalid function argument: cannot use element function with an empty list.",
        ));
    }
    let index = args[1]
        .as_number()
        .and_then(Number::to_i64)
        .ok_or_else(|| {
            FnError::arg(
                1,
                "Invalid function argument: index must be a whole number.",
            )
        })?;
    if index < 0 {
        return Err(FnError::arg(
            1,
            "Invalid function argument: cannot use element function with a negative index.",
        ));
    }
    Ok(list[index as usize % list.len()].clone())
}

fn coalesce(args: &[Value]) -> Result<Value, FnError> {
    for a in args {
        if !a.is_known() {
            return Ok(Value::unknown());
        }
        if !a.is_null() && a.as_str() != Some("") {
            return Ok(a.clone());
        }
    }
    Err(FnError::call(
        "Invalid function argument: no non-null, non-empty-string arguments.",
    ))
}

fn contains(args: &[Value]) -> Result<Value, FnError> {
    let needle = &args[1];
    let elems = args[0].elements().unwrap_or_default();
    if elems.iter().any(|e| !e.is_wholly_known()) || !needle.is_wholly_known() {
        return Ok(Value::Unknown(Type::Bool));
    }
    Ok(Value::Bool(elems.iter().any(|e| e.strict_equal(needle))))
}

fn range(args: &[Value]) -> Result<Value, FnError> {
    let nums: Vec<Number> = args.iter().filter_map(|a| a.as_number().cloned()).collect();
    let (start, end, step) = match nums.as_slice() {
        [end] => (Number::from_i64(0), end.clone(), Number::one()),
        [start, end] => {
            let step = if end < start {
                Number::one().neg()
            } else {
                Number::one()
            };
            (start.clone(), end.clone(), step)
        }
        [start, end, step] => (start.clone(), end.clone(), step.clone()),
        _ => {
            return Err(FnError::call(
                "Invalid number of arguments: range takes one to three numbers.",
            ))
        }
    };
    if step.is_zero() {
        return Err(FnError::arg(
            2,
            "Invalid function argument: step must not be zero.",
        ));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (!step.is_negative() && i < end) || (step.is_negative() && i > end) {
        if out.len() >= 1024 {
            return Err(FnError::call("Invalid function argument: more than 1024 values were generated; either decrease the difference between start and end or use a smaller step."));
        }
        out.push(Value::Number(i.clone()));
        i = i.add(&step);
    }
    Ok(Value::List(Type::Number, out))
}

fn flatten_into(v: &Value, out: &mut Vec<Value>) -> bool {
    match v.peel().0 {
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
            for x in e {
                if !x.is_known() {
                    return false;
                }
                if matches!(
                    x.peel().0,
                    Value::List(..) | Value::Set(..) | Value::Tuple(..)
                ) {
                    if !flatten_into(x, out) {
                        return false;
                    }
                } else {
                    out.push(x.clone());
                }
            }
            true
        }
        _ => {
            out.push(v.clone());
            true
        }
    }
}

fn flatten(args: &[Value]) -> Result<Value, FnError> {
    let mut out = Vec::new();
    if !flatten_into(&args[0], &mut out) {
        return Ok(Value::unknown());
    }
    Ok(Value::Tuple(out))
}

fn all_any(args: &[Value], want_all: bool) -> Result<Value, FnError> {
    let mut unknown = false;
    for e in args[0].elements().unwrap_or_default() {
        let converted = convert(e.clone(), &Constraint::Bool).ok();
        let e = converted.as_ref().unwrap_or(e);
        match e.as_bool() {
            Some(b) if b != want_all => return Ok(Value::Bool(!want_all)),
            Some(_) => {}
            None if e.is_null() => return Ok(Value::Bool(false)),
            None => unknown = true,
        }
    }
    Ok(if unknown {
        Value::Unknown(Type::Bool)
    } else {
        Value::Bool(want_all)
    })
}

fn sum(args: &[Value]) -> Result<Value, FnError> {
    if !args[0].is_known() {
        return Ok(Value::Unknown(Type::Number));
    }
    let elems = args[0].elements().unwrap_or_default();
    if elems.is_empty() {
        return Err(FnError::arg(
            0,
            "Invalid function argument: cannot sum an empty list.",
        ));
    }
    let mut total = Number::from_i64(0);
    for e in elems {
        if !e.is_known() {
            return Ok(Value::Unknown(Type::Number));
        }
        let n = convert(e.clone(), &Constraint::Number).map_err(|_| {
            FnError::arg(
                0,
                "Invalid function argument: argument must be list, set, or tuple of number values.",
            )
        })?;
        total = total.add(n.as_number().unwrap_or(&Number::from_i64(0)));
    }
    Ok(Value::Number(total))
}

fn distinct(args: &[Value]) -> Result<Value, FnError> {
    let (ty, elems) = match args[0].peel().0 {
        Value::List(t, e) => (t.clone(), e),
        _ => return Ok(args[0].clone()),
    };
    let mut out: Vec<Value> = Vec::new();
    for e in elems {
        if !out.iter().any(|o| o.strict_equal(e)) {
            out.push(e.clone());
        }
    }
    Ok(Value::List(ty, out))
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
    t.insert(
        "length",
        fixed([unknown_ok("value", any())], number_ty, length),
    );
    t.insert(
        "keys",
        fixed([p("inputMap", any())], |_| Type::list(Type::String), keys),
    );
    t.insert("values", fixed([p("mapping", any())], dynamic_ty, values));
    t.insert(
        "concat",
        variadic(vec![], p("seqs", any()), dynamic_ty, concat),
    );
    t.insert(
        "merge",
        variadic(
            vec![],
            Param {
                allow_null: true,
                ..p("maps", any())
            },
            dynamic_ty,
            merge,
        ),
    );
    t.insert(
        "lookup",
        variadic(
            vec![p("inputMap", any()), p("key", Constraint::String)],
            Param {
                allow_null: true,
                ..p("default", any())
            },
            dynamic_ty,
            lookup,
        ),
    );
    t.insert(
        "element",
        fixed(
            [p("list", any()), p("index", Constraint::Number)],
            dynamic_ty,
            element,
        ),
    );
    t.insert(
        "coalesce",
        variadic(
            vec![],
            Param {
                name: "vals",
                ty: any(),
                allow_unknown: true,
                allow_null: true,
            },
            dynamic_ty,
            coalesce,
        ),
    );
    t.insert(
        "contains",
        fixed(
            [unknown_ok("list", any()), unknown_ok("value", any())],
            bool_ty,
            contains,
        ),
    );
    t.insert(
        "range",
        variadic(
            vec![],
            p("params", Constraint::Number),
            |_| Type::list(Type::Number),
            range,
        ),
    );
    t.insert(
        "alltrue",
        fixed([unknown_ok("list", list_any())], bool_ty, |a| {
            all_any(a, true)
        }),
    );
    t.insert(
        "anytrue",
        fixed([unknown_ok("list", list_any())], bool_ty, |a| {
            all_any(a, false)
        }),
    );
    t.insert("sum", fixed([unknown_ok("list", any())], number_ty, sum));
    t.insert(
        "distinct",
        fixed([p("list", list_any())], |a| a[0].ty(), distinct),
    );
    t.insert(
        "compact",
        fixed(
            [p("list", Constraint::List(Box::new(Constraint::String)))],
            |_| Type::list(Type::String),
            |a| {
                let kept = a[0]
                    .elements()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|e| e.as_str() != Some("") && !e.is_null())
                    .cloned()
                    .collect();
                Ok(Value::List(Type::String, kept))
            },
        ),
    );
    t.insert(
        "reverse",
        fixed([p("list", any())], dynamic_ty, |a| match a[0].peel().0 {
            Value::List(t, e) => Ok(Value::List(t.clone(), e.iter().rev().cloned().collect())),
            Value::Tuple(e) => Ok(Value::Tuple(e.iter().rev().cloned().collect())),
            _ => Err(FnError::arg(
                0,
                "Invalid function argument: list or tuple required.",
            )),
        }),
    );
    t.insert(
        "zipmap",
        fixed(
            [
                p("keys", Constraint::List(Box::new(Constraint::String))),
                p("values", any()),
            ],
            dynamic_ty,
            |a| {
                let keys = a[0].elements().unwrap_or_default();
                let values = a[1].elements().unwrap_or_default();
                if keys.len() != values.len() {
                    return Err(FnError::call(
                        "Invalid function argument: number of keys and values must match.",
                    ));
                }
                let mut out = BTreeMap::new();
                for (k, v) in keys.into_iter().zip(values) {
                    out.insert(k.as_str().unwrap_or("").to_string(), v.clone());
                }
                Ok(Value::Object(out))
            },
        ),
    );
    t.insert(
        "flatten",
        fixed([unknown_ok("list", any())], dynamic_ty, flatten),
    );
}
