//! The msgpack encoding of `DynamicValue`, as the protocol documents it ("object wire
//! format"): values are written against a type known to both sides (the schema's),
//! objects as maps with their attributes in name order, numbers as integers, exact
//! floats or decimal strings, null as nil, an unknown value as extension type 0, and
//! a value whose schema type is `dynamic` as a two-element array: its type in JSON
//! notation (as msgpack bytes) and then the value itself.

use std::collections::BTreeMap;
use std::io::Read;

use rmp::Marker;

use crate::number::Number;
use crate::types::Type;
use crate::value::Value;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CodecError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

fn invalid(path: &str, message: impl Into<String>) -> CodecError {
    CodecError::Invalid {
        path: if path.is_empty() {
            "value".into()
        } else {
            path.to_string()
        },
        message: message.into(),
    }
}

/// Encodes `value` as a value of type `ty`.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    write(&mut out, value, ty, "")?;
    Ok(out)
}

/// The extension the protocol uses for an unknown value (type 0, one zero byte).
const UNKNOWN: [u8; 3] = [0xd4, 0, 0];

fn write(out: &mut Vec<u8>, value: &Value, ty: &Type, path: &str) -> Result<(), CodecError> {
    let value = value.peel().0;
    if *ty == Type::Dynamic {
        let actual = value.ty();
        if actual != Type::Dynamic {
            rmp::encode::write_array_len(out, 2).map_err(|e| invalid(path, e.to_string()))?;
            let type_json = crate::json::type_to_json(&actual).to_string();
            rmp::encode::write_bin(out, type_json.as_bytes())
                .map_err(|e| invalid(path, e.to_string()))?;
            return write(out, value, &actual, path);
        }
    }
    let fail = |e: rmp::encode::ValueWriteError| invalid(path, e.to_string());
    match value {
        Value::Unknown(_) => {
            out.extend_from_slice(&UNKNOWN);
            return Ok(());
        }
        Value::Null(_) => {
            rmp::encode::write_nil(out).map_err(|e| invalid(path, e.to_string()))?;
            return Ok(());
        }
        _ => {}
    }
    match (ty, value) {
        (Type::String, Value::String(s)) => rmp::encode::write_str(out, s).map_err(fail)?,
        (Type::Bool, Value::Bool(b)) => {
            rmp::encode::write_bool(out, *b).map_err(|e| invalid(path, e.to_string()))?
        }
        (Type::Number, Value::Number(n)) => write_number(out, n).map_err(fail)?,
        (Type::List(elem) | Type::Set(elem), Value::List(_, items) | Value::Set(_, items)) => {
            rmp::encode::write_array_len(out, items.len() as u32).map_err(fail)?;
            for (i, item) in items.iter().enumerate() {
                write(out, item, elem, &format!("{path}[{i}]"))?;
            }
        }
        (Type::Tuple(types), Value::Tuple(items)) if types.len() == items.len() => {
            rmp::encode::write_array_len(out, items.len() as u32).map_err(fail)?;
            for (i, (item, t)) in items.iter().zip(types).enumerate() {
                write(out, item, t, &format!("{path}[{i}]"))?;
            }
        }
        (Type::Map(elem), Value::Map(_, m) | Value::Object(m)) => {
            rmp::encode::write_map_len(out, m.len() as u32).map_err(fail)?;
            for (k, v) in m {
                rmp::encode::write_str(out, k).map_err(fail)?;
                write(out, v, elem, &format!("{path}[{k:?}]"))?;
            }
        }
        (Type::Object(attrs), Value::Object(m)) => {
            rmp::encode::write_map_len(out, attrs.len() as u32).map_err(fail)?;
            for (name, t) in attrs {
                rmp::encode::write_str(out, name).map_err(fail)?;
                let step = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                match m.get(name) {
                    Some(v) => write(out, v, t, &step)?,
                    None => {
                        rmp::encode::write_nil(out).map_err(|e| invalid(&step, e.to_string()))?
                    }
                }
            }
        }
        _ => {
            return Err(invalid(
                path,
                format!(
                    "a {} value cannot be encoded as {}",
                    value.ty().friendly_name(),
                    ty.friendly_name()
                ),
            ))
        }
    }
    Ok(())
}

fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), rmp::encode::ValueWriteError> {
    if let Some(i) = n.to_i64() {
        rmp::encode::write_sint(out, i)?;
        return Ok(());
    }
    let f = n.to_f64();
    if f.is_finite() && binary_exact(n) && Number::parse(&format!("{f}")).ok().as_ref() == Some(n) {
        rmp::encode::write_f64(out, f)?;
        return Ok(());
    }
    rmp::encode::write_str(out, &n.to_string())
}

