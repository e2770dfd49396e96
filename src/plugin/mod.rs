//! Providers: the interface the engine calls to read, plan and change resources, and
//! the registry that finds the provider for a resource type. The built-in `plinth`
//! provider lives here (`builtin`); plugin processes speaking the Terraform protocol
//! are found (`discovery`), started (`start`, `process`), called (`client`, one
//! implementation per protocol version) and served to the engine (`host`).
//!
//! Calls are async: they run on [`runtime`], so that thousands of them can be in
//! flight at once without a thread each.

pub mod builtin;
pub mod client;
pub mod constraint;
pub mod discovery;
pub mod host;
pub mod lockfile;
pub mod meta;
mod plugin5;
mod plugin6;
pub mod process;
pub mod start;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use crate::diag::Diagnostics;
use crate::lang::Value;
use crate::schema::Schema;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The runtime every walk and provider call runs on. Its workers run provider I/O and
/// blocking state writes; the walk itself is driven from the caller's thread.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("plinth-worker")
            .on_thread_start(ignore_broken_pipes)
            .build()
            .unwrap_or_else(|e| {
                // Without threads plinth cannot work at all; say why plainly.
                eprintln!("Error: cannot start plinth's worker threads: {e}");
                std::process::exit(1)
            })
    })
}

/// The CLI lets SIGPIPE end plinth when its output is closed (`plinth … | head`);
/// on the threads that talk to plugins, a plugin that went away must instead be an
/// error (EPIPE) on the write, so they block the signal.
fn ignore_broken_pipes() {
    // SAFETY: changes only this thread's signal mask, with a set built here.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Asking a provider to plan a change to one instance (Terraform's
/// PlanResourceChange). `prior` is `None` for an instance that does not exist yet.
pub struct PlanRequest<'a> {
    pub type_name: &'a str,
    pub prior: Option<&'a Value>,
    pub config: &'a Value,
    pub prior_private: &'a [u8],
    /// The `provider_meta` block of the instance's module for this provider.
    pub provider_meta: Option<&'a Value>,
}

pub struct PlannedState {
    /// The value after the change, with unknowns where only apply can tell.
    pub planned: Value,
    /// Attributes whose change forces replacement.
    pub requires_replace: Vec<String>,
    pub private: Vec<u8>,
    /// The provider's warnings about the change.
    pub warnings: crate::diag::Diagnostics,
}

/// Asking a provider to make a planned change (ApplyResourceChange): `planned` is
/// `None` to delete, `prior` is `None` to create.
pub struct ApplyRequest<'a> {
    pub type_name: &'a str,
    pub prior: Option<&'a Value>,
    pub planned: Option<&'a Value>,
    pub config: Option<&'a Value>,
    pub private: &'a [u8],
    pub provider_meta: Option<&'a Value>,
}

/// What a provider says an object is now: `None` when it no longer exists.
pub struct ObjectState {
    pub value: Option<Value>,
    pub private: Vec<u8>,
}

/// A change the provider refused, with what exists after it: `state` is the object a
/// failed create or update made (or left), when the provider returned one.
pub struct ApplyFailure {
    pub diagnostics: Diagnostics,
    pub state: Option<ObjectState>,
}

impl From<Diagnostics> for ApplyFailure {
    fn from(diagnostics: Diagnostics) -> ApplyFailure {
        ApplyFailure {
            diagnostics,
            state: None,
        }
    }
}

/// What `plinth drift --unmanaged` asks a provider to list (plinth's `Inventory`
/// service): the types wanted (empty: all), tag or label filters, and the objects
/// state already holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListRequest {
    pub type_names: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub managed: Vec<ManagedObject>,
}

/// An object some state holds: its type, its `id` (empty for a type without one) and
/// its attributes (for types whose identity is not `id` alone).
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedObject {
    pub type_name: String,
    pub id: String,
    pub attributes: serde_json::Value,
}

/// A provider's answer to a [`ListRequest`]: the objects, and its warnings.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    pub objects: Vec<Listed>,
    pub warnings: Diagnostics,
}

/// One object a provider listed: what an `import` block and a `resource` block need.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Listed {
    pub type_name: String,
    /// The `id` state would hold once imported.
    pub id: String,
    pub import_id: String,
    /// The provider's suggested name (made a unique identifier by the caller).
    pub name: String,
    pub tags: BTreeMap<String, String>,
    /// The `resource` block's arguments (a JSON object).
    pub config: serde_json::Map<String, serde_json::Value>,
    /// A note for whoever pastes the block, or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One provider configuration, as the engine sees it. Errors come back as
