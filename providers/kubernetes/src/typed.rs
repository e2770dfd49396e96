//! Resources with HashiCorp's block shapes (`metadata { }`, `spec { template { … } }`)
//! over one kind each: the blocks and arguments become the object's JSON fields by
//! name (`volume_mount` → `volumeMounts`, `node_selector` → `nodeSelector`), and the
//! live object comes back through the same schema, cut to what the configuration
//! sets. A kind is declared as a [`Kind`] value; the behaviour is shared.

use std::time::Duration;

use plinth_provider_sdk::shape::*;
use plinth_provider_sdk::{
    default_plan, fail, Block, Diagnostic, Failed, NestedBlock, Nesting, Object, Outcome,
    PlanRequest, Planned, Resource, Result, Schema, Type, Value,
};
use serde_json::{json, Map, Value as J};

use crate::client::{self, Kube};
use crate::json::{merge_patch, typed};

/// The JSON field a block or argument is written to.
pub fn field_name(name: &str) -> String {
    let special = match name {
        "container" => "containers",
        "init_container" => "initContainers",
        "volume" => "volumes",
        "volume_mount" => "volumeMounts",
        "port" => "ports",
        "toleration" => "tolerations",
        "image_pull_secret" | "image_pull_secrets" => "imagePullSecrets",
        "secret" => "secrets",
        "timezone" => "timeZone",
        "host_aliases" => "hostAliases",
        "match_expressions" => "matchExpressions",
        "env" => "env",
        "env_from" => "envFrom",
        _ => "",
    };
    if !special.is_empty() {
        return special.to_string();
    }
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A block's configuration as the object's JSON: set arguments and blocks only
/// (computed-only attributes and `skip` are plinth's own, never sent).
pub fn block_json(block: &Block, o: &Object, skip: &[&str]) -> J {
    let mut out = Map::new();
    for (name, a) in &block.attributes {
        if skip.contains(&name.as_str()) || (a.computed && !a.optional) {
            continue;
        }
        let v = o.get(name);
        if v.is_null() || !v.is_known() {
            continue;
        }
        out.insert(field_name(name), v.to_json());
    }
    for (name, nb) in &block.blocks {
        if skip.contains(&name.as_str()) {
            continue;
        }
        let objects = block_objects(o, name);
        if objects.is_empty() {
            continue;
        }
        let json: Vec<J> = objects
            .iter()
            .map(|e| block_json(&nb.block, e, &[]))
            .collect();
        let value = if nb.max_items == 1 || nb.nesting == Nesting::Single {
            json.into_iter().next().unwrap_or(J::Null)
        } else {
            J::Array(json)
        };
        out.insert(field_name(name), value);
    }
    J::Object(out)
}

/// A live object's JSON back as a block's value, cut to what `prior` (the state or
/// configuration) sets: computed attributes always, other arguments and blocks where
/// `prior` has them. With `all`, everything the schema names (import, and elements a
/// list gained outside plinth). Labels and annotations keep only the keys `prior`
/// sets: controllers add their own.
pub fn block_value(block: &Block, live: &J, prior: &Object, all: bool) -> Object {
    let mut out = Object(Default::default());
    for (name, a) in &block.attributes {
        let field = live.get(field_name(name)).unwrap_or(&J::Null);
        let value = if a.computed || all || !prior.is_null(name) {
            let v = typed(field, &a.ty);
            if matches!(name.as_str(), "labels" | "annotations") && !all {
                keep_keys(v, &prior.get(name))
            } else {
                v
            }
        } else {
            prior.get(name)
        };
        out.set(name, value);
    }
    for (name, nb) in &block.blocks {
        let prior_elems = block_objects(prior, name);
        let live_elems: Vec<&J> = match live.get(field_name(name)) {
            Some(J::Array(a)) => a.iter().collect(),
            Some(o @ J::Object(_)) => vec![o],
            _ => Vec::new(),
        };
        let elems: Vec<Object> = if prior_elems.is_empty() && !all {
            Vec::new()
        } else {
            live_elems
                .iter()
                .enumerate()
                .map(|(i, l)| match prior_elems.get(i) {
                    Some(p) => block_value(&nb.block, l, p, all),
                    None => block_value(&nb.block, l, &Object(Default::default()), true),
                })
                .collect()
        };
        out.set(name, objects_value(&nb.block, nb.nesting, elems));
    }
    out
}

fn keep_keys(live: Value, prior: &Value) -> Value {
    let keys: Vec<String> = match prior {
        Value::Map(_, m) | Value::Object(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    };
    match live {
        Value::Map(t, m) => {
            let kept: std::collections::BTreeMap<_, _> =
                m.into_iter().filter(|(k, _)| keys.contains(k)).collect();
            if kept.is_empty() && prior.is_null() {
                Value::Null(Type::map(t))
            } else {
                Value::Map(t, kept)
            }
        }
        other => other,
    }
}

/// `metadata { }` as HashiCorp declares it; `namespaced` adds `namespace`.
pub fn metadata_block(namespaced: bool) -> NestedBlock {
    let mut attrs = vec![
        ("name", optional_computed(Type::String)),
        ("generate_name", optional(Type::String)),
        ("labels", optional(string_map())),
        ("annotations", optional(string_map())),
        ("generation", computed(Type::Number)),
        ("resource_version", computed(Type::String)),
        ("uid", computed(Type::String)),
    ];
    if namespaced {
        attrs.push(("namespace", optional_computed(Type::String)));
    }
    single(block(attrs, vec![]), true)
}

/// A wait after create and update, given the planned state and the written object.
pub type Settle = fn(&Typed, &Object, &J) -> Result<()>;

/// The kind-specific part of a typed resource.
pub struct Kind {
    pub type_name: String,
    pub api_version: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    /// The resource's arguments and blocks besides `metadata`, `id` and `timeouts`.
    pub schema: Block,
    /// Arguments of plinth's own (`wait_for_completion`), not object fields.
    pub own: &'static [&'static str],
    /// The object's JSON from the configuration, after the generic mapping (a
    /// Secret's `data` is base64 on the wire).
    pub encode: fn(&Object, J) -> J,
    /// The generic mapping's input from the live object (the reverse of `encode`),
    /// given the state or configuration it is read for.
    pub decode: fn(&Object, J) -> J,
    /// Arguments whose change replaces the object (besides its name and namespace).
    pub replaced_on: &'static [&'static str],
    /// Waits after create and update (a Job's completion); `None` for no wait.
    pub settle: Option<Settle>,
    /// Default create/update/delete timeout.
    pub timeout: Duration,
    /// Validation beyond the schema's.
    pub check: fn(&Object) -> Vec<Diagnostic>,
}

