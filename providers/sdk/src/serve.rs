//! Serving a provider: the go-plugin handshake, AutoMTLS, and protocol 6 over gRPC on a
//! unix socket.
//!
//! The handshake, as go-plugin clients (Terraform, OpenTofu, plinth) expect it: the
//! client starts the plugin with the magic cookie and the protocol versions it speaks
//! in the environment (and, for AutoMTLS, its certificate in `PLUGIN_CLIENT_CERT`);
//! the plugin listens, then prints one line to stdout,
//! `CORE-VERSION|APP-VERSION|NETWORK|ADDRESS|grpc|SERVER-CERT`, and serves until the
//! client calls `GRPCController.Shutdown` or stops it.

use std::collections::BTreeMap;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use base64::Engine as _;
use plinth_protocol::capabilities::capabilities_server::{Capabilities, CapabilitiesServer};
use plinth_protocol::capabilities::get_capabilities;
use plinth_protocol::capabilities::inventory_server::{Inventory, InventoryServer};
use plinth_protocol::capabilities::list_resources;
use plinth_protocol::goplugin::grpc_controller_server::{GrpcController, GrpcControllerServer};
use plinth_protocol::handshake::{CORE_PROTOCOL_VERSION, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use plinth_protocol::json::value_from_json;
use plinth_protocol::msgpack;
use plinth_protocol::tfplugin6 as p6;
use plinth_protocol::tfplugin6::provider_server::ProviderServer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::{Health, HealthServer};

use crate::{
    DataSource, Diagnostic, MetaCall, Object, PlanRequest, Provider, Resource, Schema, Type, Value,
};

/// Serves `provider` as a plugin and returns when the client is done with it. Call it
/// from `main`; run directly (not by a plugin client), it says so and exits with 1.
pub fn serve<P: Provider>(provider: P) -> std::process::ExitCode {
    if std::env::var(MAGIC_COOKIE_KEY).ok().as_deref() != Some(MAGIC_COOKIE_VALUE) {
        eprintln!(
            "This binary is a plugin. These are not meant to be executed directly.\nPlease execute the program that consumes these plugins, which will load any plugins automatically."
        );
        return std::process::ExitCode::from(1);
    }
    let versions = std::env::var("PLUGIN_PROTOCOL_VERSIONS").unwrap_or_default();
    if !versions.split(',').any(|v| v.trim() == "6") {
        eprintln!("This provider speaks plugin protocol 6; the client offered {versions:?}.");
        return std::process::ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the provider's runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(run(Arc::new(Served::new(provider)))) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("provider failed: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(served: Arc<Served>) -> Result<(), BoxError> {
    let dir = std::env::temp_dir().join(format!(
        "plinth-plugin-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir)?;
    let socket = dir.join("plugin.sock");
    let listener = tokio::net::UnixListener::bind(&socket)?;
    let tls = match std::env::var("PLUGIN_CLIENT_CERT") {
        Ok(pem) if !pem.trim().is_empty() => Some(auto_mtls(&pem)?),
        _ => None,
    };
    let cert_field = tls
        .as_ref()
        .map(|(_, der)| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{CORE_PROTOCOL_VERSION}|6|unix|{}|grpc|{cert_field}",
            socket.display()
        )?;
        out.flush()?;
    }
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let (conn_tx, conn_rx) = tokio::sync::mpsc::channel::<std::io::Result<Conn>>(16);
    let acceptor = tls.map(|(config, _)| tokio_rustls::TlsAcceptor::from(Arc::new(config)));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let tx = conn_tx.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let conn = match acceptor {
                    Some(a) => match a.accept(stream).await {
                        Ok(s) => Conn(Box::new(s)),
                        Err(_) => return,
                    },
                    None => Conn(Box::new(stream)),
                };
                let _ = tx.send(Ok(conn)).await;
            });
        }
    });
    let incoming = tokio_stream::wrappers::ReceiverStream::new(conn_rx);
    let health = health_service().await;
    let controller = Controller { stop: stop_tx };
    let max = 256 << 20;
    let result = tonic::transport::Server::builder()
        .add_service(
            ProviderServer::from_arc(Arc::clone(&served))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(GrpcControllerServer::new(controller))
        .add_service(CapabilitiesServer::from_arc(Arc::clone(&served)))
        .add_service(
            InventoryServer::from_arc(Arc::clone(&served))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        })
        .await;
    let _ = std::fs::remove_dir_all(&dir);
    result.map_err(Into::into)
}

