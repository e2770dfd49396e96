//! The Kubernetes test peer itself: scripts/kmock-server with its namespaces fix, the
//! harness in common::kube, and the kmock behaviours docs/kmock.md promises the
//! provider's code and tests (so a kmock upgrade that changes one fails here first).

use crate::common::kube::Kmock;
use crate::common::stack;

use hyper::Method;
use serde_json::json;

const NS: &str = "/api/v1/namespaces/serving";
const CM: &str = "/api/v1/namespaces/serving/configmaps/settings";

#[test]
fn namespace_and_config_map_round_trip_through_the_api() {
    let kmock = Kmock::start();
    kmock.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "serving"}}),
    );
    assert_eq!(
        kmock.get(NS).expect("namespace")["metadata"]["name"],
        "serving"
    );
    let names: Vec<_> = kmock.get("/api/v1/namespaces").expect("list")["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|ns| ns["metadata"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("serving")]);

    kmock.post(
        "/api/v1/namespaces/serving/configmaps",
        &json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "serving"},
            "data": {"model": "llama", "port": "8000"},
        }),
    );
    assert_eq!(
        kmock.get(CM).expect("configmap")["data"],
        json!({"model": "llama", "port": "8000"})
    );

    let patched = kmock.patch(CM, &json!({"data": {"model": "mistral", "port": null}}));
    assert_eq!(patched["data"], json!({"model": "mistral"}));
    assert_eq!(
        kmock.get(CM).expect("configmap")["data"],
        json!({"model": "mistral"})
    );

    kmock.delete(CM);
    assert_eq!(kmock.get(CM), None);
    kmock.delete(NS);
    assert_eq!(kmock.get(NS), None);
}

#[test]
fn a_deployments_status_is_set_through_the_api_as_a_controller_would() {
    let kmock = Kmock::start();
    let path = "/apis/apps/v1/namespaces/serving/deployments/chat";
    kmock.post(
        "/apis/apps/v1/namespaces/serving/deployments",
        &json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "chat", "namespace": "serving"},
            "spec": {"replicas": 2},
        }),
    );
    assert_eq!(kmock.get(path).expect("deployment").get("status"), None);

    kmock.patch(
        &format!("{path}/status"),
        &json!({"status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}}),
    );
    let deployment = kmock.get(path).expect("deployment");
    assert_eq!(deployment["status"]["availableReplicas"], 2);
    assert_eq!(deployment["spec"], json!({"replicas": 2}));
}

#[test]
fn extra_resource_lists_serve_a_custom_resource_in_discovery() {
    let dir = stack(&[(
        "argo.json",
        r#"[{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "argoproj.io/v1alpha1",
             "resources": [{"name": "workflows", "singularName": "workflow", "namespaced": true,
                            "kind": "Workflow", "verbs": ["create", "delete", "get", "list", "patch", "watch"]}]}]"#,
    )]);
    let kmock = Kmock::with_resources(&[&dir.path().join("argo.json")]);
    let list = kmock.get("/apis/argoproj.io/v1alpha1").expect("discovery");
    let workflows = &list["resources"][0];
    assert_eq!(
        (
            &workflows["name"],
            &workflows["kind"],
            &workflows["namespaced"]
        ),
        (&json!("workflows"), &json!("Workflow"), &json!(true))
    );
    let groups = kmock.get("/apis").expect("groups");
    assert!(groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .any(|g| g["name"] == "argoproj.io"));
    // the standard resources stay loaded beside it
    assert!(kmock.get("/apis/batch/v1").is_some());
}

#[test]
fn the_kubeconfig_points_at_the_server() {
    let kmock = Kmock::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(kmock.kubeconfig(dir.path())).expect("kubeconfig");
    assert!(text.contains(&format!("server: {}\n", kmock.url)), "{text}");
    assert!(text.contains("current-context: kmock\n"), "{text}");
    assert!(kmock.get("/version").is_some());
}

/// What docs/kmock.md tells the provider's authors about kmock, each checked once.
#[test]
fn kmock_differs_from_a_real_api_server_as_documented() {
    let kmock = Kmock::start();
    let created = kmock.post(
        "/api/v1/namespaces/serving/configmaps?fieldManager=plinth",
        &json!({"metadata": {"name": "settings"}, "data": {"a": "1"}}),
    );
    // the object is stored as sent: no uid, resourceVersion, creationTimestamp, and no
    // namespace from the URL
    assert_eq!(
        created,
        json!({"metadata": {"name": "settings"}, "data": {"a": "1"}})
    );

    let again = kmock.request(
        Method::POST,
        "/api/v1/namespaces/serving/configmaps",
        "application/json",
        br#"{"metadata": {"name": "settings"}}"#,
    );
    assert_eq!(again.status, 409);
    assert_eq!(
        (&again.body["kind"], &again.body["code"]),
        (&json!("Status"), &json!(409))
    );

    let missing = kmock.request(
        Method::GET,
        "/api/v1/namespaces/serving/configmaps/none",
        "application/json",
        b"",
    );
    assert_eq!(
        (
            missing.status,
            &missing.body["kind"],
            &missing.body["reason"]
        ),
        (404, &json!("Status"), &json!("Object Not Found"))
    );

    // no PUT at all
    let put = kmock.request(
        Method::PUT,
        CM,
        "application/json",
        br#"{"metadata": {"name": "settings"}}"#,
    );
    assert_eq!(put.status, 404);

    // a strategic merge patch is merged as a JSON merge patch: lists are replaced
    kmock.patch(
        CM,
        &json!({"data": {"list": "x"}, "metadata": {"finalizers": ["a", "b"]}}),
    );
    let reply = kmock.request(
        Method::PATCH,
        CM,
        "application/strategic-merge-patch+json",
        br#"{"metadata": {"finalizers": ["c"]}}"#,
    );
    assert_eq!(reply.body["metadata"]["finalizers"], json!(["c"]));

    // a server-side apply body in YAML is not read, and answers 200 with nothing changed
    let apply = kmock.request(
        Method::PATCH,
        &format!("{CM}?fieldManager=plinth&force=true"),
        "application/apply-patch+yaml",
        b"data:\n  a: \"2\"\n",
    );
    assert_eq!((apply.status, &apply.body["data"]["a"]), (200, &json!("1")));

    // list selectors are ignored
    let listed = kmock
        .get("/api/v1/namespaces/serving/configmaps?labelSelector=app%3Dnone")
        .expect("list");
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));

    // status shares the object: the main path changes it, /status changes the spec
    let path = "/apis/batch/v1/namespaces/serving/jobs/train";
    kmock.post(
        "/apis/batch/v1/namespaces/serving/jobs",
        &json!({"metadata": {"name": "train", "namespace": "serving"}, "spec": {"parallelism": 1}}),
    );
    kmock.patch(path, &json!({"status": {"succeeded": 1}}));
    kmock.patch(
        &format!("{path}/status"),
        &json!({"spec": {"parallelism": 2}}),
    );
    let job = kmock.get(path).expect("job");
    assert_eq!(
        (&job["status"]["succeeded"], &job["spec"]["parallelism"]),
        (&json!(1), &json!(2))
    );

    // a deletion with a propagation policy deletes at once and answers the object
    let deleted = kmock.delete(&format!("{path}?propagationPolicy=Foreground"));
    assert_eq!(deleted["metadata"]["name"], "train");
    assert_eq!(kmock.get(path), None);
}