pub fn unchanged(_: &Object, j: J) -> J {
    j
}

pub fn no_checks(_: &Object) -> Vec<Diagnostic> {
    Vec::new()
}

/// A typed resource: a [`Kind`] and the cluster.
pub struct Typed {
    pub kind: Kind,
    pub kube: Kube,
}

impl Typed {
    pub fn new(kube: &Kube, kind: Kind) -> Typed {
        Typed {
            kind,
            kube: kube.clone(),
        }
    }

    fn full_block(&self) -> Block {
        let mut b = self.kind.schema.clone();
        b.blocks
            .insert("metadata".into(), metadata_block(self.kind.namespaced));
        b.attributes.insert("id".into(), computed(Type::String));
        let (name, t) = timeouts();
        b.blocks.insert(name.into(), t);
        b
    }

    fn api_kind(&self) -> client::Kind {
        // Typed kinds are all built in: no discovery call.
        self.kube
            .kind(self.kind.api_version, self.kind.kind)
            .unwrap_or(client::Kind {
                api_version: self.kind.api_version.into(),
                kind: self.kind.kind.into(),
                plural: format!("{}s", self.kind.kind.to_lowercase()),
                namespaced: self.kind.namespaced,
            })
    }

    /// The object plinth writes for a configuration or planned state.
    pub fn object(&self, o: &Object) -> J {
        let mut skip: Vec<&str> = self.kind.own.to_vec();
        skip.extend(["id", "timeouts"]);
        let body = block_json(&self.full_block(), o, &skip);
        let mut body = (self.kind.encode)(o, body);
        if let Some(m) = body.as_object_mut() {
            m.insert("apiVersion".into(), json!(self.kind.api_version));
            m.insert("kind".into(), json!(self.kind.kind));
        }
        body
    }

