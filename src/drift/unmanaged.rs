//! `plinth drift --unmanaged`: the objects the stack's providers can see that no
//! given state holds, each as an `import` block and a `resource` block ready to paste.
//!
//! Providers list through plinth's `Inventory` extension service (see
//! `docs/unmanaged.md`); a provider without it lists nothing, and that is said once
//! per provider as a warning. Every state given is read whole first: a state that
//! cannot be read is an error naming its stack, never taken as empty (that would list
//! its objects as unmanaged).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::addrs::{ResourceInstance, ResourceMode};
use crate::apply::configure_providers;
use crate::diag::{Diagnostic, Diagnostics};
use crate::lang::Value;
use crate::operation::{OperationError, Store, View};
use crate::plugin::{runtime, ListRequest, Listed, ManagedObject};
use crate::schema::{Nesting, Schema};
use crate::stack::{prepare, StackOptions};

#[derive(Clone, Debug)]
pub struct UnmanagedRequest {
    /// The stack whose providers list, and whose state counts as managed.
    pub dir: PathBuf,
    pub stack: StackOptions,
    /// Other stacks whose states count as managed too.
    pub state_of: Vec<PathBuf>,
    /// Only these resource types (empty: every type a provider lists).
    pub type_names: Vec<String>,
    /// Only objects carrying each of these tags (labels, for Kubernetes).
    pub tags: BTreeMap<String, String>,
}

/// One object no state holds, named for the stack it is to be pasted into.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnmanagedObject {
    /// `aws_vpc.vpc_0a1b`: the address the `import` block writes to.
    pub address: String,
    /// The provider configuration that listed it, when not the default one
    /// (`aws.west`): the resource block names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(flatten)]
    pub listed: Listed,
}

impl UnmanagedObject {
    pub fn resource_name(&self) -> &str {
        self.address
            .split_once('.')
            .map_or(self.address.as_str(), |(_, n)| n)
    }
}

/// What the providers listed, filtered and sorted by type and id.
#[derive(Debug, Default)]
pub struct Unmanaged {
    pub objects: Vec<UnmanagedObject>,
    /// The schema of each listed type, for writing its nested blocks as blocks.
    pub schemas: BTreeMap<String, Schema>,
}

/// Lists what no state of `request.dir` or `request.state_of` holds.
pub fn list_unmanaged(
    request: &UnmanagedRequest,
    view: &dyn View,
) -> Result<Unmanaged, OperationError> {
    let prepared = prepare(&request.dir, &request.stack);
    stop_on_errors(
        view,
        &prepared,
        prepared.diagnostics.clone().sorted_unique(),
    )?;
    if let Some(t) = request
        .type_names
        .iter()
        .find(|t| prepared.providers.resource_schema(t).is_none())
    {
        return Err(OperationError::Request(format!(
            "--type {t}: no provider of this stack has a resource type {t:?}."
        )));
    }
    let own = read_state(&request.dir)?;
    let mut managed: Vec<ManagedObject> = managed_objects(&own);
    for dir in &request.state_of {
        if !dir.is_dir() {
            return Err(OperationError::Request(format!(
                "--state-of {}: no such stack directory.",
                dir.display()
            )));
        }
        managed.extend(managed_objects(&read_state(dir)?));
    }
    let (deferral, configured) = configure_providers(&prepared, &own);
    stop_on_errors(view, &prepared, configured)?;
    let list = ListRequest {
        type_names: request.type_names.clone(),
        tags: request.tags.clone(),
        managed,
    };
    let (listed, diags) = ask_providers(&prepared, &deferral, &list);
    if !diags.is_empty() {
        view.diagnostics(&prepared.sources, &diags);
    }
    if diags.has_errors() {
        return Err(OperationError::Invalid {
            errors: diags.errors().count(),
        });
    }
    let ids: BTreeSet<(String, String)> = list
        .managed
        .iter()
        .filter(|m| !m.id.is_empty())
        .map(|m| (m.type_name.clone(), m.id.clone()))
        .collect();
    let pending = pending_imports(prepared.config.root());
    let listed = listed
        .into_iter()
        .filter(|(_, l)| !pending.contains(&(l.type_name.clone(), l.import_id.clone())))
        .collect();
    let taken: HashSet<String> = prepared
        .config
        .root()
        .resources
        .iter()
        .filter(|r| r.mode == crate::lang::refs::ResourceMode::Managed)
        .map(|r| format!("{}.{}", r.type_name, r.name))
        .collect();
    let objects = name_objects(filter(listed, &list, &ids), &taken);
    let schemas = objects
        .iter()
        .filter_map(|o| {
            let t = &o.listed.type_name;
            let s = prepared.providers.resource_schema(t)?;
            Some((t.clone(), s.clone()))
        })
        .collect();
    Ok(Unmanaged { objects, schemas })
}

