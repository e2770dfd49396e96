//! Plan-level checks of `kubernetes_llm_service`: configurations built as the
//! protocol delivers them, planned and validated without a cluster.

use std::sync::Arc;

use plinth_provider_sdk::{Object, PlanRequest, Resource, Type, Value};
use serde_json::{json, Value as J};

use super::*;
use crate::client::Shared;
use crate::json::typed;

fn service() -> LlmService {
    LlmService {
        kube: Arc::new(Shared::default()),
    }
}

/// A configuration from JSON in the schema's shape (blocks as lists); what it leaves
/// out is null.
fn config(j: J) -> Object {
    let ty = service().schema().block.implied_type();
    Object::from_value(&typed(&j, &ty))
}

fn base() -> J {
    json!({
        "name": "llama-70b",
        "namespace": "serving",
        "model": "meta-llama/Llama-3.1-70B-Instruct",
        "gpu": [{"type": "H100", "count": 4}],
    })
}

fn with(mut j: J, key: &str, value: J) -> J {
    j[key] = value;
    j
}

fn plan(c: &Object, prior: Option<&Object>) -> Result<Planned> {
    service().plan(PlanRequest {
        prior,
        proposed: c,
        config: c,
    })
}

fn errors_at(c: &Object) -> Vec<(Vec<String>, String)> {
    match plan(c, None) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.into_iter().map(|d| (d.attribute, d.detail)).collect(),
    }
}

fn path(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_70b_model_on_one_a10g_fails_at_gpu_count_naming_the_count_that_fits() {
    let c = config(with(base(), "gpu", json!([{"type": "A10G", "count": 1}])));
    let errors = errors_at(&c);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, path(&["gpu", "count"]));
    assert!(
        errors[0]
            .1
            .contains("needs 130.4 GiB for its weights in 16-bit (dtype auto)"),
        "{}",
        errors[0].1
    );
    assert!(
        errors[0].1.contains("1 × A10G gives 21.6 GiB"),
        "{}",
        errors[0].1
    );
    assert!(
        errors[0].1.contains("the smallest count that fits is 8"),
        "{}",
        errors[0].1
    );
    // Validation says the same, so the error shows before any plan.
    assert_eq!(service().validate(&c).len(), 1);
}

#[test]
fn a_gpu_count_of_three_is_refused_at_its_line() {
    let c = config(with(base(), "gpu", json!([{"type": "H100", "count": 3}])));
    let errors = errors_at(&c);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, path(&["gpu", "count"]));
    assert!(errors[0].1.contains("gpu.count is 3"), "{}", errors[0].1);
    assert!(errors[0].1.contains("1, 2, 4 or 8"), "{}", errors[0].1);
}

#[test]
fn an_unknown_gpu_type_lists_the_known_ones() {
    let c = config(with(base(), "gpu", json!([{"type": "H1000", "count": 4}])));
    let errors = errors_at(&c);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, path(&["gpu", "type"]));
    assert!(
        errors[0].1.contains("Known types: T4, V100") && errors[0].1.contains("H200"),
        "{}",
        errors[0].1
    );
}

#[test]
fn replicas_and_autoscaling_together_are_refused_at_autoscaling() {
    let j = with(base(), "replicas", json!(2));
    let j = with(j, "autoscaling", json!([{"max_replicas": 4}]));
    let errors = errors_at(&config(j));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, path(&["autoscaling"]));
}

#[test]
fn a_mixture_of_experts_is_read_as_experts_times_size() {
    let j = with(
        base(),
        "model",
        json!("mistralai/Mixtral-8x7B-Instruct-v0.1"),
    );
    let j = with(j, "gpu", json!([{"type": "A10G", "count": 2}]));
    let errors = errors_at(&config(j.clone()));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].1.contains("needs 104.3 GiB"), "{}", errors[0].1);
    // The exact count, given, fits on 8 × A10G... and 46.7B in fp8 on 4.
    let j = with(j, "model_parameters_b", json!(46.7));
    let j = with(j, "gpu", json!([{"type": "A10G", "count": 4}]));
    let j = with(j, "vllm", json!([{"dtype": "fp8"}]));
    let planned = plan(&config(j), None).unwrap();
    assert_eq!(planned.state.get("weights_gib"), number(43.5));
}

#[test]
fn awq_fits_a_70b_model_on_two_a10gs() {
    let j = with(base(), "gpu", json!([{"type": "A10G", "count": 2}]));
    let j = with(j, "vllm", json!([{"dtype": "awq"}]));
    let planned = plan(&config(j), None).unwrap();
    assert_eq!(planned.state.get("weights_gib"), number(32.6));
}

#[test]
fn a_model_id_without_a_size_is_a_warning_not_an_error() {
    let c = config(with(base(), "model", json!("acme/house-model")));
    let diags = service().validate(&c);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(!diags[0].error);
    assert_eq!(diags[0].attribute, path(&["model"]));
    let planned = plan(&c, None).unwrap();
    assert!(planned.state.is_null("weights_gib"));
}

