//! Listing what exists, for `plinth drift --unmanaged` (plinth's `Inventory` service).
//!
//! A provider that implements [`crate::Provider::list`] answers with the objects it can
//! see that the request does not say are managed, each with what an `import` block and
//! a `resource` block need. Terraform and OpenTofu never ask.

use std::collections::{BTreeMap, BTreeSet};

/// What plinth asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListRequest {
    /// The types wanted; empty for every type the provider lists.
    pub type_names: Vec<String>,
    /// Only objects carrying each of these tags (labels, for Kubernetes).
    pub tags: BTreeMap<String, String>,
    /// The objects state already holds: (type name, `id`).
    pub managed: BTreeSet<(String, String)>,
}

impl ListRequest {
    /// Whether objects of `type_name` are wanted.
    pub fn wants(&self, type_name: &str) -> bool {
        self.type_names.is_empty() || self.type_names.iter().any(|t| t == type_name)
    }

    /// Whether state holds the object of `type_name` whose `id` is `id`.
    pub fn is_managed(&self, type_name: &str, id: &str) -> bool {
        self.managed
            .contains(&(type_name.to_string(), id.to_string()))
    }

    /// The ids state holds for objects of `type_name`.
    pub fn managed_ids<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.managed
            .iter()
            .filter(move |(t, _)| t == type_name)
            .map(|(_, id)| id.as_str())
    }

    /// Whether `tags` carry every tag the request filters by.
    pub fn tags_match(&self, tags: &BTreeMap<String, String>) -> bool {
        self.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
    }

    /// Keeps `object` in `out` when it is wanted, not managed and its tags match.
    pub fn keep(&self, object: Listed, out: &mut Vec<Listed>) {
        if self.wants(&object.type_name)
            && !self.is_managed(&object.type_name, &object.id)
            && self.tags_match(&object.tags)
        {
            out.push(object);
        }
    }
}

/// One object no state holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub type_name: String,
    /// The `id` state would hold once imported.
    pub id: String,
    /// The id the type's import takes.
    pub import_id: String,
    /// A suggested resource name (plinth makes it a unique identifier).
    pub name: String,
    pub tags: BTreeMap<String, String>,
    /// The `resource` block's arguments: with them, the plan after import is a no-op.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// A note for whoever pastes the block (a placeholder to fill in), or empty.
    pub note: String,
}

impl Listed {
    pub fn new(type_name: &str, id: &str, name: &str) -> Listed {
        Listed {
            type_name: type_name.to_string(),
            id: id.to_string(),
            import_id: id.to_string(),
            name: name.to_string(),
            tags: BTreeMap::new(),
            config: serde_json::Map::new(),
            note: String::new(),
        }
    }

    /// Sets the import id, when it differs from `id`.
    pub fn import_id(mut self, import_id: &str) -> Listed {
        self.import_id = import_id.to_string();
        self
    }

    pub fn tags(mut self, tags: BTreeMap<String, String>) -> Listed {
        self.tags = tags;
        self
    }

    /// Sets one argument of the `resource` block.
    pub fn arg(mut self, name: &str, value: impl Into<serde_json::Value>) -> Listed {
        self.config.insert(name.to_string(), value.into());
        self
    }

    pub fn note(mut self, note: &str) -> Listed {
        self.note = note.to_string();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_drops_managed_unwanted_and_untagged_objects() {
        let request = ListRequest {
            type_names: vec!["aws_vpc".into()],
            tags: BTreeMap::from([("team".into(), "a".into())]),
            managed: BTreeSet::from([("aws_vpc".into(), "vpc-1".into())]),
        };
        let tagged = BTreeMap::from([("team".to_string(), "a".to_string())]);
        let mut out = Vec::new();
        request.keep(
            Listed::new("aws_vpc", "vpc-1", "a").tags(tagged.clone()),
            &mut out,
        );
        request.keep(
            Listed::new("aws_subnet", "subnet-1", "b").tags(tagged.clone()),
            &mut out,
        );
        request.keep(Listed::new("aws_vpc", "vpc-2", "c"), &mut out);
        request.keep(Listed::new("aws_vpc", "vpc-3", "d").tags(tagged), &mut out);
        let ids: Vec<&str> = out.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["vpc-3"]);
    }
}
