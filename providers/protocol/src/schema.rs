//! The schema model: what a provider says its provider configuration, resources and
//! data sources look like. Read from either protocol version, written as protocol 6
//! (the SDK) and as the JSON of `providers schema -json`.

use std::collections::BTreeMap;

use serde_json::{json, Value as J};

use crate::json::{type_from_json, type_to_json, TypeError};
use crate::tfplugin5 as p5;
use crate::tfplugin6 as p6;
use crate::types::Type;

/// A schema a provider sent (or the schema cache holds) that plinth cannot read.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("unknown nesting mode {0}")]
    UnknownNestingMode(i32),
    #[error("unknown nesting mode {0:?}")]
    UnknownNestingName(String),
    #[error("invalid nesting mode")]
    InvalidNesting,
    #[error("block {0:?}: invalid nesting")]
    InvalidBlockNesting(String),
    #[error("attribute {name:?}: bad type: {reason}")]
    TypeJson {
        name: String,
        reason: serde_json::Error,
    },
    #[error("attribute {name:?}: {reason}")]
    AttributeType { name: String, reason: TypeError },
    #[error("an attribute has neither type nor nested_type")]
    Untyped,
    #[error(transparent)]
    Type(#[from] TypeError),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    pub attributes: BTreeMap<String, Attribute>,
    pub blocks: BTreeMap<String, NestedBlock>,
    pub description: String,
    pub markdown: bool,
    pub deprecated: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// The value's type (for nested attributes, the type they imply).
    pub ty: Type,
    /// Protocol 6 nested attributes, when the attribute has them instead of a type.
    pub nested: Option<NestedAttributes>,
    pub description: String,
    pub markdown: bool,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub deprecated: bool,
}

