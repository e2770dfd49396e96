//! [`ProviderRpc`] over protocol version 5 (`tfplugin5`): each call's request built
//! and its answer read back once, for this version.

use std::sync::Arc;

use plinth_protocol::schema::ProviderSchema;
use plinth_protocol::tfplugin5 as p5;
use tonic::transport::Channel;

use super::client::{
    checked, ApplyCall, Call, CallError, Imported, ObjectReply, PlanCall, Planned, ProviderRpc,
    Returned, Warned, WireDiagnostic, MAX_MESSAGE_BYTES,
};
use super::process::PluginProcess;
use super::BoxFuture;

type Client = p5::provider_client::ProviderClient<Channel>;

pub struct Plugin5 {
    client: Client,
    process: Arc<PluginProcess>,
}

impl Plugin5 {
    pub fn new(process: Arc<PluginProcess>) -> Plugin5 {
        Plugin5 {
            client: Client::new(process.channel.clone())
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
            process,
        }
    }

    fn client(&self) -> Client {
        self.client.clone()
    }

    fn failed(&self, e: tonic::Status) -> CallError {
        CallError::Transport(self.process.call_failed(&e))
    }
}

/// An attribute path as names and keys (a string key quoted).
fn path_names(path: &p5::AttributePath) -> Vec<String> {
    use p5::attribute_path::step::Selector;
    path.steps
        .iter()
        .filter_map(|s| match &s.selector {
            Some(Selector::AttributeName(n)) => Some(n.clone()),
            Some(Selector::ElementKeyString(k)) => Some(format!("{k:?}")),
            Some(Selector::ElementKeyInt(i)) => Some(i.to_string()),
            None => None,
        })
        .collect()
}

fn diagnostics(diags: &[p5::Diagnostic]) -> Vec<WireDiagnostic> {
    diags
        .iter()
        .map(|d| WireDiagnostic {
            error: d.severity != p5::diagnostic::Severity::Warning as i32,
            summary: d.summary.clone(),
            detail: d.detail.clone(),
            attribute: d.attribute.as_ref().map(path_names).unwrap_or_default(),
        })
        .collect()
}