#[test]
fn unknown_values_skip_the_checks_that_need_them() {
    let mut c = config(base());
    let ty = service().schema().block.blocks["gpu"].block.implied_type();
    let gpu = Value::List(
        ty,
        vec![Value::Object(
            [
                ("type".to_string(), Value::String("A10G".into())),
                ("count".to_string(), Value::Unknown(Type::Number)),
            ]
            .into(),
        )],
    );
    c.set("gpu", gpu);
    assert_eq!(service().validate(&c), Vec::new());
    let planned = plan(&c, None).unwrap();
    assert!(!planned.state.get("tensor_parallel_size").is_known());
    assert_eq!(
        planned.state.get("endpoint"),
        s("http://llama-70b.serving.svc.cluster.local")
    );
}

#[test]
fn the_plan_derives_the_computed_attributes() {
    let j = with(
        base(),
        "model_cache",
        json!([{"size": "200Gi", "storage_class": "gp3"}]),
    );
    let state = plan(&config(j), None).unwrap().state;
    assert_eq!(state.get("namespace"), s("serving"));
    assert_eq!(state.get("image"), s("vllm/vllm-openai:v0.6.3"));
    assert_eq!(state.get("replicas"), n(1));
    assert_eq!(state.get("tensor_parallel_size"), n(4));
    assert_eq!(state.get("gpu_memory_gib"), n(320));
    assert_eq!(state.get("weights_gib"), number(130.4));
    assert_eq!(state.get("deployment_name"), s("llama-70b"));
    assert_eq!(state.get("service_name"), s("llama-70b"));
    assert_eq!(state.get("pvc_name"), s("llama-70b-model-cache"));
    assert!(state.is_null("hpa_name"));
    assert!(state.is_null("pdb_name"));
    assert_eq!(state.get("in_sync"), b(true));
    assert_eq!(state.get("id"), s("serving/llama-70b"));
}

#[test]
fn autoscaling_leaves_replicas_to_the_autoscaler() {
    let j = with(
        base(),
        "autoscaling",
        json!([{"min_replicas": 1, "max_replicas": 4}]),
    );
    let state = plan(&config(j), None).unwrap().state;
    assert!(state.is_null("replicas"));
    assert_eq!(state.get("hpa_name"), s("llama-70b"));
    assert_eq!(state.get("pdb_name"), s("llama-70b"));
    let spec = spec_of(&state);
    assert_eq!(
        spec.autoscaler().unwrap()["spec"]["metrics"][0]["resource"]["target"]
            ["averageUtilization"],
        json!(80)
    );
}

#[test]
fn an_unchanged_service_plans_no_change_and_drift_plans_an_update() {
    let c = config(with(base(), "replicas", json!(2)));
    let prior = plan(&c, None).unwrap().state;
    let again = plan(&c, Some(&prior)).unwrap();
    assert_eq!(again.state, prior);
    assert!(again.requires_replace.is_empty());
    let mut drifted = prior.clone();
    drifted.set("in_sync", b(false));
    let fixing = plan(&c, Some(&drifted)).unwrap();
    assert_eq!(fixing.state.get("in_sync"), b(true));
    assert!(fixing.requires_replace.is_empty());
}

#[test]
fn a_namespace_change_replaces_and_a_replicas_change_does_not() {
    let prior = plan(&config(base()), None).unwrap().state;
    let moved = config(with(base(), "namespace", json!("other")));
    assert_eq!(
        plan(&moved, Some(&prior)).unwrap().requires_replace,
        vec!["namespace".to_string()]
    );
    let scaled = config(with(base(), "replicas", json!(3)));
    let planned = plan(&scaled, Some(&prior)).unwrap();
    assert!(planned.requires_replace.is_empty());
    assert_eq!(planned.state.get("replicas"), n(3));
}

#[test]
fn bad_block_values_are_refused_at_their_attributes() {
    let j = with(
        base(),
        "vllm",
        json!([{"dtype": "int4", "gpu_memory_utilization": 1.5}]),
    );
    let errors = errors_at(&config(j));
    let paths: Vec<_> = errors.iter().map(|e| e.0.clone()).collect();
    assert!(paths.contains(&path(&["vllm", "dtype"])), "{errors:?}");
    assert!(
        paths.contains(&path(&["vllm", "gpu_memory_utilization"])),
        "{errors:?}"
    );
    let j = with(
        base(),
        "autoscaling",
        json!([{"min_replicas": 3, "max_replicas": 2}]),
    );
    let errors = errors_at(&config(j));
    assert_eq!(errors[0].0, path(&["autoscaling", "max_replicas"]));
    let j = with(
        base(),
        "tolerations",
        json!([{"key": "a", "effekt": "NoSchedule"}]),
    );
    let errors = errors_at(&config(j));
    assert_eq!(errors[0].0, path(&["tolerations"]));
}

