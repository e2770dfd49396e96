//! Pipeline steps: `kubernetes_job_v1` (with `wait_for_completion`, so that plinth's
//! dependency graph runs the steps in order at apply time) and
//! `kubernetes_cron_job_v1` for recurring ones, over the part of HashiCorp's pod
//! spec that batch and GPU work uses.

use std::time::Duration;

use plinth_provider_sdk::shape::*;
use plinth_provider_sdk::{Block, Diagnostic, NestedBlock, Object, Result, Type};
use serde_json::Value as J;

use crate::client::describe;
use crate::json::at_path;
use crate::typed::{metadata_block, unchanged, Kind, Typed};

fn one(inner: Block) -> NestedBlock {
    single(inner, false)
}

fn key_ref() -> Block {
    block(
        vec![
            ("name", optional(Type::String)),
            ("key", optional(Type::String)),
            ("optional", optional(Type::Bool)),
        ],
        vec![],
    )
}

fn container() -> Block {
    let env = block(
        vec![
            ("name", required(Type::String)),
            ("value", optional(Type::String)),
        ],
        vec![(
            "value_from",
            one(block(
                vec![],
                vec![
                    ("secret_key_ref", one(key_ref())),
                    ("config_map_key_ref", one(key_ref())),
                    (
                        "field_ref",
                        one(block(vec![("field_path", optional(Type::String))], vec![])),
                    ),
                ],
            )),
        )],
    );
    let named_ref = || one(block(vec![("name", required(Type::String))], vec![]));
    let env_from = block(
        vec![("prefix", optional(Type::String))],
        vec![("secret_ref", named_ref()), ("config_map_ref", named_ref())],
    );
    let port = block(
        vec![
            ("container_port", required(Type::Number)),
            ("name", optional(Type::String)),
            ("protocol", optional_computed(Type::String)),
        ],
        vec![],
    );
    let resources = block(
        vec![
            ("limits", optional_computed(string_map())),
            ("requests", optional_computed(string_map())),
        ],
        vec![],
    );
    let volume_mount = block(
        vec![
            ("name", required(Type::String)),
            ("mount_path", required(Type::String)),
            ("read_only", optional(Type::Bool)),
            ("sub_path", optional(Type::String)),
        ],
        vec![],
    );
    block(
        vec![
            ("name", required(Type::String)),
            ("image", optional(Type::String)),
            ("command", optional(string_list())),
            ("args", optional(string_list())),
            ("working_dir", optional(Type::String)),
            ("image_pull_policy", optional_computed(Type::String)),
        ],
        vec![
            ("env", list_of(env)),
            ("env_from", list_of(env_from)),
            ("port", list_of(port)),
            ("resources", one(resources)),
            ("volume_mount", list_of(volume_mount)),
        ],
    )
}

/// The pod spec: containers, scheduling (node selector, tolerations) and volumes.
pub fn pod_spec() -> Block {
    let toleration = block(
        vec![
            ("key", optional(Type::String)),
            ("operator", optional(Type::String)),
            ("value", optional(Type::String)),
            ("effect", optional(Type::String)),
            ("toleration_seconds", optional(Type::Number)),
        ],
        vec![],
    );
    let volume = block(
        vec![("name", required(Type::String))],
        vec![
            (
                "empty_dir",
                one(block(
                    vec![
                        ("medium", optional(Type::String)),
                        ("size_limit", optional(Type::String)),
                    ],
                    vec![],
                )),
            ),
            (
                "secret",
                one(block(vec![("secret_name", optional(Type::String))], vec![])),
            ),
            (
                "config_map",
                one(block(vec![("name", optional(Type::String))], vec![])),
            ),
            (
                "persistent_volume_claim",
                one(block(
                    vec![
                        ("claim_name", optional(Type::String)),
                        ("read_only", optional(Type::Bool)),
                    ],
                    vec![],
                )),
            ),
        ],
    );
    let mut containers = list_of(container());
    containers.min_items = 1;
    block(
        vec![
            ("restart_policy", optional_computed(Type::String)),
            ("service_account_name", optional_computed(Type::String)),
            ("node_selector", optional(string_map())),
            ("priority_class_name", optional(Type::String)),
            ("active_deadline_seconds", optional(Type::Number)),
            (
                "termination_grace_period_seconds",
                optional_computed(Type::Number),
            ),
            ("automount_service_account_token", optional(Type::Bool)),
        ],
        vec![
            ("container", containers),
            ("init_container", list_of(container())),
            ("toleration", list_of(toleration)),
            ("volume", list_of(volume)),
            (
                "image_pull_secrets",
                list_of(block(vec![("name", required(Type::String))], vec![])),
            ),
        ],
    )
}

