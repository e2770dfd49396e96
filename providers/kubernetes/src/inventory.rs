//! Listing for `plinth drift --unmanaged` (plinth's `Inventory` service): in each
//! namespace the given states manage (a managed namespace, or one a managed object
//! lives in), the workloads, services, configuration and claims no state holds. Left
//! out: what the cluster makes (`kube-root-ca.crt`, the `default` service account,
//! service-account token secrets, the `kubernetes` Service, anything with
//! ownerReferences) and the objects a managed `kubernetes_llm_service` makes (its
//! labels). A kind with a typed resource that imports is listed as that type; the
//! others as `kubernetes_manifest` with plinth's `manifest=live` import.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use plinth_provider_sdk::{config_from_state, Diagnostic, ListRequest, Listed, Listing, Resource};
use serde_json::Value as J;

use crate::client::Kube;
use crate::manifest::without_server_fields;

/// The kinds listed: (apiVersion, kind, the typed resource that imports it).
const KINDS: [(&str, &str, Option<&str>); 10] = [
    ("apps/v1", "Deployment", None),
    ("apps/v1", "StatefulSet", None),
    ("apps/v1", "DaemonSet", None),
    ("v1", "Service", None),
    ("v1", "ConfigMap", Some("kubernetes_config_map_v1")),
    ("v1", "Secret", Some("kubernetes_secret_v1")),
    (
        "v1",
        "ServiceAccount",
        Some("kubernetes_service_account_v1"),
    ),
    ("batch/v1", "Job", Some("kubernetes_job_v1")),
    ("batch/v1", "CronJob", Some("kubernetes_cron_job_v1")),
    ("v1", "PersistentVolumeClaim", None),
];

/// An object by apiVersion, kind, namespace and name.
type Identity = (String, String, String, String);

/// What the given states hold, as the cluster names it.
#[derive(Debug, Default, PartialEq)]
struct Managed {
    namespaces: BTreeSet<String>,
    objects: HashSet<Identity>,
    /// Managed LLM services: (namespace, name).
    llm_services: HashSet<(String, String)>,
}

fn managed(request: &ListRequest) -> Managed {
    let mut m = Managed::default();
    for (type_name, attributes) in &request.managed_states {
        let type_name = type_name.trim_end_matches("_v1");
        let id = attributes.get("id").and_then(J::as_str).unwrap_or("");
        let split = id.split_once('/');
        match type_name {
            "kubernetes_namespace" => {
                m.namespaces.insert(id.to_string());
            }
            "kubernetes_llm_service" => {
                if let Some((ns, name)) = split {
                    m.namespaces.insert(ns.to_string());
                    m.llm_services.insert((ns.to_string(), name.to_string()));
                }
            }
            "kubernetes_manifest" => {
                let manifest = attributes
                    .get("object")
                    .filter(|o| !o.is_null())
                    .or_else(|| attributes.get("manifest"));
                let Some(manifest) = manifest else { continue };
                let field = |p: &str| manifest.pointer(p).and_then(J::as_str).unwrap_or("");
                let (kind, ns, name) = (
                    field("/kind"),
                    field("/metadata/namespace"),
                    field("/metadata/name"),
                );
                if kind == "Namespace" {
                    m.namespaces.insert(name.to_string());
                } else if !ns.is_empty() {
                    m.namespaces.insert(ns.to_string());
                }
                m.objects.insert((
                    field("/apiVersion").to_string(),
                    kind.to_string(),
                    ns.to_string(),
                    name.to_string(),
                ));
            }
            _ => {
                let typed = KINDS
                    .iter()
                    .find(|(_, _, t)| t.is_some_and(|t| t.trim_end_matches("_v1") == type_name));
                if let (Some((api_version, kind, _)), Some((ns, name))) = (typed, split) {
                    m.namespaces.insert(ns.to_string());
                    m.objects.insert((
                        api_version.to_string(),
                        kind.to_string(),
                        ns.to_string(),
                        name.to_string(),
                    ));
                }
            }
        }
    }
    m
}

