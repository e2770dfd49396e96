//! The msgpack and JSON codecs against the bytes the protocol documents, and round
//! trips through every kind of type.

use std::collections::BTreeMap;

use plinth_protocol::json::{type_from_json, type_to_json, value_from_json, value_to_json};
use plinth_protocol::msgpack::{decode, encode};
use plinth_protocol::number::Number;
use plinth_protocol::types::Type;
use plinth_protocol::value::Value;

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn obj_type(pairs: &[(&str, Type)]) -> Type {
    Type::Object(
        pairs
            .iter()
            .map(|(k, t)| (k.to_string(), t.clone()))
            .collect(),
    )
}

#[test]
fn documented_encodings() {
    // An unknown value is extension 0 with one zero byte.
    assert_eq!(
        encode(&Value::Unknown(Type::String), &Type::String).unwrap(),
        [0xd4, 0, 0]
    );
    assert_eq!(
        encode(&Value::Null(Type::String), &Type::String).unwrap(),
        [0xc0]
    );
    // Objects are maps with attributes in name order.
    let ty = obj_type(&[("b", Type::Bool), ("a", Type::String)]);
    let v = obj(&[("a", Value::string("x")), ("b", Value::Bool(true))]);
    assert_eq!(
        encode(&v, &ty).unwrap(),
        [0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc3]
    );
    // A value whose schema type is dynamic carries its own type as JSON bytes.
    let mut expected = vec![0x92, 0xc4, 8];
    expected.extend_from_slice(b"\"string\"");
    expected.extend_from_slice(&[0xa1, b'x']);
    assert_eq!(
        encode(&Value::string("x"), &Type::Dynamic).unwrap(),
        expected
    );
    // Integers as integers, exact floats as float64, others as decimal strings.
    assert_eq!(encode(&Value::number(1), &Type::Number).unwrap(), [0x01]);
    let half = Value::Number(Number::parse("1.5").unwrap());
    assert_eq!(
        encode(&half, &Type::Number).unwrap(),
        [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]
    );
    let big = Value::Number(Number::parse("123456789012345678901234567890").unwrap());
    let bytes = encode(&big, &Type::Number).unwrap();
    assert_eq!(bytes[0], 0xbe, "a 30-character fixstr");
    assert_eq!(decode(&bytes, &Type::Number).unwrap(), big);
}

#[test]
fn round_trips_through_every_type() {
    let inner = obj_type(&[("n", Type::Number), ("tags", Type::map(Type::String))]);
    let ty = obj_type(&[
        ("id", Type::String),
        ("list", Type::list(Type::Number)),
        ("set", Type::set(Type::String)),
        ("tuple", Type::Tuple(vec![Type::Bool, Type::String])),
        ("nested", Type::list(inner.clone())),
        ("any", Type::Dynamic),
        ("gone", Type::String),
        ("later", Type::list(Type::String)),
    ]);
    let v = obj(&[
        ("id", Value::string("i-1")),
        (
            "list",
            Value::List(
                Type::Number,
                vec![
                    Value::number(1),
                    Value::Number(Number::parse("0.25").unwrap()),
                ],
            ),
        ),
        (
            "set",
            Value::set(Type::String, vec![Value::string("b"), Value::string("a")]),
        ),
        (
            "tuple",
            Value::Tuple(vec![Value::Bool(false), Value::string("t")]),
        ),
        (
            "nested",
            Value::List(
                inner.clone(),
                vec![obj(&[
                    ("n", Value::number(3)),
                    (
                        "tags",
                        Value::Map(
                            Type::String,
                            BTreeMap::from([("k".to_string(), Value::string("v"))]),
                        ),
                    ),
                ])],
            ),
        ),
        ("any", Value::List(Type::String, vec![Value::string("d")])),
        ("gone", Value::Null(Type::String)),
        ("later", Value::Unknown(Type::list(Type::String))),
    ]);
    let bytes = encode(&v, &ty).unwrap();
    assert_eq!(decode(&bytes, &ty).unwrap(), v);

    // JSON has no unknowns: the same value with `later` known.
    let mut known = v.clone();
    if let Value::Object(m) = &mut known {
        m.insert("later".into(), Value::List(Type::String, vec![]));
    }
    let j = value_to_json(&known, &ty);
    assert_eq!(
        j["any"],
        serde_json::json!({"value": ["d"], "type": ["list", "string"]})
    );
    assert_eq!(value_from_json(&j, &ty).unwrap(), known);
}

#[test]
fn type_notation_round_trips() {
    for text in [
        r#""string""#,
        r#"["list","number"]"#,
        r#"["map",["set","bool"]]"#,
        r#"["object",{"a":"dynamic","b":["tuple",["string","number"]]}]"#,
    ] {
        let j: serde_json::Value = serde_json::from_str(text).unwrap();
        let ty = type_from_json(&j).unwrap();
        assert_eq!(type_to_json(&ty), j, "{text}");
    }
    assert!(type_from_json(&serde_json::json!("strin")).is_err());
    assert!(type_from_json(&serde_json::json!(["list"])).is_err());
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let ty = obj_type(&[("a", Type::String)]);
    for bytes in [
        &[][..],
        &[0x81][..],
        &[0x81, 0xa1, b'z', 0xa1, b'x'][..],
        &[0x81, 0xa1, b'a', 0x05][..],
        &[0x81, 0xa1, b'a', 0xa5, b'x'][..],
        &[0xd4][..],
        &[0x92, 0xc4, 3, b'"', b'x', b'"', 0x01][..],
        &[0xc0, 0xc0][..],
    ] {
        assert!(
            decode(bytes, &ty).is_err() || decode(bytes, &Type::Dynamic).is_err(),
            "{bytes:?}"
        );
    }
    let err = decode(&[0x81, 0xa1, b'a', 0x05], &ty)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("a:"), "{err}");
    assert!(value_from_json(&serde_json::json!({"a": 1, "b": 2}), &ty)
        .unwrap_err()
        .to_string()
        .contains("b: unsupported attribute"));
}

#[test]
fn stored_values_that_do_not_fit_say_where() {
    let ty = Type::Object(
        [("a".to_string(), Type::list(Type::Number))]
            .into_iter()
            .collect(),
    );
    let err = |j: serde_json::Value| value_from_json(&j, &ty).unwrap_err().to_string();
    assert_eq!(
        err(serde_json::json!(3)),
        "value: expected an object, found 3"
    );
    assert_eq!(
        err(serde_json::json!({"a": ["x"]})),
        "a[0]: expected a number, found \"x\""
    );
    assert_eq!(err(serde_json::json!({"z": 1})), "z: unsupported attribute");
    assert_eq!(
        type_from_json(&serde_json::json!("strin"))
            .unwrap_err()
            .to_string(),
        "\"strin\" is not a type"
    );
}

#[test]
fn a_dynamic_value_reads_with_or_without_terraforms_type_beside_it() {
    let wrapped = serde_json::json!({"value": {"a": "x"}, "type": ["object", {"a": "string"}]});
    let plain = serde_json::json!({"a": "x"});
    let want = Value::Object([("a".to_string(), Value::string("x"))].into());
    assert_eq!(
        value_from_json(&wrapped, &Type::Dynamic).ok(),
        Some(want.clone())
    );
    assert_eq!(value_from_json(&plain, &Type::Dynamic).ok(), Some(want));
}
