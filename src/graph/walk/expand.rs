//! Expanding `count` and `for_each` into instances.

use std::collections::BTreeMap;

use super::scope::{InstanceScope, Repetition};
use super::Walk;
use crate::addrs::{BlockName, InstanceKey};
use crate::config::{Expr, ModuleId};
use crate::diag::Diagnostic;
use crate::lang::convert::convert;
use crate::lang::{Constraint, Type, Value};

/// The most instances one resource or module call may expand to: far above any real
/// stack, low enough that a typo such as `count = 1e9` fails at once.
pub const MAX_INSTANCES: i64 = 100_000;

/// How many instances a resource or module call has.
#[derive(Clone, Debug, PartialEq)]
pub enum Expansion {
    Single,
    Count(usize),
    ForEach(BTreeMap<String, Value>),
    /// `count` or `for_each` is not known until apply.
    Unknown,
}

impl Expansion {
    /// Each instance's key with its `count.index` or `each` values.
    pub(super) fn instances(&self) -> Vec<(InstanceKey, Repetition)> {
        match self {
            Expansion::Single => vec![(InstanceKey::None, Repetition::None)],
            Expansion::Count(n) => (0..*n)
                .map(|i| (InstanceKey::Int(i), Repetition::Count(Value::number(i))))
                .collect(),
            Expansion::ForEach(m) => m
                .iter()
                .map(|(k, v)| {
                    (
                        InstanceKey::Str(k.clone()),
                        Repetition::Each(Value::string(k.clone()), v.clone()),
                    )
                })
                .collect(),
            Expansion::Unknown => vec![(InstanceKey::Unknown, Repetition::Unknown)],
        }
    }

    /// The value a reference to the whole resource or call has, from one instance's.
    pub(super) fn shape(&self, instance: impl Fn(&InstanceKey) -> Value) -> Value {
        match self {
            Expansion::Single => instance(&InstanceKey::None),
            Expansion::Count(n) => {
                Value::Tuple((0..*n).map(|i| instance(&InstanceKey::Int(i))).collect())
            }
            Expansion::ForEach(m) => Value::Object(
                m.keys()
                    .map(|k| (k.clone(), instance(&InstanceKey::Str(k.clone()))))
                    .collect(),
            ),
            Expansion::Unknown => Value::unknown(),
        }
    }
}

impl Walk<'_> {
    /// When planning or applying, an expansion only apply could tell is an error for
    /// a block the handler works on: planning nothing for it would make its existing
    /// instances look removed. `prefix` + `local` is the block's address.
    pub(super) fn require_known(
        &self,
        expansion: Expansion,
        count: Option<&Expr>,
        for_each: Option<&Expr>,
        module: ModuleId,
        block: &BlockName,
    ) -> Result<Expansion, Diagnostic> {
        let wanted = self
            .handler
            .as_ref()
            .is_some_and(|h| h.wants(module, &self.config.modules[module].path, block));
        if expansion != Expansion::Unknown || !wanted {
            return Ok(expansion);
        }
        let (what, e) = match (count, for_each) {
            (Some(e), _) => ("count", e),
            (_, Some(e)) => ("for_each", e),
            _ => return Ok(expansion),
        };
        Err(Diagnostic::error(format!("Invalid {what} argument"))
            .detail(format!(
                "The \"{what}\" value depends on values that cannot be determined until apply, so plinth cannot predict how many instances will be created."
            ))
            .at_opt(e.span())
            .help("Apply the resources it depends on first with --target, or compute it from values known before apply."))
    }

    /// How many instances a block has: `count` or `for_each` evaluated and checked. In
    /// a validate walk a repeated block is one instance of unknown key, as in
    /// Terraform's validate, whatever the value.
    pub(super) fn expand(
        &self,
        count: Option<&Expr>,
        for_each: Option<&Expr>,
        scope: &InstanceScope,
    ) -> Result<Expansion, Diagnostic> {
        let expansion = self.evaluate_expansion(count, for_each, scope)?;
        Ok(match expansion {
            Expansion::Single => Expansion::Single,
            _ if self.options.validate => Expansion::Unknown,
            other => other,
        })
    }

    fn evaluate_expansion(
        &self,
        count: Option<&Expr>,
        for_each: Option<&Expr>,
        scope: &InstanceScope,
    ) -> Result<Expansion, Diagnostic> {
        if let Some(e) = count {
            let v = self.eval(e, scope)?;
            let bad = |detail: &str| {
                Diagnostic::error("Invalid count argument")
                    .detail(detail.to_string())
                    .at_opt(e.span())
            };
            if v.is_sensitive() {
                return Err(bad("Sensitive values, or values derived from sensitive values, cannot be used as count arguments."));
            }
            if v.is_null() {
                return Err(bad(
                    "The given \"count\" argument value is null. An integer is required.",
                ));
            }
            if !v.is_known() {
                return Ok(Expansion::Unknown);
            }
            let n = convert(v, &Constraint::Number).map_err(|err| {
                bad(&format!(
                    "The given \"count\" argument value is unsuitable: {err}."
                ))
            })?;
            let n = n.as_number().and_then(|n| n.to_i64()).ok_or_else(|| {
                bad("The given \"count\" argument value is unsuitable: must be a whole number.")
            })?;
            if n < 0 {
                return Err(bad("The given \"count\" argument value is unsuitable: must be greater than or equal to zero."));
            }
            if n > MAX_INSTANCES {
                return Err(bad(&format!(
                    "The given \"count\" argument value is unsuitable: {n} instances of one block is more than plinth's limit of {MAX_INSTANCES}."
                )));
            }
            return Ok(Expansion::Count(n as usize));
        }
        let Some(e) = for_each else {
            return Ok(Expansion::Single);
        };
        let v = self.eval(e, scope)?;
        let bad = |detail: String| {
            Diagnostic::error("Invalid for_each argument")
                .detail(detail)
                .at_opt(e.span())
        };
        if v.contains_sensitive() {
            return Err(bad("Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments.".into()));
        }
        if v.is_null() {
            return Err(bad("The given \"for_each\" argument value is unsuitable: the given \"for_each\" argument value is null. A map, or set of strings is allowed.".into()));
        }
        match v {
            Value::Unknown(_) => Ok(Expansion::Unknown),
            Value::Map(_, m) | Value::Object(m) => Ok(Expansion::ForEach(m)),
            Value::Set(t, elems) => {
                if !matches!(t, Type::String | Type::Dynamic) {
                    return Err(bad(format!("The given \"for_each\" argument value is unsuitable: \"for_each\" supports maps and sets of strings, but you have provided a set containing type {}.", t.friendly_name())));
                }
                let mut map = BTreeMap::new();
                for el in elems {
                    match el {
                        Value::String(s) => {
                            map.insert(s.clone(), Value::String(s));
                        }
                        Value::Unknown(_) => return Ok(Expansion::Unknown),
                        _ => return Err(bad("The given \"for_each\" argument value is unsuitable: \"for_each\" sets must not contain null values.".into())),
                    }
                }
                Ok(Expansion::ForEach(map))
            }
            other => Err(bad(format!(
                "The given \"for_each\" argument value is unsuitable: the \"for_each\" argument must be a map, or set of strings, and you have provided a value of type {}.",
                other.ty().friendly_name()
            ))
            .help("Convert a list of strings with toset(), or build a map with a for expression.")),
        }
    }
}
