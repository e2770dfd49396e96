//! `kubernetes_llm_service`: one vLLM service that moves as one — a Deployment, its
//! Service (port 80 to vLLM's 8000), a HorizontalPodAutoscaler with `autoscaling`, a
//! PodDisruptionBudget when more than one replica can run, and a model-cache
//! PersistentVolumeClaim with `model_cache` — with the checks no other tool makes at
//! plan: the weights fit the GPUs (`fit.rs`, against the catalog in `gpus.rs`),
//! `gpu.count` is 1, 2, 4 or 8, the GPU type is known.
//!
//! `vllm.dtype` is mapped onto the flags vLLM takes: `auto`, `bfloat16`, `float16`
//! and `float32` are `--dtype` values; `fp8`, `awq` and `gptq` are `--quantization`
//! methods (with `--dtype auto`); `int8` is a pre-quantized INT8 checkpoint whose
//! method vLLM reads from the checkpoint (`--dtype auto` only).
//!
//! `in_sync` (computed) is false when the last refresh found an owned object missing
//! or one of the fields plinth writes changed outside plinth; the next plan then
//! updates the service, which writes every object again. `replicas` (without
//! autoscaling) is read from the live Deployment, so a scaled Deployment shows as a
//! `replicas` change. With autoscaling the autoscaler owns the Deployment's replicas:
//! plinth sets them on creation only.

mod checks;
mod fit;
mod gpus;
mod import;
mod objects;

use std::time::Duration;

use plinth_provider_sdk::shape::*;
use plinth_provider_sdk::{
    fail, Block, Diagnostic, Failed, Nesting, Number, Object, Outcome, PlanRequest, Planned,
    Resource, Result, Schema, Type, Value,
};
use serde_json::Value as J;

use crate::client::{self, Kube};
use crate::json::{merge_patch, project};
use crate::wait;
use checks::checks;
use fit::Dtype;
use objects::{Autoscaling, ModelCache, Part, Spec, DEFAULT_IMAGE};

/// The wait for the rollout when `timeouts` says nothing: 20 minutes, or the startup
/// probe's budget when that is longer (a 70B download takes a while).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// `gpu_memory_utilization` when unset: vLLM's own default.
pub const DEFAULT_UTILIZATION: f64 = 0.9;
/// `autoscaling.target_cpu_utilization` when unset: `kubectl autoscale`'s default.
const DEFAULT_CPU_TARGET: i64 = 80;

pub struct LlmService {
    pub kube: Kube,
}

fn one(inner: Block) -> plinth_provider_sdk::NestedBlock {
    single(inner, false)
}

pub fn first(o: &Object, name: &str) -> Option<Object> {
    block_objects(o, name).into_iter().next()
}

pub fn number(x: f64) -> Value {
    Number::parse(&x.to_string()).map_or(Value::Null(Type::Number), Value::Number)
}

fn f64_of(o: &Object, name: &str) -> Option<f64> {
    o.get(name).as_number().map(Number::to_f64)
}

