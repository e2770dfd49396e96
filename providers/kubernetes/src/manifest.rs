//! Any object, custom resources included: `kubernetes_manifest` (`manifest` in,
//! `object` out, `wait { rollout fields condition }`, `computed_fields`, import by
//! `apiVersion=…,kind=…,namespace=…,name=…`) and the `kubernetes_resource` data
//! source that reads one.

use std::time::Duration;

use plinth_provider_sdk::shape::*;
use plinth_provider_sdk::{
    default_plan, fail, DataSource, Diagnostic, Failed, Nesting, Object, Outcome, PlanRequest,
    Planned, Resource, Result, Schema, Type, Value,
};
use serde_json::{json, Map, Value as J};

use crate::client::{describe, Kind, Kube};
use crate::json::{at_path, dynamic, merge_patch, project, set_path, to_json, without_nulls};
use crate::wait;

/// `computed_fields` when the configuration leaves it out, as HashiCorp's default:
/// controllers and admission webhooks add labels and annotations.
const DEFAULT_COMPUTED: [&str; 2] = ["metadata.labels", "metadata.annotations"];

pub struct Manifest {
    pub kube: Kube,
}

fn wait_block() -> plinth_provider_sdk::Block {
    block(
        vec![
            ("rollout", optional(Type::Bool)),
            ("fields", optional(string_map())),
        ],
        vec![(
            "condition",
            list_of(block(
                vec![
                    ("type", optional(Type::String)),
                    ("status", optional(Type::String)),
                ],
                vec![],
            )),
        )],
    )
}

/// The `apiVersion`, `kind`, namespace and name a manifest names, or an error at
/// `manifest` saying which is missing.
pub fn identity_of(
    m: &J,
) -> std::result::Result<(String, String, Option<String>, String), Vec<Diagnostic>> {
    let text = |path: &str| at_path(m, path).and_then(J::as_str).map(str::to_string);
    let missing = |what: &str| {
        Err(vec![Diagnostic::error(
            "Invalid manifest",
            format!("The manifest has no {what}. A Kubernetes object needs apiVersion, kind and metadata.name."),
        )
        .at("manifest")])
    };
    let Some(api_version) = text("apiVersion") else {
        return missing("apiVersion");
    };
    let Some(kind) = text("kind") else {
        return missing("kind");
    };
    let Some(name) = text("metadata.name") else {
        return missing("metadata.name");
    };
    Ok((api_version, kind, text("metadata.namespace"), name))
}

impl Manifest {
    fn computed_fields(o: &Object) -> Vec<String> {
        if o.is_null("computed_fields") {
            DEFAULT_COMPUTED.iter().map(|s| s.to_string()).collect()
        } else {
            strings_of(o, "computed_fields")
        }
    }

    fn target(&self, manifest: &J) -> Result<(Kind, Option<String>, String)> {
        let (api_version, kind, namespace, name) = identity_of(manifest)?;
        let kind = self.kube.kind(&api_version, &kind)?;
        let namespace = match (kind.namespaced, namespace) {
            (true, ns) => Some(ns.unwrap_or_else(|| "default".into())),
            (false, _) => None,
        };
        Ok((kind, namespace, name))
    }

    /// The object as sent: the manifest without unset fields, in its namespace.
    fn body(manifest: &J, namespace: &Option<String>) -> J {
        let mut body = without_nulls(manifest);
        if let Some(ns) = namespace {
            set_path(&mut body, "metadata.namespace", json!(ns));
        }
        body
    }

    /// The state for a live object: `manifest` as the cluster has the fields it sets
    /// (those under `computed_fields` keep the configuration's value: the server may
    /// change them), `object` those fields and the `computed_fields` as they are.
    fn state_of(&self, current: &Object, live: &J) -> Object {
        let manifest = to_json(&current.get("manifest"));
        let mut seen = project(live, &manifest);
        let mut object = seen.clone();
        for path in Self::computed_fields(current) {
            match at_path(&manifest, &path) {
                Some(v) => set_path(&mut seen, &path, v.clone()),
                None => drop_path(&mut seen, &path),
            }
            if let Some(v) = at_path(live, &path) {
                set_path(&mut object, &path, v.clone());
            }
        }
        let mut state = current.clone();
        state.set("manifest", dynamic(&seen));
        state.set("object", dynamic(&object));
        state
    }

    fn timeout(o: &Object, op: &str) -> Duration {
        timeout(o, op, Duration::from_secs(600))
    }