    fn names(&self, o: &Object) -> (Option<String>, String) {
        let meta = block_objects(o, "metadata").into_iter().next();
        let name = meta
            .as_ref()
            .and_then(|m| m.string("name"))
            .unwrap_or_default();
        let ns = meta
            .and_then(|m| m.string("namespace"))
            .filter(|_| self.kind.namespaced);
        (ns, name)
    }

    fn id(&self, ns: Option<&str>, name: &str) -> String {
        match ns {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_string(),
        }
    }

    /// The state for a live object, cut to `prior`'s fields (`all` for everything).
    fn state_of(&self, live: J, prior: &Object, all: bool) -> Object {
        let live = (self.kind.decode)(prior, live);
        let mut state = block_value(&self.full_block(), &live, prior, all);
        for own in self.kind.own.iter().chain(&["timeouts"]) {
            state.set(own, prior.get(own));
        }
        let (ns, name) = self.names(&state);
        state.set("id", s(self.id(ns.as_deref(), &name)));
        state
    }

    pub fn timeout(&self, o: &Object, operation: &str) -> Duration {
        timeout(o, operation, self.kind.timeout)
    }

    /// The errors of a wait that failed after `live` was written, with the object as
    /// it is now (as written, if it cannot be read; none if it is already gone).
    fn left_behind(&self, live: J, planned: &Object, diagnostics: Vec<Diagnostic>) -> Failed {
        let written = self.state_of(live, planned, false);
        match self.read(&written) {
            Ok(Some(now)) => Failed::with_state(diagnostics, now),
            Ok(None) => Failed::from(diagnostics),
            Err(_) => Failed::with_state(diagnostics, written),
        }
    }
}

