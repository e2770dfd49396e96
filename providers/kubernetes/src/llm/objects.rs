//! The objects a `kubernetes_llm_service` owns, as the JSON plinth writes: pure
//! functions of a [`Spec`], so that create, update (a merge patch from the prior
//! state's objects to the planned state's) and drift detection (the live objects
//! projected onto these) all start from the same place.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as J};

use super::fit::Dtype;

/// The port vLLM's OpenAI-compatible server listens on in the pod.
pub const PORT: i64 = 8000;
pub const DEFAULT_IMAGE: &str = "vllm/vllm-openai:v0.6.3";
/// Where vLLM (through `huggingface_hub`) keeps downloaded weights.
pub const CACHE_PATH: &str = "/root/.cache/huggingface";
/// Shared memory each GPU gets when `shm_size` is unset: NCCL and vLLM's worker
/// processes exchange tensors through `/dev/shm` under tensor parallelism.
pub const SHM_GIB_PER_GPU: i64 = 8;
/// The download speed the startup probe's budget assumes, bytes a second.
pub const DOWNLOAD_BYTES_PER_S: f64 = 100e6;
/// Time the startup budget adds for loading the weights onto the GPUs and vLLM's
/// warm-up (CUDA graph capture), seconds.
pub const LOAD_S: f64 = 300.0;
/// The startup budget's floor, and its size when the weights' size is unknown.
pub const STARTUP_FLOOR_S: i64 = 600;
pub const STARTUP_UNKNOWN_S: i64 = 1800;
const STARTUP_PERIOD_S: i64 = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct Autoscaling {
    pub min_replicas: i64,
    pub max_replicas: i64,
    pub target_cpu_utilization: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelCache {
    pub size: String,
    pub storage_class: Option<String>,
    pub access_mode: String,
}

/// Everything the objects are built from, with the resource's defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub name: String,
    pub namespace: String,
    pub model: String,
    pub image: String,
    /// Replicas without autoscaling.
    pub replicas: i64,
    pub gpu_count: i64,
    /// The catalog's `nvidia.com/gpu.product` value for `gpu.type` (`None` for a type
    /// the catalog lacks, which planning refuses).
    pub gpu_label: Option<String>,
    pub autoscaling: Option<Autoscaling>,
    pub max_model_len: Option<i64>,
    pub gpu_memory_utilization: f64,
    pub dtype: Dtype,
    pub extra_args: Vec<String>,
    /// GiB of weights, when the parameter count is known.
    pub weights_gib: Option<f64>,
    /// `hf_token_secret`: the Secret's name and key.
    pub hf_token_secret: Option<(String, String)>,
    pub model_cache: Option<ModelCache>,
    pub shm_size: Option<String>,
    pub node_selector: Option<BTreeMap<String, String>>,
    pub tolerations: Option<Vec<BTreeMap<String, String>>>,
}

/// The kinds a service owns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Part {
    ModelCache,
    Deployment,
    Service,
    Autoscaler,
    DisruptionBudget,
}

impl Part {
    /// In the order they are created (the claim before the pods that mount it).
    pub const ALL: [Part; 5] = [
        Part::ModelCache,
        Part::Deployment,
        Part::Service,
        Part::Autoscaler,
        Part::DisruptionBudget,
    ];

    pub fn api_version(self) -> &'static str {
        match self {
            Part::ModelCache | Part::Service => "v1",
            Part::Deployment => "apps/v1",
            Part::Autoscaler => "autoscaling/v2",
            Part::DisruptionBudget => "policy/v1",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Part::ModelCache => "PersistentVolumeClaim",
            Part::Deployment => "Deployment",
            Part::Service => "Service",
            Part::Autoscaler => "HorizontalPodAutoscaler",
            Part::DisruptionBudget => "PodDisruptionBudget",
        }
    }
}

impl Spec {
    /// The name of the owned object of `part`, or `None` when the spec needs none.
    pub fn name_of(&self, part: Part) -> Option<String> {
        match part {
            Part::Deployment | Part::Service => Some(self.name.clone()),
            Part::Autoscaler => self.autoscaling.as_ref().map(|_| self.name.clone()),
            Part::DisruptionBudget => (self.max_replicas() >= 2).then(|| self.name.clone()),
            Part::ModelCache => self
                .model_cache
                .as_ref()
                .map(|_| format!("{}-model-cache", self.name)),
        }
    }

