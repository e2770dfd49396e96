//! The client side of a provider plugin, protocol-blind: [`ProviderRpc`] is every call
//! the host makes, with values as msgpack bytes (`host.rs` encodes and decodes them
//! against the schemas) and the provider's diagnostics as [`WireDiagnostic`]s.
//! `plugin5.rs` and `plugin6.rs` implement it, one per protocol version;
//! [`PluginClient`] starts the process (`process.rs`) and picks the one it chose.

use std::path::Path;
use std::sync::Arc;

use plinth_protocol::schema::ProviderSchema;

use super::plugin5::Plugin5;
use super::plugin6::Plugin6;
use super::process::{PluginProcess, StartError, STOP_TIMEOUT};
use super::BoxFuture;

/// The largest message either side may send (a state or a schema can be large).
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// A diagnostic as a provider sent it, in either protocol version.
#[derive(Clone, Debug, PartialEq)]
pub struct WireDiagnostic {
    pub error: bool,
    pub summary: String,
    pub detail: String,
    /// The attribute path, as names and keys.
    pub attribute: Vec<String>,
}

/// What went wrong talking to a plugin.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CallError {
    /// The provider answered with error diagnostics.
    #[error("{}", summaries(.0))]
    Provider(Vec<WireDiagnostic>),
    /// The call itself failed (the process died, the connection broke).
    #[error("{0}")]
    Transport(String),
}

/// Each diagnostic as "summary: detail", joined by "; ".
fn summaries(diags: &[WireDiagnostic]) -> String {
    diags
        .iter()
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Errors among `diags` fail the call; warnings are returned with the result.
pub fn checked<T>(
    value: T,
    diags: Vec<WireDiagnostic>,
) -> Result<(T, Vec<WireDiagnostic>), CallError> {
    if diags.iter().any(|d| d.error) {
        Err(CallError::Provider(diags))
    } else {
        Ok((value, diags))
    }
}

/// The msgpack bytes of a returned value (`None` when absent). Providers may answer in
/// JSON; that is turned into msgpack by the caller, which knows the type.
pub enum Returned {
    Msgpack(Vec<u8>),
    Json(Vec<u8>),
    Absent,
}

pub struct Planned {
    pub planned: Returned,
    pub requires_replace: Vec<Vec<String>>,
    pub private: Vec<u8>,
}

pub struct ObjectReply {
    pub state: Returned,
    pub private: Vec<u8>,
}

pub struct Imported {
    pub type_name: String,
    pub state: Returned,
    pub private: Vec<u8>,
}

/// PlanResourceChange's arguments, each value as msgpack.
pub struct PlanCall<'a> {
    pub type_name: &'a str,
    pub prior: Vec<u8>,
    pub proposed: Vec<u8>,
    pub config: Vec<u8>,
    pub prior_private: Vec<u8>,
    /// The module's `provider_meta`, encoded with the provider's meta schema.
    pub provider_meta: Option<Vec<u8>>,
}

/// ApplyResourceChange's arguments, each value as msgpack.
pub struct ApplyCall<'a> {
    pub type_name: &'a str,
    pub prior: Vec<u8>,
    pub planned: Vec<u8>,
    pub config: Vec<u8>,
    pub planned_private: Vec<u8>,
    pub provider_meta: Option<Vec<u8>>,
}

pub type Call<'a, T> = BoxFuture<'a, Result<T, CallError>>;
/// A call's result with the warnings that came with it.
pub type Warned<T> = (T, Vec<WireDiagnostic>);