/// The server side of AutoMTLS: a fresh self-signed certificate for "localhost", and
/// a TLS config that accepts exactly the client certificate the client passed.
fn auto_mtls(client_pem: &str) -> Result<(rustls::ServerConfig, Vec<u8>), BoxError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let client = CertificateDer::from_pem_slice(client_pem.as_bytes())?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()])?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "plinth");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let der = cert.der().to_vec();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedClient {
        expected: client.to_vec(),
        provider: Arc::clone(&provider),
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(der.clone())],
            PrivateKeyDer::try_from(key.serialize_der())?,
        )?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok((config, der))
}

/// Accepts only the one certificate the client handed over at start-up (a
/// self-signed CA certificate, which general-purpose verifiers refuse as a leaf).
#[derive(Debug)]
struct PinnedClient {
    expected: Vec<u8>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::server::danger::ClientCertVerifier for PinnedClient {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_slice() {
            Ok(rustls::server::danger::ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "not the client certificate this plugin was started with".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A connection, plain or TLS, as the gRPC server sees it.
struct Conn(Box<dyn Io>);

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

struct Controller {
    stop: tokio::sync::watch::Sender<bool>,
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(
        &self,
        _request: Request<plinth_protocol::goplugin::Empty>,
    ) -> Result<Response<plinth_protocol::goplugin::Empty>, Status> {
        let _ = self.stop.send(true);
        Ok(Response::new(plinth_protocol::goplugin::Empty {}))
    }
}

/// The service name go-plugin's client checks (`plugin.GRPCServiceName`).
const GO_PLUGIN_SERVICE: &str = "plugin";

/// The standard `grpc.health.v1.Health` service, reporting the server and go-plugin's
/// service name as serving.
async fn health_service() -> HealthServer<impl Health> {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(GO_PLUGIN_SERVICE, tonic_health::ServingStatus::Serving)
        .await;
    service
}

#[tonic::async_trait]
impl Capabilities for Served {
    async fn get_capabilities(
        &self,
        _request: Request<get_capabilities::Request>,
    ) -> Result<Response<get_capabilities::Response>, Status> {
        Ok(Response::new(get_capabilities::Response {
            max_concurrency: self.provider.max_concurrency().map_or(0, |n| n as i64),
        }))
    }
}

#[tonic::async_trait]
impl Inventory for Served {
    async fn list_resources(
        &self,
        request: Request<list_resources::Request>,
    ) -> Result<Response<list_resources::Response>, Status> {
        let r = request.into_inner();
        let request = crate::ListRequest {
            type_names: r.type_names,
            tags: r.tags.into_iter().collect(),
            managed: r
                .managed
                .iter()
                .filter(|m| !m.id.is_empty())
                .map(|m| (m.type_name.clone(), m.id.clone()))
                .collect(),
            managed_states: r
                .managed
                .into_iter()
                .map(|m| {
                    let attributes =
                        serde_json::from_str(&m.attributes_json).unwrap_or(serde_json::Value::Null);
                    (m.type_name, attributes)
                })
                .collect(),
        };
        // Listing calls cloud APIs synchronously, like every resource method.
        let listed = tokio::task::block_in_place(|| self.provider.list(&request));
        let Some(listed) = listed else {
            return Err(Status::unimplemented("this provider does not list objects"));
        };
        Ok(Response::new(list_resources::Response {
            objects: listed.objects.into_iter().map(listed_to_wire).collect(),
            diagnostics: listed
                .diagnostics
                .into_iter()
                .map(|d| list_resources::Diagnostic {
                    error: d.error,
                    summary: d.summary,
                    detail: d.detail,
                })
                .collect(),
        }))
    }
}

fn listed_to_wire(l: crate::Listed) -> list_resources::Listed {
    list_resources::Listed {
        type_name: l.type_name,
        id: l.id,
        import_id: l.import_id,
        name: l.name,
        tags: l.tags.into_iter().collect(),
        config_json: serde_json::Value::Object(l.config).to_string(),
        note: l.note,
    }
}

/// The provider with its types indexed by name and their schemas computed once.
struct Served {
    provider: Box<dyn Provider>,
    resources: BTreeMap<String, (Arc<dyn Resource>, Schema, Type)>,
    data_sources: BTreeMap<String, (Arc<dyn DataSource>, Schema, Type)>,
    provider_type: Type,
    /// The type of the provider's `provider_meta` schema, if it declares one.
    meta_type: Option<Type>,
}

impl Served {
    fn new<P: Provider>(provider: P) -> Served {
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| {
                let r: Arc<dyn Resource> = Arc::from(r);
                let schema = r.schema();
                let ty = schema.block.implied_type();
                (r.type_name().to_string(), (r, schema, ty))
            })
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| {
                let d: Arc<dyn DataSource> = Arc::from(d);
                let schema = d.schema();
                let ty = schema.block.implied_type();
                (d.type_name().to_string(), (d, schema, ty))
            })
            .collect();
        let provider_type = provider.schema().block.implied_type();
        let meta_type = provider.meta_schema().map(|s| s.block.implied_type());
        Served {
            provider: Box::new(provider),
            resources,
            data_sources,
            provider_type,
            meta_type,
        }
    }

    /// Shows the provider a request's `provider_meta`, when the module sent one that
    /// fits the provider's schema.
    fn saw_meta(&self, rpc: &str, type_name: &str, meta: Option<&p6::DynamicValue>) {
        let (Some(ty), Some(meta)) = (&self.meta_type, meta) else {
            return;
        };
        let Ok(value) = decode(Some(meta), ty) else {
            return;
        };
        if value.is_null() {
            return;
        }
        self.provider.provider_meta(MetaCall {
            rpc,
            type_name,
            meta: &Object::from_value(&value),
        });
    }

    fn resource(
        &self,
        type_name: &str,
    ) -> Result<(Arc<dyn Resource>, Schema, Type), Vec<p6::Diagnostic>> {
        self.resources.get(type_name).cloned().ok_or_else(|| {
            diagnostics(&[Diagnostic::error(
                "Unknown resource type",
                format!("This provider has no resource type {type_name:?}."),
            )])
        })
    }
}

fn diagnostics(diags: &[Diagnostic]) -> Vec<p6::Diagnostic> {
    diags
        .iter()
        .map(|d| p6::Diagnostic {
            severity: if d.error {
                p6::diagnostic::Severity::Error
            } else {
                p6::diagnostic::Severity::Warning
            } as i32,
            summary: d.summary.clone(),
            detail: d.detail.clone(),
            attribute: (!d.attribute.is_empty()).then(|| p6::AttributePath {
                steps: d
                    .attribute
                    .iter()
                    .map(|a| p6::attribute_path::Step {
                        selector: Some(p6::attribute_path::step::Selector::AttributeName(
                            a.clone(),
                        )),
                    })
                    .collect(),
            }),
        })
        .collect()
}

fn decode(v: Option<&p6::DynamicValue>, ty: &Type) -> Result<Value, Vec<p6::Diagnostic>> {
    let bad = |e: String| {
        diagnostics(&[Diagnostic::error(
            "Invalid value from the client",
            format!("plinth's provider SDK could not decode a value: {e}"),
        )])
    };
    match v {
        Some(d) if !d.msgpack.is_empty() => {
            msgpack::decode(&d.msgpack, ty).map_err(|e| bad(e.to_string()))
        }
        Some(d) if !d.json.is_empty() => {
            let j: serde_json::Value =
                serde_json::from_slice(&d.json).map_err(|e| bad(e.to_string()))?;
            value_from_json(&j, ty).map_err(|e| bad(e.to_string()))
        }
        _ => Ok(Value::Null(ty.clone())),
    }
}

fn encode(v: &Value, ty: &Type) -> Result<p6::DynamicValue, Vec<p6::Diagnostic>> {
    msgpack::encode(v, ty)
        .map(|msgpack| p6::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| {
            diagnostics(&[Diagnostic::error(
                "Provider produced an invalid value",
                e.to_string(),
            )])
        })
}

fn object(v: &Value) -> Option<Object> {
    (!v.is_null()).then(|| Object::from_value(v))
}

/// Runs a resource's blocking work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("the provider's call failed: {e}")))
}

#[tonic::async_trait]
impl p6::provider_server::Provider for Served {
    async fn get_provider_schema(
        &self,
        _request: Request<p6::get_provider_schema::Request>,
    ) -> Result<Response<p6::get_provider_schema::Response>, Status> {
        Ok(Response::new(p6::get_provider_schema::Response {
            provider: Some(self.provider.schema().to_proto6()),
            resource_schemas: self
                .resources
                .iter()
                .map(|(k, (_, s, _))| (k.clone(), s.to_proto6()))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(k, (_, s, _))| (k.clone(), s.to_proto6()))
                .collect(),
            diagnostics: Vec::new(),
            provider_meta: self.provider.meta_schema().map(|s| s.to_proto6()),
        }))
    }