fn template() -> Block {
    let mut meta = metadata_block(false).block;
    meta.attributes.remove("name");
    meta.attributes.remove("generate_name");
    block(
        vec![],
        vec![("metadata", one(meta)), ("spec", single(pod_spec(), true))],
    )
}

/// A Job's spec: how many pods, how often retried, and the pod template.
pub fn job_spec() -> Block {
    block(
        vec![
            ("active_deadline_seconds", optional(Type::Number)),
            ("backoff_limit", optional_computed(Type::Number)),
            ("completions", optional_computed(Type::Number)),
            ("completion_mode", optional_computed(Type::String)),
            ("parallelism", optional_computed(Type::Number)),
            ("ttl_seconds_after_finished", optional(Type::String)),
            ("manual_selector", optional(Type::Bool)),
        ],
        vec![("template", single(template(), true))],
    )
}

/// `ttl_seconds_after_finished` is a string in HashiCorp's schema and a number on
/// the wire.
fn encode_job(_: &Object, mut j: J) -> J {
    if let Some(spec) = j.get_mut("spec").and_then(J::as_object_mut) {
        ttl_to_number(spec);
    }
    j
}

fn ttl_to_number(spec: &mut serde_json::Map<String, J>) {
    if let Some(J::String(t)) = spec.get("ttlSecondsAfterFinished") {
        if let Ok(n) = t.parse::<i64>() {
            spec.insert("ttlSecondsAfterFinished".into(), J::from(n));
        }
    }
}

pub fn job(kube: &crate::client::Kube, type_name: &str) -> Typed {
    Typed::new(
        kube,
        Kind {
            type_name: type_name.into(),
            api_version: "batch/v1",
            kind: "Job",
            namespaced: true,
            schema: block(
                vec![("wait_for_completion", optional(Type::Bool))],
                vec![("spec", single(job_spec(), true))],
            ),
            own: &["wait_for_completion"],
            encode: encode_job,
            decode: unchanged,
            // A Job's pod template cannot change: a new spec is a new run.
            replaced_on: &["spec"],
            settle: Some(completion),
            timeout: Duration::from_secs(60),
            check: check_job,
        },
    )
}

fn check_job(config: &Object) -> Vec<Diagnostic> {
    let restart = block_objects(config, "spec")
        .first()
        .and_then(|s| block_objects(s, "template").into_iter().next())
        .and_then(|t| block_objects(&t, "spec").into_iter().next())
        .and_then(|p| p.string("restart_policy"));
    match restart.as_deref() {
        Some("Always") => vec![Diagnostic::error(
            "Invalid restart_policy for a Job",
            "A Job's pods must have restart_policy \"Never\" or \"OnFailure\".",
        )
        .at_path(&["spec", "template", "spec", "restart_policy"])],
        _ => Vec::new(),
    }
}

/// `wait_for_completion` (true unless set false): the Job succeeded (its
/// `completions` pods did, or it reports the `Complete` condition); a `Failed`
/// condition is an error with the Job's own reason.
fn completion(t: &Typed, planned: &Object, live: &J) -> Result<()> {
    if planned.bool("wait_for_completion") == Some(false) {
        return Ok(());
    }
    let (ns, name) = crate::client::identity(live);
    let kind = t.kube.kind("batch/v1", "Job")?;
    let what = describe(&kind, ns.as_deref(), &name);
    let wanted = at_path(live, "spec.completions")
        .and_then(J::as_i64)
        .unwrap_or(1);
    wait_for(
        &format!("{what} to complete"),
        t.timeout(planned, "create"),
        || {
            let Some(now) = t.kube.get(&kind, ns.as_deref(), &name)? else {
                return Err(vec![Diagnostic::error(
                    "Job deleted",
                    format!("{what} was deleted while plinth waited for it to complete."),
                )]);
            };
            let conditions = at_path(&now, "status.conditions")
                .and_then(J::as_array)
                .cloned()
                .unwrap_or_default();
            let has = |ty: &str| {
                conditions.iter().find(|c| {
                    c.get("type").and_then(J::as_str) == Some(ty)
                        && c.get("status").and_then(J::as_str) == Some("True")
                })
            };
            if let Some(failed) = has("Failed") {
                let field = |f: &str| failed.get(f).and_then(J::as_str).unwrap_or("").to_string();
                return Err(vec![Diagnostic::error(
                    "Job failed",
                    format!(
                        "{what} failed: {}: {}. Its pods' logs say why (kubectl logs job/{name} -n {}).",
                        field("reason"),
                        field("message"),
                        ns.as_deref().unwrap_or("default")
                    ),
                )]);
            }
            let succeeded = at_path(&now, "status.succeeded")
                .and_then(J::as_i64)
                .unwrap_or(0);
            Ok((has("Complete").is_some() || succeeded >= wanted).then_some(()))
        },
    )
}