    /// `wait { rollout fields condition }` after create and update.
    fn settle(
        &self,
        planned: &Object,
        kind: &Kind,
        namespace: Option<&str>,
        name: &str,
        op: &str,
    ) -> Result<J> {
        let limit = Self::timeout(planned, op);
        let waits = block_objects(planned, "wait");
        let Some(w) = waits.first() else {
            return self.kube.get(kind, namespace, name)?.map_or_else(
                || {
                    fail(
                        "Object vanished",
                        "It was deleted right after it was written.",
                    )
                },
                Ok,
            );
        };
        let mut live = J::Null;
        if w.bool("rollout") == Some(true) {
            live = wait::rollout(&self.kube, kind, namespace, name, limit)?;
        }
        let fields = map_of(w, "fields");
        let mut patterns = Vec::new();
        for (path, pattern) in &fields {
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                vec![Diagnostic::error("Invalid wait pattern", format!("{path}: {e}")).at("wait")]
            })?;
            patterns.push((path.clone(), re));
        }
        let conditions: Vec<(String, String)> = block_objects(w, "condition")
            .iter()
            .map(|c| {
                (
                    c.string("type").unwrap_or_default(),
                    c.string("status").unwrap_or_else(|| "True".into()),
                )
            })
            .collect();
        if !patterns.is_empty() || !conditions.is_empty() || live.is_null() {
            live = wait::until(
                &self.kube,
                kind,
                namespace,
                name,
                "to be ready",
                limit,
                |o| {
                    patterns.iter().all(|(path, re)| {
                        at_path(o, path).is_some_and(|v| match v {
                            J::String(s) => re.is_match(s),
                            other => re.is_match(&other.to_string()),
                        })
                    }) && conditions.iter().all(|(t, s)| wait::has_condition(o, t, s))
                },
            )?;
        }
        Ok(live)
    }
}

/// Removes the field at a dotted path (objects only).
fn drop_path(j: &mut J, path: &str) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((p, l)) => (at_path_mut(j, p), l),
        None => (Some(j), path),
    };
    if let Some(J::Object(m)) = parent {
        m.remove(last);
    }
}

fn at_path_mut<'a>(j: &'a mut J, path: &str) -> Option<&'a mut J> {
    let mut here = j;
    for k in path.split('.') {
        here = here.get_mut(k)?;
    }
    Some(here)
}

