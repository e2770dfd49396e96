//! A provider plugin as the engine's [`Provider`]: values are shaped to the schema's
//! types, encoded as msgpack, sent through [`PluginClient`]'s protocol-blind calls,
//! and decoded again; a provider's answer is turned into diagnostics here. The
//! proposed new state handed to PlanResourceChange is core's (`plan::objchange`).

use std::collections::{BTreeMap, HashMap};

use plinth_protocol::json::value_from_json;
use plinth_protocol::msgpack;
use plinth_protocol::schema::{Attribute, Block, NestedBlock, Nesting, ProviderSchema};

use super::client::{ApplyCall, CallError, PlanCall, PluginClient, Returned, WireDiagnostic};
use super::discovery::SourceAddress;
use super::{
    ApplyFailure, ApplyRequest, BoxFuture, ListRequest, Listed, Listing, ObjectState, PlanRequest,
    PlannedState, Provider,
};
use crate::diag::{Diagnostic, Diagnostics};
use crate::lang::convert::convert_to_type;
use crate::lang::{Type, Value};
use crate::plan::objchange::{attr_of, proposed_new};

/// The summary of the diagnostic for a plugin that failed during a call (crashed,
/// or stopped answering), as opposed to a provider reporting an error.
pub const PLUGIN_FAILED: &str = "Plugin did not respond";

/// The most calls in flight to one plugin process at once when it declares no lower
/// limit. Every call takes a slot, validation included: planning 10,000 resources once
/// sent 10,000 ValidateResourceConfig calls at once, outside any limit, and the
/// plugin's connection failed ("transport error") for thousands of them.
pub const MAX_IN_FLIGHT: usize = 64;

pub struct PluginProvider {
    pub address: SourceAddress,
    pub client: PluginClient,
    pub schema: ProviderSchema,
    resource_types: HashMap<String, Type>,
    /// ConfigureProvider's outcome: a process is configured once.
    configured: tokio::sync::OnceCell<Result<(), Diagnostics>>,
    /// The provider's declared concurrency limit, kept for every call.
    limit: Option<(usize, tokio::sync::Semaphore)>,
    /// The most calls plinth keeps in flight to one plugin process when it declares
    /// no lower limit ([`MAX_IN_FLIGHT`]).
    cap: tokio::sync::Semaphore,
    in_flight: std::sync::atomic::AtomicUsize,
    /// The most calls that were in flight at once (reported with PLINTH_LOG).
    pub peak: std::sync::atomic::AtomicUsize,
    /// Whether each call's duration is logged (PLINTH_LOG).
    log_calls: bool,
}

/// Holds a call slot for the duration of one provider call. Under `PLINTH_LOG` the
/// call's duration is logged when it ends.
struct Slot<'a> {
    provider: &'a PluginProvider,
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
    _capped: Option<tokio::sync::SemaphorePermit<'a>>,
    call: &'static str,
    type_name: &'a str,
    started: std::time::Instant,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.provider
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        if self.provider.log_calls {
            eprintln!(
                "[plinth] provider {}: {} {} took {:.3} s",
                self.provider.address.short(),
                self.call,
                self.type_name,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

impl PluginProvider {
    /// Waits for a call slot under the provider's declared limit.
    async fn slot<'a>(&'a self, call: &'static str, type_name: &'a str) -> Slot<'a> {
        use std::sync::atomic::Ordering;
        let permit = match &self.limit {
            Some((_, s)) => s.acquire().await.ok(),
            None => None,
        };
        let capped = self.cap.acquire().await.ok();
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Slot {
            provider: self,
            _permit: permit,
            _capped: capped,
            call,
            type_name,
            started: std::time::Instant::now(),
        }
    }

    pub fn limit(&self) -> Option<usize> {
        self.limit.as_ref().map(|(n, _)| *n)
    }

    pub fn new(
        address: SourceAddress,
        client: PluginClient,
        schema: ProviderSchema,
        limit: Option<usize>,
    ) -> Self {
        let resource_types = schema
            .resources
            .iter()
            .map(|(k, s)| (k.clone(), s.block.implied_type()))
            .collect();
        PluginProvider {
            address,
            client,
            schema,
            resource_types,
            configured: tokio::sync::OnceCell::new(),
            limit: limit.map(|n| (n, tokio::sync::Semaphore::new(n))),
            cap: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            peak: std::sync::atomic::AtomicUsize::new(0),
            log_calls: std::env::var_os("PLINTH_LOG").is_some(),
        }
    }

    fn resource(&self, type_name: &str) -> Result<(&Block, &Type), Diagnostics> {
        match (
            self.schema.resources.get(type_name),
            self.resource_types.get(type_name),
        ) {
            (Some(s), Some(t)) => Ok((&s.block, t)),
            _ => Err(single(Diagnostic::error("Invalid resource type").detail(
                format!(
                    "The provider {} does not support resource type {type_name:?}.",
                    self.address.short()
                ),
            ))),
        }
    }

    /// The provider's answer as diagnostics, naming the provider when the call
    /// itself failed.
    pub fn diagnostics(&self, e: CallError) -> Diagnostics {
        match e {
            CallError::Provider(diags) => wire(&diags),
            CallError::Transport(message) => {
                single(Diagnostic::error("Plugin did not respond").detail(format!(
                    "The plugin for provider {} ({}) failed during the call: {message}",
                    self.address.short(),
                    self.client.name
                )))
            }
        }
    }
}