impl Attribute {
    /// A plain attribute of type `ty`: required, optional or computed as set after.
    pub fn new(ty: Type) -> Attribute {
        Attribute {
            ty,
            nested: None,
            description: String::new(),
            markdown: false,
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            deprecated: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NestedAttributes {
    pub attributes: BTreeMap<String, Attribute>,
    pub nesting: Nesting,
    pub min_items: i64,
    pub max_items: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    Group,
    List,
    Set,
    Map,
}

impl Nesting {
    pub fn name(self) -> &'static str {
        match self {
            Nesting::Single => "single",
            Nesting::Group => "group",
            Nesting::List => "list",
            Nesting::Set => "set",
            Nesting::Map => "map",
        }
    }

    /// The type of a nested block or attribute group holding objects of `inner`.
    pub fn wrap(self, inner: Type) -> Type {
        match self {
            Nesting::Single | Nesting::Group => inner,
            Nesting::List => Type::list(inner),
            Nesting::Set => Type::set(inner),
            Nesting::Map => Type::map(inner),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NestedBlock {
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

impl Block {
    /// The object type of a value under this block.
    pub fn implied_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|(k, a)| (k.clone(), a.ty.clone()))
            .collect();
        for (k, b) in &self.blocks {
            attrs.insert(k.clone(), b.nesting.wrap(b.block.implied_type()));
        }
        Type::Object(attrs)
    }

    /// The names a user may set in a block of this schema.
    pub fn argument_names(&self) -> Vec<&str> {
        self.attributes
            .iter()
            .filter(|(_, a)| a.required || a.optional)
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

/// Every schema a provider declares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderSchema {
    pub provider: Schema,
    pub resources: BTreeMap<String, Schema>,
    pub data_sources: BTreeMap<String, Schema>,
    /// The schema of a module's `provider_meta` block for this provider; `None` when
    /// the provider takes no such block.
    pub provider_meta: Option<Schema>,
}

// ---- protocol 6 ----

fn nesting6(n: i32) -> Result<Nesting, SchemaError> {
    use p6::schema::nested_block::NestingMode as M;
    Ok(
        match M::try_from(n).map_err(|_| SchemaError::UnknownNestingMode(n))? {
            M::Single => Nesting::Single,
            M::Group => Nesting::Group,
            M::List => Nesting::List,
            M::Set => Nesting::Set,
            M::Map => Nesting::Map,
            M::Invalid => return Err(SchemaError::InvalidNesting),
        },
    )
}

fn object_nesting6(n: i32) -> Result<Nesting, SchemaError> {
    use p6::schema::object::NestingMode as M;
    Ok(
        match M::try_from(n).map_err(|_| SchemaError::UnknownNestingMode(n))? {
            M::Single => Nesting::Single,
            M::List => Nesting::List,
            M::Set => Nesting::Set,
            M::Map => Nesting::Map,
            M::Invalid => return Err(SchemaError::InvalidNesting),
        },
    )
}

fn attribute6(a: &p6::schema::Attribute) -> Result<Attribute, SchemaError> {
    let nested = match &a.nested_type {
        Some(o) => Some(NestedAttributes {
            attributes: a_map6(&o.attributes)?,
            nesting: object_nesting6(o.nesting)?,
            min_items: o.min_items,
            max_items: o.max_items,
        }),
        None => None,
    };
    let ty = match &nested {
        Some(n) => n.nesting.wrap(Type::Object(
            n.attributes
                .iter()
                .map(|(k, a)| (k.clone(), a.ty.clone()))
                .collect(),
        )),
        None => {
            let j: J =
                serde_json::from_slice(&a.r#type).map_err(|reason| SchemaError::TypeJson {
                    name: a.name.clone(),
                    reason,
                })?;
            type_from_json(&j).map_err(|reason| SchemaError::AttributeType {
                name: a.name.clone(),
                reason,
            })?
        }
    };
    Ok(Attribute {
        ty,
        nested,
        description: a.description.clone(),
        markdown: a.description_kind == p6::StringKind::Markdown as i32,
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        deprecated: a.deprecated,
    })
}

fn a_map6(attrs: &[p6::schema::Attribute]) -> Result<BTreeMap<String, Attribute>, SchemaError> {
    attrs
        .iter()
        .map(|a| Ok((a.name.clone(), attribute6(a)?)))
        .collect()
}

fn block6(b: &p6::schema::Block) -> Result<Block, SchemaError> {
    Ok(Block {
        attributes: a_map6(&b.attributes)?,
        blocks: b
            .block_types
            .iter()
            .map(|nb| {
                Ok((
                    nb.type_name.clone(),
                    NestedBlock {
                        nesting: nesting6(nb.nesting)?,
                        block: nb
                            .block
                            .as_ref()
                            .map(block6)
                            .transpose()?
                            .unwrap_or_default(),
                        min_items: nb.min_items,
                        max_items: nb.max_items,
                    },
                ))
            })
            .collect::<Result<_, SchemaError>>()?,
        description: b.description.clone(),
        markdown: b.description_kind == p6::StringKind::Markdown as i32,
        deprecated: b.deprecated,
    })
}

impl Schema {
    pub fn from_proto6(s: &p6::Schema) -> Result<Schema, SchemaError> {
        Ok(Schema {
            version: s.version,
            block: s
                .block
                .as_ref()
                .map(block6)
                .transpose()?
                .unwrap_or_default(),
        })
    }

    pub fn from_proto5(s: &p5::Schema) -> Result<Schema, SchemaError> {
        Ok(Schema {
            version: s.version,
            block: s
                .block
                .as_ref()
                .map(block5)
                .transpose()?
                .unwrap_or_default(),
        })
    }

    pub fn to_proto6(&self) -> p6::Schema {
        p6::Schema {
            version: self.version,
            block: Some(self.block.to_proto6()),
        }
    }
}

fn kind6(markdown: bool) -> i32 {
    if markdown {
        p6::StringKind::Markdown as i32
    } else {
        p6::StringKind::Plain as i32
    }
}

impl Attribute {
    fn to_proto6(&self, name: &str) -> p6::schema::Attribute {
        use p6::schema::object::NestingMode as M;
        let nested_type = self.nested.as_ref().map(|n| p6::schema::Object {
            attributes: n.attributes.iter().map(|(k, a)| a.to_proto6(k)).collect(),
            nesting: match n.nesting {
                Nesting::Single | Nesting::Group => M::Single,
                Nesting::List => M::List,
                Nesting::Set => M::Set,
                Nesting::Map => M::Map,
            } as i32,
            min_items: n.min_items,
            max_items: n.max_items,
        });
        p6::schema::Attribute {
            name: name.to_string(),
            r#type: if nested_type.is_some() {
                Vec::new()
            } else {
                type_to_json(&self.ty).to_string().into_bytes()
            },
            nested_type,
            description: self.description.clone(),
            description_kind: kind6(self.markdown),
            required: self.required,
            optional: self.optional,
            computed: self.computed,
            sensitive: self.sensitive,
            deprecated: self.deprecated,
        }
    }
}

impl Block {
    pub fn to_proto6(&self) -> p6::schema::Block {
        use p6::schema::nested_block::NestingMode as M;
        p6::schema::Block {
            version: 0,
            attributes: self
                .attributes
                .iter()
                .map(|(k, a)| a.to_proto6(k))
                .collect(),
            block_types: self
                .blocks
                .iter()
                .map(|(k, b)| p6::schema::NestedBlock {
                    type_name: k.clone(),
                    block: Some(b.block.to_proto6()),
                    nesting: match b.nesting {
                        Nesting::Single => M::Single,
                        Nesting::Group => M::Group,
                        Nesting::List => M::List,
                        Nesting::Set => M::Set,
                        Nesting::Map => M::Map,
                    } as i32,
                    min_items: b.min_items,
                    max_items: b.max_items,
                })
                .collect(),
            description: self.description.clone(),
            description_kind: kind6(self.markdown),
            deprecated: self.deprecated,
        }
    }
}

// ---- protocol 5 ----

fn block5(b: &p5::schema::Block) -> Result<Block, SchemaError> {
    use p5::schema::nested_block::NestingMode as M;
    let attributes = b
        .attributes
        .iter()
        .map(|a| {
            let j: J =
                serde_json::from_slice(&a.r#type).map_err(|reason| SchemaError::TypeJson {
                    name: a.name.clone(),
                    reason,
                })?;
            let ty = type_from_json(&j).map_err(|reason| SchemaError::AttributeType {
                name: a.name.clone(),
                reason,
            })?;
            Ok((
                a.name.clone(),
                Attribute {
                    ty,
                    nested: None,
                    description: a.description.clone(),
                    markdown: a.description_kind == p5::StringKind::Markdown as i32,
                    required: a.required,
                    optional: a.optional,
                    computed: a.computed,
                    sensitive: a.sensitive,
                    deprecated: a.deprecated,
                },
            ))
        })
        .collect::<Result<_, SchemaError>>()?;
    let blocks = b
        .block_types
        .iter()
        .map(|nb| {
            let nesting = match M::try_from(nb.nesting)
                .map_err(|_| SchemaError::UnknownNestingMode(nb.nesting))?
            {
                M::Single => Nesting::Single,
                M::Group => Nesting::Group,
                M::List => Nesting::List,
                M::Set => Nesting::Set,
                M::Map => Nesting::Map,
                M::Invalid => return Err(SchemaError::InvalidBlockNesting(nb.type_name.clone())),
            };
            Ok((
                nb.type_name.clone(),
                NestedBlock {
                    nesting,
                    block: nb
                        .block
                        .as_ref()
                        .map(block5)
                        .transpose()?
                        .unwrap_or_default(),
                    min_items: nb.min_items,
                    max_items: nb.max_items,
                },
            ))
        })
        .collect::<Result<_, SchemaError>>()?;
    Ok(Block {
        attributes,
        blocks,
        description: b.description.clone(),
        markdown: b.description_kind == p5::StringKind::Markdown as i32,
        deprecated: b.deprecated,
    })
}

// ---- the JSON of `providers schema -json` ----

fn kind_name(markdown: bool) -> &'static str {
    if markdown {
        "markdown"
    } else {
        "plain"
    }
}

fn attribute_json(a: &Attribute) -> J {
    let mut o = serde_json::Map::new();
    match &a.nested {
        Some(n) => {
            let mut nested = serde_json::Map::new();
            nested.insert(
                "attributes".into(),
                J::Object(
                    n.attributes
                        .iter()
                        .map(|(k, a)| (k.clone(), attribute_json(a)))
                        .collect(),
                ),
            );
            nested.insert("nesting_mode".into(), json!(n.nesting.name()));
            if n.min_items > 0 {
                nested.insert("min_items".into(), json!(n.min_items));
            }
            if n.max_items > 0 {
                nested.insert("max_items".into(), json!(n.max_items));
            }
            o.insert("nested_type".into(), J::Object(nested));
        }
        None => {
            o.insert("type".into(), type_to_json(&a.ty));
        }
    }
    if !a.description.is_empty() {
        o.insert("description".into(), json!(a.description));
    }
    o.insert("description_kind".into(), json!(kind_name(a.markdown)));
    for (name, set) in [
        ("deprecated", a.deprecated),
        ("required", a.required),
        ("optional", a.optional),
        ("computed", a.computed),
        ("sensitive", a.sensitive),
    ] {
        if set {
            o.insert(name.into(), json!(true));
        }
    }
    J::Object(o)
}

impl Block {
    pub fn to_json(&self) -> J {
        let mut o = serde_json::Map::new();
        if !self.attributes.is_empty() {
            o.insert(
                "attributes".into(),
                J::Object(
                    self.attributes
                        .iter()
                        .map(|(k, a)| (k.clone(), attribute_json(a)))
                        .collect(),
                ),
            );
        }
        if !self.blocks.is_empty() {
            let blocks = self
                .blocks
                .iter()
                .map(|(k, b)| {
                    let mut bo = serde_json::Map::new();
                    bo.insert("nesting_mode".into(), json!(b.nesting.name()));
                    bo.insert("block".into(), b.block.to_json());
                    if b.min_items > 0 {
                        bo.insert("min_items".into(), json!(b.min_items));
                    }
                    if b.max_items > 0 {
                        bo.insert("max_items".into(), json!(b.max_items));
                    }
                    (k.clone(), J::Object(bo))
                })
                .collect();
            o.insert("block_types".into(), J::Object(blocks));
        }
        if !self.description.is_empty() {
            o.insert("description".into(), json!(self.description));
        }
        o.insert("description_kind".into(), json!(kind_name(self.markdown)));
        if self.deprecated {
            o.insert("deprecated".into(), json!(true));
        }
        J::Object(o)
    }
}

impl Schema {
    pub fn to_json(&self) -> J {
        json!({ "version": self.version, "block": self.block.to_json() })
    }
}

impl ProviderSchema {
    /// What plinth's schema cache keeps: [`ProviderSchema::to_json`] with the
    /// `provider_meta` schema, which Terraform's JSON leaves out.
    pub fn to_cache_json(&self) -> J {
        let mut j = self.to_json();
        if let (Some(meta), J::Object(o)) = (&self.provider_meta, &mut j) {
            o.insert("provider_meta".into(), meta.to_json());
        }
        j
    }