    async fn validate_provider_config(
        &self,
        _request: Request<p6::validate_provider_config::Request>,
    ) -> Result<Response<p6::validate_provider_config::Response>, Status> {
        Ok(Response::new(p6::validate_provider_config::Response {
            diagnostics: Vec::new(),
        }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<p6::validate_resource_config::Request>,
    ) -> Result<Response<p6::validate_resource_config::Response>, Status> {
        let r = request.into_inner();
        let diagnostics = match self.resource(&r.type_name) {
            Ok((res, _, ty)) => match decode(r.config.as_ref(), &ty) {
                Ok(config) => diagnostics(&res.validate(&Object::from_value(&config))),
                Err(d) => d,
            },
            Err(d) => d,
        };
        Ok(Response::new(p6::validate_resource_config::Response {
            diagnostics,
        }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<p6::validate_data_resource_config::Request>,
    ) -> Result<Response<p6::validate_data_resource_config::Response>, Status> {
        let r = request.into_inner();
        let diagnostics = match self.data_sources.get(&r.type_name) {
            Some((ds, _, ty)) => match decode(r.config.as_ref(), ty) {
                Ok(config) => diagnostics(&ds.validate(&Object::from_value(&config))),
                Err(d) => d,
            },
            None => diagnostics(&[Diagnostic::error(
                "Unknown data source",
                format!("This provider has no data source {:?}.", r.type_name),
            )]),
        };
        Ok(Response::new(p6::validate_data_resource_config::Response {
            diagnostics,
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<p6::upgrade_resource_state::Request>,
    ) -> Result<Response<p6::upgrade_resource_state::Response>, Status> {
        let r = request.into_inner();
        let outcome = self.resource(&r.type_name).and_then(|(_, _, ty)| {
            let raw = r.raw_state.map(|s| s.json).unwrap_or_default();
            let j: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| {
                diagnostics(&[Diagnostic::error("Invalid stored state", e.to_string())])
            })?;
            let v = value_from_json(&j, &ty).map_err(|e| {
                diagnostics(&[Diagnostic::error(
                    "Stored state does not fit the schema",
                    e.to_string(),
                )])
            })?;
            encode(&v, &ty)
        });
        Ok(Response::new(match outcome {
            Ok(v) => p6::upgrade_resource_state::Response {
                upgraded_state: Some(v),
                diagnostics: Vec::new(),
            },
            Err(diagnostics) => p6::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics,
            },
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<p6::configure_provider::Request>,
    ) -> Result<Response<p6::configure_provider::Response>, Status> {
        let r = request.into_inner();
        let diagnostics = match decode(r.config.as_ref(), &self.provider_type) {
            Ok(config) => diagnostics(&self.provider.configure(&Object::from_value(&config))),
            Err(d) => d,
        };
        Ok(Response::new(p6::configure_provider::Response {
            diagnostics,
        }))
    }

    async fn read_resource(
        &self,
        request: Request<p6::read_resource::Request>,
    ) -> Result<Response<p6::read_resource::Response>, Status> {
        let r = request.into_inner();
        self.saw_meta("ReadResource", &r.type_name, r.provider_meta.as_ref());
        let (res, _, ty) = match self.resource(&r.type_name) {
            Ok(x) => x,
            Err(diagnostics) => {
                return Ok(Response::new(p6::read_resource::Response {
                    new_state: r.current_state,
                    diagnostics,
                    private: r.private,
                }))
            }
        };
        let current = match decode(r.current_state.as_ref(), &ty) {
            Ok(v) => v,
            Err(diagnostics) => {
                return Ok(Response::new(p6::read_resource::Response {
                    new_state: r.current_state,
                    diagnostics,
                    private: r.private,
                }))
            }
        };
        let outcome = blocking(move || match object(&current) {
            Some(o) => res.read(&o),
            None => Ok(None),
        })
        .await?;
        let (new, diags) = match outcome {
            Ok(Some(o)) => (o.into_value(), Vec::new()),
            Ok(None) => (Value::Null(ty.clone()), Vec::new()),
            Err(d) => (Value::Null(ty.clone()), d),
        };
        let (new_state, mut diagnostics) = match encode(&new, &ty) {
            Ok(v) => (Some(v), Vec::new()),
            Err(d) => (r.current_state, d),
        };
        diagnostics.extend(self::diagnostics(&diags));
        Ok(Response::new(p6::read_resource::Response {
            new_state,
            diagnostics,
            private: r.private,
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<p6::plan_resource_change::Request>,
    ) -> Result<Response<p6::plan_resource_change::Response>, Status> {
        let r = request.into_inner();
        self.saw_meta("PlanResourceChange", &r.type_name, r.provider_meta.as_ref());
        let fail = |diagnostics| {
            Ok(Response::new(p6::plan_resource_change::Response {
                planned_state: None,
                requires_replace: Vec::new(),
                planned_private: Vec::new(),
                diagnostics,
            }))
        };
        let (res, schema, ty) = match self.resource(&r.type_name) {
            Ok(x) => x,
            Err(d) => return fail(d),
        };
        let decoded = (|| {
            Ok::<_, Vec<p6::Diagnostic>>((
                decode(r.prior_state.as_ref(), &ty)?,
                decode(r.proposed_new_state.as_ref(), &ty)?,
                decode(r.config.as_ref(), &ty)?,
            ))
        })();
        let (prior, proposed, config) = match decoded {
            Ok(x) => x,
            Err(d) => return fail(d),
        };
        if proposed.is_null() {
            return Ok(Response::new(p6::plan_resource_change::Response {
                planned_state: r.proposed_new_state,
                requires_replace: Vec::new(),
                planned_private: r.prior_private,
                diagnostics: Vec::new(),
            }));
        }
        let _ = schema;
        let outcome = blocking(move || {
            let prior = object(&prior);
            let proposed = Object::from_value(&proposed);
            let config = Object::from_value(&config);
            res.plan(PlanRequest {
                prior: prior.as_ref(),
                proposed: &proposed,
                config: &config,
            })
        })
        .await?;
        let planned = match outcome {
            Ok(p) => p,
            Err(d) => return fail(diagnostics(&d)),
        };
        let planned_state = match encode(&planned.state.into_value(), &ty) {
            Ok(v) => v,
            Err(d) => return fail(d),
        };
        Ok(Response::new(p6::plan_resource_change::Response {
            planned_state: Some(planned_state),
            requires_replace: planned
                .requires_replace
                .iter()
                .map(|a| p6::AttributePath {
                    steps: vec![p6::attribute_path::Step {
                        selector: Some(p6::attribute_path::step::Selector::AttributeName(
                            a.clone(),
                        )),
                    }],
                })
                .collect(),
            planned_private: r.prior_private,
            diagnostics: Vec::new(),
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<p6::apply_resource_change::Request>,
    ) -> Result<Response<p6::apply_resource_change::Response>, Status> {
        let r = request.into_inner();
        self.saw_meta(
            "ApplyResourceChange",
            &r.type_name,
            r.provider_meta.as_ref(),
        );
        let fail = |new_state, diagnostics| {
            Ok(Response::new(p6::apply_resource_change::Response {
                new_state,
                private: Vec::new(),
                diagnostics,
            }))
        };
        let (res, _, ty) = match self.resource(&r.type_name) {
            Ok(x) => x,
            Err(d) => return fail(r.prior_state, d),
        };
        let decoded = (|| {
            Ok::<_, Vec<p6::Diagnostic>>((
                decode(r.prior_state.as_ref(), &ty)?,
                decode(r.planned_state.as_ref(), &ty)?,
            ))
        })();
        let (prior, planned) = match decoded {
            Ok(x) => x,
            Err(d) => return fail(r.prior_state, d),
        };
        let null = Value::Null(ty.clone());
        let outcome = blocking(move || {
            let prior_obj = object(&prior);
            match (prior_obj, object(&planned)) {
                (Some(p), None) => res.delete(&p).map(|()| None).map_err(|d| (d, Some(prior))),
                // A failure's state, when there is one, is what exists now.
                (None, Some(n)) => res
                    .create_or_failed(&n)
                    .map(Some)
                    .map_err(|f| (f.diagnostics, f.state.map(Object::into_value))),
                (Some(p), Some(n)) => res.update_or_failed(&p, &n).map(Some).map_err(|f| {
                    let kept = f.state.map_or(prior, Object::into_value);
                    (f.diagnostics, Some(kept))
                }),
                (None, None) => Ok(None),
            }
        })
        .await?;
        let (new, diags) = match outcome {
            Ok(Some(o)) => (o.into_value(), Vec::new()),
            Ok(None) => (null, Vec::new()),
            Err((d, kept)) => (kept.unwrap_or(null), d),
        };
        match encode(&new, &ty) {
            Ok(v) => Ok(Response::new(p6::apply_resource_change::Response {
                new_state: Some(v),
                private: r.planned_private,
                diagnostics: diagnostics(&diags),
            })),
            Err(d) => fail(r.prior_state, d),
        }
    }

    async fn import_resource_state(
        &self,
        request: Request<p6::import_resource_state::Request>,
    ) -> Result<Response<p6::import_resource_state::Response>, Status> {
        let r = request.into_inner();
        let (res, _, ty) = match self.resource(&r.type_name) {
            Ok(x) => x,
            Err(diagnostics) => {
                return Ok(Response::new(p6::import_resource_state::Response {
                    imported_resources: Vec::new(),
                    diagnostics,
                }))
            }
        };
        let id = r.id.clone();
        let outcome = blocking(move || res.import(&id)).await?;
        let response = match outcome
            .map_err(|d| diagnostics(&d))
            .and_then(|o| encode(&o.into_value(), &ty))
        {
            Ok(state) => p6::import_resource_state::Response {
                imported_resources: vec![p6::import_resource_state::ImportedResource {
                    type_name: r.type_name,
                    state: Some(state),
                    private: Vec::new(),
                }],
                diagnostics: Vec::new(),
            },
            Err(diagnostics) => p6::import_resource_state::Response {
                imported_resources: Vec::new(),
                diagnostics,
            },
        };
        Ok(Response::new(response))
    }

    async fn read_data_source(
        &self,
        request: Request<p6::read_data_source::Request>,
    ) -> Result<Response<p6::read_data_source::Response>, Status> {
        let r = request.into_inner();
        self.saw_meta("ReadDataSource", &r.type_name, r.provider_meta.as_ref());
        let Some((ds, _, ty)) = self.data_sources.get(&r.type_name).cloned() else {
            return Ok(Response::new(p6::read_data_source::Response {
                state: None,
                diagnostics: diagnostics(&[Diagnostic::error(
                    "Unknown data source",
                    format!("This provider has no data source {:?}.", r.type_name),
                )]),
            }));
        };
        let config = match decode(r.config.as_ref(), &ty) {
            Ok(v) => v,
            Err(diagnostics) => {
                return Ok(Response::new(p6::read_data_source::Response {
                    state: None,
                    diagnostics,
                }))
            }
        };
        let outcome = blocking(move || ds.read(&Object::from_value(&config))).await?;
        let response = match outcome
            .map_err(|d| diagnostics(&d))
            .and_then(|o| encode(&o.into_value(), &ty))
        {
            Ok(state) => p6::read_data_source::Response {
                state: Some(state),
                diagnostics: Vec::new(),
            },
            Err(diagnostics) => p6::read_data_source::Response {
                state: None,
                diagnostics,
            },
        };
        Ok(Response::new(response))
    }

    async fn stop_provider(
        &self,
        _request: Request<p6::stop_provider::Request>,
    ) -> Result<Response<p6::stop_provider::Response>, Status> {
        Ok(Response::new(p6::stop_provider::Response {
            error: String::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `left_*` fails its create after making the object (with its state),
    /// `none_*` fails before making anything.
    struct Thing(&'static str);

    impl Resource for Thing {
        fn type_name(&self) -> &str {
            self.0
        }
        fn schema(&self) -> Schema {
            crate::shape::schema(
                vec![
                    ("name", crate::shape::required(Type::String)),
                    ("id", crate::shape::computed(Type::String)),
                ],
                vec![],
            )
        }
        fn create(&self, planned: &Object) -> crate::Result<Object> {
            self.create_or_failed(planned).map_err(|f| f.diagnostics)
        }
        fn create_or_failed(&self, planned: &Object) -> crate::Outcome {
            let failed = vec![Diagnostic::error("Wait failed", "it never became ready")];
            if self.0.starts_with("none") {
                return Err(failed.into());
            }
            let mut made = planned.clone();
            made.set("id", Value::String("made-1".into()));
            Err(crate::Failed::with_state(failed, made))
        }
        fn read(&self, current: &Object) -> crate::Result<Option<Object>> {
            Ok(Some(current.clone()))
        }
        fn update(&self, _prior: &Object, planned: &Object) -> crate::Result<Object> {
            Ok(planned.clone())
        }
        fn delete(&self, _prior: &Object) -> crate::Result<()> {
            Ok(())
        }
    }

    struct Things;

    impl Provider for Things {
        fn resources(&self) -> Vec<Box<dyn Resource>> {
            vec![Box::new(Thing("left_thing")), Box::new(Thing("none_thing"))]
        }
    }

    /// Lists one object per request, leaving out what the request says is managed.
    struct Lister;

    impl Provider for Lister {
        fn resources(&self) -> Vec<Box<dyn Resource>> {
            Vec::new()
        }
        fn list(&self, request: &crate::ListRequest) -> Option<crate::Listing> {
            let mut objects = Vec::new();
            for id in ["a", "b"] {
                request.keep(
                    crate::Listed::new("x_thing", id, id).arg("n", 1),
                    &mut objects,
                );
            }
            Some(crate::Listing {
                objects,
                diagnostics: vec![Diagnostic::warning("b was slow", "")],
            })
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn inventory_answers_with_the_unmanaged_objects_or_unimplemented() {
        let request = || list_resources::Request {
            managed: vec![list_resources::Managed {
                type_name: "x_thing".into(),
                id: "a".into(),
                attributes_json: "{}".into(),
            }],
            ..Default::default()
        };
        let reply = Served::new(Lister)
            .list_resources(Request::new(request()))
            .await
            .unwrap()
            .into_inner();
        let ids: Vec<&str> = reply.objects.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["b"]);
        assert_eq!(reply.objects[0].config_json, r#"{"n":1}"#);
        assert!(!reply.diagnostics[0].error);
        let refused = Served::new(Things)
            .list_resources(Request::new(request()))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unimplemented);
    }

    #[tokio::test]
    async fn a_failed_create_answers_with_the_state_of_what_it_made() {
        use p6::provider_server::Provider as _;
        let served = Served::new(Things);
        for (type_name, id) in [("left_thing", Some("made-1")), ("none_thing", None)] {
            let ty = served.resources[type_name].2.clone();
            let planned = Value::Object(BTreeMap::from([
                ("name".to_string(), Value::String("a".into())),
                ("id".to_string(), Value::Null(Type::String)),
            ]));
            let request = p6::apply_resource_change::Request {
                type_name: type_name.into(),
                prior_state: encode(&Value::Null(ty.clone()), &ty).ok(),
                planned_state: encode(&planned, &ty).ok(),
                config: encode(&planned, &ty).ok(),
                ..Default::default()
            };
            let reply = served
                .apply_resource_change(Request::new(request))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(reply.diagnostics.len(), 1, "{type_name}");
            assert_eq!(reply.diagnostics[0].summary, "Wait failed");
            let state = decode(reply.new_state.as_ref(), &ty).unwrap();
            match id {
                Some(id) => {
                    assert_eq!(Object::from_value(&state).string("id").as_deref(), Some(id))
                }
                None => assert!(state.is_null(), "{type_name}: {state:?}"),
            }
        }
    }
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::ServingStatus;

    #[tokio::test]
    async fn health_reports_go_plugins_service_serving() {
        let dir = std::env::temp_dir().join(format!("plinth-sdk-health-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("health.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(health_service().await)
                .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
        );
        let channel = tonic::transport::Endpoint::from_static("http://plugin.invalid")
            .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
                let socket = socket.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(socket).await?;
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                }
            }))
            .await
            .unwrap();
        let mut client = HealthClient::new(channel);
        for service in [GO_PLUGIN_SERVICE, ""] {
            let answer = client
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(answer.status, ServingStatus::Serving as i32, "{service:?}");
        }
        let unknown = client
            .check(HealthCheckRequest {
                service: "elsewhere".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), tonic::Code::NotFound);
        server.abort();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
