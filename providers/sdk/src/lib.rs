//! Write a Terraform-protocol provider as Rust types. Implement [`Resource`] (and
//! [`DataSource`]) for each type the provider offers, gather them in a
//! [`Provider`], and call [`serve`] from `main`: the SDK performs the go-plugin
//! handshake (with AutoMTLS when the client asks for it) and serves protocol 6, so
//! plinth, Terraform and OpenTofu can all drive the provider.
//!
//! Requests reach the types already decoded against their schemas, as [`Object`]s
//! with typed accessors. Planning has a default that suits most resources (see
//! [`Resource::plan`]).
//!
//! A create (or update) that fails after the object was made — a Job created and
//! then failed, a Deployment that never became available — should say so by
//! returning [`Failed`] from [`Resource::create_or_failed`] (or
//! [`Resource::update_or_failed`]): the SDK answers with the errors *and* the
//! object's state, and plinth and Terraform keep that object in state marked
//! tainted, so the next plan replaces it instead of creating it again beside the
//! leftover one.

mod inventory;
mod plan;
mod serve;
pub mod shape;

use std::collections::BTreeMap;

pub use inventory::{config_from_state, ListRequest, Listed, Listing, PLACEHOLDER};
pub use plan::default_plan;
pub use plinth_protocol::number::Number;
pub use plinth_protocol::schema::{Attribute, Block, NestedBlock, Nesting, Schema};
pub use plinth_protocol::types::Type;
pub use plinth_protocol::value::Value;
pub use serve::serve;

/// A problem to report to the user, optionally about one attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub error: bool,
    pub summary: String,
    pub detail: String,
    /// The attribute it is about (`["content"]`), if any.
    pub attribute: Vec<String>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            error: true,
            summary: summary.into(),
            detail: detail.into(),
            attribute: Vec::new(),
        }
    }

    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            error: false,
            ..Diagnostic::error(summary, detail)
        }
    }

    /// Points the diagnostic at an attribute of the block.
    pub fn at(mut self, attribute: &str) -> Diagnostic {
        self.attribute = vec![attribute.to_string()];
        self
    }

    /// Points the diagnostic at an attribute inside nested blocks (`["gpu",
    /// "count"]`): plinth shows the line that sets it.
    pub fn at_path(mut self, path: &[&str]) -> Diagnostic {
        self.attribute = path.iter().map(|p| p.to_string()).collect();
        self
    }
}

pub type Result<T> = std::result::Result<T, Vec<Diagnostic>>;

/// One error as a failed result.
pub fn fail<T>(summary: impl Into<String>, detail: impl Into<String>) -> Result<T> {
    Err(vec![Diagnostic::error(summary, detail)])
}

/// An object value (a configuration, a prior state, a planned state) with typed
/// accessors. Absent and null attributes read as `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct Object(pub BTreeMap<String, Value>);

impl Object {
    pub fn from_value(v: &Value) -> Object {
        match v.peel().0 {
            Value::Object(m) => Object(m.clone()),
            _ => Object(BTreeMap::new()),
        }
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    /// The attribute's value as it is (null when absent).
    pub fn get(&self, name: &str) -> Value {
        self.0
            .get(name)
            .map(|v| v.peel().0.clone())
            .unwrap_or_else(Value::null)
    }

    pub fn string(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).as_bool()
    }

    pub fn i64(&self, name: &str) -> Option<i64> {
        self.get(name).as_number().and_then(Number::to_i64)
    }

    pub fn is_null(&self, name: &str) -> bool {
        self.get(name).is_null()
    }

    pub fn is_known(&self, name: &str) -> bool {
        self.get(name).is_wholly_known()
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_string(), value);
    }

    /// A string attribute that must be set, or an error naming it.
    pub fn require_string(&self, name: &str) -> Result<String> {
        self.string(name).ok_or_else(|| {
            vec![Diagnostic::error(
                "Missing required argument",
                format!("The argument {name:?} is required."),
            )
            .at(name)]
        })
    }
}

/// What planning one change starts from.
pub struct PlanRequest<'a> {
    /// `None` when the object is to be created.
    pub prior: Option<&'a Object>,
    /// The configuration with prior values where it leaves computed attributes unset
    /// (Terraform's "proposed new state").
    pub proposed: &'a Object,
    pub config: &'a Object,
}

pub struct Planned {
    pub state: Object,
    /// Attributes whose change replaces the object.
    pub requires_replace: Vec<String>,
}

/// A create or update that failed after the object existed: the errors, and the
/// object as it is (which plinth and Terraform keep in state, tainted after a
/// create). `state: None` is a failure that left nothing behind.
#[derive(Clone, Debug, PartialEq)]
pub struct Failed {
    pub diagnostics: Vec<Diagnostic>,
    pub state: Option<Object>,
}