    /// One provider's entry under `provider_schemas` in `providers schema -json`.
    pub fn to_json(&self) -> J {
        let mut o = serde_json::Map::new();
        o.insert("provider".into(), self.provider.to_json());
        let map = |m: &BTreeMap<String, Schema>| -> J {
            J::Object(m.iter().map(|(k, s)| (k.clone(), s.to_json())).collect())
        };
        if !self.resources.is_empty() {
            o.insert("resource_schemas".into(), map(&self.resources));
        }
        if !self.data_sources.is_empty() {
            o.insert("data_source_schemas".into(), map(&self.data_sources));
        }
        J::Object(o)
    }

    pub fn from_proto6(
        r: &p6::get_provider_schema::Response,
    ) -> Result<ProviderSchema, SchemaError> {
        let map = |m: &std::collections::HashMap<String, p6::Schema>| {
            m.iter()
                .map(|(k, s)| Ok((k.clone(), Schema::from_proto6(s)?)))
                .collect::<Result<BTreeMap<_, _>, SchemaError>>()
        };
        Ok(ProviderSchema {
            provider: r
                .provider
                .as_ref()
                .map(Schema::from_proto6)
                .transpose()?
                .unwrap_or_default(),
            resources: map(&r.resource_schemas)?,
            data_sources: map(&r.data_source_schemas)?,
            provider_meta: r
                .provider_meta
                .as_ref()
                .map(Schema::from_proto6)
                .transpose()?,
        })
    }