impl Resource for Typed {
    fn type_name(&self) -> &str {
        &self.kind.type_name
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: self.full_block(),
        }
    }

    fn replaced_on(&self) -> Vec<&str> {
        self.kind.replaced_on.to_vec()
    }

    fn validate(&self, config: &Object) -> Vec<Diagnostic> {
        let mut out = (self.kind.check)(config);
        if let Some(meta) = block_objects(config, "metadata").first() {
            if meta.is_null("name") && meta.is_null("generate_name") {
                out.push(
                    Diagnostic::error(
                        "Missing object name",
                        "metadata needs name (or generate_name).",
                    )
                    .at("metadata"),
                );
            }
        }
        out
    }

    /// The default plan, with the namespace defaulting to `default`, and a change of
    /// name or namespace replacing the object (Kubernetes cannot rename one).
    fn plan(&self, request: PlanRequest) -> Result<Planned> {
        let schema = self.schema();
        let creating = request.prior.is_none();
        let prior = request.prior;
        let mut planned = default_plan(
            self,
            &schema,
            PlanRequest {
                prior,
                proposed: request.proposed,
                config: request.config,
            },
        );
        let mut meta = block_objects(&planned.state, "metadata")
            .into_iter()
            .next()
            .unwrap_or_else(|| Object(Default::default()));
        if self.kind.namespaced && meta.is_null("namespace") {
            meta.set("namespace", s("default"));
        }
        if creating {
            for c in ["generation", "resource_version", "uid"] {
                meta.set(
                    c,
                    Value::Unknown(
                        schema.block.blocks["metadata"].block.attributes[c]
                            .ty
                            .clone(),
                    ),
                );
            }
            if meta.is_null("name") {
                meta.set("name", Value::Unknown(Type::String));
            }
        }
        let (ns, name) = (meta.get("namespace"), meta.get("name"));
        planned.state.set(
            "metadata",
            objects_value(
                &schema.block.blocks["metadata"].block,
                Nesting::List,
                vec![meta],
            ),
        );
        if creating {
            return Ok(planned);
        }
        let Some(prior) = prior else {
            return Ok(planned);
        };
        let prior_meta = block_objects(prior, "metadata").into_iter().next();
        let moved = prior_meta.is_some_and(|p| {
            let changed = |a: &str, now: &Value| now.is_known() && !p.get(a).strict_equal(now);
            changed("name", &name) || (self.kind.namespaced && changed("namespace", &ns))
        });
        planned.requires_replace.retain(|a| a != "metadata");
        if moved {
            planned.requires_replace.push("metadata".into());
        }
        Ok(planned)
    }

    fn create(&self, planned: &Object) -> Result<Object> {
        self.create_or_failed(planned).map_err(|f| f.diagnostics)
    }

    /// A wait that fails after the object was created (a Job that failed or timed
    /// out) returns the object with the errors: state keeps it tainted, and the next
    /// apply replaces it instead of failing on "already exists".
    fn create_or_failed(&self, planned: &Object) -> Outcome {
        let kind = self.api_kind();
        let body = self.object(planned);
        let live = self.kube.create(&kind, &body)?;
        if let Some(settle) = self.kind.settle {
            if let Err(d) = settle(self, planned, &live) {
                return Err(self.left_behind(live, planned, d));
            }
        }
        self.read(&self.state_of(live, planned, false))?
            .ok_or_else(|| {
                Failed::from(vec![Diagnostic::error(
                    "Object vanished",
                    "It was deleted right after it was created.",
                )])
            })
    }

    fn read(&self, current: &Object) -> Result<Option<Object>> {
        let (ns, name) = self.names(current);
        let Some(live) = self.kube.get(&self.api_kind(), ns.as_deref(), &name)? else {
            return Ok(None);
        };
        Ok(Some(self.state_of(live, current, false)))
    }

    fn update(&self, prior: &Object, planned: &Object) -> Result<Object> {
        let (ns, name) = self.names(prior);
        let patch = merge_patch(&self.object(prior), &self.object(planned));
        let live = self
            .kube
            .merge_patch(&self.api_kind(), ns.as_deref(), &name, &patch)?;
        if let Some(settle) = self.kind.settle {
            settle(self, planned, &live)?;
        }
        Ok(self.state_of(live, planned, false))
    }

    fn delete(&self, prior: &Object) -> Result<()> {
        let (ns, name) = self.names(prior);
        let kind = self.api_kind();
        if !self.kube.delete(&kind, ns.as_deref(), &name)? {
            return Ok(());
        }
        crate::wait::gone(
            &self.kube,
            &kind,
            ns.as_deref(),
            &name,
            self.timeout(prior, "delete"),
        )
    }

    /// `namespace/name`, or `name` for a kind without namespaces.
    fn import(&self, id: &str) -> Result<Object> {
        let (ns, name) = match id.split_once('/') {
            Some((ns, name)) if self.kind.namespaced => (Some(ns.to_string()), name.to_string()),
            None if self.kind.namespaced => (Some("default".to_string()), id.to_string()),
            _ => (None, id.to_string()),
        };
        let Some(live) = self.kube.get(&self.api_kind(), ns.as_deref(), &name)? else {
            return fail(
                "Cannot import",
                format!("No {} {id:?} exists in the cluster.", self.kind.kind),
            );
        };
        Ok(self.state_of(live, &Object(Default::default()), true))
    }
}