fn stop_on_errors(
    view: &dyn View,
    prepared: &crate::stack::Prepared,
    diags: Diagnostics,
) -> Result<(), OperationError> {
    if !diags.has_errors() {
        return Ok(());
    }
    view.diagnostics(&prepared.sources, &diags);
    Err(OperationError::Invalid {
        errors: diags.errors().count(),
    })
}

/// Asks every configured provider at once; each object comes with the aliased
/// configuration that listed it (`None` for a default one). A provider without the
/// inventory service, or whose configuration is unknown until something is applied,
/// lists nothing and is named in a warning (once per provider).
fn ask_providers(
    prepared: &crate::stack::Prepared,
    deferral: &crate::plan::deferred::Deferral,
    list: &ListRequest,
) -> (Vec<(Option<String>, Listed)>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut plugins: Vec<_> = prepared.providers.plugins().collect();
    // The default configuration sorts first: an object two configurations see is
    // written for the default one.
    plugins.sort_by_key(|(local, _)| *local);
    plugins.retain(|(local, _)| {
        let Some(unknown) = deferral.provider(local) else {
            return true;
        };
        diags.push(Diagnostic::warning("Provider not listed").detail(format!(
            "The {} is unknown until what it comes from is applied, so none of its objects are listed.",
            unknown.describe()
        )));
        false
    });
    let answers = runtime().block_on(futures_util::future::join_all(
        plugins.iter().map(|(_, p)| p.list(list)),
    ));
    let mut listed = Vec::new();
    let mut said = BTreeSet::new();
    for ((local, _), answer) in plugins.iter().zip(answers) {
        let alias = local.contains('.').then(|| local.to_string());
        match answer {
            Ok(Some(listing)) => {
                listed.extend(listing.objects.into_iter().map(|l| (alias.clone(), l)));
                diags.extend(listing.warnings);
            }
            Ok(None) if !said.insert(local.split('.').next().unwrap_or(local)) => {}
            Ok(None) => diags.push(
                Diagnostic::warning("Provider does not list objects").detail(format!(
                    "The provider {local} does not offer plinth's inventory service, so none of its objects are listed."
                )),
            ),
            Err(d) => diags.extend(d),
        }
    }
    (listed, diags)
}

/// The state of the stack in `dir`, read whole.
fn read_state(dir: &Path) -> Result<plinth_state::Snapshot, OperationError> {
    let unreadable = |e: String| {
        OperationError::Request(format!(
            "cannot read the state of the stack {}: {e}\nNothing is listed: a state that cannot be read would make its objects look unmanaged.",
            dir.display()
        ))
    };
    let store = Store::local(dir).map_err(|e| unreadable(e.to_string()))?;
    store.read().map_err(|e| unreadable(e.to_string()))
}

/// Every managed object a state holds (data sources left out): its type, `id` (empty
/// when it has none) and attributes.
pub fn managed_objects(state: &plinth_state::Snapshot) -> Vec<ManagedObject> {
    state
        .resources
        .values()
        .filter_map(|r| {
            let address = ResourceInstance::parse(&r.address).ok()?;
            if address.resource.mode != ResourceMode::Managed {
                return None;
            }
            let id = r
                .attributes
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            Some(ManagedObject {
                type_name: address.resource.type_name,
                id: id.to_string(),
                attributes: r.attributes.clone(),
            })
        })
        .collect()
}

/// The (type, import id) of each `import` block of the root module whose id is a
/// literal string: objects about to be imported are not unmanaged (an id computed
/// from an expression is not evaluated here).
fn pending_imports(module: &crate::config::Module) -> HashSet<(String, String)> {
    module
        .imports
        .iter()
        .filter(|i| i.for_each.is_none())
        .filter_map(|i| match &i.id.expr {
            hcl_edit::expr::Expression::String(s) => {
                Some((i.to.resource.type_name.clone(), s.value().clone()))
            }
            _ => None,
        })
        .collect()
}