impl Resource for Manifest {
    fn type_name(&self) -> &str {
        "kubernetes_manifest"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("manifest", required(Type::Dynamic)),
                ("object", optional_computed(Type::Dynamic)),
                ("computed_fields", optional(string_list())),
            ],
            vec![
                ("wait", single(wait_block(), false)),
                (
                    "field_manager",
                    single(
                        block(
                            vec![
                                ("name", optional(Type::String)),
                                ("force_conflicts", optional(Type::Bool)),
                            ],
                            vec![],
                        ),
                        false,
                    ),
                ),
                timeouts(),
            ],
        )
    }

    fn validate(&self, config: &Object) -> Vec<Diagnostic> {
        let m = config.get("manifest");
        if !m.is_wholly_known() {
            return Vec::new();
        }
        identity_of(&to_json(&m)).err().unwrap_or_default()
    }

    /// A change of apiVersion, kind, name or namespace replaces the object; `object`
    /// is known after apply whenever the manifest changes.
    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        let schema = self.schema();
        let prior = request.prior;
        let config_manifest = request.config.get("manifest");
        if config_manifest.is_wholly_known() {
            identity_of(&to_json(&config_manifest))?;
        }
        let mut planned = default_plan(
            self,
            &schema,
            PlanRequest {
                prior,
                proposed: request.proposed,
                config: request.config,
            },
        );
        let Some(prior) = prior else {
            planned.state.set("object", Value::Unknown(Type::Dynamic));
            return Ok(planned);
        };
        let before = to_json(&prior.get("manifest"));
        let changed = !prior.get("manifest").strict_equal(&config_manifest);
        if changed {
            planned.state.set("object", Value::Unknown(Type::Dynamic));
        }
        if config_manifest.is_wholly_known() {
            let after = to_json(&config_manifest);
            let moved = ["apiVersion", "kind", "metadata.name", "metadata.namespace"]
                .iter()
                .any(|p| at_path(&before, p) != at_path(&after, p));
            if moved {
                planned.requires_replace.push("manifest".into());
            }
        }
        Ok(planned)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        self.create_or_failed(planned).map_err(|f| f.diagnostics)
    }

    /// A `wait` that fails (times out) after the object was created returns the
    /// object with the errors: state keeps it tainted, and the next apply replaces it.
    fn create_or_failed(&self, planned: &Object) -> Outcome {
        let manifest = to_json(&planned.get("manifest"));
        let (kind, namespace, name) = self.target(&manifest)?;
        let created = self
            .kube
            .create(&kind, &Self::body(&manifest, &namespace))?;
        match self.settle(planned, &kind, namespace.as_deref(), &name, "create") {
            Ok(live) => Ok(self.state_of(planned, &live)),
            Err(d) => {
                let now = self.kube.get(&kind, namespace.as_deref(), &name);
                let left = match now {
                    Ok(Some(live)) => live,
                    Ok(None) => return Err(Failed::from(d)),
                    Err(_) => created,
                };
                Err(Failed::with_state(d, self.state_of(planned, &left)))
            }
        }
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let manifest = to_json(&current.get("manifest"));
        let (kind, namespace, name) = self.target(&manifest)?;
        Ok(self
            .kube
            .get(&kind, namespace.as_deref(), &name)?
            .map(|live| self.state_of(current, &live)))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let before = to_json(&prior.get("manifest"));
        let after = to_json(&planned.get("manifest"));
        let (kind, namespace, name) = self.target(&after)?;
        let patch = merge_patch(
            &Self::body(&before, &namespace),
            &Self::body(&after, &namespace),
        );
        self.kube
            .merge_patch(&kind, namespace.as_deref(), &name, &patch)?;
        let live = self.settle(planned, &kind, namespace.as_deref(), &name, "update")?;
        Ok(self.state_of(planned, &live))
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let manifest = to_json(&prior.get("manifest"));
        let (kind, namespace, name) = self.target(&manifest)?;
        if !self.kube.delete(&kind, namespace.as_deref(), &name)? {
            return Ok(());
        }
        wait::gone(
            &self.kube,
            &kind,
            namespace.as_deref(),
            &name,
            Self::timeout(prior, "delete"),
        )
    }

    /// `apiVersion=apps/v1,kind=Deployment,namespace=serving,name=chat` (no namespace
    /// for cluster-wide kinds). The imported `manifest` names the object only: plinth
    /// owns no field of it until the configuration sets them, so the first apply
    /// after import writes what the configuration says and erases nothing.
    fn import(&self, id: &str) -> Result<Object> {
        let mut parts = Map::new();
        for pair in id.split(',') {
            let Some((k, v)) = pair.split_once('=') else {
                return fail(
                    "Invalid import ID",
                    format!("{id:?}: expected apiVersion=…,kind=…,namespace=…,name=… (namespace only for namespaced kinds)."),
                );
            };
            parts.insert(k.trim().to_string(), json!(v.trim()));
        }
        let field = |k: &str| parts.get(k).and_then(J::as_str).map(str::to_string);
        let (Some(api_version), Some(kind_name), Some(name)) =
            (field("apiVersion"), field("kind"), field("name"))
        else {
            return fail(
                "Invalid import ID",
                format!("{id:?} needs apiVersion, kind and name (apiVersion=v1,kind=ConfigMap,namespace=default,name=x)."),
            );
        };
        let kind = self.kube.kind(&api_version, &kind_name)?;
        let namespace = field("namespace")
            .filter(|_| kind.namespaced)
            .or(kind.namespaced.then(|| "default".to_string()));
        let Some(live) = self.kube.get(&kind, namespace.as_deref(), &name)? else {
            return fail(
                "Cannot import",
                format!(
                    "No {} exists in the cluster.",
                    describe(&kind, namespace.as_deref(), &name)
                ),
            );
        };
        let mut meta = json!({"name": name});
        if let Some(ns) = &namespace {
            meta["namespace"] = json!(ns);
        }
        // plinth's own `manifest=live` (what `plinth drift --unmanaged` writes): the
        // imported manifest is the whole live object less what the server sets, so a
        // configuration holding that manifest plans no change. Without it the manifest
        // owns no field yet, and the first apply writes the configuration's.
        let manifest = match field("manifest").as_deref() {
            None => json!({"apiVersion": api_version, "kind": kind_name, "metadata": meta}),
            Some("live") => without_server_fields(&live),
            Some(other) => {
                return fail(
                    "Invalid import ID",
                    format!(
                        "{id:?}: manifest={other} is not known; the one choice is manifest=live."
                    ),
                )
            }
        };
        let mut state = Object(Default::default());
        state.set("manifest", dynamic(&manifest));
        let mut object = live.clone();
        if let Some(m) = object.as_object_mut() {
            m.remove("status");
        }
        state.set("object", dynamic(&object));
        state.set("computed_fields", Value::Null(string_list()));
        state.set("wait", objects_value(&wait_block(), Nesting::List, vec![]));
        // As a configuration without the block decodes: an empty list, not null.
        if let Some(field_manager) = self.schema().block.blocks.get("field_manager") {
            state.set(
                "field_manager",
                objects_value(&field_manager.block, Nesting::List, vec![]),
            );
        }
        Ok(state)
    }
}