    /// The most replicas that can run: the autoscaler's maximum, else `replicas`.
    pub fn max_replicas(&self) -> i64 {
        self.autoscaling
            .as_ref()
            .map_or(self.replicas, |a| a.max_replicas)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}.{}.svc.cluster.local", self.name, self.namespace)
    }

    pub fn shm_size(&self) -> String {
        self.shm_size
            .clone()
            .unwrap_or_else(|| format!("{}Gi", SHM_GIB_PER_GPU * self.gpu_count))
    }

    /// How long the pod may take to answer `/health` the first time: the weights'
    /// download at [`DOWNLOAD_BYTES_PER_S`] plus [`LOAD_S`], at least
    /// [`STARTUP_FLOOR_S`]; [`STARTUP_UNKNOWN_S`] when their size is unknown.
    pub fn startup_budget_s(&self) -> i64 {
        match self.weights_gib {
            Some(gib) => {
                let bytes = gib * f64::from(1u32 << 30);
                let s = (bytes / DOWNLOAD_BYTES_PER_S + LOAD_S).ceil() as i64;
                s.max(STARTUP_FLOOR_S)
            }
            None => STARTUP_UNKNOWN_S,
        }
    }

    /// The vLLM server's arguments.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--model".to_string(),
            self.model.clone(),
            "--tensor-parallel-size".to_string(),
            self.gpu_count.to_string(),
        ];
        if let Some(len) = self.max_model_len {
            args.extend(["--max-model-len".to_string(), len.to_string()]);
        }
        args.extend([
            "--gpu-memory-utilization".to_string(),
            format!("{:.2}", self.gpu_memory_utilization),
        ]);
        args.extend(self.dtype.vllm_args());
        args.extend(["--port".to_string(), PORT.to_string()]);
        args.extend(self.extra_args.iter().cloned());
        args
    }

    fn labels(&self) -> J {
        json!({
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/managed-by": "plinth",
            "app.kubernetes.io/component": "llm-serving",
        })
    }

    fn selector(&self) -> J {
        json!({
            "app.kubernetes.io/name": self.name,
            "app.kubernetes.io/component": "llm-serving",
        })
    }

    fn metadata(&self, name: &str) -> J {
        json!({"name": name, "namespace": self.namespace, "labels": self.labels()})
    }

    fn node_selector(&self) -> J {
        match (&self.node_selector, &self.gpu_label) {
            (Some(m), _) => json!(m),
            (None, Some(label)) => json!({"nvidia.com/gpu.product": label}),
            (None, None) => json!({}),
        }
    }

    fn tolerations(&self) -> J {
        let Some(list) = &self.tolerations else {
            return json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]);
        };
        J::Array(
            list.iter()
                .map(|t| {
                    let mut out = Map::new();
                    for (k, v) in t {
                        match k.as_str() {
                            "toleration_seconds" => {
                                if let Ok(n) = v.parse::<i64>() {
                                    out.insert("tolerationSeconds".into(), json!(n));
                                }
                            }
                            _ => {
                                out.insert(k.clone(), json!(v));
                            }
                        }
                    }
                    J::Object(out)
                })
                .collect(),
        )
    }

    fn container(&self) -> J {
        let gpus = self.gpu_count.to_string();
        let health = |period: i64, failures: i64| {
            json!({
                "httpGet": {"path": "/health", "port": PORT},
                "periodSeconds": period,
                "failureThreshold": failures,
            })
        };
        let startup_failures = (self.startup_budget_s() + STARTUP_PERIOD_S - 1) / STARTUP_PERIOD_S;
        let mut container = json!({
            "name": "vllm",
            "image": self.image,
            "args": self.args(),
            "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
            "resources": {
                "limits": {"nvidia.com/gpu": gpus},
                // One CPU a GPU: the autoscaler's CPU utilisation is measured
                // against the request.
                "requests": {"nvidia.com/gpu": gpus, "cpu": gpus},
            },
            "volumeMounts": [
                {"name": "shm", "mountPath": "/dev/shm"},
                {"name": "model-cache", "mountPath": CACHE_PATH},
            ],
            "startupProbe": health(STARTUP_PERIOD_S, startup_failures),
            "readinessProbe": health(5, 3),
            "livenessProbe": health(10, 3),
        });
        if let Some((secret, key)) = &self.hf_token_secret {
            container["env"] = json!([{
                "name": "HF_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": secret, "key": key}},
            }]);
        }
        container
    }

    /// The Deployment; `replicas` is set unless an autoscaler owns it, and then only
    /// on creation (`creating`), to `min_replicas`.
    pub fn deployment(&self, creating: bool) -> J {
        let cache = match self.name_of(Part::ModelCache) {
            Some(claim) => {
                json!({"name": "model-cache", "persistentVolumeClaim": {"claimName": claim}})
            }
            None => json!({"name": "model-cache", "emptyDir": {}}),
        };
        let mut spec = json!({
            "selector": {"matchLabels": self.selector()},
            "template": {
                "metadata": {"labels": self.labels()},
                "spec": {
                    "containers": [self.container()],
                    "volumes": [
                        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": self.shm_size()}},
                        cache,
                    ],
                    "nodeSelector": self.node_selector(),
                    "tolerations": self.tolerations(),
                },
            },
        });
        match &self.autoscaling {
            None => spec["replicas"] = json!(self.replicas),
            Some(a) if creating => spec["replicas"] = json!(a.min_replicas),
            Some(_) => {}
        }
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": self.metadata(&self.name),
            "spec": spec,
        })
    }

    /// The Service: port 80 to vLLM's 8000.
    pub fn service(&self) -> J {
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": self.metadata(&self.name),
            "spec": {
                "type": "ClusterIP",
                "selector": self.selector(),
                "ports": [{"name": "http", "port": 80, "targetPort": PORT, "protocol": "TCP"}],
            },
        })
    }

    /// The HorizontalPodAutoscaler (autoscaling/v2) on CPU utilisation, with
    /// autoscaling only.
    pub fn autoscaler(&self) -> Option<J> {
        let a = self.autoscaling.as_ref()?;
        Some(json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": self.metadata(&self.name),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.name},
                "minReplicas": a.min_replicas,
                "maxReplicas": a.max_replicas,
                "metrics": [{
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": a.target_cpu_utilization},
                    },
                }],
            },
        }))
    }

    /// The PodDisruptionBudget (policy/v1), one pod down at a time, when more than
    /// one replica can run.
    pub fn disruption_budget(&self) -> Option<J> {
        let name = self.name_of(Part::DisruptionBudget)?;
        Some(json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": self.metadata(&name),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": self.selector()}},
        }))
    }

    /// The model cache's PersistentVolumeClaim, with `model_cache` only.
    pub fn model_cache_claim(&self) -> Option<J> {
        let cache = self.model_cache.as_ref()?;
        let name = self.name_of(Part::ModelCache)?;
        let mut spec = json!({
            "accessModes": [cache.access_mode],
            "resources": {"requests": {"storage": cache.size}},
        });
        if let Some(class) = &cache.storage_class {
            spec["storageClassName"] = json!(class);
        }
        Some(json!({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": self.metadata(&name),
            "spec": spec,
        }))
    }

    /// The object of `part`, or `None` when the spec needs none.
    pub fn object(&self, part: Part, creating: bool) -> Option<J> {
        match part {
            Part::ModelCache => self.model_cache_claim(),
            Part::Deployment => Some(self.deployment(creating)),
            Part::Service => Some(self.service()),
            Part::Autoscaler => self.autoscaler(),
            Part::DisruptionBudget => self.disruption_budget(),
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn spec() -> Spec {
        Spec {
            name: "llama-70b".into(),
            namespace: "serving".into(),
            model: "meta-llama/Llama-3.1-70B-Instruct".into(),
            image: DEFAULT_IMAGE.into(),
            replicas: 1,
            gpu_count: 4,
            gpu_label: Some("H100".into()),
            autoscaling: None,
            max_model_len: Some(8192),
            gpu_memory_utilization: 0.9,
            dtype: Dtype::Bfloat16,
            extra_args: vec!["--enable-prefix-caching".into()],
            weights_gib: Some(130.4),
            hf_token_secret: Some(("hf-token".into(), "token".into())),
            model_cache: None,
            shm_size: None,
            node_selector: None,
            tolerations: None,
        }
    }

    fn pod(d: &J) -> &J {
        &d["spec"]["template"]["spec"]
    }

    #[test]
    fn the_container_runs_vllm_with_the_arguments() {
        let d = spec().deployment(true);
        let c = &pod(&d)["containers"][0];
        assert_eq!(c["image"], json!("vllm/vllm-openai:v0.6.3"));
        assert_eq!(
            c["args"],
            json!([
                "--model",
                "meta-llama/Llama-3.1-70B-Instruct",
                "--tensor-parallel-size",
                "4",
                "--max-model-len",
                "8192",
                "--gpu-memory-utilization",
                "0.90",
                "--dtype",
                "bfloat16",
                "--port",
                "8000",
                "--enable-prefix-caching"
            ])
        );
        assert_eq!(
            c["ports"],
            json!([{"name": "http", "containerPort": 8000, "protocol": "TCP"}])
        );
        let mut awq = spec();
        awq.dtype = Dtype::Awq;
        awq.max_model_len = None;
        let args = awq.args();
        assert!(!args.contains(&"--max-model-len".to_string()));
        assert!(args
            .windows(2)
            .any(|w| w == ["--quantization".to_string(), "awq".to_string()]));
    }

    #[test]
    fn the_pod_gets_its_gpus_shared_memory_and_cache() {
        let d = spec().deployment(true);
        let c = &pod(&d)["containers"][0];
        assert_eq!(
            c["resources"],
            json!({"limits": {"nvidia.com/gpu": "4"}, "requests": {"nvidia.com/gpu": "4", "cpu": "4"}})
        );
        assert_eq!(
            c["volumeMounts"],
            json!([
                {"name": "shm", "mountPath": "/dev/shm"},
                {"name": "model-cache", "mountPath": "/root/.cache/huggingface"}
            ])
        );
        assert_eq!(
            pod(&d)["volumes"],
            json!([
                {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "32Gi"}},
                {"name": "model-cache", "emptyDir": {}}
            ])
        );
        let mut cached = spec();
        cached.shm_size = Some("16Gi".into());
        cached.model_cache = Some(ModelCache {
            size: "200Gi".into(),
            storage_class: Some("gp3".into()),
            access_mode: "ReadWriteOnce".into(),
        });
        let d = cached.deployment(true);
        assert_eq!(
            pod(&d)["volumes"][0]["emptyDir"]["sizeLimit"],
            json!("16Gi")
        );
        assert_eq!(
            pod(&d)["volumes"][1],
            json!({"name": "model-cache", "persistentVolumeClaim": {"claimName": "llama-70b-model-cache"}})
        );
    }

    #[test]
    fn probes_check_health_with_a_startup_budget_for_the_download() {
        let d = spec().deployment(true);
        let c = &pod(&d)["containers"][0];
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            assert_eq!(
                c[probe]["httpGet"],
                json!({"path": "/health", "port": 8000}),
                "{probe}"
            );
        }
        // 130.4 GiB at 100 MB/s is 1400.2 s, plus 300 s to load: 171 checks 10 s apart.
        assert_eq!(c["startupProbe"]["periodSeconds"], json!(10));
        assert_eq!(c["startupProbe"]["failureThreshold"], json!(171));
        let mut small = spec();
        small.weights_gib = Some(2.8);
        assert_eq!(small.startup_budget_s(), 600);
        small.weights_gib = None;
        assert_eq!(small.startup_budget_s(), 1800);
    }

    #[test]
    fn pods_go_to_nodes_with_the_gpu_and_tolerate_their_taint() {
        let d = spec().deployment(true);
        assert_eq!(
            pod(&d)["nodeSelector"],
            json!({"nvidia.com/gpu.product": "H100"})
        );
        assert_eq!(
            pod(&d)["tolerations"],
            json!([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
        );
        let mut own = spec();
        own.node_selector = Some([("pool".to_string(), "gpu".to_string())].into());
        own.tolerations = Some(vec![[
            ("key".to_string(), "dedicated".to_string()),
            ("operator".to_string(), "Equal".to_string()),
            ("value".to_string(), "llm".to_string()),
            ("effect".to_string(), "NoSchedule".to_string()),
        ]
        .into()]);
        let d = own.deployment(true);
        assert_eq!(pod(&d)["nodeSelector"], json!({"pool": "gpu"}));
        assert_eq!(
            pod(&d)["tolerations"],
            json!([{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"}])
        );
    }

    #[test]
    fn the_token_comes_from_the_secret_by_reference() {
        let d = spec().deployment(true);
        assert_eq!(
            pod(&d)["containers"][0]["env"],
            json!([{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "token"}}}])
        );
        let mut open = spec();
        open.hf_token_secret = None;
        assert!(pod(&open.deployment(true))["containers"][0]
            .get("env")
            .is_none());
    }

    #[test]
    fn objects_carry_the_service_labels() {
        let s = spec();
        for o in [s.deployment(true), s.service()] {
            assert_eq!(
                o["metadata"]["labels"],
                json!({
                    "app.kubernetes.io/name": "llama-70b",
                    "app.kubernetes.io/managed-by": "plinth",
                    "app.kubernetes.io/component": "llm-serving",
                })
            );
            assert_eq!(o["metadata"]["namespace"], json!("serving"));
        }
        assert_eq!(
            s.service()["spec"]["ports"],
            json!([{"name": "http", "port": 80, "targetPort": 8000, "protocol": "TCP"}])
        );
        assert_eq!(s.endpoint(), "http://llama-70b.serving.svc.cluster.local");
    }

    #[test]
    fn the_autoscaler_exists_only_with_autoscaling_and_owns_replicas() {
        let s = spec();
        assert_eq!(s.autoscaler(), None);
        assert_eq!(s.deployment(false)["spec"]["replicas"], json!(1));
        let mut scaled = spec();
        scaled.autoscaling = Some(Autoscaling {
            min_replicas: 1,
            max_replicas: 4,
            target_cpu_utilization: 70,
        });
        let hpa = scaled.autoscaler().unwrap();
        assert_eq!(hpa["apiVersion"], json!("autoscaling/v2"));
        assert_eq!(
            hpa["spec"]["scaleTargetRef"],
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama-70b"})
        );
        assert_eq!(hpa["spec"]["maxReplicas"], json!(4));
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"],
            json!({"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}})
        );
        // Set on creation only: afterwards the autoscaler's value stands.
        assert_eq!(scaled.deployment(true)["spec"]["replicas"], json!(1));
        assert!(scaled.deployment(false)["spec"].get("replicas").is_none());
    }

    #[test]
    fn a_disruption_budget_exists_when_more_than_one_replica_can_run() {
        let mut s = spec();
        assert_eq!(s.disruption_budget(), None);
        s.replicas = 2;
        let pdb = s.disruption_budget().unwrap();
        assert_eq!(pdb["apiVersion"], json!("policy/v1"));
        assert_eq!(pdb["spec"]["maxUnavailable"], json!(1));
        assert_eq!(
            pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
            json!("llama-70b")
        );
        s.replicas = 1;
        s.autoscaling = Some(Autoscaling {
            min_replicas: 1,
            max_replicas: 2,
            target_cpu_utilization: 80,
        });
        assert!(s.disruption_budget().is_some());
    }

    #[test]
    fn the_model_cache_claim_has_its_class_and_size() {
        let mut s = spec();
        assert_eq!(s.model_cache_claim(), None);
        assert_eq!(s.name_of(Part::ModelCache), None);
        s.model_cache = Some(ModelCache {
            size: "200Gi".into(),
            storage_class: Some("gp3".into()),
            access_mode: "ReadWriteOnce".into(),
        });
        let pvc = s.model_cache_claim().unwrap();
        assert_eq!(pvc["metadata"]["name"], json!("llama-70b-model-cache"));
        assert_eq!(
            pvc["spec"],
            json!({
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "200Gi"}},
                "storageClassName": "gp3",
            })
        );
    }
}