/// Drops what is managed, unwanted or untagged (a provider's own filtering is not
/// relied on), and sorts by type and id.
fn filter(
    listed: Vec<(Option<String>, Listed)>,
    request: &ListRequest,
    managed: &BTreeSet<(String, String)>,
) -> Vec<(Option<String>, Listed)> {
    let mut kept: Vec<(Option<String>, Listed)> = listed
        .into_iter()
        .filter(|(_, l)| request.type_names.is_empty() || request.type_names.contains(&l.type_name))
        .filter(|(_, l)| !managed.contains(&(l.type_name.clone(), l.id.clone())))
        .filter(|(_, l)| request.tags.iter().all(|(k, v)| l.tags.get(k) == Some(v)))
        .collect();
    // A stable sort: of the copies several configurations listed, the first stays.
    kept.sort_by(|(_, a), (_, b)| (&a.type_name, &a.id).cmp(&(&b.type_name, &b.id)));
    kept.dedup_by(|(_, a), (_, b)| a.type_name == b.type_name && a.id == b.id);
    kept
}

/// Gives each object a resource name: the provider's suggestion made an identifier,
/// unique within its type and apart from the addresses in `taken`.
fn name_objects(
    listed: Vec<(Option<String>, Listed)>,
    taken: &HashSet<String>,
) -> Vec<UnmanagedObject> {
    let mut used = taken.clone();
    listed
        .into_iter()
        .map(|(provider, l)| {
            let base = identifier(&l.name);
            let mut name = base.clone();
            let mut n = 2;
            while used.contains(&format!("{}.{name}", l.type_name)) {
                name = format!("{base}_{n}");
                n += 1;
            }
            let address = format!("{}.{name}", l.type_name);
            used.insert(address.clone());
            UnmanagedObject {
                address,
                provider,
                listed: l,
            }
        })
        .collect()
}

/// `s` as a resource name: letters, digits, `_` and `-` kept (others become `_`),
/// lower-cased, starting with a letter or `_`.
fn identifier(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert_str(0, "r_");
    }
    out
}

/// Each object as an `import` block and a `resource` block, laid out as `plinth fmt`
/// writes them.
pub fn render(unmanaged: &Unmanaged) -> String {
    let mut raw = String::new();
    for (i, o) in unmanaged.objects.iter().enumerate() {
        if i > 0 {
            raw.push('\n');
        }
        let l = &o.listed;
        raw.push_str("import {\nto = ");
        raw.push_str(&o.address);
        raw.push_str("\nid = ");
        raw.push_str(&expression(&serde_json::Value::String(l.import_id.clone())));
        raw.push_str("\n}\n\n");
        for line in l.note.lines() {
            raw.push_str("# ");
            raw.push_str(line);
            raw.push('\n');
        }
        raw.push_str(&format!(
            "resource {} {} {{\n",
            expression(&serde_json::Value::String(l.type_name.clone())),
            expression(&serde_json::Value::String(o.resource_name().to_string()))
        ));
        if let Some(provider) = &o.provider {
            raw.push_str(&format!("provider = {provider}\n"));
        }
        body(&l.config, unmanaged.schemas.get(&l.type_name), &mut raw);
        raw.push_str("}\n");
    }
    crate::config::format::format_source(&raw)
}

/// A body's arguments, then its nested blocks (those the schema declares as blocks),
/// each group by name.
fn body(
    config: &serde_json::Map<String, serde_json::Value>,
    schema: Option<&Schema>,
    out: &mut String,
) {
    let nested = |k: &str| schema.and_then(|s| s.blocks.get(k));
    let mut keys: Vec<&String> = config.keys().collect();
    keys.sort();
    for k in keys.iter().filter(|k| nested(k).is_none()) {
        out.push_str(&attribute_name(k));
        out.push_str(" = ");
        out.push_str(&expression(&config[k.as_str()]));
        out.push('\n');
    }
    for k in keys {
        let Some(block) = nested(k) else { continue };
        let value = &config[k.as_str()];
        let mut write = |label: Option<&str>, v: &serde_json::Value| {
            let serde_json::Value::Object(m) = v else {
                return;
            };
            out.push_str(k);
            if let Some(label) = label {
                out.push(' ');
                out.push_str(&expression(&serde_json::Value::String(label.to_string())));
            }
            out.push_str(" {\n");
            body(m, Some(&block.block), out);
            out.push_str("}\n");
        };
        match (block.nesting, value) {
            (Nesting::Map, serde_json::Value::Object(m)) => {
                for (label, v) in m {
                    write(Some(label), v);
                }
            }
            (_, serde_json::Value::Array(items)) => {
                for item in items {
                    write(None, item);
                }
            }
            (_, v) => write(None, v),
        }
    }
}

fn attribute_name(k: &str) -> String {
    if hcl_primitives::ident::is_ident(k) {
        k.to_string()
    } else {
        expression(&serde_json::Value::String(k.to_string()))
    }
}