/// diagnostics carrying the provider's own words.
pub trait Provider: Send + Sync {
    /// ReadResource: the object as it is now, for refresh, with its module's
    /// `provider_meta` for this provider.
    fn read<'a>(
        &'a self,
        type_name: &'a str,
        current: &'a Value,
        private: &'a [u8],
        provider_meta: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>>;

    fn plan<'a>(
        &'a self,
        request: PlanRequest<'a>,
    ) -> BoxFuture<'a, Result<PlannedState, Diagnostics>>;

    fn apply<'a>(
        &'a self,
        request: ApplyRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>>;

    /// [`Provider::apply`], keeping the non-null state a provider returns with its
    /// errors (Terraform saves it: tainted after a create). By default nothing is
    /// kept.
    fn apply_keeping<'a>(
        &'a self,
        request: ApplyRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectState, ApplyFailure>> {
        Box::pin(async move { self.apply(request).await.map_err(ApplyFailure::from) })
    }

    /// ConfigureProvider, with the provider block's evaluated configuration (an
    /// empty one when the stack has no block for it).
    fn configure<'a>(&'a self, _config: &'a Value) -> BoxFuture<'a, Result<(), Diagnostics>> {
        Box::pin(async { Ok(()) })
    }

    /// ReadDataSource: a data source's value for a wholly known configuration.
    fn read_data<'a>(
        &'a self,
        type_name: &'a str,
        _config: &'a Value,
        _provider_meta: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<Value, Diagnostics>> {
        Box::pin(async move {
            let mut d = Diagnostics::default();
            d.push(
                crate::diag::Diagnostic::error("Invalid data source")
                    .detail(format!("This provider has no data source {type_name:?}.")),
            );
            Err(d)
        })
    }

    /// UpgradeResourceState: a stored object (JSON, written under schema `version`) as
    /// a value of the provider's current schema.
    fn upgrade<'a>(
        &'a self,
        _type_name: &'a str,
        _version: u64,
        stored: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<Value, Diagnostics>> {
        Box::pin(async move { Ok(Value::from_json(stored)) })
    }

    /// The schema version the provider's current schema for `type_name` has, which
    /// state records beside each object.
    fn schema_version(&self, _type_name: &str) -> u64 {
        0
    }

    /// ImportResourceState, then ReadResource: the existing object `id` names, as
    /// state will hold it.
    fn import<'a>(
        &'a self,
        type_name: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
        Box::pin(async move {
            let mut d = Diagnostics::default();
            d.push(
                crate::diag::Diagnostic::error("Import not supported")
                    .detail(format!("{type_name} cannot be imported (id {id:?}).")),
            );
            Err(d)
        })
    }

    /// plinth's `Inventory.ListResources`: the objects the provider sees that
    /// `request` does not name as managed; `Ok(None)` when the provider does not
    /// list (the default, and a plugin without the service).
    fn list<'a>(
        &'a self,
        _request: &'a ListRequest,
    ) -> BoxFuture<'a, Result<Option<Listing>, Diagnostics>> {
        Box::pin(async { Ok(None) })
    }

    /// Asks a plugin process to stop (StopProvider, then go-plugin's Shutdown), and
    /// kills it if it does not exit in time.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// ValidateProviderConfig (PrepareProviderConfig in protocol 5): the provider's
    /// checks of its own block.
    fn validate_config<'a>(
        &'a self,
        _config: &'a Value,
    ) -> BoxFuture<'a, Vec<AttributeDiagnostic>> {
        Box::pin(async { Vec::new() })
    }

    /// ValidateResourceConfig / ValidateDataResourceConfig: the provider's own checks
    /// of a configuration (which may hold unknowns).
    fn validate<'a>(
        &'a self,
        _type_name: &'a str,
        _data: bool,
        _config: &'a Value,
    ) -> BoxFuture<'a, Vec<AttributeDiagnostic>> {
        Box::pin(async { Vec::new() })
    }
}

/// A provider's diagnostic about a configuration, with the attribute it names (if any),
/// so the engine can point at that attribute's line.
pub struct AttributeDiagnostic {
    pub diagnostic: crate::diag::Diagnostic,
    /// The attribute's path through nested blocks (`["gpu", "count"]`), if any.
    pub attribute: Option<Vec<String>>,
}

