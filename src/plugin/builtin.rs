//! The built-in `plinth` provider: `plinth_data` (also `terraform_data`), with
//! Terraform's `terraform_data` semantics. `input` is stored and copied to `output`;
//! a change to `triggers_replace` replaces the instance; `id` is set on creation.

use std::collections::BTreeMap;

use super::{ApplyRequest, BoxFuture, ObjectState, PlanRequest, PlannedState, Provider};
use crate::diag::Diagnostics;
use crate::lang::{Type, Value};

pub const PROVIDER_ADDRESS: &str = "provider[\"terraform.io/builtin/terraform\"]";

pub fn is_builtin(type_name: &str) -> bool {
    matches!(type_name, "plinth_data" | "terraform_data")
}

/// The built-in provider. Its objects live only in state, so reading one returns
/// it unchanged and deleting one forgets it.
pub struct Builtin;

impl Provider for Builtin {
    fn read<'a>(
        &'a self,
        _type_name: &'a str,
        current: &'a Value,
        _private: &'a [u8],
        _provider_meta: Option<&'a Value>,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
        Box::pin(async move {
            Ok(ObjectState {
                value: Some(current.clone()),
                private: Vec::new(),
            })
        })
    }

    fn plan<'a>(
        &'a self,
        request: PlanRequest<'a>,
    ) -> BoxFuture<'a, Result<PlannedState, Diagnostics>> {
        Box::pin(async move { Ok(plan(request.prior, request.config)) })
    }

    fn apply<'a>(
        &'a self,
        request: ApplyRequest<'a>,
    ) -> BoxFuture<'a, Result<ObjectState, Diagnostics>> {
        Box::pin(async move {
            Ok(ObjectState {
                value: request.planned.map(apply),
                private: Vec::new(),
            })
        })
    }
}

fn attr(v: &Value, name: &str) -> Value {
    match v.peel().0 {
        Value::Object(m) => m.get(name).cloned().unwrap_or_else(Value::null),
        _ => Value::null(),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    a.is_wholly_known()
        && b.is_wholly_known()
        && a.clone()
            .deep_unmark()
            .strict_equal(&b.clone().deep_unmark())
}

/// Plans `config` against `prior` (none when the instance is new).
fn plan(prior: Option<&Value>, config: &Value) -> PlannedState {
    let input = attr(config, "input");
    let triggers = attr(config, "triggers_replace");
    let output = if input.is_wholly_known() {
        input.clone()
    } else {
        Value::unknown()
    };
    let fresh = |input: Value, triggers: Value, output: Value| {
        Value::Object(BTreeMap::from([
            ("id".to_string(), Value::Unknown(Type::String)),
            ("input".to_string(), input),
            ("output".to_string(), output),
            ("triggers_replace".to_string(), triggers),
        ]))
    };
    let Some(prior) = prior else {
        return PlannedState {
            planned: fresh(input, triggers, output),
            requires_replace: Vec::new(),
            private: Vec::new(),
            warnings: Default::default(),
        };
    };
    if !same(&attr(prior, "triggers_replace"), &triggers) {
        return PlannedState {
            planned: fresh(input, triggers, output),
            requires_replace: vec!["triggers_replace".to_string()],
            private: Vec::new(),
            warnings: Default::default(),
        };
    }
    if same(&attr(prior, "input"), &input) {
        return PlannedState {
            planned: prior.clone(),
            requires_replace: Vec::new(),
            private: Vec::new(),
            warnings: Default::default(),
        };
    }
    let after = Value::Object(BTreeMap::from([
        ("id".to_string(), attr(prior, "id")),
        ("input".to_string(), input),
        ("output".to_string(), output),
        ("triggers_replace".to_string(), triggers),
    ]));
    PlannedState {
        planned: after,
        requires_replace: Vec::new(),
        private: Vec::new(),
        warnings: Default::default(),
    }
}

/// Carries out a planned change, returning the new state.
fn apply(planned: &Value) -> Value {
    let Value::Object(mut m) = planned.clone().deep_unmark() else {
        return planned.clone();
    };
    if !m.get("id").is_some_and(Value::is_known) {
        m.insert("id".to_string(), Value::String(plinth_state::random_id()));
    }
    let input = m.get("input").cloned().unwrap_or_else(Value::null);
    m.insert("output".to_string(), input);
    Value::Object(m)
}