/// Whether a float can hold the number exactly (it is a sum of powers of two, as 0.5
/// is and 0.85 is not): as cty does, anything else is sent as its decimal string, or
/// Terraform reads the float's binary neighbour and finds it differs from the
/// configuration's value ("planned value cty.NumberFloatVal(0.85) does not match").
fn binary_exact(n: &Number) -> bool {
    let (digits, exp) = n.decimal_digits();
    let places = digits.len() as i64 - exp;
    let Ok(places) = u32::try_from(places) else {
        return true;
    };
    let Ok(mantissa) = digits.parse::<bigdecimal::num_bigint::BigInt>() else {
        return false;
    };
    // digits / 10^places is dyadic exactly when 5^places divides the digits.
    let five = bigdecimal::num_bigint::BigInt::from(5u32).pow(places);
    (mantissa % five) == bigdecimal::num_bigint::BigInt::from(0u32)
}

/// Decodes a value of type `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut r = bytes;
    let v = read(&mut r, ty, "")?;
    if !r.is_empty() {
        return Err(invalid(
            "",
            format!("{} bytes left over after the value", r.len()),
        ));
    }
    Ok(v)
}

fn peek(r: &[u8], path: &str) -> Result<Marker, CodecError> {
    r.first()
        .map(|b| Marker::from_u8(*b))
        .ok_or_else(|| invalid(path, "the value ends early"))
}

fn read(r: &mut &[u8], ty: &Type, path: &str) -> Result<Value, CodecError> {
    let marker = peek(r, path)?;
    match marker {
        Marker::Null => {
            *r = &r[1..];
            return Ok(Value::Null(ty.clone()));
        }
        Marker::FixExt1
        | Marker::FixExt2
        | Marker::FixExt4
        | Marker::FixExt8
        | Marker::FixExt16
        | Marker::Ext8
        | Marker::Ext16
        | Marker::Ext32 => {
            skip(r, path)?;
            return Ok(Value::Unknown(ty.clone()));
        }
        _ => {}
    }
    let fail = |e: String| invalid(path, e);
    match ty {
        Type::Dynamic => {
            let n =
                rmp::decode::read_array_len(r).map_err(|e| fail(format!("dynamic value: {e}")))?;
            if n != 2 {
                return Err(fail(format!(
                    "a dynamic value is a [type, value] pair, not {n} items"
                )));
            }
            let type_bytes = read_bytes(r, path)?;
            let json: serde_json::Value = serde_json::from_slice(&type_bytes)
                .map_err(|e| fail(format!("dynamic value's type: {e}")))?;
            let actual = crate::json::type_from_json(&json).map_err(|e| fail(e.to_string()))?;
            read(r, &actual, path)
        }
        Type::String => Ok(Value::String(crate::value::nfc(read_string(r, path)?))),
        Type::Bool => rmp::decode::read_bool(r)
            .map(Value::Bool)
            .map_err(|e| fail(e.to_string())),
        Type::Number => read_number(r, path).map(Value::Number),
        Type::List(elem) | Type::Set(elem) => {
            let n = rmp::decode::read_array_len(r).map_err(|e| fail(e.to_string()))?;
            let mut items = Vec::with_capacity((n as usize).min(r.len()));
            for i in 0..n {
                items.push(read(r, elem, &format!("{path}[{i}]"))?);
            }
            Ok(if matches!(ty, Type::Set(_)) {
                Value::set((**elem).clone(), items)
            } else {
                Value::List((**elem).clone(), items)
            })
        }
        Type::Tuple(types) => {
            let n = rmp::decode::read_array_len(r).map_err(|e| fail(e.to_string()))?;
            if n as usize != types.len() {
                return Err(fail(format!("a tuple of {} items has {n}", types.len())));
            }
            let mut items = Vec::with_capacity(types.len());
            for (i, t) in types.iter().enumerate() {
                items.push(read(r, t, &format!("{path}[{i}]"))?);
            }
            Ok(Value::Tuple(items))
        }
        Type::Map(elem) => {
            let n = rmp::decode::read_map_len(r).map_err(|e| fail(e.to_string()))?;
            let mut m = BTreeMap::new();
            for _ in 0..n {
                let k = read_string(r, path)?;
                let v = read(r, elem, &format!("{path}[{k:?}]"))?;
                m.insert(k, v);
            }
            Ok(Value::Map((**elem).clone(), m))
        }
        Type::Object(attrs) => {
            let n = rmp::decode::read_map_len(r).map_err(|e| fail(e.to_string()))?;
            let mut m = BTreeMap::new();
            for _ in 0..n {
                let k = read_string(r, path)?;
                let step = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let Some(t) = attrs.get(&k) else {
                    return Err(invalid(&step, "unsupported attribute"));
                };
                let v = read(r, t, &step)?;
                m.insert(k, v);
            }
            for (name, t) in attrs {
                m.entry(name.clone())
                    .or_insert_with(|| Value::Null(t.clone()));
            }
            Ok(Value::Object(m))
        }
    }
}