fn dynamic(msgpack: Vec<u8>) -> Option<p5::DynamicValue> {
    Some(p5::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}

fn returned(v: Option<p5::DynamicValue>) -> Returned {
    match v {
        Some(d) if !d.msgpack.is_empty() => Returned::Msgpack(d.msgpack),
        Some(d) if !d.json.is_empty() => Returned::Json(d.json),
        _ => Returned::Absent,
    }
}

impl ProviderRpc for Plugin5 {
    fn schema(&self) -> Call<'_, Warned<ProviderSchema>> {
        Box::pin(async move {
            let r = self
                .client()
                .get_schema(p5::get_provider_schema::Request {})
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            let diags = diagnostics(&r.diagnostics);
            let schema =
                ProviderSchema::from_proto5(&r).map_err(|e| CallError::Transport(e.to_string()))?;
            checked(schema, diags)
        })
    }

    fn validate_provider(&self, config: Vec<u8>) -> Call<'_, Vec<WireDiagnostic>> {
        Box::pin(async move {
            let r = self
                .client()
                .prepare_provider_config(p5::prepare_provider_config::Request {
                    config: dynamic(config),
                })
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            Ok(diagnostics(&r.diagnostics))
        })
    }

    fn validate_resource<'a>(
        &'a self,
        type_name: &'a str,
        config: Vec<u8>,
    ) -> Call<'a, Vec<WireDiagnostic>> {
        Box::pin(async move {
            let r = self
                .client()
                .validate_resource_type_config(p5::validate_resource_type_config::Request {
                    type_name: type_name.to_string(),
                    config: dynamic(config),
                })
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            Ok(diagnostics(&r.diagnostics))
        })
    }

    fn validate_data_source<'a>(
        &'a self,
        type_name: &'a str,
        config: Vec<u8>,
    ) -> Call<'a, Vec<WireDiagnostic>> {
        Box::pin(async move {
            let r = self
                .client()
                .validate_data_source_config(p5::validate_data_source_config::Request {
                    type_name: type_name.to_string(),
                    config: dynamic(config),
                })
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            Ok(diagnostics(&r.diagnostics))
        })
    }

    fn configure(&self, config: Vec<u8>) -> Call<'_, Vec<WireDiagnostic>> {
        Box::pin(async move {
            let r = self
                .client()
                .configure(p5::configure::Request {
                    terraform_version: "1.0.3".into(),
                    config: dynamic(config),
                })
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            checked((), diagnostics(&r.diagnostics)).map(|(_, d)| d)
        })
    }

    fn upgrade_state<'a>(
        &'a self,
        type_name: &'a str,
        version: i64,
        json: Vec<u8>,
    ) -> Call<'a, Warned<Returned>> {
        Box::pin(async move {
            let r = self
                .client()
                .upgrade_resource_state(p5::upgrade_resource_state::Request {
                    type_name: type_name.to_string(),
                    version,
                    raw_state: Some(p5::RawState {
                        json,
                        flatmap: Default::default(),
                    }),
                })
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            let diags = diagnostics(&r.diagnostics);
            checked(returned(r.upgraded_state), diags)
        })
    }

    fn read_resource<'a>(
        &'a self,
        type_name: &'a str,
        current: Vec<u8>,
        private: Vec<u8>,
        provider_meta: Option<Vec<u8>>,
    ) -> Call<'a, Warned<ObjectReply>> {
        Box::pin(async move {
            let r = self
                .client()
                .read_resource(p5::read_resource::Request {
                    type_name: type_name.to_string(),
                    current_state: dynamic(current),
                    private,
                    provider_meta: provider_meta.and_then(dynamic),
                })
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            let diags = diagnostics(&r.diagnostics);
            let reply = ObjectReply {
                state: returned(r.new_state),
                private: r.private,
            };
            checked(reply, diags)
        })
    }

    fn plan_resource<'a>(&'a self, call: PlanCall<'a>) -> Call<'a, Warned<Planned>> {
        Box::pin(async move {
            let r = self
                .client()
                .plan_resource_change(p5::plan_resource_change::Request {
                    type_name: call.type_name.to_string(),
                    prior_state: dynamic(call.prior),
                    proposed_new_state: dynamic(call.proposed),
                    config: dynamic(call.config),
                    prior_private: call.prior_private,
                    provider_meta: call.provider_meta.and_then(dynamic),
                })
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            let diags = diagnostics(&r.diagnostics);
            let planned = Planned {
                planned: returned(r.planned_state),
                requires_replace: r.requires_replace.iter().map(path_names).collect(),
                private: r.planned_private,
            };
            checked(planned, diags)
        })
    }

    fn apply_resource<'a>(&'a self, call: ApplyCall<'a>) -> Call<'a, Warned<ObjectReply>> {
        Box::pin(async move {
            let r = self
                .client()
                .apply_resource_change(p5::apply_resource_change::Request {
                    type_name: call.type_name.to_string(),
                    prior_state: dynamic(call.prior),
                    planned_state: dynamic(call.planned),
                    config: dynamic(call.config),
                    planned_private: call.planned_private,
                    provider_meta: call.provider_meta.and_then(dynamic),
                })
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            let diags = diagnostics(&r.diagnostics);
            let reply = ObjectReply {
                state: returned(r.new_state),
                private: r.private,
            };
            // Errors come back with the state: a failed create may have made the
            // object, which is then kept tainted.
            Ok((reply, diags))
        })
    }

    fn import_resource<'a>(
        &'a self,
        type_name: &'a str,
        id: &'a str,
    ) -> Call<'a, Warned<Vec<Imported>>> {
        Box::pin(async move {
            let r = self
                .client()
                .import_resource_state(p5::import_resource_state::Request {
                    type_name: type_name.to_string(),
                    id: id.to_string(),
                })
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            let diags = diagnostics(&r.diagnostics);
            let imported = r
                .imported_resources
                .into_iter()
                .map(|i| Imported {
                    type_name: i.type_name,
                    state: returned(i.state),
                    private: i.private,
                })
                .collect();
            checked(imported, diags)
        })
    }

    fn read_data_source<'a>(
        &'a self,
        type_name: &'a str,
        config: Vec<u8>,
        provider_meta: Option<Vec<u8>>,
    ) -> Call<'a, Warned<Returned>> {
        Box::pin(async move {
            let r = self
                .client()
                .read_data_source(p5::read_data_source::Request {
                    type_name: type_name.to_string(),
                    config: dynamic(config),
                    provider_meta: provider_meta.and_then(dynamic),
                })
                .await
                .map_err(|e| self.failed(e))?
                .into_inner();
            let diags = diagnostics(&r.diagnostics);
            checked(returned(r.state), diags)
        })
    }

    fn stop(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let _ = self.client().stop(p5::stop::Request {}).await;
        })
    }
}