/// A live object as a manifest to write: without `status` and the fields the API
/// server sets (uid, resourceVersion, creationTimestamp, generation, managedFields,
/// a Service's cluster IPs) or tools add (kubectl's last applied configuration, a
/// Deployment's revision).
pub fn without_server_fields(live: &J) -> J {
    let mut m = live.clone();
    let Some(top) = m.as_object_mut() else {
        return m;
    };
    top.remove("status");
    if let Some(meta) = top.get_mut("metadata").and_then(J::as_object_mut) {
        for f in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.remove(f);
        }
        if let Some(a) = meta.get_mut("annotations").and_then(J::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
            a.remove("deployment.kubernetes.io/revision");
            if a.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if top.get("kind").and_then(J::as_str) == Some("Service") {
        if let Some(spec) = top.get_mut("spec").and_then(J::as_object_mut) {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
    }
    m
}

/// `data "kubernetes_resource"`: one object, whole, by apiVersion, kind and name.
pub struct ResourceData {
    pub kube: Kube,
}

fn target_metadata() -> plinth_provider_sdk::NestedBlock {
    single(
        block(
            vec![
                ("name", required(Type::String)),
                ("namespace", optional(Type::String)),
            ],
            vec![],
        ),
        true,
    )
}

impl DataSource for ResourceData {
    fn type_name(&self) -> &str {
        "kubernetes_resource"
    }

    fn schema(&self) -> Schema {
        schema(
            vec![
                ("api_version", required(Type::String)),
                ("kind", required(Type::String)),
                ("object", computed(Type::Dynamic)),
            ],
            vec![("metadata", target_metadata())],
        )
    }

    fn read(&self, config: &Object) -> Result<Object> {
        let api_version = config.require_string("api_version")?;
        let kind_name = config.require_string("kind")?;
        let meta = block_objects(config, "metadata")
            .into_iter()
            .next()
            .unwrap_or_else(|| Object(Default::default()));
        let name = meta.require_string("name")?;
        let kind = self.kube.kind(&api_version, &kind_name)?;
        let namespace = meta
            .string("namespace")
            .filter(|_| kind.namespaced)
            .or(kind.namespaced.then(|| "default".to_string()));
        let Some(live) = self.kube.get(&kind, namespace.as_deref(), &name)? else {
            return fail(
                "Object not found",
                format!(
                    "No {} exists in the cluster.",
                    describe(&kind, namespace.as_deref(), &name)
                ),
            );
        };
        let mut out = config.clone();
        out.set("object", dynamic(&live));
        Ok(out)
    }
}

#[cfg(test)]
mod inventory_tests {
    use super::*;

    #[test]
    fn a_live_object_loses_what_the_server_sets() {
        let live = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "a", "uid": "u", "resourceVersion": "7",
                "creationTimestamp": "t", "labels": {"app": "web"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 80}]},
            "status": {"loadBalancer": {}}
        });
        assert_eq!(
            without_server_fields(&live),
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": "a", "labels": {"app": "web"}},
                "spec": {"ports": [{"port": 80}]}
            })
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_without_kind_is_refused_at_manifest() {
        let err = identity_of(&json!({"apiVersion": "v1", "metadata": {"name": "x"}})).unwrap_err();
        assert_eq!(err[0].attribute, vec!["manifest".to_string()]);
        assert!(err[0].detail.contains("no kind"), "{}", err[0].detail);
        assert!(identity_of(
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
        )
        .is_ok());
    }

    #[test]
    fn dropping_a_path_removes_only_that_field() {
        let mut j = json!({"metadata": {"labels": {"a": "1"}, "name": "x"}});
        drop_path(&mut j, "metadata.labels");
        assert_eq!(j, json!({"metadata": {"name": "x"}}));
    }
}