/// The providers a stack uses, found by resource type or by the provider address
/// recorded in state.
#[derive(Clone)]
pub struct Providers {
    /// Resource type prefix (`aws` for `aws_instance`) → (address, provider).
    by_prefix: HashMap<String, (String, Arc<dyn Provider>)>,
    builtin: Arc<dyn Provider>,
    /// Schemas of the resource and data source types of registered plugins.
    resource_schemas: Arc<HashMap<String, Schema>>,
    data_schemas: Arc<HashMap<String, Schema>>,
    /// Provider configuration schemas by local name.
    provider_schemas: Arc<HashMap<String, Schema>>,
    /// Each started provider's `provider_meta` schema (`None`: it takes none), by the
    /// address state records for it.
    meta_schemas: Arc<HashMap<String, Option<Schema>>>,
    /// Each module's evaluated `provider_meta` blocks, by the module's path (call
    /// names) and the provider's local name.
    metas: Arc<HashMap<(Vec<String>, String), Value>>,
    /// The plugin processes, stopped when the last copy of this registry goes.
    running: Arc<Running>,
}

/// The started plugins; dropping the last reference asks each to stop (and kills
/// those that do not), so a command never leaves provider processes behind.
#[derive(Default)]
struct Running(std::sync::Mutex<Vec<Arc<dyn Provider>>>);

impl Drop for Running {
    fn drop(&mut self) {
        let plugins = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        // Inside an async context the processes are killed by their own drop instead.
        if plugins.is_empty() || tokio::runtime::Handle::try_current().is_ok() {
            return;
        }
        runtime().block_on(futures_util::future::join_all(
            plugins.iter().map(|p| p.shutdown()),
        ));
    }
}

impl Default for Providers {
    fn default() -> Self {
        Providers {
            by_prefix: HashMap::new(),
            builtin: Arc::new(builtin::Builtin),
            resource_schemas: Arc::default(),
            data_schemas: Arc::default(),
            provider_schemas: Arc::default(),
            // The built-in provider, like Terraform's, takes no provider_meta.
            meta_schemas: Arc::new(HashMap::from([(
                builtin::PROVIDER_ADDRESS.to_string(),
                None,
            )])),
            metas: Arc::default(),
            running: Arc::default(),
        }
    }
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.by_prefix.keys().collect();
        names.sort();
        f.debug_struct("Providers")
            .field("prefixes", &names)
            .finish()
    }
}