/// The spec a configuration or state describes, with the defaults applied.
pub fn spec_of(o: &Object) -> Spec {
    let gpu = first(o, "gpu");
    let gpu_type = gpu
        .as_ref()
        .and_then(|g| g.string("type"))
        .unwrap_or_default();
    let gpu_count = gpu.as_ref().and_then(|g| g.i64("count")).unwrap_or(1);
    let vllm = first(o, "vllm");
    let vllm_field = |f: &str| vllm.as_ref().map(|v| v.get(f)).unwrap_or_else(Value::null);
    let dtype = vllm_field("dtype")
        .as_str()
        .and_then(Dtype::parse)
        .unwrap_or(Dtype::Auto);
    let model = o.string("model").unwrap_or_default();
    let parameters = f64_of(o, "model_parameters_b").or_else(|| fit::parameters_b(&model));
    let autoscaling = first(o, "autoscaling").map(|a| Autoscaling {
        min_replicas: a.i64("min_replicas").unwrap_or(1),
        max_replicas: a.i64("max_replicas").unwrap_or(1),
        target_cpu_utilization: a
            .i64("target_cpu_utilization")
            .unwrap_or(DEFAULT_CPU_TARGET),
    });
    let tolerations = o.get("tolerations").elements().map(|list| {
        list.into_iter()
            .map(|t| {
                let wrapper = Object([("t".to_string(), t.clone())].into());
                map_of(&wrapper, "t")
            })
            .collect()
    });
    Spec {
        name: o.string("name").unwrap_or_default(),
        namespace: o.string("namespace").unwrap_or_else(|| "default".into()),
        image: o.string("image").unwrap_or_else(|| DEFAULT_IMAGE.into()),
        replicas: o.i64("replicas").unwrap_or(1),
        gpu_count,
        gpu_label: gpus::find(&gpu_type).map(|g| g.label.to_string()),
        autoscaling,
        max_model_len: vllm.as_ref().and_then(|v| v.i64("max_model_len")),
        gpu_memory_utilization: vllm
            .as_ref()
            .and_then(|v| f64_of(v, "gpu_memory_utilization"))
            .unwrap_or(DEFAULT_UTILIZATION),
        dtype,
        extra_args: vllm
            .as_ref()
            .map(|v| strings_of(v, "extra_args"))
            .unwrap_or_default(),
        weights_gib: parameters.map(|p| fit::weights_gib(p, dtype)),
        hf_token_secret: first(o, "hf_token_secret").map(|s| {
            (
                s.string("name").unwrap_or_default(),
                s.string("key").unwrap_or_default(),
            )
        }),
        model_cache: first(o, "model_cache").map(|c| ModelCache {
            size: c.string("size").unwrap_or_default(),
            storage_class: c.string("storage_class"),
            access_mode: c
                .string("access_mode")
                .unwrap_or_else(|| "ReadWriteOnce".into()),
        }),
        shm_size: o.string("shm_size"),
        node_selector: (!o.is_null("node_selector")).then(|| map_of(o, "node_selector")),
        tolerations,
        model,
    }
}

/// Whether the model cache's class or access mode changes: a claim's spec cannot
/// change but for its size, so the service is replaced to make a new one.
fn claim_recreated(prior: &Object, planned: &Object) -> bool {
    let (Some(before), Some(after)) = (first(prior, "model_cache"), first(planned, "model_cache"))
    else {
        return false;
    };
    ["storage_class", "access_mode"].iter().any(|a| {
        let now = after.get(a);
        !(now.is_wholly_known() && now.strict_equal(&before.get(a)))
    })
}

fn known(values: &[Value]) -> bool {
    values.iter().all(Value::is_wholly_known)
}

/// The computed attributes for a planned state, each unknown while a value it is
/// derived from is.
fn derive(state: &mut Object) {
    let spec = spec_of(state);
    let at = |names: &[&str]| names.iter().map(|a| state.get(a)).collect::<Vec<_>>();
    let name = |part: Part| opt_s(spec.name_of(part));
    let gpu_memory = first(state, "gpu")
        .and_then(|g| g.string("type"))
        .and_then(|t| gpus::find(&t))
        .map_or(Value::Null(Type::Number), |g| {
            number(fit::tenths(g.memory_gib * spec.gpu_count as f64))
        });
    let weights = spec.weights_gib.map_or(Value::Null(Type::Number), number);
    let names = ["name", "namespace"];
    let scaling = ["name", "autoscaling", "replicas"];
    let derived: Vec<(&str, Vec<Value>, Type, Value)> = vec![
        (
            "id",
            at(&names),
            Type::String,
            s(format!("{}/{}", spec.namespace, spec.name)),
        ),
        ("endpoint", at(&names), Type::String, s(spec.endpoint())),
        (
            "deployment_name",
            at(&names),
            Type::String,
            s(spec.name.clone()),
        ),
        (
            "service_name",
            at(&names),
            Type::String,
            s(spec.name.clone()),
        ),
        (
            "tensor_parallel_size",
            at(&["gpu"]),
            Type::Number,
            n(spec.gpu_count),
        ),
        ("gpu_memory_gib", at(&["gpu"]), Type::Number, gpu_memory),
        (
            "weights_gib",
            at(&["model", "model_parameters_b", "vllm"]),
            Type::Number,
            weights,
        ),
        (
            "hpa_name",
            at(&scaling),
            Type::String,
            name(Part::Autoscaler),
        ),
        (
            "pdb_name",
            at(&scaling),
            Type::String,
            name(Part::DisruptionBudget),
        ),
        (
            "pvc_name",
            at(&["name", "model_cache"]),
            Type::String,
            name(Part::ModelCache),
        ),
    ];
    for (attr, inputs, ty, value) in derived {
        state.set(
            attr,
            if known(&inputs) {
                value
            } else {
                Value::Unknown(ty)
            },
        );
    }
    state.set("in_sync", b(true));
}

