//! The client side of a provider plugin: starting the process with go-plugin's
//! handshake, connecting over its unix socket, and calling it in either protocol
//! version through one set of methods. Values cross this boundary as msgpack bytes;
//! `host.rs` encodes and decodes them against the schemas.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plinth_protocol::goplugin::grpc_controller_client::GrpcControllerClient;
use plinth_protocol::handshake::{CORE_PROTOCOL_VERSION, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use plinth_protocol::schema::ProviderSchema;
use plinth_protocol::{tfplugin5 as p5, tfplugin6 as p6};
use tonic::transport::Channel;

use crate::plan::lock;

/// How long a plugin may take to print its handshake line.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a plugin may take to exit once asked to stop, before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Lines of a plugin's stderr kept for the diagnostic if it crashes.
const STDERR_KEPT: usize = 40;

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
#[derive(Clone, Debug)]
pub enum CallError {
    /// The provider answered with error diagnostics.
    Provider(Vec<WireDiagnostic>),
    /// The call itself failed (the process died, the connection broke).
    Transport(String),
}

enum Rpc {
    V5(p5::provider_client::ProviderClient<Channel>),
    V6(p6::provider_client::ProviderClient<Channel>),
}

/// A running provider plugin.
pub struct PluginClient {
    pub name: String,
    pub protocol: u32,
    rpc: Rpc,
    controller: GrpcControllerClient<Channel>,
    channel: Channel,
    child: Mutex<Option<Child>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

fn steps_to_names<S>(steps: &[S], name: impl Fn(&S) -> Option<String>) -> Vec<String> {
    steps.iter().filter_map(name).collect()
}

macro_rules! wire_diagnostics {
    ($p:ident, $diags:expr) => {
        $diags
            .iter()
            .map(|d| WireDiagnostic {
                error: d.severity != $p::diagnostic::Severity::Warning as i32,
                summary: d.summary.clone(),
                detail: d.detail.clone(),
                attribute: d
                    .attribute
                    .as_ref()
                    .map(|a| {
                        steps_to_names(&a.steps, |s| match &s.selector {
                            Some($p::attribute_path::step::Selector::AttributeName(n)) => {
                                Some(n.clone())
                            }
                            Some($p::attribute_path::step::Selector::ElementKeyString(k)) => {
                                Some(format!("{k:?}"))
                            }
                            Some($p::attribute_path::step::Selector::ElementKeyInt(i)) => {
                                Some(i.to_string())
                            }
                            None => None,
                        })
                    })
                    .unwrap_or_default(),
            })
            .collect::<Vec<WireDiagnostic>>()
    };
}

/// Errors among `diags` fail the call; warnings are returned with the result.
fn checked<T>(value: T, diags: Vec<WireDiagnostic>) -> Result<(T, Vec<WireDiagnostic>), CallError> {
    if diags.iter().any(|d| d.error) {
        Err(CallError::Provider(diags))
    } else {
        Ok((value, diags))
    }
}

fn dynamic5(bytes: Option<Vec<u8>>) -> Option<p5::DynamicValue> {
    bytes.map(|msgpack| p5::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}

fn dynamic6(bytes: Option<Vec<u8>>) -> Option<p6::DynamicValue> {
    bytes.map(|msgpack| p6::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}

/// The msgpack bytes of a returned value (`None` when absent). Providers may answer in
/// JSON; that is turned into msgpack by the caller, which knows the type.
pub enum Returned {
    Msgpack(Vec<u8>),
    Json(Vec<u8>),
    Absent,
}

macro_rules! returned {
    ($v:expr) => {
        match $v {
            Some(d) if !d.msgpack.is_empty() => Returned::Msgpack(d.msgpack),
            Some(d) if !d.json.is_empty() => Returned::Json(d.json),
            _ => Returned::Absent,
        }
    };
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

impl PluginClient {
    /// Starts the plugin at `path` and connects to it.
    pub async fn start(name: &str, path: &Path) -> Result<PluginClient, String> {
        let mut child = Command::new(path)
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("TF_PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(err) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            let label = name.to_string();
            std::thread::spawn(move || {
                let echo = std::env::var_os("PLINTH_LOG").is_some();
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if echo {
                        eprintln!("[{label}] {line}");
                    }
                    let mut kept = lock(&kept);
                    if kept.len() == STDERR_KEPT {
                        kept.pop_front();
                    }
                    kept.push_back(line);
                }
            });
        }
        let stdout = child.stdout.take().ok_or("the plugin has no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Anything printed later goes the way of stderr's lines: dropped unless logged.
            for _ in lines.map_while(Result::ok) {}
        });
        let line = match rx.recv_timeout(HANDSHAKE_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                let tail = lock(&stderr).iter().cloned().collect::<Vec<_>>().join("\n");
                let why = match other {
                    Err(_) => "it printed no handshake within 60 s".to_string(),
                    _ => "it exited before its handshake".to_string(),
                };
                return Err(format!(
                    "{} did not start as a plugin: {why}{}",
                    path.display(),
                    if tail.is_empty() {
                        String::new()
                    } else {
                        format!("\n{tail}")
                    }
                ));
            }
        };
        let fail = |child: &mut Child, msg: String| {
            let _ = child.kill();
            let _ = child.wait();
            Err(msg)
        };
        let parts: Vec<&str> = line.trim().split('|').collect();
        if parts.len() < 5 {
            return fail(
                &mut child,
                format!("{}: bad handshake line {line:?}", path.display()),
            );
        }
        if parts[0] != CORE_PROTOCOL_VERSION.to_string() {
            return fail(
                &mut child,
                format!(
                    "{}: unsupported go-plugin core version {}",
                    path.display(),
                    parts[0]
                ),
            );
        }
        let protocol: u32 = match parts[1].parse() {
            Ok(p @ (5 | 6)) => p,
            _ => {
                return fail(
                    &mut child,
                    format!(
                        "{}: plugin protocol {} is not 5 or 6",
                        path.display(),
                        parts[1]
                    ),
                )
            }
        };
        if parts[2] != "unix" || parts[4] != "grpc" {
            return fail(
                &mut child,
                format!(
                    "{}: plinth speaks gRPC over unix sockets; the plugin offered {} over {}",
                    path.display(),
                    parts[4],
                    parts[2]
                ),
            );
        }
        let socket = PathBuf::from(parts[3]);
        let channel = match connect(socket).await {
            Ok(c) => c,
            Err(e) => {
                return fail(
                    &mut child,
                    format!("{}: cannot connect: {e}", path.display()),
                )
            }
        };
        let max = 256 << 20;
        let rpc = if protocol == 5 {
            Rpc::V5(
                p5::provider_client::ProviderClient::new(channel.clone())
                    .max_decoding_message_size(max)
                    .max_encoding_message_size(max),
            )
        } else {
            Rpc::V6(
                p6::provider_client::ProviderClient::new(channel.clone())
                    .max_decoding_message_size(max)
                    .max_encoding_message_size(max),
            )
        };
        Ok(PluginClient {
            name: name.to_string(),
            protocol,
            rpc,
            controller: GrpcControllerClient::new(channel.clone()),
            channel,
            child: Mutex::new(Some(child)),
            stderr,
        })
    }

    /// The concurrency limit the plugin declares through plinth's capabilities
    /// service; `None` when it declares none or does not offer the service.
    pub async fn max_concurrency(&self) -> Option<usize> {
        let mut c = plinth_protocol::capabilities::capabilities_client::CapabilitiesClient::new(
            self.channel.clone(),
        );
        let r = c
            .get_capabilities(plinth_protocol::capabilities::get_capabilities::Request {})
            .await
            .ok()?
            .into_inner();
        usize::try_from(r.max_concurrency).ok().filter(|n| *n > 0)
    }

    /// Whether the process is still running.
    pub fn is_running(&self) -> bool {
        match lock(&self.child).as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The last lines the plugin wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        lock(&self.stderr)
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn transport(&self, e: tonic::Status) -> CallError {
        if self.is_running() {
            CallError::Transport(e.message().to_string())
        } else {
            let tail = self.stderr_tail();
            CallError::Transport(format!(
                "the plugin process exited{}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(":\n{tail}")
                }
            ))
        }
    }

    /// Asks the plugin to stop and exit; kills it if it has not within a few seconds.
    pub async fn stop(&self) {
        let _ = tokio::time::timeout(STOP_TIMEOUT, async {
            match &self.rpc {
                Rpc::V5(c) => {
                    let _ = c.clone().stop(p5::stop::Request {}).await;
                }
                Rpc::V6(c) => {
                    let _ = c.clone().stop_provider(p6::stop_provider::Request {}).await;
                }
            }
            let _ = self
                .controller
                .clone()
                .shutdown(plinth_protocol::goplugin::Empty {})
                .await;
        })
        .await;
        let Some(mut child) = lock(&self.child).take() else {
            return;
        };
        let deadline = std::time::Instant::now() + STOP_TIMEOUT;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    pub async fn schema(&self) -> Result<(ProviderSchema, Vec<WireDiagnostic>), CallError> {
        match &self.rpc {
            Rpc::V5(c) => {
                let r = c
                    .clone()
                    .get_schema(p5::get_provider_schema::Request {})
                    .await
                    .map_err(|e| self.transport(e))?
                    .into_inner();
                let diags = wire_diagnostics!(p5, r.diagnostics);
                let schema = ProviderSchema::from_proto5(&r)
                    .map_err(|e| CallError::Transport(e.to_string()))?;
                checked(schema, diags)
            }
            Rpc::V6(c) => {
                let r = c
                    .clone()
                    .get_provider_schema(p6::get_provider_schema::Request {})
                    .await
                    .map_err(|e| self.transport(e))?
                    .into_inner();
                let diags = wire_diagnostics!(p6, r.diagnostics);
                let schema = ProviderSchema::from_proto6(&r)
                    .map_err(|e| CallError::Transport(e.to_string()))?;
                checked(schema, diags)
            }
        }
    }

    pub async fn validate_provider(
        &self,
        config: Vec<u8>,
    ) -> Result<Vec<WireDiagnostic>, CallError> {
        let diags = match &self.rpc {
            Rpc::V5(c) => {
                let r = c
                    .clone()
                    .prepare_provider_config(p5::prepare_provider_config::Request {
                        config: dynamic5(Some(config)),
                    })
                    .await
                    .map_err(|e| self.transport(e))?
                    .into_inner();
                wire_diagnostics!(p5, r.diagnostics)
            }
            Rpc::V6(c) => {
                let r = c
                    .clone()
                    .validate_provider_config(p6::validate_provider_config::Request {
                        config: dynamic6(Some(config)),
                    })
                    .await
                    .map_err(|e| self.transport(e))?
                    .into_inner();
                wire_diagnostics!(p6, r.diagnostics)
            }
        };
        Ok(diags)
    }

    pub async fn validate_resource(
        &self,
        type_name: &str,
        config: Vec<u8>,
    ) -> Result<Vec<WireDiagnostic>, CallError> {
        let type_name = type_name.to_string();
        Ok(match &self.rpc {
            Rpc::V5(c) => {
                let r = c
                    .clone()
                    .validate_resource_type_config(p5::validate_resource_type_config::Request {
                        type_name,
                        config: dynamic5(Some(config)),
                    })
                    .await
                    .map_err(|e| self.transport(e))?
                    .into_inner();
                wire_diagnostics!(p5, r.diagnostics)
            }
            Rpc::V6(c) => {
                let r = c
                    .clone()
                    .validate_resource_config(p6::validate_resource_config::Request {
                        type_name,
                        config: dynamic6(Some(config)),
                    })
                    .await
                    .map_err(|e| self.transport(e))?
                    .into_inner();
                wire_diagnostics!(p6, r.diagnostics)
            }
        })
    }

    pub async fn validate_data_source(
        &self,
        type_name: &str,
        config: Vec<u8>,
    ) -> Result<Vec<WireDiagnostic>, CallError> {
        let type_name = type_name.to_string();
        Ok(match &self.rpc {
            Rpc::V5(c) => {
                let r = c
                    .clone()
                    .validate_data_source_config(p5::validate_data_source_config::Request {
                        type_name,
                        config: dynamic5(Some(config)),
                    })
                    .await
                    .map_err(|e| self.transport(e))?
                    .into_inner();
                wire_diagnostics!(p5, r.diagnostics)
            }
            Rpc::V6(c) => {
                let r = c
                    .clone()
                    .validate_data_resource_config(p6::validate_data_resource_config::Request {
                        type_name,
                        config: dynamic6(Some(config)),
                    })
                    .await
                    .map_err(|e| self.transport(e))?
                    .into_inner();
                wire_diagnostics!(p6, r.diagnostics)
            }
        })
    }

    pub async fn configure(&self, config: Vec<u8>) -> Result<Vec<WireDiagnostic>, CallError> {
        let version = format!("plinth-{}", env!("CARGO_PKG_VERSION"));
        let diags = match &self.rpc {
            Rpc::V5(c) => {
                let r = c
                    .clone()
                    .configure(p5::configure::Request {
                        terraform_version: "1.0.3".into(),
                        config: dynamic5(Some(config)),
                    })
                    .await
                    .map_err(|e| self.transport(e))?
                    .into_inner();
                wire_diagnostics!(p5, r.diagnostics)
            }
            Rpc::V6(c) => {
                let r = c
                    .clone()
                    .configure_provider(p6::configure_provider::Request {
                        terraform_version: version,
                        config: dynamic6(Some(config)),
                    })
                    .await
                    .map_err(|e| self.transport(e))?
                    .into_inner();
                wire_diagnostics!(p6, r.diagnostics)
            }
        };
        checked((), diags).map(|(_, d)| d)
    }
}

macro_rules! both {
    ($self:ident, $c:ident, $p:ident, $dynamic:ident, $body:block) => {
        match &$self.rpc {
            Rpc::V5(client) => {
                #[allow(unused_imports)]
                use plinth_protocol::tfplugin5 as $p;
                let mut $c = client.clone();
                let $dynamic = dynamic5;
                $body
            }
            Rpc::V6(client) => {
                #[allow(unused_imports)]
                use plinth_protocol::tfplugin6 as $p;
                let mut $c = client.clone();
                let $dynamic = dynamic6;
                $body
            }
        }
    };
}

impl PluginClient {
    pub async fn upgrade_state(
        &self,
        type_name: &str,
        version: i64,
        json: Vec<u8>,
    ) -> Result<(Returned, Vec<WireDiagnostic>), CallError> {
        both!(self, c, p, _dynamic, {
            let r = c
                .upgrade_resource_state(p::upgrade_resource_state::Request {
                    type_name: type_name.to_string(),
                    version,
                    raw_state: Some(p::RawState {
                        json,
                        flatmap: Default::default(),
                    }),
                })
                .await
                .map_err(|e| self.transport(e))?
                .into_inner();
            let diags = wire_diagnostics!(p, r.diagnostics);
            checked(returned!(r.upgraded_state), diags)
        })
    }

    pub async fn read_resource(
        &self,
        type_name: &str,
        current: Vec<u8>,
        private: Vec<u8>,
    ) -> Result<(ObjectReply, Vec<WireDiagnostic>), CallError> {
        both!(self, c, p, dynamic, {
            let r = c
                .read_resource(p::read_resource::Request {
                    type_name: type_name.to_string(),
                    current_state: dynamic(Some(current)),
                    private,
                    provider_meta: None,
                })
                .await
                .map_err(|e| self.transport(e))?
                .into_inner();
            let diags = wire_diagnostics!(p, r.diagnostics);
            checked(
                ObjectReply {
                    state: returned!(r.new_state),
                    private: r.private,
                },
                diags,
            )
        })
    }

    pub async fn plan_resource(
        &self,
        type_name: &str,
        prior: Vec<u8>,
        proposed: Vec<u8>,
        config: Vec<u8>,
        prior_private: Vec<u8>,
    ) -> Result<(Planned, Vec<WireDiagnostic>), CallError> {
        both!(self, c, p, dynamic, {
            let r = c
                .plan_resource_change(p::plan_resource_change::Request {
                    type_name: type_name.to_string(),
                    prior_state: dynamic(Some(prior)),
                    proposed_new_state: dynamic(Some(proposed)),
                    config: dynamic(Some(config)),
                    prior_private,
                    provider_meta: None,
                })
                .await
                .map_err(|e| self.transport(e))?
                .into_inner();
            let diags = wire_diagnostics!(p, r.diagnostics);
            let requires_replace = r
                .requires_replace
                .iter()
                .map(|path| {
                    steps_to_names(&path.steps, |s| match &s.selector {
                        Some(p::attribute_path::step::Selector::AttributeName(n)) => {
                            Some(n.clone())
                        }
                        Some(p::attribute_path::step::Selector::ElementKeyString(k)) => {
                            Some(format!("{k:?}"))
                        }
                        Some(p::attribute_path::step::Selector::ElementKeyInt(i)) => {
                            Some(i.to_string())
                        }
                        None => None,
                    })
                })
                .collect();
            checked(
                Planned {
                    planned: returned!(r.planned_state),
                    requires_replace,
                    private: r.planned_private,
                },
                diags,
            )
        })
    }

    pub async fn apply_resource(
        &self,
        type_name: &str,
        prior: Vec<u8>,
        planned: Vec<u8>,
        config: Vec<u8>,
        planned_private: Vec<u8>,
    ) -> Result<(ObjectReply, Vec<WireDiagnostic>), CallError> {
        both!(self, c, p, dynamic, {
            let r = c
                .apply_resource_change(p::apply_resource_change::Request {
                    type_name: type_name.to_string(),
                    prior_state: dynamic(Some(prior)),
                    planned_state: dynamic(Some(planned)),
                    config: dynamic(Some(config)),
                    planned_private,
                    provider_meta: None,
                })
                .await
                .map_err(|e| self.transport(e))?
                .into_inner();
            let diags = wire_diagnostics!(p, r.diagnostics);
            let reply = ObjectReply {
                state: returned!(r.new_state),
                private: r.private,
            };
            if diags.iter().any(|d| d.error) {
                return Err(CallError::Provider(diags));
            }
            Ok((reply, diags))
        })
    }

    pub async fn import_resource(
        &self,
        type_name: &str,
        id: &str,
    ) -> Result<(Vec<Imported>, Vec<WireDiagnostic>), CallError> {
        both!(self, c, p, _dynamic, {
            let r = c
                .import_resource_state(p::import_resource_state::Request {
                    type_name: type_name.to_string(),
                    id: id.to_string(),
                })
                .await
                .map_err(|e| self.transport(e))?
                .into_inner();
            let diags = wire_diagnostics!(p, r.diagnostics);
            let imported = r
                .imported_resources
                .into_iter()
                .map(|i| Imported {
                    type_name: i.type_name,
                    state: returned!(i.state),
                    private: i.private,
                })
                .collect();
            checked(imported, diags)
        })
    }

    pub async fn read_data_source(
        &self,
        type_name: &str,
        config: Vec<u8>,
    ) -> Result<(Returned, Vec<WireDiagnostic>), CallError> {
        both!(self, c, p, dynamic, {
            let r = c
                .read_data_source(p::read_data_source::Request {
                    type_name: type_name.to_string(),
                    config: dynamic(Some(config)),
                    provider_meta: None,
                })
                .await
                .map_err(|e| self.transport(e))?
                .into_inner();
            let diags = wire_diagnostics!(p, r.diagnostics);
            checked(returned!(r.state), diags)
        })
    }
}

impl Drop for PluginClient {
    fn drop(&mut self) {
        if let Some(mut child) = lock(&self.child).take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A gRPC channel over a unix socket (the URI is a placeholder tonic requires).
async fn connect(socket: PathBuf) -> Result<Channel, tonic::transport::Error> {
    tonic::transport::Endpoint::from_static("http://plugin.invalid")
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let socket = socket.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(socket).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        }))
        .await
}