fn labels_of(object: &J) -> BTreeMap<String, String> {
    object
        .pointer("/metadata/labels")
        .and_then(J::as_object)
        .map(|l| {
            l.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// What the cluster (or a controller) made, which no stack is expected to manage.
fn made_by_cluster(kind: &str, object: &J) -> bool {
    let name = object
        .pointer("/metadata/name")
        .and_then(J::as_str)
        .unwrap_or("");
    let owned = object
        .pointer("/metadata/ownerReferences")
        .and_then(J::as_array)
        .is_some_and(|o| !o.is_empty());
    owned
        || (kind == "ConfigMap" && name == "kube-root-ca.crt")
        || (kind == "ServiceAccount" && name == "default")
        || (kind == "Service" && name == "kubernetes")
        || (kind == "Secret"
            && object.get("type").and_then(J::as_str)
                == Some("kubernetes.io/service-account-token"))
}

/// Whether a managed LLM service in `namespace` made `object` (it carries the labels
/// the service puts on everything it makes).
fn made_by_llm_service(managed: &Managed, namespace: &str, object: &J) -> bool {
    let labels = labels_of(object);
    labels
        .get("app.kubernetes.io/managed-by")
        .map(String::as_str)
        == Some("plinth")
        && labels.get("app.kubernetes.io/name").is_some_and(|name| {
            managed
                .llm_services
                .contains(&(namespace.to_string(), name.clone()))
        })
}

/// The note above a block whose configuration holds placeholders.
const SECRET_NOTE: &str = "The secret's values are not listed: fill in each placeholder before applying.\nUntil then the plan after import changes them.";

pub fn list(kube: &Kube, resources: &[Box<dyn Resource>], request: &ListRequest) -> Listing {
    let managed = managed(request);
    let mut listing = Listing::default();
    for ns in &managed.namespaces {
        for (api_version, kind_name, typed) in KINDS {
            let type_name = typed.unwrap_or("kubernetes_manifest");
            if !request.wants(type_name) {
                continue;
            }
            let found = kube
                .kind(api_version, kind_name)
                .and_then(|kind| kube.list(&kind, Some(ns)));
            let objects = match found {
                Ok(o) => o,
                Err(d) => {
                    listing.diagnostics.extend(d.into_iter().map(|d| {
                        Diagnostic::warning(
                            format!("{kind_name} objects in namespace {ns} not listed"),
                            format!("{}: {}", d.summary, d.detail),
                        )
                    }));
                    continue;
                }
            };
            for object in objects {
                let name = object
                    .pointer("/metadata/name")
                    .and_then(J::as_str)
                    .unwrap_or("")
                    .to_string();
                let identity = (
                    api_version.to_string(),
                    kind_name.to_string(),
                    ns.clone(),
                    name.clone(),
                );
                if name.is_empty()
                    || managed.objects.contains(&identity)
                    || made_by_cluster(kind_name, &object)
                    || made_by_llm_service(&managed, ns, &object)
                    || !request.tags_match(&labels_of(&object))
                {
                    continue;
                }
                let listed = match typed {
                    Some(t) => typed_listing(resources, t, ns, &name, &object),
                    None => Ok(manifest_listing(api_version, kind_name, ns, &name, &object)),
                };
                match listed {
                    Ok(l) => request.keep(l, &mut listing.objects),
                    Err(d) => listing.diagnostics.extend(d.into_iter().map(|d| {
                        Diagnostic::warning(
                            format!("{kind_name} {ns}/{name} not listed"),
                            format!("{}: {}", d.summary, d.detail),
                        )
                    })),
                }
            }
        }
    }
    listing
}

fn typed_listing(
    resources: &[Box<dyn Resource>],
    type_name: &str,
    ns: &str,
    name: &str,
    object: &J,
) -> plinth_provider_sdk::Result<Listed> {
    let id = format!("{ns}/{name}");
    let Some(resource) = resources.iter().find(|r| r.type_name() == type_name) else {
        return plinth_provider_sdk::fail("No such type", type_name.to_string());
    };
    let state = resource.import(&id)?;
    let (config, placeholders) = config_from_state(&resource.schema().block, &state, &[]);
    let mut listed = Listed::new(type_name, &id, name).tags(labels_of(object));
    listed.config = config;
    if placeholders {
        listed.note = SECRET_NOTE.to_string();
    }
    Ok(listed)
}

fn manifest_listing(api_version: &str, kind: &str, ns: &str, name: &str, object: &J) -> Listed {
    let import_id =
        format!("apiVersion={api_version},kind={kind},namespace={ns},name={name},manifest=live");
    Listed::new(
        "kubernetes_manifest",
        &import_id,
        &format!("{}_{name}", kind.to_lowercase()),
    )
    .tags(labels_of(object))
    .arg("manifest", without_server_fields(object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_the_cluster_makes_is_left_out() {
        let cm = json!({"metadata": {"name": "kube-root-ca.crt"}});
        assert!(made_by_cluster("ConfigMap", &cm));
        assert!(!made_by_cluster(
            "ConfigMap",
            &json!({"metadata": {"name": "app"}})
        ));
        assert!(made_by_cluster(
            "ServiceAccount",
            &json!({"metadata": {"name": "default"}})
        ));
        let token =
            json!({"metadata": {"name": "t"}, "type": "kubernetes.io/service-account-token"});
        assert!(made_by_cluster("Secret", &token));
        let pod_of =
            json!({"metadata": {"name": "web-1", "ownerReferences": [{"kind": "ReplicaSet"}]}});
        assert!(made_by_cluster("Deployment", &pod_of));
    }

    #[test]
    fn managed_states_give_namespaces_objects_and_llm_services() {
        let request = ListRequest {
            managed_states: vec![
                ("kubernetes_namespace_v1".into(), json!({"id": "apps"})),
                (
                    "kubernetes_config_map_v1".into(),
                    json!({"id": "apps/settings"}),
                ),
                (
                    "kubernetes_llm_service".into(),
                    json!({"id": "serving/chat"}),
                ),
                (
                    "kubernetes_manifest".into(),
                    json!({"manifest": {"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": "web", "namespace": "web"}}, "object": null}),
                ),
            ],
            ..ListRequest::default()
        };
        let m = managed(&request);
        assert_eq!(
            m.namespaces,
            BTreeSet::from(["apps".into(), "serving".into(), "web".into()])
        );
        assert!(m.objects.contains(&(
            "v1".into(),
            "ConfigMap".into(),
            "apps".into(),
            "settings".into()
        )));
        assert!(m.objects.contains(&(
            "apps/v1".into(),
            "Deployment".into(),
            "web".into(),
            "web".into()
        )));
        let made = json!({"metadata": {"labels": {
            "app.kubernetes.io/managed-by": "plinth", "app.kubernetes.io/name": "chat"}}});
        assert!(made_by_llm_service(&m, "serving", &made));
        assert!(!made_by_llm_service(&m, "apps", &made));
    }
}
