//! The default plan a resource gets unless it plans itself.

use crate::{Object, PlanRequest, Planned, Resource, Schema, Value};

fn same(a: &Value, b: &Value) -> bool {
    a.is_wholly_known() && b.is_wholly_known() && a.strict_equal(b)
}

/// Nothing changes when the proposed state equals the prior one. Otherwise: the
/// proposed state with the resource's defaults filled in where the configuration is
/// silent; on creation, computed attributes still unset become unknown (the provider
/// sets them on apply); on update they keep their prior values (the proposed state
/// carries them); a change to an attribute the resource is replaced on asks for
/// replacement.
pub fn default_plan<R: Resource + ?Sized>(
    resource: &R,
    schema: &Schema,
    request: PlanRequest,
) -> Planned {
    let mut state: Object = request.proposed.clone();
    for (name, value) in resource.defaults() {
        if request.config.is_null(name) && state.is_null(name) {
            state.set(name, value);
        }
    }
    let Some(prior) = request.prior else {
        for (name, a) in &schema.block.attributes {
            if a.computed && request.config.is_null(name) && state.is_null(name) {
                state.set(name, Value::Unknown(a.ty.clone()));
            }
        }
        return Planned {
            state,
            requires_replace: Vec::new(),
        };
    };
    if same(&state.clone().into_value(), &prior.clone().into_value()) {
        return Planned {
            state: prior.clone(),
            requires_replace: Vec::new(),
        };
    }
    let requires_replace = resource
        .replaced_on()
        .into_iter()
        .filter(|a| !same(&state.get(a), &prior.get(a)))
        .map(str::to_string)
        .collect();
    Planned {
        state,
        requires_replace,
    }
}
