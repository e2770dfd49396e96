//! The checks on a `kubernetes_llm_service`'s arguments, each a diagnostic at its
//! attribute: run at validation and again at plan, each skipped while a value it
//! needs is unknown.

use plinth_provider_sdk::{Diagnostic, Number, Object, Value};

use super::fit::{self, Dtype, COUNTS};
use super::{first, gpus, DEFAULT_UTILIZATION};

const ACCESS_MODES: [&str; 4] = [
    "ReadWriteOnce",
    "ReadWriteOncePod",
    "ReadWriteMany",
    "ReadOnlyMany",
];
const TOLERATION_KEYS: [&str; 5] = ["key", "operator", "value", "effect", "toleration_seconds"];

/// Every check on the arguments, each at its attribute; a check whose values are
/// not known yet is skipped (planning runs it again once they are).
pub fn checks(config: &Object) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let autoscaling = first(config, "autoscaling");
    if config.is_known("replicas") && !config.is_null("replicas") && autoscaling.is_some() {
        out.push(
            Diagnostic::error(
                "Conflicting replica settings",
                "Set replicas or an autoscaling block, not both: with autoscaling the HorizontalPodAutoscaler decides how many replicas run.",
            )
            .at("autoscaling"),
        );
    }
    if config.i64("replicas").is_some_and(|r| r < 0) {
        out.push(
            Diagnostic::error("Invalid replicas", "replicas cannot be negative.").at("replicas"),
        );
    }
    if let Some(a) = &autoscaling {
        let (min, max) = (a.i64("min_replicas"), a.i64("max_replicas"));
        if min.is_some_and(|m| m < 1) {
            out.push(
                Diagnostic::error("Invalid min_replicas", "min_replicas must be at least 1.")
                    .at_path(&["autoscaling", "min_replicas"]),
            );
        }
        if let Some(max) = max {
            if max < min.unwrap_or(1) {
                out.push(
                    Diagnostic::error(
                        "Invalid max_replicas",
                        format!(
                            "max_replicas ({max}) is below min_replicas ({}).",
                            min.unwrap_or(1)
                        ),
                    )
                    .at_path(&["autoscaling", "max_replicas"]),
                );
            }
        }
        if a.i64("target_cpu_utilization")
            .is_some_and(|t| !(1..=100).contains(&t))
        {
            out.push(
                Diagnostic::error(
                    "Invalid target_cpu_utilization",
                    "target_cpu_utilization is a percentage of the pods' CPU request, 1 to 100.",
                )
                .at_path(&["autoscaling", "target_cpu_utilization"]),
            );
        }
    }
    let gpu = first(config, "gpu");
    let gpu_type = gpu.as_ref().and_then(|g| g.string("type"));
    let catalog_gpu = gpu_type.as_deref().and_then(gpus::find);
    if let (Some(name), None) = (&gpu_type, catalog_gpu) {
        out.push(
            Diagnostic::error(
                "Unknown GPU type",
                format!(
                    "{name:?} is not in plinth's GPU catalog. Known types: {}.",
                    gpus::names()
                ),
            )
            .at_path(&["gpu", "type"]),
        );
    }
    let count_value = gpu.as_ref().map(|g| g.get("count"));
    let count = match &count_value {
        Some(v) if !v.is_known() => None,
        Some(v) if v.is_null() => Some(1),
        Some(v) => v.as_number().and_then(Number::to_i64).or(Some(0)),
        None => Some(1),
    };
    let count_ok = count.is_some_and(|c| COUNTS.contains(&c));
    if let (Some(c), false) = (count, count_ok) {
        let shown = count_value
            .as_ref()
            .and_then(|v| v.as_number().map(Number::to_general))
            .unwrap_or_else(|| c.to_string());
        out.push(
            Diagnostic::error(
                "Invalid GPU count",
                format!(
                    "gpu.count is {shown}; it must be 1, 2, 4 or 8: it is vLLM's --tensor-parallel-size, which must divide the model's attention heads."
                ),
            )
            .at_path(&["gpu", "count"]),
        );
    }
    let vllm = first(config, "vllm");
    let vllm_value = |f: &str| vllm.as_ref().map(|v| v.get(f)).unwrap_or_else(Value::null);
    let dtype_value = vllm_value("dtype");
    let dtype = match dtype_value.as_str() {
        Some(text) => match Dtype::parse(text) {
            Some(d) => Some(d),
            None => {
                out.push(
                    Diagnostic::error(
                        "Unknown dtype",
                        format!(
                            "{text:?} is not a dtype plinth knows: use one of {}.",
                            Dtype::NAMES
                        ),
                    )
                    .at_path(&["vllm", "dtype"]),
                );
                None
            }
        },
        None if dtype_value.is_null() => Some(Dtype::Auto),
        None => None,
    };
    let utilization_value = vllm_value("gpu_memory_utilization");
    let utilization = match utilization_value.as_number().map(Number::to_f64) {
        Some(u) if u <= 0.0 || u > 1.0 => {
            out.push(
                Diagnostic::error(
                    "Invalid gpu_memory_utilization",
                    format!("gpu_memory_utilization is the share of each GPU's memory vLLM may use, above 0 and at most 1; it is {u}."),
                )
                .at_path(&["vllm", "gpu_memory_utilization"]),
            );
            None
        }
        Some(u) => Some(u),
        None if utilization_value.is_null() => Some(DEFAULT_UTILIZATION),
        None => None,
    };
    if vllm_value("max_model_len")
        .as_number()
        .is_some_and(|n| n.to_f64() < 1.0)
    {
        out.push(
            Diagnostic::error("Invalid max_model_len", "max_model_len must be at least 1.")
                .at_path(&["vllm", "max_model_len"]),
        );
    }
    if let Some(list) = config.get("tolerations").elements() {
        for t in list {
            if let Value::Map(_, m) | Value::Object(m) = t.peel().0 {
                if let Some(bad) = m.keys().find(|k| !TOLERATION_KEYS.contains(&k.as_str())) {
                    out.push(
                        Diagnostic::error(
                            "Invalid toleration",
                            format!(
                                "A toleration has no field {bad:?}; its fields are {}.",
                                TOLERATION_KEYS.join(", ")
                            ),
                        )
                        .at("tolerations"),
                    );
                }
            }
        }
    }
    let cache = first(config, "model_cache");
    if let Some(mode) = cache.as_ref().and_then(|c| c.string("access_mode")) {
        if !ACCESS_MODES.contains(&mode.as_str()) {
            out.push(
                Diagnostic::error(
                    "Invalid access_mode",
                    format!(
                        "{mode:?} is not a volume access mode: use one of {}.",
                        ACCESS_MODES.join(", ")
                    ),
                )
                .at_path(&["model_cache", "access_mode"]),
            );
        }
    }
    let single_node_cache = cache.as_ref().is_some_and(|c| {
        c.is_known("access_mode")
            && c.string("access_mode")
                .is_none_or(|m| m == "ReadWriteOnce" || m == "ReadWriteOncePod")
    });
    let max_replicas = match &autoscaling {
        Some(a) => a.i64("max_replicas"),
        None => config.i64("replicas"),
    };
    if single_node_cache && max_replicas.is_some_and(|m| m >= 2) {
        out.push(
            Diagnostic::warning(
                "Model cache shared by replicas",
                "The model cache is a ReadWriteOnce volume: replicas scheduled on other nodes cannot mount it and stay pending. Use a storage class that serves ReadWriteMany (EFS, Filestore) with access_mode = \"ReadWriteMany\", or one replica.",
            )
            .at_path(&["model_cache", "access_mode"]),
        );
    }
    let model = config.get("model");
    let parameters_value = config.get("model_parameters_b");
    if !model.is_known() || !parameters_value.is_known() {
        return out;
    }
    let model = model.as_str().unwrap_or_default().to_string();
    let parameters = parameters_value
        .as_number()
        .map(Number::to_f64)
        .or_else(|| fit::parameters_b(&model));
    if parameters_value
        .as_number()
        .is_some_and(|p| p.to_f64() <= 0.0)
    {
        out.push(
            Diagnostic::error(
                "Invalid model_parameters_b",
                "model_parameters_b is the model's size in billions of parameters, above 0.",
            )
            .at("model_parameters_b"),
        );
        return out;
    }
    let Some(parameters) = parameters else {
        out.push(
            Diagnostic::warning(
                "GPU fit not checked",
                format!(
                    "The model id {model:?} says no size (such as \"8B\" or \"8x7B\"), so plinth cannot check that its weights fit the GPUs. Set model_parameters_b to the model's billions of parameters."
                ),
            )
            .at("model"),
        );
        return out;
    };
    if let (Some(gpu), Some(count), true, Some(dtype), Some(utilization)) =
        (catalog_gpu, count, count_ok, dtype, utilization)
    {
        let request = fit::Request {
            model: &model,
            parameters_b: parameters,
            dtype,
            gpu: &gpu,
            count,
            utilization,
        };
        if let Some(message) = fit::misfit(&request) {
            out.push(
                Diagnostic::error("The model does not fit the GPUs", message)
                    .at_path(&["gpu", "count"]),
            );
        }
    }
    out
}