impl Failed {
    /// A failure after the object `state` describes was made.
    pub fn with_state(diagnostics: Vec<Diagnostic>, state: Object) -> Failed {
        Failed {
            diagnostics,
            state: Some(state),
        }
    }
}

impl From<Vec<Diagnostic>> for Failed {
    fn from(diagnostics: Vec<Diagnostic>) -> Failed {
        Failed {
            diagnostics,
            state: None,
        }
    }
}

/// What [`Resource::create_or_failed`] and [`Resource::update_or_failed`] return.
pub type Outcome = std::result::Result<Object, Failed>;

/// A managed resource type.
pub trait Resource: Send + Sync {
    /// `local_file`.
    fn type_name(&self) -> &str;

    fn schema(&self) -> Schema;

    /// Attributes whose change replaces the object instead of updating it.
    fn replaced_on(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Values for optional computed attributes the configuration leaves unset.
    fn defaults(&self) -> Vec<(&str, Value)> {
        Vec::new()
    }

    fn validate(&self, _config: &Object) -> Vec<Diagnostic> {
        Vec::new()
    }

    /// Plans a change. The default ([`default_plan`]): nothing changes when the
    /// proposed state equals the prior one; otherwise the proposed state, with
    /// [`Resource::defaults`] filled in, computed attributes the configuration leaves
    /// unset unknown on creation (and kept from the prior state on update), and
    /// replacement when an attribute of [`Resource::replaced_on`] changes.
    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        Ok(default_plan(self, &self.schema(), request))
    }

    fn create(&self, planned: &Object) -> Result<Object>;

    /// The object as it is now; `None` when it no longer exists.
    fn read(&self, current: &Object) -> Result<Option<Object>>;

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object>;

    fn delete(&self, prior: &Object) -> Result<()>;

    /// What the SDK calls to create: [`Resource::create`] by default. Override it
    /// (and have `create` call it) to fail with the state of what was made
    /// ([`Failed::with_state`]).
    fn create_or_failed(&self, planned: &Object) -> Outcome {
        self.create(planned).map_err(Failed::from)
    }

    /// What the SDK calls to update: [`Resource::update`] by default. A
    /// [`Failed`] with a state saves that state (untainted); without one the
    /// prior state stays.
    fn update_or_failed(&self, prior: &Object, planned: &Object) -> Outcome {
        self.update(prior, planned).map_err(Failed::from)
    }

    /// The object an existing thing's id names, for `import`.
    fn import(&self, _id: &str) -> Result<Object> {
        fail(
            "Import not supported",
            format!("{} cannot be imported.", self.type_name()),
        )
    }
}

/// A data source type.
pub trait DataSource: Send + Sync {
    fn type_name(&self) -> &str;
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Object) -> Vec<Diagnostic> {
        Vec::new()
    }
    fn read(&self, config: &Object) -> Result<Object>;
}

/// Which call a module's `provider_meta` came with, and its value.
pub struct MetaCall<'a> {
    /// `PlanResourceChange`, `ApplyResourceChange`, `ReadResource` or `ReadDataSource`.
    pub rpc: &'a str,
    pub type_name: &'a str,
    pub meta: &'a Object,
}

/// A provider: its own configuration schema and the types it offers.
pub trait Provider: Send + Sync + 'static {
    fn schema(&self) -> Schema {
        Schema::default()
    }

    fn configure(&self, _config: &Object) -> Vec<Diagnostic> {
        Vec::new()
    }

    /// The most calls this provider wants in flight at once (an API's rate limit, a
    /// device that takes one request at a time); `None` for no limit. plinth keeps to
    /// it; Terraform and OpenTofu do not ask.
    fn max_concurrency(&self) -> Option<usize> {
        None
    }

    fn resources(&self) -> Vec<Box<dyn Resource>>;

    /// The schema of the `provider_meta "<name>" { ... }` block a module may declare
    /// in its `terraform` block for this provider; `None` (the default) for none, and
    /// then a module that declares one is an error.
    fn meta_schema(&self) -> Option<Schema> {
        None
    }

    /// Called before each call that carries a module's `provider_meta` (planning,
    /// applying and reading a resource, reading a data source), with the block's
    /// value; not called when the module declares none.
    fn provider_meta(&self, _call: MetaCall) {}

    fn data_sources(&self) -> Vec<Box<dyn DataSource>> {
        Vec::new()
    }

    /// The objects the provider can see that `request` does not name as managed
    /// (plinth's `Inventory` service, for `plinth drift --unmanaged`); called after
    /// `configure`. `None` (the default): this provider does not list.
    fn list(&self, _request: &ListRequest) -> Option<Listing> {
        None
    }
}
