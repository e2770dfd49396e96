//! Encoding and hashing functions: base64encode, base64decode, jsonencode, jsondecode, csvdecode,
//! urlencode, md5, sha1, sha256, sha512, base64sha256, base64sha512, uuidv5, and the
//! file variants (filebase64, filemd5, filesha1, filesha256, filesha512,
//! filebase64sha256, filebase64sha512).

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use super::{fixed, p, str_arg, string_fn, string_ty, unknown_ok, FnError, Function, Param};
use crate::lang::limits;
use crate::lang::types::{Constraint, Type};
use crate::lang::value::Value;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64encode(args: &[Value]) -> Result<Value, FnError> {
    Ok(Value::String(b64(str_arg(args, 0).as_bytes())))
}

fn base64decode(args: &[Value]) -> Result<Value, FnError> {
    let text = str_arg(args, 0);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| {
            FnError::arg(
                0,
                format!("Invalid function argument: failed to decode base64 data {text:?}."),
            )
        })?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        FnError::arg(
            0,
            "Invalid function argument: the result of decoding the provided string is not valid UTF-8.",
        )
    })
}

fn jsondecode(args: &[Value]) -> Result<Value, FnError> {
    let text = str_arg(args, 0);
    FnError::bound(limits::product(
        json_value_count(text),
        limits::ELEMENT_BYTES,
    ))?;
    let j: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| FnError::arg(0, format!("Invalid value for \"str\" parameter: {e}.")))?;
    Ok(Value::from_json(&j))
}

/// How many values JSON text holds at most: one more than its separators and
/// openings outside strings. Counted before decoding, so a huge document is refused
/// before it is built.
fn json_value_count(text: &str) -> usize {
    let (mut count, mut in_string, mut escaped) = (1usize, false, false);
    for b in text.bytes() {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (false, _, b'"') => in_string = true,
            (false, _, b',' | b'[' | b'{') => count += 1,
            _ => {}
        }
    }
    count
}

/// How many fields CSV text holds at most: one more than its commas and line breaks
/// outside quotes.
fn csv_field_count(text: &str) -> usize {
    let (mut count, mut quoted) = (1usize, false);
    for b in text.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b',' | b'\n' if !quoted => count += 1,
            _ => {}
        }
    }
    count
}

/// RFC 4180 records: fields separated by commas, optionally quoted with `""` escapes.
fn csv_records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut field = String::new();
    let mut record = Vec::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    let mut line = 1;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c)
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            '"' => {
                return Err(format!(
                    "parse error on line {line}: bare \" in non-quoted field"
                ))
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_field_start = true;
                line += 1;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err(format!(
            "parse error on line {line}: extraneous or missing \" in quoted-field"
        ));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

fn csvdecode(args: &[Value]) -> Result<Value, FnError> {
    FnError::bound(limits::product(
        csv_field_count(str_arg(args, 0)),
        limits::ELEMENT_BYTES,
    ))?;
    let records = csv_records(str_arg(args, 0))
        .map_err(|e| FnError::arg(0, format!("Invalid function argument: {e}.")))?;
    let mut it = records.into_iter();
    let Some(header) = it.next() else {
        return Err(FnError::arg(
            0,
            "Invalid function argument: missing header line.",
        ));
    };
    let mut rows = Vec::new();
    for (n, r) in it.enumerate() {
        if r.len() != header.len() {
            return Err(FnError::arg(
                0,
                format!("Invalid function argument: record on line {} has {} fields; the header has {}.", n + 2, r.len(), header.len()),
            ));
        }
        let obj: BTreeMap<String, Value> = header
            .iter()
            .cloned()
            .zip(r.into_iter().map(Value::String))
            .collect();
        rows.push(Value::Object(obj));
    }
    let row_type = Type::Object(header.iter().map(|h| (h.clone(), Type::String)).collect());
    Ok(Value::List(row_type, rows))
}

fn urlencode(args: &[Value]) -> Result<Value, FnError> {
    let mut out = String::new();
    for b in str_arg(args, 0).bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::String(out))
}