/// Strings that are Kubernetes quantities ("16Gi", "1024Mi", "4") compare by amount:
/// the API server writes them back in its canonical form.
fn quantity(text: &str) -> Option<f64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let amount: f64 = digits.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(amount * scale)
}

/// Whether the live object's fields (already projected onto `want`) say what plinth
/// wrote.
fn equivalent(live: &J, want: &J) -> bool {
    match (live, want) {
        (J::Object(l), J::Object(w)) => {
            l.len() == w.len()
                && w.iter()
                    .all(|(k, wv)| l.get(k).is_some_and(|lv| equivalent(lv, wv)))
        }
        (J::Array(l), J::Array(w)) => {
            l.len() == w.len() && l.iter().zip(w).all(|(a, b)| equivalent(a, b))
        }
        (J::String(l), J::String(w)) => {
            l == w || matches!((quantity(l), quantity(w)), (Some(a), Some(b)) if a == b)
        }
        _ => live == want,
    }
}

fn without_replicas(mut deployment: J) -> J {
    if let Some(spec) = deployment.get_mut("spec").and_then(J::as_object_mut) {
        spec.remove("replicas");
    }
    deployment
}

fn ours(live: &J, spec: &Spec) -> bool {
    let label = |k: &str| {
        live.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(J::as_str)
    };
    label("app.kubernetes.io/managed-by") == Some("plinth")
        && label("app.kubernetes.io/name") == Some(spec.name.as_str())
}

impl LlmService {
    fn kind(&self, part: Part) -> Result<client::Kind> {
        self.kube.kind(part.api_version(), part.kind())
    }

    /// Creates the object, or adopts one an earlier, interrupted apply left (it
    /// carries plinth's labels for this service) with a merge patch.
    fn put(&self, part: Part, spec: &Spec, body: &J) -> Result<()> {
        let kind = self.kind(part)?;
        let (namespace, name) = client::identity(body);
        match self.kube.get(&kind, namespace.as_deref(), &name)? {
            None => self.kube.create(&kind, body).map(|_| ()),
            Some(live) if ours(&live, spec) => self
                .kube
                .merge_patch(&kind, namespace.as_deref(), &name, body)
                .map(|_| ()),
            Some(_) => Err(vec![Diagnostic::error(
                "Object already exists",
                format!(
                    "{} exists and is not this service's (it lacks the labels app.kubernetes.io/managed-by = plinth and app.kubernetes.io/name = {}). Delete it, or pick another name.",
                    client::describe(&kind, namespace.as_deref(), &name),
                    spec.name
                ),
            )
            .at("name")]),
        }
    }

    fn settle(&self, spec: &Spec, planned: &Object, operation: &str) -> Result<()> {
        let budget = Duration::from_secs(u64::try_from(spec.startup_budget_s()).unwrap_or(0));
        let limit = timeout(planned, operation, DEFAULT_TIMEOUT.max(budget));
        let kind = self.kind(Part::Deployment)?;
        wait::rollout(&self.kube, &kind, Some(&spec.namespace), &spec.name, limit).map(|_| ())
    }

    fn applied(planned: &Object) -> Object {
        let mut state = planned.clone();
        derive(&mut state);
        state
    }
}

impl Resource for LlmService {
    fn type_name(&self) -> &str {
        "kubernetes_llm_service"
    }