fn single(d: Diagnostic) -> Diagnostics {
    let mut out = Diagnostics::default();
    out.push(d);
    out
}

/// The strings under a sensitive mark in what a provider was sent, to be scrubbed
/// from what it says back. Strings shorter than three characters are left alone:
/// replacing every `1` or `a` in a message would say nothing and hide the message.
fn secrets_in(values: &[&Value]) -> Vec<String> {
    let mut out: Vec<String> = values
        .iter()
        .flat_map(|v| v.sensitive_strings())
        .filter(|s| s.chars().count() >= 3)
        .collect();
    // Longest first, so a secret that contains another is replaced whole.
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out.dedup();
    out
}

fn redact_all(
    diags: Vec<super::AttributeDiagnostic>,
    config: &Value,
) -> Vec<super::AttributeDiagnostic> {
    let secrets = secrets_in(&[config]);
    diags
        .into_iter()
        .map(|d| super::AttributeDiagnostic {
            diagnostic: d.diagnostic.redact(&secrets),
            ..d
        })
        .collect()
}

/// A provider's diagnostics in plinth's form; the attribute path, when given, is named
/// in the detail.
pub fn wire(diags: &[WireDiagnostic]) -> Diagnostics {
    let mut out = Diagnostics::default();
    for d in diags {
        let mut detail = d.detail.clone();
        if !d.attribute.is_empty() {
            let path = d.attribute.join(".");
            detail = if detail.is_empty() {
                format!("(attribute {path})")
            } else {
                format!("{detail} (attribute {path})")
            };
        }
        let diag = if d.error {
            Diagnostic::error(d.summary.clone())
        } else {
            Diagnostic::warning(d.summary.clone())
        };
        let mut diag = diag.detail(detail);
        diag.attribute = (!d.attribute.is_empty()).then(|| Box::new(d.attribute.clone()));
        out.push(diag);
    }
    out
}

fn attribute_diagnostics(diags: &[WireDiagnostic]) -> Vec<super::AttributeDiagnostic> {
    diags
        .iter()
        .map(|d| super::AttributeDiagnostic {
            diagnostic: if d.error {
                Diagnostic::error(d.summary.clone())
            } else {
                Diagnostic::warning(d.summary.clone())
            }
            .detail(d.detail.clone()),
            attribute: (!d.attribute.is_empty()).then(|| d.attribute.clone()),
        })
        .collect()
}