/// OpenTofu 1.7's `urldecode`, the inverse of `urlencode` (Go's QueryUnescape: `+` is
/// a space, `%XX` a byte); the result must be UTF-8.
fn urldecode(args: &[Value]) -> Result<Value, FnError> {
    let text = str_arg(args, 0);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let byte = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        let end = (i + 3).min(bytes.len());
                        FnError::arg(
                            0,
                            format!(
                                "Invalid function argument: invalid URL escape {:?}.",
                                String::from_utf8_lossy(&bytes[i..end])
                            ),
                        )
                    })?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map(Value::String).map_err(|_| {
        FnError::arg(
            0,
            "Invalid function argument: the decoded string is not valid UTF-8.",
        )
    })
}

fn digest<D: Digest>(bytes: &[u8]) -> Vec<u8> {
    D::digest(bytes).to_vec()
}

fn read_file(args: &[Value]) -> Result<Vec<u8>, FnError> {
    let path = super::filesystem::expand(str_arg(args, 0));
    super::filesystem::read_bounded(&path)
        .map_err(|e| FnError::arg(0, format!("Invalid value for \"path\" parameter: {e}")))
}

macro_rules! hashes {
    ($t:ident, $($name:literal, $file:literal => $f:expr;)*) => {
        $(
            $t.insert($name, string_fn(|a| Ok(Value::String($f(str_arg(a, 0).as_bytes())))));
            $t.insert(
                $file,
                fixed([p("path", Constraint::String)], string_ty, |a| {
                    Ok(Value::String($f(&read_file(a)?)))
                }),
            );
        )*
    };
}

fn uuidv5(args: &[Value]) -> Result<Value, FnError> {
    let ns = match str_arg(args, 0) {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => uuid::Uuid::parse_str(other).map_err(|_| {
            FnError::arg(
                0,
                format!("Invalid function argument: uuidv5() doesn't support namespace {other:?}."),
            )
        })?,
    };
    Ok(Value::String(
        uuid::Uuid::new_v5(&ns, str_arg(args, 1).as_bytes()).to_string(),
    ))
}

/// JSON text as Terraform's `jsonencode` writes it: compact, keys sorted, and `<`, `>`
/// and `&` escaped as Go's encoder does.
fn json_text(v: &Value, out: &mut String) {
    match v.peel().0 {
        Value::Null(_) | Value::Unknown(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => {
            let quoted = serde_json::to_string(s).unwrap_or_default();
            out.push_str(
                &quoted
                    .replace('<', "\\u003c")
                    .replace('>', "\\u003e")
                    .replace('&', "\\u0026"),
            );
        }
        Value::List(_, e) | Value::Set(_, e) | Value::Tuple(e) => {
            out.push('[');
            for (i, x) in e.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_text(x, out);
            }
            out.push(']');
        }
        Value::Map(_, m) | Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_text(&Value::String(k.clone()), out);
                out.push(':');
                json_text(x, out);
            }
            out.push('}');
        }
        Value::Sensitive(_) => out.push_str("null"),
    }
}

fn jsonencode(args: &[Value]) -> Result<Value, FnError> {
    if !args[0].is_wholly_known() {
        return Ok(Value::Unknown(Type::String));
    }
    let mut out = String::new();
    json_text(&args[0], &mut out);
    Ok(Value::String(out).mark(args[0].contains_sensitive()))
}