    fn schema(&self) -> Schema {
        let gpu = block(
            vec![
                ("type", required(Type::String)),
                ("count", optional(Type::Number)),
            ],
            vec![],
        );
        let autoscaling = block(
            vec![
                ("min_replicas", optional(Type::Number)),
                ("max_replicas", required(Type::Number)),
                ("target_cpu_utilization", optional(Type::Number)),
            ],
            vec![],
        );
        let vllm = block(
            vec![
                ("max_model_len", optional(Type::Number)),
                ("gpu_memory_utilization", optional(Type::Number)),
                ("dtype", optional(Type::String)),
                ("extra_args", optional(string_list())),
            ],
            vec![],
        );
        let secret_ref = block(
            vec![
                ("name", required(Type::String)),
                ("key", required(Type::String)),
            ],
            vec![],
        );
        let cache = block(
            vec![
                ("size", required(Type::String)),
                ("storage_class", optional(Type::String)),
                ("access_mode", optional(Type::String)),
            ],
            vec![],
        );
        let mut attributes = vec![
            ("name", required(Type::String)),
            ("namespace", optional_computed(Type::String)),
            ("model", required(Type::String)),
            ("image", optional_computed(Type::String)),
            ("replicas", optional_computed(Type::Number)),
            ("model_parameters_b", optional(Type::Number)),
            ("shm_size", optional(Type::String)),
            ("node_selector", optional(string_map())),
            ("tolerations", optional(Type::list(string_map()))),
        ];
        for (name, ty) in [
            ("id", Type::String),
            ("endpoint", Type::String),
            ("tensor_parallel_size", Type::Number),
            ("gpu_memory_gib", Type::Number),
            ("weights_gib", Type::Number),
            ("deployment_name", Type::String),
            ("service_name", Type::String),
            ("hpa_name", Type::String),
            ("pdb_name", Type::String),
            ("pvc_name", Type::String),
            ("in_sync", Type::Bool),
        ] {
            attributes.push((name, computed(ty)));
        }
        schema(
            attributes,
            vec![
                ("gpu", single(gpu, true)),
                ("autoscaling", one(autoscaling)),
                ("vllm", one(vllm)),
                ("hf_token_secret", one(secret_ref)),
                ("model_cache", one(cache)),
                timeouts(),
            ],
        )
    }

    fn validate(&self, config: &Object) -> Vec<Diagnostic> {
        checks(config)
    }