/// Shapes a value to `ty` the way a schema reads a block: missing object attributes
/// are null, tuples become lists or sets, primitives convert.
pub fn conform(v: &Value, ty: &Type) -> Value {
    let v = v.peel().0;
    match v {
        Value::Unknown(_) => return Value::Unknown(ty.clone()),
        Value::Null(_) => return Value::Null(ty.clone()),
        _ => {}
    }
    match (ty, v) {
        (Type::Dynamic, _) => v.clone().deep_unmark(),
        (Type::Object(attrs), Value::Object(m) | Value::Map(_, m)) => Value::Object(
            attrs
                .iter()
                .map(|(k, t)| {
                    let x = m
                        .get(k)
                        .map_or_else(|| Value::Null(t.clone()), |x| conform(x, t));
                    (k.clone(), x)
                })
                .collect(),
        ),
        (Type::Map(e), Value::Object(m) | Value::Map(_, m)) => Value::Map(
            (**e).clone(),
            m.iter().map(|(k, x)| (k.clone(), conform(x, e))).collect(),
        ),
        (Type::List(e), Value::Tuple(items) | Value::List(_, items) | Value::Set(_, items)) => {
            Value::List((**e).clone(), items.iter().map(|x| conform(x, e)).collect())
        }
        (Type::Set(e), Value::Tuple(items) | Value::List(_, items) | Value::Set(_, items)) => {
            Value::set((**e).clone(), items.iter().map(|x| conform(x, e)).collect())
        }
        (Type::Tuple(ts), Value::Tuple(items) | Value::List(_, items))
            if ts.len() == items.len() =>
        {
            Value::Tuple(items.iter().zip(ts).map(|(x, t)| conform(x, t)).collect())
        }
        _ => {
            convert_to_type(v.clone().deep_unmark(), ty).unwrap_or_else(|_| v.clone().deep_unmark())
        }
    }
}

/// A block's configuration as Terraform decodes it against the schema: like
/// [`conform`], and a nested block that is not written is an empty list, set or map
/// (nesting list, set, map), null (single) or an object of nulls (group).
pub fn conform_config(v: &Value, block: &Block) -> Value {
    let v = v.peel().0;
    if !matches!(v, Value::Object(_) | Value::Map(..)) {
        return conform(v, &block.implied_type());
    }
    let mut out = BTreeMap::new();
    for (name, a) in &block.attributes {
        out.insert(name.clone(), conform(&attr_of(v, name), &a.ty));
    }
    for (name, nb) in &block.blocks {
        let ty = nb.block.implied_type();
        let given = attr_of(v, name);
        let given = given.peel().0;
        let value = match (nb.nesting, given) {
            (_, Value::Unknown(_)) => conform(given, &nb_type(nb.nesting, &ty)),
            (Nesting::Single, Value::Null(_)) => Value::Null(ty),
            (Nesting::Single | Nesting::Group, x) => conform_config(x, &nb.block),
            (Nesting::List, Value::Null(_)) => Value::List(ty, Vec::new()),
            (Nesting::Set, Value::Null(_)) => Value::Set(ty, Vec::new()),
            (Nesting::Map, Value::Null(_)) => Value::Map(ty, BTreeMap::new()),
            (Nesting::List, x) => Value::List(
                ty,
                elements(x)
                    .iter()
                    .map(|e| conform_config(e, &nb.block))
                    .collect(),
            ),
            (Nesting::Set, x) => Value::set(
                ty,
                elements(x)
                    .iter()
                    .map(|e| conform_config(e, &nb.block))
                    .collect(),
            ),
            (Nesting::Map, x) => match x {
                Value::Object(m) | Value::Map(_, m) => Value::Map(
                    ty,
                    m.iter()
                        .map(|(k, e)| (k.clone(), conform_config(e, &nb.block)))
                        .collect(),
                ),
                other => conform(other, &nb_type(nb.nesting, &ty)),
            },
        };
        out.insert(name.clone(), value);
    }
    Value::Object(out)
}

fn nb_type(nesting: Nesting, ty: &Type) -> Type {
    match nesting {
        Nesting::Single | Nesting::Group => ty.clone(),
        Nesting::List => Type::list(ty.clone()),
        Nesting::Set => Type::set(ty.clone()),
        Nesting::Map => Type::map(ty.clone()),
    }
}