/// The provider protocol as the host calls it, whatever its version. The validation
/// calls return every diagnostic, errors included; the others fail with the errors.
pub trait ProviderRpc: Send + Sync {
    /// GetProviderSchema (GetSchema in version 5).
    fn schema(&self) -> Call<'_, Warned<ProviderSchema>>;
    /// ValidateProviderConfig (PrepareProviderConfig in version 5).
    fn validate_provider(&self, config: Vec<u8>) -> Call<'_, Vec<WireDiagnostic>>;
    /// ValidateResourceConfig (ValidateResourceTypeConfig in version 5).
    fn validate_resource<'a>(
        &'a self,
        type_name: &'a str,
        config: Vec<u8>,
    ) -> Call<'a, Vec<WireDiagnostic>>;
    /// ValidateDataResourceConfig (ValidateDataSourceConfig in version 5).
    fn validate_data_source<'a>(
        &'a self,
        type_name: &'a str,
        config: Vec<u8>,
    ) -> Call<'a, Vec<WireDiagnostic>>;
    /// ConfigureProvider (Configure in version 5); returns the warnings.
    fn configure(&self, config: Vec<u8>) -> Call<'_, Vec<WireDiagnostic>>;
    fn upgrade_state<'a>(
        &'a self,
        type_name: &'a str,
        version: i64,
        json: Vec<u8>,
    ) -> Call<'a, Warned<Returned>>;
    fn read_resource<'a>(
        &'a self,
        type_name: &'a str,
        current: Vec<u8>,
        private: Vec<u8>,
        provider_meta: Option<Vec<u8>>,
    ) -> Call<'a, Warned<ObjectReply>>;
    fn plan_resource<'a>(&'a self, call: PlanCall<'a>) -> Call<'a, Warned<Planned>>;
    /// ApplyResourceChange: every diagnostic, errors included, with the new state
    /// the provider returned beside them (a failed create's object, when it made one).
    fn apply_resource<'a>(&'a self, call: ApplyCall<'a>) -> Call<'a, Warned<ObjectReply>>;
    fn import_resource<'a>(
        &'a self,
        type_name: &'a str,
        id: &'a str,
    ) -> Call<'a, Warned<Vec<Imported>>>;
    fn read_data_source<'a>(
        &'a self,
        type_name: &'a str,
        config: Vec<u8>,
        provider_meta: Option<Vec<u8>>,
    ) -> Call<'a, Warned<Returned>>;
    /// StopProvider (Stop in version 5); its answer is not awaited for anything.
    fn stop(&self) -> BoxFuture<'_, ()>;
}

/// A running provider plugin.
pub struct PluginClient {
    pub name: String,
    pub protocol: u32,
    process: Arc<PluginProcess>,
    rpc: Box<dyn ProviderRpc>,
}

impl PluginClient {
    /// Starts the plugin at `path` and connects to it in the protocol it chose.
    pub async fn start(name: &str, path: &Path) -> Result<PluginClient, StartError> {
        let process = Arc::new(PluginProcess::start(name, path).await?);
        let rpc: Box<dyn ProviderRpc> = if process.protocol == 5 {
            Box::new(Plugin5::new(Arc::clone(&process)))
        } else {
            Box::new(Plugin6::new(Arc::clone(&process)))
        };
        Ok(PluginClient {
            name: name.to_string(),
            protocol: process.protocol,
            process,
            rpc,
        })
    }

    /// The provider's calls, in the protocol the plugin speaks.
    pub fn rpc(&self) -> &dyn ProviderRpc {
        self.rpc.as_ref()
    }

    /// The concurrency limit the plugin declares through plinth's capabilities
    /// service; `None` when it declares none or does not offer the service.
    pub async fn max_concurrency(&self) -> Option<usize> {
        let mut c = plinth_protocol::capabilities::capabilities_client::CapabilitiesClient::new(
            self.process.channel.clone(),
        );
        let r = c
            .get_capabilities(plinth_protocol::capabilities::get_capabilities::Request {})
            .await
            .ok()?
            .into_inner();
        usize::try_from(r.max_concurrency).ok().filter(|n| *n > 0)
    }

    /// plinth's inventory service: the objects the plugin lists for `request`;
    /// `Ok(None)` when the plugin does not offer the service.
    pub async fn list_resources(
        &self,
        request: plinth_protocol::capabilities::list_resources::Request,
    ) -> Result<Option<plinth_protocol::capabilities::list_resources::Response>, CallError> {
        let mut c = plinth_protocol::capabilities::inventory_client::InventoryClient::new(
            self.process.channel.clone(),
        )
        .max_decoding_message_size(256 << 20);
        match c.list_resources(request).await {
            Ok(r) => Ok(Some(r.into_inner())),
            Err(s) if s.code() == tonic::Code::Unimplemented => Ok(None),
            Err(s) => Err(CallError::Transport(s.message().to_string())),
        }
    }

    /// Asks the plugin to stop and exit; kills it if it has not within a few seconds.
    pub async fn stop(&self) {
        let _ = tokio::time::timeout(STOP_TIMEOUT, async {
            self.rpc.stop().await;
            self.process.request_shutdown().await;
        })
        .await;
        self.process.wait_or_kill().await;
    }
}