#[test]
fn a_shared_single_node_cache_warns_with_more_than_one_replica() {
    let j = with(base(), "replicas", json!(2));
    let j = with(j, "model_cache", json!([{"size": "200Gi"}]));
    let diags = service().validate(&config(j));
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(!diags[0].error);
    assert_eq!(diags[0].attribute, path(&["model_cache", "access_mode"]));
}

#[test]
fn the_spec_follows_the_planned_state() {
    let j = with(
        base(),
        "hf_token_secret",
        json!([{"name": "hf-token", "key": "token"}]),
    );
    let j = with(j, "tolerations", json!([]));
    let j = with(j, "node_selector", json!({"pool": "gpu"}));
    let state = plan(&config(j), None).unwrap().state;
    let d = spec_of(&state).deployment(true);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["tolerations"], json!([]));
    assert_eq!(pod["nodeSelector"], json!({"pool": "gpu"}));
    assert_eq!(
        pod["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"],
        json!({"name": "hf-token", "key": "token"})
    );
    assert_eq!(d["spec"]["replicas"], json!(1));
}

#[test]
fn live_quantities_in_canonical_form_are_not_drift() {
    let want = json!({"sizeLimit": "1024Mi", "args": ["--port", "8000"]});
    assert!(equivalent(
        &json!({"sizeLimit": "1Gi", "args": ["--port", "8000"]}),
        &want
    ));
    assert!(!equivalent(
        &json!({"sizeLimit": "2Gi", "args": ["--port", "8000"]}),
        &want
    ));
    assert!(!equivalent(
        &json!({"sizeLimit": "1Gi", "args": ["--port", "8001"]}),
        &want
    ));
    // An element a live list gained is drift.
    assert!(!equivalent(
        &json!({"sizeLimit": "1Gi", "args": ["--port", "8000", "--x"]}),
        &want
    ));
}

#[test]
fn a_new_storage_class_replaces_and_a_larger_cache_does_not() {
    let cache = |size: &str, class: &str| {
        config(with(
            base(),
            "model_cache",
            json!([{"size": size, "storage_class": class}]),
        ))
    };
    let prior = plan(&cache("200Gi", "gp3"), None).unwrap().state;
    let grown = plan(&cache("300Gi", "gp3"), Some(&prior)).unwrap();
    assert!(grown.requires_replace.is_empty());
    let moved = plan(&cache("200Gi", "io2"), Some(&prior)).unwrap();
    assert_eq!(moved.requires_replace, vec!["model_cache".to_string()]);
    // Adding or dropping the cache is an update.
    let none = plan(&config(base()), Some(&prior)).unwrap();
    assert!(none.requires_replace.is_empty());
}

fn imported(c: &Object) -> (Object, Object) {
    let planned = plan(c, None).unwrap().state;
    let spec = spec_of(&planned);
    let state = import::state_of(
        &service().schema().block,
        &spec.deployment(true),
        spec.autoscaler().as_ref(),
        spec.model_cache_claim().as_ref(),
    );
    (planned, state)
}

#[test]
fn import_reads_the_arguments_back_from_the_objects() {
    let full = json!({
        "name": "llama-70b",
        "namespace": "serving",
        "model": "meta-llama/Llama-3.1-70B-Instruct",
        "image": "vllm/vllm-openai:v0.6.4",
        "gpu": [{"type": "H100", "count": 4}],
        "autoscaling": [{"min_replicas": 2, "max_replicas": 4, "target_cpu_utilization": 70}],
        "vllm": [{"max_model_len": 8192, "gpu_memory_utilization": 0.85, "dtype": "fp8",
                  "extra_args": ["--enable-prefix-caching"]}],
        "hf_token_secret": [{"name": "hf-token", "key": "token"}],
        "model_cache": [{"size": "200Gi", "storage_class": "gp3"}],
        "shm_size": "16Gi",
        "node_selector": {"pool": "h100"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"}],
    });
    for j in [base(), with(base(), "replicas", json!(3))] {
        let (planned, state) = imported(&config(j.clone()));
        assert_eq!(spec_of(&state), spec_of(&planned), "{j}");
    }
    // Under a node selector of its own the GPU type cannot be read back (the
    // configuration supplies it); every object is the same.
    let (planned, state) = imported(&config(full));
    assert!(first(&state, "gpu").unwrap().is_null("type"));
    for part in Part::ALL {
        assert_eq!(
            spec_of(&state).object(part, false),
            spec_of(&planned).object(part, false),
            "{part:?}"
        );
    }
    // Defaults read back as unset.
    let (_, state) = imported(&config(base()));
    for unset in [
        "shm_size",
        "node_selector",
        "tolerations",
        "model_parameters_b",
    ] {
        assert!(state.is_null(unset), "{unset}");
    }
    assert!(first(&state, "vllm").is_none());
    assert_eq!(first(&state, "gpu").unwrap().get("count"), n(4));
}