    /// The checks again (values unknown at validation may be known now), defaults
    /// filled in, the computed attributes derived; a changed name or namespace
    /// replaces the service.
    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        let errors: Vec<Diagnostic> = checks(request.config)
            .into_iter()
            .filter(|d| d.error)
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        let config = request.config;
        let mut state = request.proposed.clone();
        if config.is_null("namespace") {
            state.set("namespace", s("default"));
        }
        if config.is_null("image") {
            state.set("image", s(DEFAULT_IMAGE));
        }
        if config.is_null("replicas") {
            let scaled = !block_objects(config, "autoscaling").is_empty();
            state.set(
                "replicas",
                if scaled {
                    Value::Null(Type::Number)
                } else {
                    n(1)
                },
            );
        }
        derive(&mut state);
        let Some(prior) = request.prior else {
            return Ok(Planned {
                state,
                requires_replace: Vec::new(),
            });
        };
        let mut requires_replace: Vec<String> = ["name", "namespace"]
            .into_iter()
            .filter(|a| {
                let now = state.get(a);
                !(now.is_wholly_known() && now.strict_equal(&prior.get(a)))
            })
            .map(str::to_string)
            .collect();
        if claim_recreated(prior, &state) {
            requires_replace.push("model_cache".into());
        }
        Ok(Planned {
            state,
            requires_replace,
        })
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        self.create_or_failed(planned).map_err(|f| f.diagnostics)
    }

    /// A rollout that does not finish in time leaves the objects in the cluster:
    /// they are returned with the errors, state keeps them tainted, and the next
    /// apply deletes and re-creates them.
    fn create_or_failed(&self, planned: &Object) -> Outcome {
        let spec = spec_of(planned);
        for part in Part::ALL {
            if let Some(body) = spec.object(part, true) {
                self.put(part, &spec, &body)?;
            }
        }
        self.settle(&spec, planned, "create")
            .map_err(|d| Failed::with_state(d, Self::applied(planned)))?;
        Ok(Self::applied(planned))
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let spec = spec_of(current);
        let deployments = self.kind(Part::Deployment)?;
        let Some(live) = self
            .kube
            .get(&deployments, Some(&spec.namespace), &spec.name)?
        else {
            return Ok(None);
        };
        let mut state = current.clone();
        if spec.autoscaling.is_none() {
            if let Some(r) = live.pointer("/spec/replicas").and_then(J::as_i64) {
                state.set("replicas", n(r));
            }
        }
        let mut in_sync = true;
        for part in Part::ALL {
            let Some(want) = spec.object(part, false) else {
                continue;
            };
            let (want, found) = if part == Part::Deployment {
                (without_replicas(want), Some(live.clone()))
            } else {
                let (namespace, name) = client::identity(&want);
                let found = self
                    .kube
                    .get(&self.kind(part)?, namespace.as_deref(), &name)?;
                (want, found)
            };
            in_sync &= found.is_some_and(|l| equivalent(&project(&l, &want), &want));
        }
        state.set("in_sync", b(in_sync));
        Ok(Some(state))
    }

    /// A merge patch of each object from what the prior state implies to what the
    /// planned state does (every field plinth writes, so drift is put back); objects
    /// that became needed, or went missing, are created; those no longer needed are
    /// deleted. With autoscaling the Deployment's replicas are left to the autoscaler.
    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let before = spec_of(prior);
        let after = spec_of(planned);
        for part in Part::ALL {
            let kind = self.kind(part)?;
            let old = before.object(part, false);
            let Some(new) = after.object(part, false) else {
                if let (Some(_), Some(name)) = (old, before.name_of(part)) {
                    self.kube.delete(&kind, Some(&before.namespace), &name)?;
                }
                continue;
            };
            let (namespace, name) = client::identity(&new);
            let live = self.kube.get(&kind, namespace.as_deref(), &name)?;
            let old = match (old, live) {
                (Some(old), Some(_)) => old,
                // Newly needed, or gone since the refresh: created (or adopted).
                _ => {
                    let body = after.object(part, true).unwrap_or(new);
                    self.put(part, &after, &body)?;
                    continue;
                }
            };
            let old = match (part, &after.autoscaling) {
                (Part::Deployment, Some(_)) => without_replicas(old),
                _ => old,
            };
            let patch = merge_patch(&old, &new);
            self.kube
                .merge_patch(&kind, namespace.as_deref(), &name, &patch)?;
        }
        self.settle(&after, planned, "update")?;
        Ok(Self::applied(planned))
    }

    /// `namespace/name` (or `name`, in `default`): the Deployment's arguments, the
    /// autoscaler's bounds and the claim's size and class read back.
    fn import(&self, id: &str) -> Result<Object> {
        let (namespace, name) = id.split_once('/').unwrap_or(("default", id));
        let deployments = self.kind(Part::Deployment)?;
        let what = client::describe(&deployments, Some(namespace), name);
        let Some(deployment) = self.kube.get(&deployments, Some(namespace), name)? else {
            return fail("Cannot import", format!("No {what} exists in the cluster."));
        };
        let component = deployment
            .pointer("/metadata/labels/app.kubernetes.io~1component")
            .and_then(J::as_str);
        if component != Some("llm-serving") {
            return fail(
                "Cannot import",
                format!("{what} is not an LLM service's: it lacks the label app.kubernetes.io/component = llm-serving. Import it as a kubernetes_manifest instead."),
            );
        }
        let autoscaler = self
            .kube
            .get(&self.kind(Part::Autoscaler)?, Some(namespace), name)?;
        let claim = self.kube.get(
            &self.kind(Part::ModelCache)?,
            Some(namespace),
            &format!("{name}-model-cache"),
        )?;
        let schema = self.schema().block;
        let mut state = import::state_of(&schema, &deployment, autoscaler.as_ref(), claim.as_ref());
        for (attr, a) in &schema.attributes {
            if !state.0.contains_key(attr) {
                state.set(attr, Value::Null(a.ty.clone()));
            }
        }
        for (attr, nb) in &schema.blocks {
            if !state.0.contains_key(attr) {
                let value = match nb.nesting {
                    Nesting::Single => Value::Null(nb.block.implied_type()),
                    other => objects_value(&nb.block, other, Vec::new()),
                };
                state.set(attr, value);
            }
        }
        derive(&mut state);
        Ok(state)
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let spec = spec_of(prior);
        for part in Part::ALL.into_iter().rev() {
            if let Some(name) = spec.name_of(part) {
                self.kube
                    .delete(&self.kind(part)?, Some(&spec.namespace), &name)?;
            }
        }
        // The claim too: a replacement's new claim of the same name can only be made
        // once the old one (held until its pods are gone) has left.
        let mut waits = vec![(self.kind(Part::Deployment)?, spec.name.clone())];
        if let Some(claim) = spec.name_of(Part::ModelCache) {
            waits.push((self.kind(Part::ModelCache)?, claim));
        }
        for (kind, name) in waits {
            crate::wait::gone(
                &self.kube,
                &kind,
                Some(&spec.namespace),
                &name,
                timeout(prior, "delete", DELETE_TIMEOUT),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
