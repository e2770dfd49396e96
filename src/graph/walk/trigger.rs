//! `replace_triggered_by`: resolving each entry to the instance (or attribute) it names.

use super::scope::InstanceScope;
use super::Walk;
use crate::addrs::{self, InstanceKey, ModuleInstance};
use crate::config::Expr;
use crate::diag::{Diagnostic, Span};
use crate::graph::undeclared;
use crate::lang::refs::{ResourceMode, Subject};
use crate::lang::{Evaluator, Value};

/// One `replace_triggered_by` entry of an instance, resolved: the instance it names
/// and, when it names an attribute, which. A change to that instance (or attribute)
/// replaces this one.
#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    /// The whole resource (`aws_instance.x`, every instance) or one instance.
    pub target: addrs::Target,
    pub attribute: Option<String>,
}

impl Walk<'_> {
    /// Reads a `replace_triggered_by` entry: a reference to a managed resource, one of
    /// its instances (the key may use `count.index` or `each.key`), or an attribute.
    pub(super) fn trigger(
        &self,
        e: &Expr,
        scope: &InstanceScope,
        inst: &ModuleInstance,
    ) -> Result<Trigger, Diagnostic> {
        use hcl_edit::expr::{Expression, TraversalOperator};
        use hcl_edit::Span as _;
        let invalid = || {
            Diagnostic::error("Invalid replace_triggered_by expression")
                .detail("replace_triggered_by entries must be references to managed resources, their instances, or their attributes.")
                .at_opt(e.expr.span().map(|r| Span::new(e.file, r)))
        };
        let (root, ops) = match &e.expr {
            Expression::Traversal(t) => match &t.expr {
                Expression::Variable(v) => (v, t.operators.as_slice()),
                _ => return Err(invalid()),
            },
            _ => return Err(invalid()),
        };
        let root_span = root
            .span()
            .map(|r| Span::new(e.file, r))
            .ok_or_else(invalid)?;
        let reference = crate::lang::refs::parse_reference(root.as_str(), root_span, ops, e.file)?;
        if let Some(d) = undeclared(self.config, scope.module, &reference) {
            return Err(d);
        }
        let Subject::Resource {
            mode: ResourceMode::Managed,
            type_name,
            name,
        } = &reference.subject
        else {
            return Err(invalid());
        };
        let resource = addrs::Resource::managed(type_name, name).in_module(inst);
        let mut rest = &ops[reference.ops_consumed..];
        let key = match rest.first().map(|op| op.value()) {
            Some(TraversalOperator::Index(ix)) => {
                rest = &rest[1..];
                Some(Evaluator::new(e.file, &self.sources.get(e.file).text, scope).eval(ix)?)
            }
            Some(TraversalOperator::LegacyIndex(n)) => {
                rest = &rest[1..];
                Some(Value::number(*n.value() as usize))
            }
            _ => None,
        };
        let target = match key.map(|k| k.peel().0.clone()) {
            Some(Value::Number(n)) => {
                let i = n.to_i64().and_then(|i| usize::try_from(i).ok());
                addrs::Target::Instance(resource.instance(InstanceKey::Int(i.ok_or_else(invalid)?)))
            }
            Some(Value::String(k)) => {
                addrs::Target::Instance(resource.instance(InstanceKey::Str(k)))
            }
            // `validate` leaves `count.index` and `each.key` unknown: the entry stands
            // for the whole resource until plan knows the instance.
            Some(Value::Unknown(_)) | None => addrs::Target::Resource(resource),
            Some(_) => return Err(invalid()),
        };
        let attribute = match rest.first().map(|op| op.value()) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str().to_string()),
            _ => None,
        };
        Ok(Trigger { target, attribute })
    }
}
