//! A service's arguments read back from the objects it owns, for `import`: the
//! Deployment's vLLM arguments, GPUs, volumes and scheduling, the autoscaler's bounds
//! and the claim's size and class. Defaults read back as unset, so that a
//! configuration that leaves them out plans no change.

use plinth_provider_sdk::shape::*;
use plinth_provider_sdk::{Block, Nesting, Object, Type, Value};
use serde_json::Value as J;

use super::objects::DEFAULT_IMAGE;
use super::{gpus, number, spec_of, DEFAULT_UTILIZATION};
use crate::json::typed;

fn text<'a>(j: &'a J, pointer: &str) -> Option<&'a str> {
    j.pointer(pointer).and_then(J::as_str)
}

/// Our flags with their values, and the arguments after `--port` (`extra_args`).
fn split_args(args: &[String]) -> (Vec<(String, String)>, Vec<String>) {
    let mut flags = Vec::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let Some(value) = rest.next() else { break };
        flags.push((flag.clone(), value.clone()));
        if flag == "--port" {
            break;
        }
    }
    (flags, rest.cloned().collect())
}

fn object(pairs: Vec<(&str, Value)>) -> Object {
    Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn nested(schema: &Block, name: &str, items: Vec<Object>) -> Value {
    let inner = schema
        .blocks
        .get(name)
        .map(|b| b.block.clone())
        .unwrap_or_default();
    objects_value(&inner, Nesting::List, items)
}

/// The state `schema` describes for the live objects (`autoscaler` and `claim` when
/// they exist); the computed attributes are left for planning to derive.
pub fn state_of(
    schema: &Block,
    deployment: &J,
    autoscaler: Option<&J>,
    claim: Option<&J>,
) -> Object {
    let container = deployment
        .pointer("/spec/template/spec/containers/0")
        .cloned()
        .unwrap_or(J::Null);
    let pod = deployment
        .pointer("/spec/template/spec")
        .cloned()
        .unwrap_or(J::Null);
    let args: Vec<String> = container
        .get("args")
        .and_then(J::as_array)
        .map(|a| a.iter().filter_map(J::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let (flags, extra) = split_args(&args);
    let flag = |f: &str| flags.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone());
    let count: i64 = flag("--tensor-parallel-size")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let label = text(&pod, "/nodeSelector/nvidia.com~1gpu.product");
    let gpu_type = gpus::CATALOG
        .iter()
        .find(|g| Some(g.label) == label)
        .map(|g| g.name.to_string());
    let dtype = match (flag("--dtype").as_deref(), flag("--quantization")) {
        (_, Some(q)) => Some(q),
        (Some("auto") | None, None) => None,
        (Some(d), None) => Some(d.to_string()),
    };
    let utilization = flag("--gpu-memory-utilization")
        .and_then(|u| u.parse::<f64>().ok())
        .filter(|u| (u - DEFAULT_UTILIZATION).abs() > 1e-9);
    let max_model_len = flag("--max-model-len").and_then(|l| l.parse::<i64>().ok());
    let mut state = object(vec![
        ("name", opt_s(text(deployment, "/metadata/name"))),
        ("namespace", opt_s(text(deployment, "/metadata/namespace"))),
        ("model", opt_s(flag("--model"))),
        (
            "image",
            s(container
                .get("image")
                .and_then(J::as_str)
                .unwrap_or(DEFAULT_IMAGE)),
        ),
        (
            "replicas",
            match autoscaler {
                Some(_) => Value::Null(Type::Number),
                None => n(deployment
                    .pointer("/spec/replicas")
                    .and_then(J::as_i64)
                    .unwrap_or(1)),
            },
        ),
        (
            "gpu",
            nested(
                schema,
                "gpu",
                vec![object(vec![
                    ("type", opt_s(gpu_type)),
                    (
                        "count",
                        if count == 1 {
                            Value::Null(Type::Number)
                        } else {
                            n(count)
                        },
                    ),
                ])],
            ),
        ),
    ]);
    let vllm_set =
        dtype.is_some() || utilization.is_some() || max_model_len.is_some() || !extra.is_empty();
    let vllm = vllm_set.then(|| {
        object(vec![
            (
                "max_model_len",
                max_model_len.map_or(Value::Null(Type::Number), n),
            ),
            (
                "gpu_memory_utilization",
                utilization.map_or(Value::Null(Type::Number), number),
            ),
            ("dtype", opt_s(dtype)),
            (
                "extra_args",
                if extra.is_empty() {
                    Value::Null(string_list())
                } else {
                    strings_list(extra)
                },
            ),
        ])
    });
    state.set("vllm", nested(schema, "vllm", vllm.into_iter().collect()));
    let token = container
        .get("env")
        .and_then(J::as_array)
        .and_then(|env| {
            env.iter()
                .find(|e| e.get("name").and_then(J::as_str) == Some("HF_TOKEN"))
        })
        .and_then(|e| e.pointer("/valueFrom/secretKeyRef"))
        .map(|r| {
            object(vec![
                ("name", opt_s(text(r, "/name"))),
                ("key", opt_s(text(r, "/key"))),
            ])
        });
    state.set(
        "hf_token_secret",
        nested(schema, "hf_token_secret", token.into_iter().collect()),
    );
    let scaling = autoscaler.map(|h| {
        let int = |p: &str| h.pointer(p).and_then(J::as_i64);
        object(vec![
            (
                "min_replicas",
                int("/spec/minReplicas").map_or(Value::Null(Type::Number), n),
            ),
            (
                "max_replicas",
                int("/spec/maxReplicas").map_or(Value::Null(Type::Number), n),
            ),
            (
                "target_cpu_utilization",
                int("/spec/metrics/0/resource/target/averageUtilization")
                    .map_or(Value::Null(Type::Number), n),
            ),
        ])
    });
    state.set(
        "autoscaling",
        nested(schema, "autoscaling", scaling.into_iter().collect()),
    );
    let cache = claim.map(|c| {
        object(vec![
            ("size", opt_s(text(c, "/spec/resources/requests/storage"))),
            ("storage_class", opt_s(text(c, "/spec/storageClassName"))),
            (
                "access_mode",
                opt_s(text(c, "/spec/accessModes/0").filter(|m| *m != "ReadWriteOnce")),
            ),
        ])
    });
    state.set(
        "model_cache",
        nested(schema, "model_cache", cache.into_iter().collect()),
    );
    // What the defaults would write reads as unset; anything else as set.
    let defaults = spec_of(&state);
    let built = defaults.deployment(false);
    let same = |p: &str| pod.pointer(p) == built.pointer(&format!("/spec/template/spec{p}"));
    let shm = text(&pod, "/volumes/0/emptyDir/sizeLimit").map(str::to_string);
    state.set(
        "shm_size",
        opt_s(shm.filter(|s| Some(s.as_str()) != Some(defaults.shm_size().as_str()))),
    );
    state.set(
        "node_selector",
        if same("/nodeSelector") {
            Value::Null(string_map())
        } else {
            typed(pod.get("nodeSelector").unwrap_or(&J::Null), &string_map())
        },
    );
    let tolerations = if same("/tolerations") {
        Value::Null(Type::list(string_map()))
    } else {
        let list = pod
            .get("tolerations")
            .and_then(J::as_array)
            .cloned()
            .unwrap_or_default();
        Value::List(
            string_map(),
            list.iter()
                .map(|t| {
                    let m = t
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .map(|(k, v)| {
                                    let key = if k == "tolerationSeconds" {
                                        "toleration_seconds".to_string()
                                    } else {
                                        k.clone()
                                    };
                                    let value = match v {
                                        J::String(s) => s.clone(),
                                        other => other.to_string(),
                                    };
                                    (key, s(value))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    Value::Map(Type::String, m)
                })
                .collect(),
        )
    };
    state.set("tolerations", tolerations);
    state.set("model_parameters_b", Value::Null(Type::Number));
    state
}
