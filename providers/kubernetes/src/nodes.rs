//! Data sources about the cluster itself: `kubernetes_nodes` (each node's labels,
//! taints and allocatable resources, and the GPU inventory they add up to) and
//! `kubernetes_namespace_v1`.

use std::collections::BTreeMap;

use plinth_provider_sdk::shape::*;
use plinth_provider_sdk::{fail, DataSource, Object, Result, Schema, Type, Value};
use serde_json::Value as J;

use crate::client::Kube;
use crate::json::{at_path, typed};

/// The label NVIDIA's GPU feature discovery puts the GPU model in.
const GPU_PRODUCT: &str = "nvidia.com/gpu.product";
const GPU: &str = "nvidia.com/gpu";

fn node_type() -> Type {
    let taint = Type::Object(
        [
            ("key".to_string(), Type::String),
            ("value".to_string(), Type::String),
            ("effect".to_string(), Type::String),
        ]
        .into(),
    );
    Type::Object(
        [
            (
                "metadata".to_string(),
                Type::Object(
                    [
                        ("name".to_string(), Type::String),
                        ("labels".to_string(), string_map()),
                        ("annotations".to_string(), string_map()),
                        ("uid".to_string(), Type::String),
                    ]
                    .into(),
                ),
            ),
            (
                "spec".to_string(),
                Type::Object(
                    [
                        ("taints".to_string(), Type::list(taint)),
                        ("unschedulable".to_string(), Type::Bool),
                        ("provider_id".to_string(), Type::String),
                        ("pod_cidr".to_string(), Type::String),
                    ]
                    .into(),
                ),
            ),
            (
                "status".to_string(),
                Type::Object(
                    [
                        ("allocatable".to_string(), string_map()),
                        ("capacity".to_string(), string_map()),
                    ]
                    .into(),
                ),
            ),
        ]
        .into(),
    )
}

fn gpu_type() -> Type {
    Type::Object(
        [
            ("node".to_string(), Type::String),
            ("product".to_string(), Type::String),
            ("allocatable".to_string(), Type::Number),
        ]
        .into(),
    )
}

/// A node's JSON in the data source's shape (snake_case, as HashiCorp spells it).
fn node_json(n: &J) -> J {
    let get = |p: &str| at_path(n, p).cloned().unwrap_or(J::Null);
    serde_json::json!({
        "metadata": {"name": get("metadata.name"), "labels": get("metadata.labels"),
                     "annotations": get("metadata.annotations"), "uid": get("metadata.uid")},
        "spec": {"taints": get("spec.taints"), "unschedulable": get("spec.unschedulable"),
                 "provider_id": get("spec.providerID"), "pod_cidr": get("spec.podCIDR")},
        "status": {"allocatable": get("status.allocatable"), "capacity": get("status.capacity")},
    })
}

/// Allocatable GPUs of a node (a quantity: `"8"`).
fn allocatable_gpus(n: &J) -> i64 {
    match at_path(n, "status.allocatable").and_then(|a| a.get(GPU)) {
        Some(J::String(s)) => s.parse().unwrap_or(0),
        Some(J::Number(x)) => x.as_i64().unwrap_or(0),
        _ => 0,
    }
}

pub struct Nodes {
    pub kube: Kube,
}