pub(super) fn register(t: &mut HashMap<&'static str, Function>) {
    t.insert("base64encode", string_fn(base64encode));
    t.insert("base64decode", string_fn(base64decode));
    t.insert("urlencode", string_fn(urlencode));
    t.insert("urldecode", string_fn(urldecode));
    t.insert(
        "jsondecode",
        fixed(
            [p("str", Constraint::String)],
            super::dynamic_ty,
            jsondecode,
        ),
    );
    t.insert(
        "csvdecode",
        fixed(
            [p("str", Constraint::String)],
            |_| Type::list(Type::Dynamic),
            csvdecode,
        ),
    );
    hashes!(t,
        "md5", "filemd5" => |b: &[u8]| hex(&digest::<Md5>(b));
        "sha1", "filesha1" => |b: &[u8]| hex(&digest::<Sha1>(b));
        "sha256", "filesha256" => |b: &[u8]| hex(&digest::<Sha256>(b));
        "sha512", "filesha512" => |b: &[u8]| hex(&digest::<Sha512>(b));
        "base64sha256", "filebase64sha256" => |b: &[u8]| b64(&digest::<Sha256>(b));
        "base64sha512", "filebase64sha512" => |b: &[u8]| b64(&digest::<Sha512>(b));
    );
    t.insert(
        "filebase64",
        fixed([p("path", Constraint::String)], string_ty, |a| {
            Ok(Value::String(b64(&read_file(a)?)))
        }),
    );
    t.insert(
        "uuidv5",
        fixed(
            [
                p("namespace", Constraint::String),
                p("name", Constraint::String),
            ],
            string_ty,
            uuidv5,
        ),
    );
    t.insert(
        "jsonencode",
        fixed(
            [Param {
                allow_null: true,
                ..unknown_ok("val", Constraint::Any)
            }],
            string_ty,
            jsonencode,
        ),
    );
}

/// The character encoding `name` (IANA names and aliases, as Terraform accepts).
fn encoding_named(name: &str, arg: usize) -> Result<Encoding, FnError> {
    let upper = name.to_ascii_uppercase();
    match upper.as_str() {
        "UTF-16LE" => return Ok(Encoding::Utf16(false)),
        "UTF-16BE" => return Ok(Encoding::Utf16(true)),
        _ => {}
    }
    encoding_rs::Encoding::for_label(name.as_bytes())
        .map(Encoding::Other)
        .ok_or_else(|| {
            FnError::arg(
                arg,
                format!("Invalid value for \"encoding\" parameter: {name:?} is not a supported IANA encoding name or alias in this Terraform version."),
            )
        })
}