fn read_string(r: &mut &[u8], path: &str) -> Result<String, CodecError> {
    let n = rmp::decode::read_str_len(r)
        .map_err(|e| invalid(path, format!("expected a string: {e}")))?;
    take(r, n as usize, path).and_then(|b| {
        String::from_utf8(b.to_vec()).map_err(|_| invalid(path, "a string is not valid UTF-8"))
    })
}

fn read_bytes(r: &mut &[u8], path: &str) -> Result<Vec<u8>, CodecError> {
    match peek(r, path)? {
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
            let n = rmp::decode::read_bin_len(r).map_err(|e| invalid(path, e.to_string()))?;
            take(r, n as usize, path).map(<[u8]>::to_vec)
        }
        _ => read_string(r, path).map(String::into_bytes),
    }
}

fn take<'a>(r: &mut &'a [u8], n: usize, path: &str) -> Result<&'a [u8], CodecError> {
    if r.len() < n {
        return Err(invalid(path, "the value ends early"));
    }
    let (head, tail) = r.split_at(n);
    *r = tail;
    Ok(head)
}

fn read_number(r: &mut &[u8], path: &str) -> Result<Number, CodecError> {
    let fail = |e: String| invalid(path, e);
    match peek(r, path)? {
        Marker::F32 => {
            let f = rmp::decode::read_f32(r).map_err(|e| fail(e.to_string()))?;
            float(f as f64, path)
        }
        Marker::F64 => {
            let f = rmp::decode::read_f64(r).map_err(|e| fail(e.to_string()))?;
            float(f, path)
        }
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
            let s = read_string(r, path)?;
            Number::parse(&s).map_err(|_| fail(format!("{s:?} is not a number")))
        }
        Marker::U64 => {
            let n: u64 = rmp::decode::read_int(r).map_err(|e| fail(e.to_string()))?;
            Ok(Number::from_u64(n))
        }
        _ => {
            let n: i64 = rmp::decode::read_int(r).map_err(|e| fail(e.to_string()))?;
            Ok(Number::from_i64(n))
        }
    }
}

fn float(f: f64, path: &str) -> Result<Number, CodecError> {
    if !f.is_finite() {
        return Err(invalid(path, "infinite numbers are not supported"));
    }
    Number::parse(&format!("{f}")).map_err(|_| invalid(path, format!("{f} is not a number")))
}

/// Reads past one extension value (an unknown), whatever its length.
fn skip(r: &mut &[u8], path: &str) -> Result<(), CodecError> {
    let mut c = std::io::Cursor::new(*r);
    let mut marker = [0u8; 1];
    let ends_early = |_| invalid(path, "the value ends early");
    c.read_exact(&mut marker).map_err(ends_early)?;
    let data_len = match Marker::from_u8(marker[0]) {
        Marker::FixExt1 => 1,
        Marker::FixExt2 => 2,
        Marker::FixExt4 => 4,
        Marker::FixExt8 => 8,
        Marker::FixExt16 => 16,
        Marker::Ext8 => {
            let mut b = [0u8; 1];
            c.read_exact(&mut b).map_err(ends_early)?;
            b[0] as usize
        }
        Marker::Ext16 => {
            let mut b = [0u8; 2];
            c.read_exact(&mut b).map_err(ends_early)?;
            u16::from_be_bytes(b) as usize
        }
        Marker::Ext32 => {
            let mut b = [0u8; 4];
            c.read_exact(&mut b).map_err(ends_early)?;
            u32::from_be_bytes(b) as usize
        }
        m => return Err(invalid(path, format!("expected an extension, found {m:?}"))),
    };
    let header = c.position() as usize;
    // The extension's type byte, then its data.
    take(r, header, path)?;
    take(r, data_len + 1, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write_number(&mut out, &Number::parse(text).unwrap()).unwrap();
        out
    }

    #[test]
    fn decimals_a_float_cannot_hold_exactly_are_sent_as_strings() {
        let mut string = Vec::new();
        rmp::encode::write_str(&mut string, "0.85").unwrap();
        assert_eq!(sent("0.85"), string);
        let mut float = Vec::new();
        rmp::encode::write_f64(&mut float, 0.5).unwrap();
        assert_eq!(sent("0.5"), float);
        let mut int = Vec::new();
        rmp::encode::write_sint(&mut int, 8).unwrap();
        assert_eq!(sent("8"), int);
        let decoded = decode(&sent("0.85"), &Type::Number).unwrap();
        assert_eq!(decoded, Value::Number(Number::parse("0.85").unwrap()));
    }
}