pub fn cron_job(kube: &crate::client::Kube, type_name: &str) -> Typed {
    let job_template = block(
        vec![],
        vec![
            (
                "metadata",
                one({
                    let mut m = metadata_block(false).block;
                    m.attributes.remove("name");
                    m.attributes.remove("generate_name");
                    m
                }),
            ),
            ("spec", single(job_spec(), true)),
        ],
    );
    let spec = block(
        vec![
            ("schedule", required(Type::String)),
            ("timezone", optional(Type::String)),
            ("concurrency_policy", optional_computed(Type::String)),
            ("failed_jobs_history_limit", optional_computed(Type::Number)),
            (
                "successful_jobs_history_limit",
                optional_computed(Type::Number),
            ),
            ("starting_deadline_seconds", optional(Type::Number)),
            ("suspend", optional_computed(Type::Bool)),
        ],
        vec![("job_template", single(job_template, true))],
    );
    Typed::new(
        kube,
        Kind {
            type_name: type_name.into(),
            api_version: "batch/v1",
            kind: "CronJob",
            namespaced: true,
            schema: block(vec![], vec![("spec", single(spec, true))]),
            own: &[],
            encode: encode_cron_job,
            decode: unchanged,
            replaced_on: &[],
            settle: None,
            timeout: Duration::from_secs(60),
            check: crate::typed::no_checks,
        },
    )
}

fn encode_cron_job(_: &Object, mut j: J) -> J {
    if let Some(spec) = j
        .pointer_mut("/spec/jobTemplate/spec")
        .and_then(J::as_object_mut)
    {
        ttl_to_number(spec);
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typed::block_json;
    use plinth_provider_sdk::Value;
    use serde_json::json;

    fn obj(pairs: Vec<(&str, Value)>) -> Object {
        let mut o = Object(Default::default());
        for (k, v) in pairs {
            o.set(k, v);
        }
        o
    }

    fn blocks(b: &Block, name: &str, items: Vec<Object>) -> Value {
        let nb = &b.blocks[name];
        objects_value(&nb.block, nb.nesting, items)
    }

    #[test]
    fn pod_spec_blocks_become_the_api_fields() {
        let spec = pod_spec();
        let c = container();
        let limits = Value::Map(
            Type::String,
            [("nvidia.com/gpu".to_string(), s("1"))].into(),
        );
        let resources = obj(vec![("limits", limits)]);
        let mount = obj(vec![("name", s("cache")), ("mount_path", s("/cache"))]);
        let container = obj(vec![
            ("name", s("train")),
            ("image", s("trainer:1")),
            ("resources", blocks(&c, "resources", vec![resources])),
            ("volume_mount", blocks(&c, "volume_mount", vec![mount])),
        ]);
        let pod = obj(vec![
            ("restart_policy", s("Never")),
            ("container", blocks(&spec, "container", vec![container])),
            (
                "node_selector",
                Value::Map(Type::String, [("gpu".to_string(), s("h100"))].into()),
            ),
        ]);
        assert_eq!(
            block_json(&spec, &pod, &[]),
            json!({
                "restartPolicy": "Never",
                "nodeSelector": {"gpu": "h100"},
                "containers": [{
                    "name": "train", "image": "trainer:1",
                    "resources": {"limits": {"nvidia.com/gpu": "1"}},
                    "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]
                }]
            })
        );
    }
}