enum Encoding {
    /// Big-endian when true.
    Utf16(bool),
    Other(&'static encoding_rs::Encoding),
}

fn textencodebase64(args: &[Value]) -> Result<Value, FnError> {
    let text = str_arg(args, 0);
    let bytes = match encoding_named(str_arg(args, 1), 1)? {
        Encoding::Utf16(big) => text
            .encode_utf16()
            .flat_map(|u| {
                if big {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect(),
        Encoding::Other(enc) => {
            let (out, _, unmappable) = enc.encode(text);
            if unmappable {
                return Err(FnError::arg(
                    0,
                    format!("Invalid value for \"string\" parameter: the given string contains characters that cannot be represented in {}.", str_arg(args, 1)),
                ));
            }
            out.into_owned()
        }
    };
    Ok(Value::String(b64(&bytes)))
}

fn textdecodebase64(args: &[Value]) -> Result<Value, FnError> {
    let data = base64::engine::general_purpose::STANDARD
        .decode(str_arg(args, 0))
        .map_err(|_| {
            FnError::arg(
                0,
                "Invalid value for \"source\" parameter: the given value is not valid base64.",
            )
        })?;
    let text = match encoding_named(str_arg(args, 1), 1)? {
        Encoding::Utf16(big) => {
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| {
                    let pair = [c[0], *c.get(1).unwrap_or(&0)];
                    if big {
                        u16::from_be_bytes(pair)
                    } else {
                        u16::from_le_bytes(pair)
                    }
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
        Encoding::Other(enc) => enc.decode_without_bom_handling(&data).0.into_owned(),
    };
    Ok(Value::String(text))
}

/// `gzip.NewWriter`, `Write`, `Flush`, `Close`, as Terraform calls them, then base64.
fn base64gzip(args: &[Value]) -> Result<Value, FnError> {
    Ok(Value::String(b64(&super::gzip::go_gzip(
        str_arg(args, 0).as_bytes(),
    ))))
}

/// OpenTofu 1.7's `base64gunzip`, the inverse of `base64gzip`: base64, then gzip, to
/// a UTF-8 string (no larger than a value may be).
fn base64gunzip(args: &[Value]) -> Result<Value, FnError> {
    use std::io::Read as _;
    let text = str_arg(args, 0);
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| {
            FnError::arg(
                0,
                format!("Invalid function argument: failed to decode base64 data {text:?}."),
            )
        })?;
    let cap = crate::lang::limits::max_value_bytes();
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .take(cap as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            FnError::arg(
                0,
                format!("Invalid function argument: failed to decompress gzip data: {e}."),
            )
        })?;
    FnError::bound(out.len())?;
    String::from_utf8(out).map(Value::String).map_err(|_| {
        FnError::arg(
            0,
            "Invalid function argument: the result of decompressing the provided string is not valid UTF-8.",
        )
    })
}

fn bcrypt_fn(args: &[Value]) -> Result<Value, FnError> {
    if !super::datetime::impure_now() {
        return Ok(Value::Unknown(Type::String));
    }
    let cost = match args.get(1) {
        Some(c) => c.as_number().and_then(|n| n.to_i64()).ok_or_else(|| {
            FnError::arg(
                1,
                "Invalid value for \"cost\" parameter: a whole number is required.",
            )
        })?,
        None => 10,
    };
    if !(4..=31).contains(&cost) {
        return Err(FnError::arg(1, format!("Invalid function argument: crypto/bcrypt: cost {cost} is outside allowed range (4,31).")));
    }
    let hashed = bcrypt::hash_with_result(str_arg(args, 0), cost as u32)
        .map_err(|e| FnError::call(format!("Invalid function argument: {e}.")))?;
    Ok(Value::String(
        hashed.format_for_version(bcrypt::Version::TwoA),
    ))
}

pub(super) fn register_text(t: &mut HashMap<&'static str, Function>) {
    t.insert(
        "textencodebase64",
        fixed(
            [
                p("string", Constraint::String),
                p("encoding", Constraint::String),
            ],
            string_ty,
            textencodebase64,
        ),
    );
    t.insert(
        "textdecodebase64",
        fixed(
            [
                p("source", Constraint::String),
                p("encoding", Constraint::String),
            ],
            string_ty,
            textdecodebase64,
        ),
    );
    t.insert("base64gzip", string_fn(base64gzip));
    t.insert("base64gunzip", string_fn(base64gunzip));
    t.insert(
        "bcrypt",
        super::variadic(
            vec![p("str", Constraint::String)],
            p("cost", Constraint::Number),
            string_ty,
            bcrypt_fn,
        ),
    );
}

/// `rsadecrypt(ciphertext, privatekey)`: base64 ciphertext encrypted with PKCS #1 v1.5,
/// and the private key in PEM (PKCS #1 or PKCS #8).
fn rsadecrypt(args: &[Value]) -> Result<Value, FnError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let ciphertext = base64::engine::general_purpose::STANDARD
        .decode(str_arg(args, 0))
        .map_err(|_| {
            FnError::arg(
                0,
                "Invalid value for \"ciphertext\" parameter: failed to decode input as base64.",
            )
        })?;
    let pem = str_arg(args, 1);
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem)
        .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(pem))
        .map_err(|_| {
            FnError::arg(
                1,
                "Invalid value for \"privatekey\" parameter: failed to parse key: no key found.",
            )
        })?;
    let plain = key
        .decrypt(rsa::Pkcs1v15Encrypt, &ciphertext)
        .map_err(|_| FnError::arg(0, "Invalid value for \"ciphertext\" parameter: failed to decrypt: crypto/rsa: decryption error."))?;
    String::from_utf8(plain).map(Value::String).map_err(|_| {
        FnError::arg(
            0,
            "Invalid function argument: the decrypted text is not valid UTF-8.",
        )
    })
}

pub(super) fn register_rsa(t: &mut HashMap<&'static str, Function>) {
    t.insert(
        "rsadecrypt",
        fixed(
            [
                p("ciphertext", Constraint::String),
                p("privatekey", Constraint::String),
            ],
            string_ty,
            rsadecrypt,
        ),
    );
}
