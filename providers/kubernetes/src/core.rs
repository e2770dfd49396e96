//! The core objects a platform's namespaces are set up with: `kubernetes_namespace_v1`,
//! `kubernetes_secret_v1`, `kubernetes_config_map_v1` and
//! `kubernetes_service_account_v1`, with HashiCorp's arguments.

use std::time::Duration;

use base64::Engine;
use plinth_provider_sdk::shape::*;
use plinth_provider_sdk::{Attribute, Object, Result, Type};
use serde_json::{Map, Value as J};

use crate::client::{describe, Kube};
use crate::typed::{no_checks, unchanged, Kind, Typed};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn sensitive(a: Attribute) -> Attribute {
    Attribute {
        sensitive: true,
        ..a
    }
}

fn named_list() -> plinth_provider_sdk::NestedBlock {
    list_of(block(vec![("name", optional(Type::String))], vec![]))
}

pub fn namespace(kube: &Kube, type_name: &str) -> Typed {
    Typed::new(
        kube,
        Kind {
            type_name: type_name.into(),
            api_version: "v1",
            kind: "Namespace",
            namespaced: false,
            schema: block(
                vec![("wait_for_default_service_account", optional(Type::Bool))],
                vec![],
            ),
            own: &["wait_for_default_service_account"],
            encode: unchanged,
            decode: unchanged,
            replaced_on: &[],
            settle: Some(default_service_account),
            timeout: Duration::from_secs(300),
            check: no_checks,
        },
    )
}

/// `wait_for_default_service_account`: the namespace is ready for pods once its
/// controller has made the `default` service account.
fn default_service_account(t: &Typed, planned: &Object, live: &J) -> Result<()> {
    if planned.bool("wait_for_default_service_account") != Some(true) {
        return Ok(());
    }
    let (_, name) = crate::client::identity(live);
    let kind = t.kube.kind("v1", "ServiceAccount")?;
    let what = describe(&kind, Some(&name), "default");
    wait_for(&what, t.timeout(planned, "create"), || {
        Ok(t.kube.get(&kind, Some(&name), "default")?.map(|_| ()))
    })
}

pub fn secret(kube: &Kube, type_name: &str) -> Typed {
    Typed::new(
        kube,
        Kind {
            type_name: type_name.into(),
            api_version: "v1",
            kind: "Secret",
            namespaced: true,
            schema: block(
                vec![
                    ("data", sensitive(optional(string_map()))),
                    ("binary_data", sensitive(optional(string_map()))),
                    ("type", optional_computed(Type::String)),
                    ("immutable", optional(Type::Bool)),
                    ("wait_for_service_account_token", optional(Type::Bool)),
                ],
                vec![],
            ),
            own: &["wait_for_service_account_token"],
            encode: encode_secret,
            decode: decode_secret,
            replaced_on: &["type"],
            settle: None,
            timeout: Duration::from_secs(60),
            check: no_checks,
        },
    )
}

/// `data` is plain text in the configuration and base64 on the wire; `binary_data`
/// is base64 already and goes into the same field.
fn encode_secret(_: &Object, mut j: J) -> J {
    let Some(o) = j.as_object_mut() else { return j };
    let mut data = Map::new();
    if let Some(J::Object(plain)) = o.remove("data") {
        for (k, v) in plain {
            let text = v.as_str().unwrap_or_default().to_string();
            data.insert(k, J::String(B64.encode(text)));
        }
    }
    if let Some(J::Object(binary)) = o.remove("binaryData") {
        data.extend(binary);
    }
    if !data.is_empty() {
        o.insert("data".into(), J::Object(data));
    }
    j
}

/// The reverse of [`encode_secret`]: keys the state holds in `binary_data` stay
/// base64; the others are decoded into `data`.
fn decode_secret(prior: &Object, mut j: J) -> J {
    let binary_keys: Vec<String> = map_of(prior, "binary_data").into_keys().collect();
    let Some(o) = j.as_object_mut() else { return j };
    let Some(J::Object(wire)) = o.remove("data") else {
        return j;
    };
    let (mut plain, mut binary) = (Map::new(), Map::new());
    for (k, v) in wire {
        let encoded = v.as_str().unwrap_or_default().to_string();
        let decoded = B64
            .decode(&encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded {
            Some(text) if !binary_keys.contains(&k) => {
                plain.insert(k, J::String(text));
            }
            _ => {
                binary.insert(k, J::String(encoded));
            }
        }
    }
    if !plain.is_empty() {
        o.insert("data".into(), J::Object(plain));
    }
    if !binary.is_empty() {
        o.insert("binaryData".into(), J::Object(binary));
    }
    j
}

pub fn config_map(kube: &Kube, type_name: &str) -> Typed {
    Typed::new(
        kube,
        Kind {
            type_name: type_name.into(),
            api_version: "v1",
            kind: "ConfigMap",
            namespaced: true,
            schema: block(
                vec![
                    ("data", optional(string_map())),
                    ("binary_data", optional(string_map())),
                    ("immutable", optional(Type::Bool)),
                ],
                vec![],
            ),
            own: &[],
            encode: unchanged,
            decode: unchanged,
            replaced_on: &[],
            settle: None,
            timeout: Duration::from_secs(60),
            check: no_checks,
        },
    )
}

pub fn service_account(kube: &Kube, type_name: &str) -> Typed {
    Typed::new(
        kube,
        Kind {
            type_name: type_name.into(),
            api_version: "v1",
            kind: "ServiceAccount",
            namespaced: true,
            schema: block(
                vec![
                    (
                        "automount_service_account_token",
                        optional_computed(Type::Bool),
                    ),
                    ("default_secret_name", computed(Type::String)),
                ],
                vec![
                    ("image_pull_secret", named_list()),
                    ("secret", named_list()),
                ],
            ),
            own: &[],
            encode: unchanged,
            decode: unchanged,
            replaced_on: &[],
            settle: None,
            timeout: Duration::from_secs(60),
            check: no_checks,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use plinth_provider_sdk::Value;
    use serde_json::json;

    #[test]
    fn secret_data_is_base64_on_the_wire_and_plain_in_state() {
        let wire = encode_secret(
            &Object(Default::default()),
            json!({"data": {"token": "hf_abc"}, "binaryData": {"bin": "AAE="}}),
        );
        assert_eq!(wire, json!({"data": {"token": "aGZfYWJj", "bin": "AAE="}}));
        let mut prior = Object(Default::default());
        prior.set(
            "binary_data",
            Value::Map(
                Type::String,
                [("bin".to_string(), Value::string("AAE="))].into(),
            ),
        );
        assert_eq!(
            decode_secret(&prior, wire),
            json!({"data": {"token": "hf_abc"}, "binaryData": {"bin": "AAE="}})
        );
    }
}