impl DataSource for Nodes {
    fn type_name(&self) -> &str {
        "kubernetes_nodes"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("id", computed(Type::String)),
                ("nodes", computed(Type::list(node_type()))),
                ("gpus", computed(Type::list(gpu_type()))),
                ("allocatable_gpus", computed(Type::Number)),
                ("gpus_by_product", computed(Type::map(Type::Number))),
            ],
            vec![(
                "metadata",
                single(
                    block(vec![("labels", optional(string_map()))], vec![]),
                    false,
                ),
            )],
        )
    }

    /// Every node (those carrying all of `metadata.labels`, when given), with the GPU
    /// inventory: each node's allocatable `nvidia.com/gpu` and model, and totals.
    fn read(&self, config: &Object) -> Result<Object> {
        let wanted = block_objects(config, "metadata")
            .first()
            .map(|m| map_of(m, "labels"))
            .unwrap_or_default();
        let kind = self.kube.kind("v1", "Node")?;
        let mut nodes = self.kube.list(&kind, None)?;
        nodes.retain(|n| {
            wanted.iter().all(|(k, v)| {
                at_path(n, "metadata.labels")
                    .and_then(|l| l.get(k))
                    .and_then(J::as_str)
                    == Some(v.as_str())
            })
        });
        nodes.sort_by_key(|n| {
            at_path(n, "metadata.name")
                .and_then(J::as_str)
                .map(str::to_string)
        });
        let mut total = 0;
        let mut by_product: BTreeMap<String, Value> = BTreeMap::new();
        let mut gpus = Vec::new();
        for n in &nodes {
            let count = allocatable_gpus(n);
            if count == 0 {
                continue;
            }
            total += count;
            let product = at_path(n, "metadata.labels")
                .and_then(|l| l.get(GPU_PRODUCT))
                .and_then(J::as_str)
                .unwrap_or("unknown")
                .to_string();
            let sum = by_product
                .get(&product)
                .and_then(|v| v.as_number().and_then(|x| x.to_i64()))
                .unwrap_or(0);
            by_product.insert(product.clone(), Value::number(sum + count));
            gpus.push(serde_json::json!({
                "node": at_path(n, "metadata.name"), "product": product, "allocatable": count,
            }));
        }
        let mut out = config.clone();
        out.set("id", s(format!("{} nodes", nodes.len())));
        out.set(
            "nodes",
            typed(
                &J::Array(nodes.iter().map(node_json).collect()),
                &Type::list(node_type()),
            ),
        );
        out.set("gpus", typed(&J::Array(gpus), &Type::list(gpu_type())));
        out.set("allocatable_gpus", Value::number(total));
        out.set("gpus_by_product", Value::Map(Type::Number, by_product));
        Ok(out)
    }
}

pub struct NamespaceData {
    pub kube: Kube,
}

impl DataSource for NamespaceData {
    fn type_name(&self) -> &str {
        "kubernetes_namespace_v1"
    }

    fn schema(&self) -> Schema {
        let meta = block(
            vec![
                ("name", required(Type::String)),
                ("labels", computed(string_map())),
                ("annotations", computed(string_map())),
                ("generation", computed(Type::Number)),
                ("resource_version", computed(Type::String)),
                ("uid", computed(Type::String)),
            ],
            vec![],
        );
        schema(
            vec![
                ("id", computed(Type::String)),
                (
                    "spec",
                    computed(Type::list(Type::Object(
                        [("finalizers".to_string(), string_list())].into(),
                    ))),
                ),
            ],
            vec![("metadata", single(meta, true))],
        )
    }

    fn read(&self, config: &Object) -> Result<Object> {
        let meta = block_objects(config, "metadata")
            .into_iter()
            .next()
            .unwrap_or_else(|| Object(Default::default()));
        let name = meta.require_string("name")?;
        let kind = self.kube.kind("v1", "Namespace")?;
        let Some(live) = self.kube.get(&kind, None, &name)? else {
            return fail(
                "Namespace not found",
                format!("No namespace {name:?} exists in the cluster."),
            );
        };
        let get = |p: &str| at_path(&live, p).cloned().unwrap_or(J::Null);
        let mut m = meta.clone();
        m.set("labels", typed(&get("metadata.labels"), &string_map()));
        m.set(
            "annotations",
            typed(&get("metadata.annotations"), &string_map()),
        );
        m.set(
            "generation",
            typed(&get("metadata.generation"), &Type::Number),
        );
        m.set(
            "resource_version",
            typed(&get("metadata.resourceVersion"), &Type::String),
        );
        m.set("uid", typed(&get("metadata.uid"), &Type::String));
        let schema = self.schema();
        let mut out = config.clone();
        out.set("id", s(&name));
        out.set(
            "metadata",
            objects_value(
                &schema.block.blocks["metadata"].block,
                plinth_provider_sdk::Nesting::List,
                vec![m],
            ),
        );
        let spec_ty = Type::Object([("finalizers".to_string(), string_list())].into());
        out.set(
            "spec",
            typed(
                &serde_json::json!([{"finalizers": get("spec.finalizers")}]),
                &Type::list(spec_ty),
            ),
        );
        Ok(out)
    }
}