fn elements(v: &Value) -> Vec<Value> {
    match v.peel().0 {
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// Marks the attributes the schema calls sensitive, in nested blocks and nested
/// attributes too.
fn mark_sensitive(block: &Block, v: Value) -> Value {
    mark_attributes(&block.attributes, &block.blocks, v)
}

fn mark_attributes(
    attributes: &BTreeMap<String, Attribute>,
    blocks: &BTreeMap<String, NestedBlock>,
    v: Value,
) -> Value {
    let (inner, marked) = v.unmark();
    let Value::Object(mut m) = inner else {
        return inner.mark(marked);
    };
    for (name, a) in attributes {
        if let Some(x) = m.remove(name) {
            let x = match &a.nested {
                _ if a.sensitive => x.sensitive(),
                Some(n) => each_nested(n.nesting, x, &|o| {
                    mark_attributes(&n.attributes, &BTreeMap::new(), o)
                }),
                None => x,
            };
            m.insert(name.clone(), x);
        }
    }
    for (name, nb) in blocks {
        if let Some(x) = m.remove(name) {
            let x = each_nested(nb.nesting, x, &|o| mark_sensitive(&nb.block, o));
            m.insert(name.clone(), x);
        }
    }
    Value::Object(m).mark(marked)
}

/// Applies `f` to each object a nested block or nested attribute holds.
fn each_nested(nesting: Nesting, v: Value, f: &dyn Fn(Value) -> Value) -> Value {
    let (inner, marked) = v.unmark();
    let out = match (nesting, inner) {
        (Nesting::Single | Nesting::Group, o @ Value::Object(_)) => f(o),
        (_, Value::List(t, e)) => Value::List(t, e.into_iter().map(f).collect()),
        (_, Value::Set(t, e)) => Value::Set(t, e.into_iter().map(f).collect()),
        (_, Value::Map(t, m)) => Value::Map(t, m.into_iter().map(|(k, x)| (k, f(x))).collect()),
        (_, other) => other,
    };
    out.mark(marked)
}

fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, Diagnostics> {
    msgpack::encode(&conform(v, ty), ty).map_err(|e| {
        single(Diagnostic::error("Cannot encode a value for the provider").detail(e.to_string()))
    })
}

fn decode(r: Returned, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    let bad = |e: String| {
        single(
            Diagnostic::error("Provider produced an invalid value").detail(format!(
                "The {what} the provider returned cannot be read: {e}"
            )),
        )
    };
    match r {
        Returned::Msgpack(b) => msgpack::decode(&b, ty).map_err(|e| bad(e.to_string())),
        Returned::Json(b) => {
            let j: serde_json::Value =
                serde_json::from_slice(&b).map_err(|e| bad(e.to_string()))?;
            value_from_json(&j, ty).map_err(|e| bad(e.to_string()))
        }
        Returned::Absent => Ok(Value::Null(ty.clone())),
    }
}

impl PluginProvider {
    /// A module's `provider_meta` value encoded with the provider's meta schema; none
    /// when the module declares none or the provider takes none (the engine has
    /// reported that already).
    fn meta(&self, value: Option<&Value>) -> Result<Option<Vec<u8>>, Diagnostics> {
        let (Some(value), Some(schema)) = (value, &self.schema.provider_meta) else {
            return Ok(None);
        };
        let ty = schema.block.implied_type();
        encode(&conform_config(value, &schema.block), &ty).map(Some)
    }
}

impl Provider for PluginProvider {
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if std::env::var_os("PLINTH_LOG").is_some() {
                eprintln!(
                    "[plinth] provider {}: at most {} calls were in flight at once (declared limit: {})",
                    self.address.short(),
                    self.peak.load(std::sync::atomic::Ordering::SeqCst),
                    self.limit().map_or("none".to_string(), |n| n.to_string())
                );
            }
            self.client.stop().await
        })
    }

    fn configure<'a>(&'a self, config: &'a Value) -> BoxFuture<'a, Result<(), Diagnostics>> {
        Box::pin(async move {
            self.configured
                .get_or_init(|| async {
                    let ty = self.schema.provider.block.implied_type();
                    let bytes = encode(config, &ty)?;
                    self.client
                        .rpc()
                        .configure(bytes)
                        .await
                        .map(|_| ())
                        .map_err(|e| self.diagnostics(e).redact(&secrets_in(&[config])))
                })
                .await
                .clone()
        })
    }

    fn upgrade<'a>(
        &'a self,
        type_name: &'a str,
        version: u64,
        stored: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<Value, Diagnostics>> {
        Box::pin(async move {
            let (block, ty) = self.resource(type_name)?;
            let json = serde_json::to_vec(stored).map_err(|e| {
                single(Diagnostic::error("Invalid stored state").detail(e.to_string()))
            })?;
            let (upgraded, _) = {
                let _slot = self.slot("UpgradeResourceState", type_name).await;
                self.client
                    .rpc()
                    .upgrade_state(type_name, version as i64, json)
                    .await
                    .map_err(|e| self.diagnostics(e))?
            };
            Ok(mark_sensitive(
                block,
                decode(upgraded, ty, "upgraded state")?,
            ))
        })
    }

    fn list<'a>(
        &'a self,
        request: &'a ListRequest,
    ) -> BoxFuture<'a, Result<Option<Listing>, Diagnostics>> {
        use plinth_protocol::capabilities::list_resources as wire_list;
        Box::pin(async move {
            let wire_request = wire_list::Request {
                type_names: request.type_names.clone(),
                tags: request.tags.clone().into_iter().collect(),
                managed: request
                    .managed
                    .iter()
                    .map(|m| wire_list::Managed {
                        type_name: m.type_name.clone(),
                        id: m.id.clone(),
                        attributes_json: m.attributes.to_string(),
                    })
                    .collect(),
            };
            let answer = {
                let _slot = self.slot("ListResources", "").await;
                self.client
                    .list_resources(wire_request)
                    .await
                    .map_err(|e| self.diagnostics(e))?
            };
            let Some(answer) = answer else {
                return Ok(None);
            };
            let mut diags = Diagnostics::default();
            for d in &answer.diagnostics {
                let item = if d.error {
                    Diagnostic::error(d.summary.clone())
                } else {
                    Diagnostic::warning(d.summary.clone())
                };
                diags.push(item.detail(format!(
                    "{} (provider {})",
                    d.detail,
                    self.address.short()
                )));
            }
            if diags.has_errors() {
                return Err(diags);
            }
            let mut listed = Vec::with_capacity(answer.objects.len());
            for o in answer.objects {
                let config = match serde_json::from_str(&o.config_json) {
                    Ok(serde_json::Value::Object(m)) => m,
                    _ => {
                        return Err(single(Diagnostic::error("Invalid listed object").detail(
                            format!(
                                "The provider {} listed {} {:?} with a configuration that is not a JSON object.",
                                self.address.short(),
                                o.type_name,
                                o.id
                            ),
                        )))
                    }
                };
                listed.push(Listed {
                    type_name: o.type_name,
                    id: o.id,
                    import_id: o.import_id,
                    name: o.name,
                    tags: o.tags.into_iter().collect(),
                    config,
                    note: o.note,
                });
            }
            Ok(Some(Listing {
                objects: listed,
                warnings: diags,
            }))
        })
    }

    fn schema_version(&self, type_name: &str) -> u64 {
        self.schema
            .resources
            .get(type_name)
            .map_or(0, |s| s.version.max(0) as u64)
    }

    fn import<'a>(
        &'a self,
        type_name: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
        Box::pin(async move {
            let (block, ty) = self.resource(type_name)?;
            let imported = {
                let _slot = self.slot("ImportResourceState", type_name).await;
                self.client
                    .rpc()
                    .import_resource(type_name, id)
                    .await
                    .map_err(|e| self.diagnostics(e))?
                    .0
            };
            let Some(first) = imported.into_iter().find(|i| i.type_name == type_name) else {
                return Err(single(Diagnostic::error("Nothing to import").detail(
                    format!(
                        "The provider {} returned no {type_name} for id {id:?}.",
                        self.address.short()
                    ),
                )));
            };
            let value = decode(first.state, ty, "imported state")?;
            let read = self.read(type_name, &value, &first.private, None).await?;
            match read.value {
                Some(v) => Ok(ObjectState {
                    value: Some(mark_sensitive(block, v)),
                    private: read.private,
                }),
                None => Err(single(Diagnostic::error("Cannot import non-existent remote object").detail(format!(
                    "While attempting to import an existing object to {type_name}, the provider detected that no object exists with the given id {id:?}."
                )))),
            }
        })
    }

    fn read_data<'a>(
        &'a self,
        type_name: &'a str,
        config: &'a Value,
        provider_meta: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<Value, Diagnostics>> {
        Box::pin(async move {
            let meta = self.meta(provider_meta)?;
            let Some(schema) = self.schema.data_sources.get(type_name) else {
                return Err(single(Diagnostic::error("Invalid data source").detail(
                    format!(
                        "The provider {} has no data source {type_name:?}.",
                        self.address.short()
                    ),
                )));
            };
            let ty = schema.block.implied_type();
            let _slot = self.slot("ReadDataSource", type_name).await;
            let (state, _) = self
                .client
                .rpc()
                .read_data_source(
                    type_name,
                    encode(&conform_config(config, &schema.block), &ty)?,
                    meta,
                )
                .await
                .map_err(|e| self.diagnostics(e).redact(&secrets_in(&[config])))?;
            Ok(mark_sensitive(&schema.block, decode(state, &ty, "data")?))
        })
    }

    fn validate_config<'a>(
        &'a self,
        config: &'a Value,
    ) -> BoxFuture<'a, Vec<super::AttributeDiagnostic>> {
        Box::pin(async move {
            let ty = self.schema.provider.block.implied_type();
            let Ok(bytes) = encode(config, &ty) else {
                return Vec::new();
            };
            match self.client.rpc().validate_provider(bytes).await {
                Ok(diags) => redact_all(attribute_diagnostics(&diags), config),
                Err(e) => self
                    .diagnostics(e)
                    .items
                    .into_iter()
                    .map(|diagnostic| super::AttributeDiagnostic {
                        diagnostic,
                        attribute: None,
                    })
                    .collect(),
            }
        })
    }

    fn validate<'a>(
        &'a self,
        type_name: &'a str,
        data: bool,
        config: &'a Value,
    ) -> BoxFuture<'a, Vec<super::AttributeDiagnostic>> {
        Box::pin(async move {
            let schema = if data {
                self.schema.data_sources.get(type_name)
            } else {
                self.schema.resources.get(type_name)
            };
            let Some(schema) = schema else {
                return Vec::new();
            };
            let ty = schema.block.implied_type();
            let bytes = match encode(&conform_config(config, &schema.block), &ty) {
                Ok(b) => b,
                Err(_) => return Vec::new(),
            };
            let call = match data {
                true => "ValidateDataResourceConfig",
                false => "ValidateResourceConfig",
            };
            let _slot = self.slot(call, type_name).await;
            let outcome = if data {
                self.client
                    .rpc()
                    .validate_data_source(type_name, bytes)
                    .await
            } else {
                self.client.rpc().validate_resource(type_name, bytes).await
            };
            let diags = match outcome {
                Ok(d) => d,
                Err(e) => {
                    return self
                        .diagnostics(e)
                        .items
                        .into_iter()
                        .map(|diagnostic| super::AttributeDiagnostic {
                            diagnostic,
                            attribute: None,
                        })
                        .collect()
                }
            };
            redact_all(attribute_diagnostics(&diags), config)
        })
    }

    fn read<'a>(
        &'a self,
        type_name: &'a str,
        current: &'a Value,
        private: &'a [u8],
        provider_meta: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
        Box::pin(async move {
            let (block, ty) = self.resource(type_name)?;
            let bytes = encode(current, ty)?;
            let meta = self.meta(provider_meta)?;
            let _slot = self.slot("ReadResource", type_name).await;
            let (reply, _) = self
                .client
                .rpc()
                .read_resource(type_name, bytes, private.to_vec(), meta)
                .await
                .map_err(|e| self.diagnostics(e).redact(&secrets_in(&[current])))?;
            let v = decode(reply.state, ty, "current state")?;
            Ok(ObjectState {
                value: (!v.is_null()).then(|| mark_sensitive(block, v)),
                private: reply.private,
            })
        })
    }

    fn plan<'a>(
        &'a self,
        request: PlanRequest<'a>,
    ) -> BoxFuture<'a, Result<PlannedState, Diagnostics>> {
        Box::pin(async move {
            let (block, ty) = self.resource(request.type_name)?;
            let prior = request
                .prior
                .map_or_else(|| Value::Null(ty.clone()), |p| conform(p, ty));
            let config = conform_config(request.config, block);
            let proposed = proposed_new(block, &prior, &config);
            let provider_meta = self.meta(request.provider_meta)?;
            let _slot = self.slot("PlanResourceChange", request.type_name).await;
            let (planned, warned) = self
                .client
                .rpc()
                .plan_resource(PlanCall {
                    type_name: request.type_name,
                    prior: encode(&prior, ty)?,
                    proposed: encode(&proposed, ty)?,
                    config: encode(&config, ty)?,
                    prior_private: request.prior_private.to_vec(),
                    provider_meta,
                })
                .await
                .map_err(|e| {
                    let prior = request.prior.cloned().unwrap_or_else(Value::null);
                    self.diagnostics(e)
                        .redact(&secrets_in(&[request.config, &prior]))
                })?;
            let value = decode(planned.planned, ty, "planned state")?;
            Ok(PlannedState {
                planned: mark_sensitive(block, value),
                requires_replace: planned
                    .requires_replace
                    .into_iter()
                    .filter_map(|p| p.into_iter().next())
                    .collect(),
                private: planned.private,
                warnings: wire(&warned).redact(&secrets_in(&[request.config])),
            })
        })
    }

    fn apply<'a>(
        &'a self,
        request: ApplyRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
        Box::pin(async move { self.apply_keeping(request).await.map_err(|f| f.diagnostics) })
    }

    fn apply_keeping<'a>(
        &'a self,
        request: ApplyRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectState, ApplyFailure>> {
        Box::pin(async move {
            let (block, ty) = self.resource(request.type_name)?;
            let null = Value::Null(ty.clone());
            let prior = request.prior.unwrap_or(&null);
            let planned = request.planned.unwrap_or(&null);
            let config = request
                .config
                .map_or_else(|| null.clone(), |c| conform_config(c, block));
            let config = &config;
            let provider_meta = self.meta(request.provider_meta)?;
            let _slot = self.slot("ApplyResourceChange", request.type_name).await;
            let secrets = || {
                let config = request.config.unwrap_or(&null);
                secrets_in(&[prior, planned, config])
            };
            let (reply, diags) = self
                .client
                .rpc()
                .apply_resource(ApplyCall {
                    type_name: request.type_name,
                    prior: encode(prior, ty)?,
                    planned: encode(planned, ty)?,
                    config: encode(config, ty)?,
                    planned_private: request.private.to_vec(),
                    provider_meta,
                })
                .await
                .map_err(|e| self.diagnostics(e).redact(&secrets()))?;
            let failed = diags.iter().any(|d| d.error);
            let v = match decode(reply.state, ty, "new state") {
                Ok(v) => v,
                Err(d) if failed => {
                    let mut all = self
                        .diagnostics(CallError::Provider(diags))
                        .redact(&secrets());
                    all.extend(d);
                    return Err(all.into());
                }
                Err(d) => return Err(d.into()),
            };
            let state = ObjectState {
                value: (!v.is_null()).then(|| mark_sensitive(block, v)),
                private: reply.private,
            };
            if failed {
                return Err(ApplyFailure {
                    diagnostics: self
                        .diagnostics(CallError::Provider(diags))
                        .redact(&secrets()),
                    state: state.value.is_some().then_some(state),
                });
            }
            Ok(state)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plinth_protocol::schema::NestedAttributes;

    fn obj(items: &[(&str, Value)]) -> Value {
        Value::Object(
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn schema_sensitive_attributes_are_marked_in_nested_blocks_and_attributes() {
        let mut secret = Attribute::new(Type::String);
        secret.sensitive = true;
        let plain = Attribute::new(Type::String);
        let inner = Block {
            attributes: [("password".to_string(), secret.clone())].into(),
            ..Block::default()
        };
        let mut nested = Attribute::new(Type::Dynamic);
        nested.nested = Some(NestedAttributes {
            attributes: [("key".to_string(), secret.clone())].into(),
            nesting: Nesting::Map,
            min_items: 0,
            max_items: 0,
        });
        let block = Block {
            attributes: [
                ("name".to_string(), plain),
                ("token".to_string(), secret),
                ("keys".to_string(), nested),
            ]
            .into(),
            blocks: [(
                "login".to_string(),
                NestedBlock {
                    nesting: Nesting::List,
                    block: inner,
                    min_items: 0,
                    max_items: 0,
                },
            )]
            .into(),
            ..Block::default()
        };
        let v = obj(&[
            ("name", Value::string("n")),
            ("token", Value::string("t")),
            (
                "keys",
                Value::Map(
                    Type::Dynamic,
                    [("a".to_string(), obj(&[("key", Value::string("k"))]))].into(),
                ),
            ),
            (
                "login",
                Value::List(
                    Type::Dynamic,
                    vec![obj(&[("password", Value::string("p"))])],
                ),
            ),
        ]);
        let paths: Vec<String> = mark_sensitive(&block, v)
            .sensitive_paths()
            .iter()
            .map(|p| serde_json::Value::from(p.clone()).to_string())
            .collect();
        assert_eq!(
            paths,
            [
                r#"["keys","a","key"]"#,
                r#"["login",0,"password"]"#,
                r#"["token"]"#
            ]
        );
    }
}
