//! Waiting on objects the cluster's controllers act on: a rollout finished, a field
//! reached a value, a condition holds.

use std::time::Duration;

use plinth_provider_sdk::shape::wait_for;
use plinth_provider_sdk::{Diagnostic, Result};
use serde_json::Value as J;

use crate::client::{describe, Kind, Shared};
use crate::json::at_path;

fn int(j: &J, path: &str) -> Option<i64> {
    at_path(j, path).and_then(J::as_i64)
}

/// Whether the object's rollout is done, by its status: a Deployment's or
/// StatefulSet's replicas all updated and available (ready), a DaemonSet's pods
/// ready on every node it schedules to. `None` for kinds without a rollout.
pub fn rolled_out(kind: &str, o: &J) -> Option<bool> {
    let wanted = int(o, "spec.replicas").unwrap_or(1);
    let observed = match (
        int(o, "metadata.generation"),
        int(o, "status.observedGeneration"),
    ) {
        (Some(g), Some(seen)) => seen >= g,
        _ => true,
    };
    let at_least = |path: &str| int(o, path).unwrap_or(0) >= wanted;
    let updated = |path: &str| int(o, path).is_none_or(|n| n >= wanted);
    match kind {
        "Deployment" => Some(
            observed && at_least("status.availableReplicas") && updated("status.updatedReplicas"),
        ),
        "StatefulSet" => {
            Some(observed && at_least("status.readyReplicas") && updated("status.updatedReplicas"))
        }
        "DaemonSet" => {
            let desired = int(o, "status.desiredNumberScheduled");
            Some(
                observed && desired.is_some_and(|d| int(o, "status.numberReady").unwrap_or(0) >= d),
            )
        }
        _ => None,
    }
}

/// Polls the object until `done` says so, up to `limit`; the object is returned.
pub fn until(
    kube: &Shared,
    kind: &Kind,
    namespace: Option<&str>,
    name: &str,
    what: &str,
    limit: Duration,
    done: impl Fn(&J) -> bool,
) -> Result<J> {
    let object = describe(kind, namespace, name);
    wait_for(&format!("{object} {what}"), limit, || {
        let Some(now) = kube.get(kind, namespace, name)? else {
            return Err(vec![Diagnostic::error(
                "Object deleted",
                format!("{object} was deleted while plinth waited for it."),
            )]);
        };
        Ok(done(&now).then_some(now))
    })
}

/// Waits for the rollout of a Deployment, StatefulSet or DaemonSet.
pub fn rollout(
    kube: &Shared,
    kind: &Kind,
    namespace: Option<&str>,
    name: &str,
    limit: Duration,
) -> Result<J> {
    until(kube, kind, namespace, name, "to roll out", limit, |o| {
        rolled_out(&kind.kind, o).unwrap_or(true)
    })
}

/// Waits until the named object is gone (deleted, its finalizers done).
pub fn gone(
    kube: &Shared,
    kind: &Kind,
    namespace: Option<&str>,
    name: &str,
    limit: Duration,
) -> Result<()> {
    let what = describe(kind, namespace, name);
    wait_for(&format!("{what} to be deleted"), limit, || {
        Ok(kube.get(kind, namespace, name)?.is_none().then_some(()))
    })
}

/// Whether the object reports condition `ty` with `status` (`"True"`).
pub fn has_condition(o: &J, ty: &str, status: &str) -> bool {
    at_path(o, "status.conditions")
        .and_then(J::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(J::as_str) == Some(ty)
                    && c.get("status").and_then(J::as_str) == Some(status)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployments_are_rolled_out_when_every_replica_is_available() {
        let d = |status: J| json!({"spec": {"replicas": 2}, "status": status});
        assert_eq!(rolled_out("Deployment", &d(json!({}))), Some(false));
        assert_eq!(
            rolled_out("Deployment", &d(json!({"availableReplicas": 1}))),
            Some(false)
        );
        assert_eq!(
            rolled_out("Deployment", &d(json!({"availableReplicas": 2}))),
            Some(true)
        );
        assert_eq!(
            rolled_out(
                "Deployment",
                &d(json!({"availableReplicas": 2, "updatedReplicas": 1}))
            ),
            Some(false)
        );
        assert_eq!(rolled_out("ConfigMap", &json!({})), None);
    }
}