/// A JSON value as an HCL expression (strings escaped, templates doubled).
fn expression(v: &serde_json::Value) -> String {
    let mut out = String::new();
    crate::lang::functions::terraform::raw_expression(&Value::from_json(v), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::NestedBlockSchema;

    fn listed(type_name: &str, id: &str, name: &str) -> Listed {
        Listed {
            type_name: type_name.into(),
            id: id.into(),
            import_id: id.into(),
            name: name.into(),
            tags: BTreeMap::new(),
            config: serde_json::Map::new(),
            note: String::new(),
        }
    }

    #[test]
    fn names_are_identifiers_unique_per_type_and_apart_from_the_stacks() {
        let taken = HashSet::from(["aws_vpc.main".to_string()]);
        let objects = name_objects(
            [
                listed("aws_vpc", "vpc-1", "main"),
                listed("aws_vpc", "vpc-2", "main"),
                listed("aws_vpc", "vpc-3", "9 lives/Prod"),
                listed("aws_s3_bucket", "b", "main"),
                listed("aws_vpc", "vpc-4", ""),
            ]
            .into_iter()
            .map(|l| (None, l))
            .collect(),
            &taken,
        );
        let addresses: Vec<&str> = objects.iter().map(|o| o.address.as_str()).collect();
        assert_eq!(
            addresses,
            [
                "aws_vpc.main_2",
                "aws_vpc.main_3",
                "aws_vpc.r_9_lives_prod",
                "aws_s3_bucket.main",
                "aws_vpc.r_"
            ]
        );
    }

    #[test]
    fn filter_drops_managed_other_types_and_untagged_and_sorts() {
        let mut tagged = listed("aws_vpc", "vpc-2", "b");
        tagged.tags.insert("team".into(), "a".into());
        let mut other = listed("aws_s3_bucket", "x", "x");
        other.tags.insert("team".into(), "a".into());
        let mut managed_one = listed("aws_vpc", "vpc-1", "a");
        managed_one.tags.insert("team".into(), "a".into());
        let request = ListRequest {
            type_names: vec!["aws_vpc".into()],
            tags: BTreeMap::from([("team".into(), "a".into())]),
            managed: Vec::new(),
        };
        let managed = BTreeSet::from([("aws_vpc".to_string(), "vpc-1".to_string())]);
        let kept = filter(
            vec![
                (Some("aws.west".into()), tagged.clone()),
                (None, listed("aws_vpc", "vpc-3", "c")),
                (None, other),
                (None, managed_one),
                (None, tagged.clone()),
            ],
            &request,
            &managed,
        );
        assert_eq!(kept, [(Some("aws.west".to_string()), tagged)]);
    }

    #[test]
    fn render_escapes_strings_and_writes_nested_blocks_as_blocks() {
        let mut l = listed("k_config_map", "ns/a", "a");
        l.config = serde_json::json!({
            "data": {"greeting": "say \"hi\" ${name}\n", "dotted.key": "v"},
            "metadata": [{"name": "a", "namespace": "ns"}],
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        l.note = "Fill in the values.".into();
        let schema = Schema {
            blocks: BTreeMap::from([(
                "metadata".to_string(),
                NestedBlockSchema {
                    nesting: Nesting::List,
                    block: Schema::default(),
                    min_items: 1,
                    max_items: 1,
                },
            )]),
            ..Schema::default()
        };
        let unmanaged = Unmanaged {
            objects: name_objects(vec![(Some("k.other".into()), l)], &HashSet::new()),
            schemas: BTreeMap::from([("k_config_map".to_string(), schema)]),
        };
        assert_eq!(
            render(&unmanaged),
            r#"import {
  to = k_config_map.a
  id = "ns/a"
}

# Fill in the values.
resource "k_config_map" "a" {
  provider = k.other
  data = {
    "dotted.key" = "v"
    greeting     = "say \"hi\" $${name}\n"
  }
  metadata {
    name      = "a"
    namespace = "ns"
  }
}
"#
        );
    }

    #[test]
    fn managed_objects_are_the_ids_of_managed_instances() {
        let mut state = plinth_state::Snapshot::default();
        for (address, id) in [
            ("aws_vpc.a", "vpc-1"),
            ("module.m.aws_vpc.b[0]", "vpc-2"),
            ("data.aws_vpc.c", "vpc-3"),
        ] {
            state.resources.insert(
                address.into(),
                plinth_state::ResourceState {
                    address: address.into(),
                    provider: String::new(),
                    schema_version: 0,
                    sensitive_paths: Vec::new(),
                    attributes: serde_json::json!({ "id": id }),
                    private: Vec::new(),
                    dependencies: Vec::new(),
                    create_before_destroy: false,
                    tainted: false,
                },
            );
        }
        let ids: Vec<String> = managed_objects(&state).into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["vpc-1", "vpc-2"]);
    }
}
