//! The backend contract as the embedded backend keeps it: one lock holder, a second
//! locker refused with the holder's record, writes only through the guard.

use std::time::Duration;

use plinth_state::{Backend, Commit, LockError, LockRequest, ResourceState, SledBackend};

fn request(operation: &str) -> LockRequest {
    LockRequest {
        operation: operation.into(),
        timeout: Duration::ZERO,
    }
}

fn resource(address: &str) -> ResourceState {
    ResourceState {
        address: address.into(),
        provider: "provider[\"registry.terraform.io/hashicorp/test\"]".into(),
        schema_version: 0,
        attributes: serde_json::json!({ "id": address }),
        sensitive_paths: Vec::new(),
        private: Vec::new(),
        dependencies: Vec::new(),
        create_before_destroy: false,
        tainted: false,
    }
}

#[test]
fn the_sled_backend_has_one_lock_holder_and_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = SledBackend::new(&dir.path().join("default"));
    assert_eq!(backend.read().expect("read").serial, 0);
    let held = backend.lock(&request("apply")).expect("lock");
    assert!(held.took_over().is_none());
    assert!(!held.exists());
    assert_eq!(backend.holder().as_ref(), Some(held.info()));
    match backend.lock(&request("state rm")) {
        Err(LockError::Held { info }) => assert_eq!(&info, held.info()),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("a second lock was granted"),
    }
    let store = held.open().expect("open");
    store
        .commit(Commit {
            put: vec![resource("test_thing.a")],
            ..Commit::default()
        })
        .expect("commit");
    drop(store);
    drop(held);
    assert!(backend.holder().is_none());
    let state = backend.read().expect("read");
    assert_eq!(state.serial, 1);
    assert!(state.resources.contains_key("test_thing.a"));
    assert_eq!(backend.history().expect("history").len(), 1);
    assert!(backend.snapshot_at(0).expect("at 0").resources.is_empty());
    let again = backend.lock(&request("apply")).expect("lock again");
    assert!(again.exists());
    assert_eq!(again.read().expect("read locked").serial, 1);
}