    pub fn from_proto5(
        r: &p5::get_provider_schema::Response,
    ) -> Result<ProviderSchema, SchemaError> {
        let map = |m: &std::collections::HashMap<String, p5::Schema>| {
            m.iter()
                .map(|(k, s)| Ok((k.clone(), Schema::from_proto5(s)?)))
                .collect::<Result<BTreeMap<_, _>, SchemaError>>()
        };
        Ok(ProviderSchema {
            provider: r
                .provider
                .as_ref()
                .map(Schema::from_proto5)
                .transpose()?
                .unwrap_or_default(),
            resources: map(&r.resource_schemas)?,
            data_sources: map(&r.data_source_schemas)?,
            provider_meta: r
                .provider_meta
                .as_ref()
                .map(Schema::from_proto5)
                .transpose()?,
        })
    }
}

// ---- reading that JSON back (the engine's schema cache) ----

fn nesting_named(name: &str) -> Result<Nesting, SchemaError> {
    Ok(match name {
        "single" => Nesting::Single,
        "group" => Nesting::Group,
        "list" => Nesting::List,
        "set" => Nesting::Set,
        "map" => Nesting::Map,
        other => return Err(SchemaError::UnknownNestingName(other.to_string())),
    })
}

fn flag(j: &J, name: &str) -> bool {
    j.get(name).and_then(J::as_bool).unwrap_or(false)
}

fn text(j: &J, name: &str) -> String {
    j.get(name).and_then(J::as_str).unwrap_or("").to_string()
}

fn attribute_from_json(j: &J) -> Result<Attribute, SchemaError> {
    let nested = match j.get("nested_type") {
        Some(n) => Some(NestedAttributes {
            attributes: attributes_from_json(n.get("attributes"))?,
            nesting: nesting_named(n.get("nesting_mode").and_then(J::as_str).unwrap_or(""))?,
            min_items: n.get("min_items").and_then(J::as_i64).unwrap_or(0),
            max_items: n.get("max_items").and_then(J::as_i64).unwrap_or(0),
        }),
        None => None,
    };
    let ty = match (&nested, j.get("type")) {
        (Some(n), _) => n.nesting.wrap(Type::Object(
            n.attributes
                .iter()
                .map(|(k, a)| (k.clone(), a.ty.clone()))
                .collect(),
        )),
        (None, Some(t)) => type_from_json(t)?,
        (None, None) => return Err(SchemaError::Untyped),
    };
    Ok(Attribute {
        ty,
        nested,
        description: text(j, "description"),
        markdown: text(j, "description_kind") == "markdown",
        required: flag(j, "required"),
        optional: flag(j, "optional"),
        computed: flag(j, "computed"),
        sensitive: flag(j, "sensitive"),
        deprecated: flag(j, "deprecated"),
    })
}

fn attributes_from_json(j: Option<&J>) -> Result<BTreeMap<String, Attribute>, SchemaError> {
    match j.and_then(J::as_object) {
        Some(m) => m
            .iter()
            .map(|(k, a)| Ok((k.clone(), attribute_from_json(a)?)))
            .collect(),
        None => Ok(BTreeMap::new()),
    }
}

impl Block {
    pub fn from_json(j: &J) -> Result<Block, SchemaError> {
        let blocks = match j.get("block_types").and_then(J::as_object) {
            Some(m) => m
                .iter()
                .map(|(k, b)| {
                    Ok((
                        k.clone(),
                        NestedBlock {
                            nesting: nesting_named(
                                b.get("nesting_mode").and_then(J::as_str).unwrap_or(""),
                            )?,
                            block: b
                                .get("block")
                                .map(Block::from_json)
                                .transpose()?
                                .unwrap_or_default(),
                            min_items: b.get("min_items").and_then(J::as_i64).unwrap_or(0),
                            max_items: b.get("max_items").and_then(J::as_i64).unwrap_or(0),
                        },
                    ))
                })
                .collect::<Result<_, SchemaError>>()?,
            None => BTreeMap::new(),
        };
        Ok(Block {
            attributes: attributes_from_json(j.get("attributes"))?,
            blocks,
            description: text(j, "description"),
            markdown: text(j, "description_kind") == "markdown",
            deprecated: flag(j, "deprecated"),
        })
    }
}

impl Schema {
    pub fn from_json(j: &J) -> Result<Schema, SchemaError> {
        Ok(Schema {
            version: j.get("version").and_then(J::as_i64).unwrap_or(0),
            block: j
                .get("block")
                .map(Block::from_json)
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

impl ProviderSchema {
    /// Reads what [`ProviderSchema::to_json`] wrote.
    pub fn from_json(j: &J) -> Result<ProviderSchema, SchemaError> {
        let map = |name: &str| -> Result<BTreeMap<String, Schema>, SchemaError> {
            match j.get(name).and_then(J::as_object) {
                Some(m) => m
                    .iter()
                    .map(|(k, s)| Ok((k.clone(), Schema::from_json(s)?)))
                    .collect(),
                None => Ok(BTreeMap::new()),
            }
        };
        Ok(ProviderSchema {
            provider: j
                .get("provider")
                .map(Schema::from_json)
                .transpose()?
                .unwrap_or_default(),
            resources: map("resource_schemas")?,
            data_sources: map("data_source_schemas")?,
            provider_meta: j.get("provider_meta").map(Schema::from_json).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_schemas_say_why() {
        let attr = |ty: &[u8]| p6::schema::Attribute {
            name: "a".into(),
            r#type: ty.to_vec(),
            ..Default::default()
        };
        let block = |attributes, block_types| p6::Schema {
            block: Some(p6::schema::Block {
                attributes,
                block_types,
                ..Default::default()
            }),
            ..Default::default()
        };
        let err = |s: p6::Schema| Schema::from_proto6(&s).unwrap_err().to_string();
        assert_eq!(
            err(block(vec![attr(b"\"strin\"")], vec![])),
            "attribute \"a\": \"strin\" is not a type"
        );
        assert!(err(block(vec![attr(b"{")], vec![])).starts_with("attribute \"a\": bad type: "));
        let nested = |nesting| p6::schema::NestedBlock {
            type_name: "b".into(),
            nesting,
            ..Default::default()
        };
        assert_eq!(
            err(block(vec![], vec![nested(99)])),
            "unknown nesting mode 99"
        );
        assert_eq!(err(block(vec![], vec![nested(0)])), "invalid nesting mode");
        let v5 = p5::Schema {
            block: Some(p5::schema::Block {
                block_types: vec![p5::schema::NestedBlock {
                    type_name: "b".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            Schema::from_proto5(&v5).unwrap_err().to_string(),
            "block \"b\": invalid nesting"
        );
        let json = |j: J| Block::from_json(&j).unwrap_err().to_string();
        assert_eq!(
            json(json!({"block_types": {"b": {"nesting_mode": "bag"}}})),
            "unknown nesting mode \"bag\""
        );
        assert_eq!(
            json(json!({"attributes": {"a": {}}})),
            "an attribute has neither type nor nested_type"
        );
        assert_eq!(
            json(json!({"attributes": {"a": {"type": 7}}})),
            "7 is not a type"
        );
    }
}