impl Providers {
    /// Serves the resource types `prefix_*` with `provider`, recorded in state as
    /// `address` (`provider["registry.terraform.io/hashicorp/aws"]`).
    pub fn register(&mut self, prefix: &str, address: &str, provider: Arc<dyn Provider>) {
        self.running
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&provider));
        self.by_prefix
            .insert(prefix.to_string(), (address.to_string(), provider));
    }

    /// Records the `provider_meta` schema (if any) of the provider at `address`.
    pub fn register_meta_schema(&mut self, address: &str, schema: Option<Schema>) {
        Arc::make_mut(&mut self.meta_schemas).insert(address.to_string(), schema);
    }

    fn set_provider_meta(&mut self, module: Vec<String>, local: &str, value: Value) {
        Arc::make_mut(&mut self.metas).insert((module, local.to_string()), value);
    }

    /// The `provider_meta` value the calls for a resource of `module` that uses the
    /// provider `local` carry, if that module declares one.
    pub fn provider_meta(
        &self,
        module: &crate::addrs::ModuleInstance,
        local: &str,
    ) -> Option<&Value> {
        if self.metas.is_empty() {
            return None;
        }
        let path: Vec<String> = module.0.iter().map(|(name, _)| name.clone()).collect();
        self.metas.get(&(path, local.to_string()))
    }

    /// The schema of the provider block for local name `local`.
    pub fn provider_schema(&self, local: &str) -> Option<&Schema> {
        self.provider_schemas.get(local)
    }

    /// The plugin registered under a local name.
    pub fn plugin(&self, local: &str) -> Option<&dyn Provider> {
        self.by_prefix.get(local).map(|(_, p)| p.as_ref())
    }

    /// The plugin providers, by local name.
    pub fn plugins(&self) -> impl Iterator<Item = (&str, &dyn Provider)> {
        self.by_prefix
            .iter()
            .map(|(k, (_, p))| (k.as_str(), p.as_ref()))
    }

    /// Adds the schemas a provider declared: its own under `local`, and those of its
    /// resource and data source types.
    pub fn register_schemas(
        &mut self,
        local: &str,
        schema: &plinth_protocol::schema::ProviderSchema,
    ) {
        Arc::make_mut(&mut self.provider_schemas)
            .insert(local.to_string(), schema.provider.block.clone());
        let resources = Arc::make_mut(&mut self.resource_schemas);
        for (k, s) in &schema.resources {
            resources.insert(k.clone(), s.block.clone());
        }
        let data = Arc::make_mut(&mut self.data_schemas);
        for (k, s) in &schema.data_sources {
            data.insert(k.clone(), s.block.clone());
        }
    }

    /// Terraform's "Invalid resource type": the detail saying that the provider of
    /// local name `local`, whose schema is loaded, offers no type `type_name` (with
    /// the nearest name it does offer); `None` when it does, or its schema is unknown.
    pub fn unsupported_type(&self, data: bool, local: &str, type_name: &str) -> Option<String> {
        let known = if data {
            &self.data_schemas
        } else {
            &self.resource_schemas
        };
        if known.contains_key(type_name)
            || (!data && crate::schema::builtin_resource(type_name).is_some())
            || !self.provider_schemas.contains_key(local)
        {
            return None;
        }
        let what = if data { "data source" } else { "resource type" };
        let nearest = known
            .keys()
            .filter(|k| k.split('_').next() == type_name.split('_').next())
            .map(|k| (strsim::levenshtein(k, type_name), k))
            .min()
            .filter(|(d, _)| *d <= 4)
            .map(|(_, k)| format!(" Did you mean {k:?}?"))
            .unwrap_or_default();
        Some(format!(
            "The provider {local} does not support {what} {type_name:?}.{nearest}"
        ))
    }

    /// The schema of a resource type (built in or from a plugin), if known.
    pub fn resource_schema(&self, type_name: &str) -> Option<&Schema> {
        crate::schema::builtin_resource(type_name).or_else(|| self.resource_schemas.get(type_name))
    }

    pub fn data_schema(&self, type_name: &str) -> Option<&Schema> {
        self.data_schemas.get(type_name)
    }

    /// The provider for a resource type, with the address state records for it.
    pub fn for_type(&self, type_name: &str) -> Option<(&str, &dyn Provider)> {
        if builtin::is_builtin(type_name) {
            return Some((builtin::PROVIDER_ADDRESS, self.builtin.as_ref()));
        }
        let prefix = type_name.split('_').next().unwrap_or(type_name);
        self.by_prefix
            .get(prefix)
            .map(|(a, p)| (a.as_str(), p.as_ref()))
    }

    /// The provider configuration a resource uses: its `provider` argument
    /// (`aws.west`), or the default configuration of its type's provider.
    pub fn for_resource(
        &self,
        resource: &crate::config::Resource,
    ) -> Option<(&str, &dyn Provider)> {
        let Some(p) = &resource.provider else {
            return self.for_type(&resource.type_name);
        };
        if builtin::is_builtin(&resource.type_name) {
            return self.for_type(&resource.type_name);
        }
        let (name, alias) = match &p.root {
            Some((name, alias)) => (name, alias),
            None => (&p.name, &p.alias),
        };
        let key = match alias {
            Some(a) => format!("{name}.{a}"),
            None => name.clone(),
        };
        self.by_prefix
            .get(&key)
            .map(|(a, p)| (a.as_str(), p.as_ref()))
    }

    /// The key of the provider configuration a resource uses (`aws`, `aws.west`: the
    /// root's local address), or `None` for the built-in provider.
    pub fn config_key(resource: &crate::config::Resource) -> Option<String> {
        if builtin::is_builtin(&resource.type_name) {
            return None;
        }
        let Some(p) = &resource.provider else {
            return Some(resource.provider_name().to_string());
        };
        let (name, alias) = match &p.root {
            Some((name, alias)) => (name, alias),
            None => (&p.name, &p.alias),
        };
        Some(match alias {
            Some(a) => format!("{name}.{a}"),
            None => name.clone(),
        })
    }

    /// The state address of the plugin registered under local address `key`.
    pub fn address_of(&self, key: &str) -> Option<&str> {
        self.by_prefix.get(key).map(|(a, _)| a.as_str())
    }

    /// The provider state says made an instance, falling back to the type's.
    pub fn for_state(&self, address: &str, type_name: &str) -> Option<&dyn Provider> {
        if address == builtin::PROVIDER_ADDRESS {
            return Some(self.builtin.as_ref());
        }
        self.by_prefix
            .values()
            .find(|(a, _)| a == address)
            .map(|(_, p)| p.as_ref())
            .or_else(|| self.for_type(type_name).map(|(_, p)| p))
    }
}
