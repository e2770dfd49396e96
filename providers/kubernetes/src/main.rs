//! `plinth/kubernetes`: Kubernetes objects with the resource names and attribute
//! shapes of HashiCorp's Kubernetes provider (namespaces, secrets, config maps,
//! service accounts, Jobs and CronJobs as pipeline steps), any object through
//! `kubernetes_manifest`, and the cluster's GPU inventory. Built on kube-rs; the
//! cluster is reached as HashiCorp's provider reaches it (`host` and credentials,
//! kubeconfig files and contexts, `exec` plugins, `KUBE_*` variables).

mod client;
mod core;
mod inventory;
mod json;
mod llm;
mod manifest;
mod nodes;
mod typed;
mod wait;
mod workloads;

use std::sync::Arc;

use client::{Exec, Kube, Settings, Shared};
use plinth_provider_sdk::shape::*;
use plinth_provider_sdk::{
    serve, Attribute, DataSource, Diagnostic, ListRequest, Listing, Object, Provider, Resource,
    Schema, Type,
};

fn main() -> std::process::ExitCode {
    serve(KubernetesProvider {
        kube: Arc::new(Shared::default()),
    })
}

struct KubernetesProvider {
    kube: Kube,
}

fn secret(a: Attribute) -> Attribute {
    Attribute {
        sensitive: true,
        ..a
    }
}

type Make = fn(&Kube, &str) -> typed::Typed;

/// Each typed resource under its `_v1` name and HashiCorp's older unversioned one.
const TYPED: [(&str, Make); 6] = [
    ("kubernetes_namespace", core::namespace),
    ("kubernetes_secret", core::secret),
    ("kubernetes_config_map", core::config_map),
    ("kubernetes_service_account", core::service_account),
    ("kubernetes_job", workloads::job),
    ("kubernetes_cron_job", workloads::cron_job),
];

impl Provider for KubernetesProvider {
    fn schema(&self) -> Schema {
        let exec = block(
            vec![
                ("api_version", required(Type::String)),
                ("command", required(Type::String)),
                ("args", optional(string_list())),
                ("env", optional(string_map())),
            ],
            vec![],
        );
        let experiments = block(vec![("manifest_resource", optional(Type::Bool))], vec![]);
        schema(
            vec![
                ("host", optional(Type::String)),
                ("username", optional(Type::String)),
                ("password", secret(optional(Type::String))),
                ("insecure", optional(Type::Bool)),
                ("tls_server_name", optional(Type::String)),
                ("client_certificate", optional(Type::String)),
                ("client_key", secret(optional(Type::String))),
                ("cluster_ca_certificate", optional(Type::String)),
                ("config_path", optional(Type::String)),
                ("config_paths", optional(string_list())),
                ("config_context", optional(Type::String)),
                ("config_context_auth_info", optional(Type::String)),
                ("config_context_cluster", optional(Type::String)),
                ("token", secret(optional(Type::String))),
                ("proxy_url", optional(Type::String)),
                ("ignore_annotations", optional(string_list())),
                ("ignore_labels", optional(string_list())),
            ],
            vec![
                ("exec", single(exec, false)),
                ("experiments", single(experiments, false)),
            ],
        )
    }

    fn configure(&self, config: &Object) -> Vec<Diagnostic> {
        if !config.is_null("config_path") && !config.is_null("config_paths") {
            return vec![Diagnostic::error(
                "Conflicting kubeconfig arguments",
                "Set config_path or config_paths, not both.",
            )
            .at("config_paths")];
        }
        let mut config_paths = strings_of(config, "config_paths");
        if let Some(p) = config.string("config_path") {
            config_paths.push(p);
        }
        let exec = block_objects(config, "exec").first().map(|e| Exec {
            api_version: e.string("api_version").unwrap_or_default(),
            command: e.string("command").unwrap_or_default(),
            args: strings_of(e, "args"),
            env: map_of(e, "env"),
        });
        let settings = Settings {
            host: config.string("host"),
            username: config.string("username"),
            password: config.string("password"),
            insecure: config.bool("insecure"),
            tls_server_name: config.string("tls_server_name"),
            client_certificate: config.string("client_certificate"),
            client_key: config.string("client_key"),
            cluster_ca_certificate: config.string("cluster_ca_certificate"),
            config_paths,
            config_context: config.string("config_context"),
            config_context_auth_info: config.string("config_context_auth_info"),
            config_context_cluster: config.string("config_context_cluster"),
            token: config.string("token"),
            proxy_url: config.string("proxy_url"),
            exec,
        }
        .with_environment();
        // A plugin process serves one provider configuration, configured once.
        let _ = self.kube.settings.set(settings);
        Vec::new()
    }

    /// API servers rate-limit clients (client-go's default is 5 requests a second
    /// with bursts of 10); 10 calls at once stays inside that burst.
    fn max_concurrency(&self) -> Option<usize> {
        Some(10)
    }

    fn resources(&self) -> Vec<Box<dyn Resource>> {
        let k = &self.kube;
        let mut all: Vec<Box<dyn Resource>> = Vec::new();
        for (name, make) in TYPED {
            all.push(Box::new(make(k, &format!("{name}_v1"))));
            all.push(Box::new(make(k, name)));
        }
        all.push(Box::new(manifest::Manifest { kube: k.clone() }));
        all.push(Box::new(llm::LlmService { kube: k.clone() }));
        all
    }

    fn list(&self, request: &ListRequest) -> Option<Listing> {
        Some(inventory::list(&self.kube, &self.resources(), request))
    }

    fn data_sources(&self) -> Vec<Box<dyn DataSource>> {
        let k = &self.kube;
        vec![
            Box::new(nodes::Nodes { kube: k.clone() }),
            Box::new(nodes::NamespaceData { kube: k.clone() }),
            Box::new(manifest::ResourceData { kube: k.clone() }),
        ]
    }
}
