//! The sled store and the stack lock, against real files and real processes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use plinth_state::lock::{LockError, StackLock};
use plinth_state::{
    Commit, GroupCommit, Intent, IntentAction, OutputState, ResourceState, SledStore, StateError,
    StateStore,
};

fn resource(address: &str, n: i64) -> ResourceState {
    ResourceState {
        address: address.to_string(),
        provider: "provider[\"terraform.io/builtin/terraform\"]".into(),
        schema_version: 0,
        attributes: serde_json::json!({ "id": address, "input": n }),
        sensitive_paths: vec![],
        private: vec![],
        dependencies: vec![],
        create_before_destroy: false,
        tainted: false,
    }
}

fn put(rs: Vec<ResourceState>) -> Commit {
    Commit {
        put: rs,
        ..Commit::default()
    }
}

#[test]
fn commits_bump_the_serial_and_keep_the_lineage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("open");
    let (lineage, serial) = store.position().expect("position");
    assert_eq!(serial, 0);
    assert_eq!(lineage.len(), 36);
    assert_eq!(
        store.commit(put(vec![resource("a.x", 1)])).expect("commit"),
        1
    );
    assert_eq!(
        store.commit(Commit::default()).expect("empty commit"),
        1,
        "an empty commit changes nothing"
    );
    assert_eq!(
        store.commit(put(vec![resource("a.y", 2)])).expect("commit"),
        2
    );
    drop(store);
    let store = SledStore::open(dir.path()).expect("reopen");
    let s = store.snapshot().expect("snapshot");
    assert_eq!((s.lineage, s.serial), (lineage, 2));
    assert_eq!(s.resources.keys().collect::<Vec<_>>(), ["a.x", "a.y"]);
}

#[test]
fn concurrent_commits_share_rounds_and_each_is_durable_on_return() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = GroupCommit::new(SledStore::open(dir.path()).expect("open"));
    let threads: usize = 32;
    let per_thread: usize = 20;
    std::thread::scope(|s| {
        for t in 0..threads {
            let store = &store;
            s.spawn(move || {
                for i in 0..per_thread {
                    let address = format!("a.r[{}]", t * per_thread + i);
                    let serial = store
                        .commit(put(vec![resource(&address, i as i64)]))
                        .expect("commit");
                    // Once commit returns, the change is in the store at that serial.
                    let at = store.snapshot_at(serial).expect("snapshot at");
                    assert!(
                        at.resources.contains_key(&address),
                        "{address} missing at {serial}"
                    );
                }
            });
        }
    });
    let s = store.snapshot().expect("snapshot");
    assert_eq!(s.resources.len(), threads * per_thread);
    assert!(
        s.serial < (threads * per_thread) as u64,
        "no commits were merged: {} serials for {} changes",
        s.serial,
        threads * per_thread
    );
    assert_eq!(store.history().expect("history").len() as u64, s.serial);
}

#[test]
fn renames_removals_intents_and_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("open");
    let intent = Intent {
        id: "i1".into(),
        address: "a.x".into(),
        action: IntentAction::Create,
        started: 1,
        pid: 7,
    };
    store
        .commit(Commit {
            begin_intents: vec![intent.clone()],
            ..Commit::default()
        })
        .expect("intent");
    assert_eq!(store.snapshot().expect("s").intents["i1"], intent);
    store
        .commit(Commit {
            put: vec![resource("a.x", 1)],
            end_intents: vec!["i1".into()],
            ..Commit::default()
        })
        .expect("result");
    store
        .commit(Commit {
            rename: vec![("a.x".into(), "a.renamed".into())],
            ..Commit::default()
        })
        .expect("rename");
    let outputs: BTreeMap<String, OutputState> = [(
        "o".to_string(),
        OutputState {
            value: serde_json::json!("v"),
            sensitive: true,
        },
    )]
    .into();
    store
        .commit(Commit {
            outputs: Some(outputs.clone()),
            put: vec![resource("a.z", 3)],
            ..Commit::default()
        })
        .expect("outputs");
    store
        .commit(Commit {
            remove: vec!["a.z".into()],
            ..Commit::default()
        })
        .expect("remove");
    let s = store.snapshot().expect("snapshot");
    assert!(s.intents.is_empty());
    assert_eq!(s.resources.keys().collect::<Vec<_>>(), ["a.renamed"]);
    assert_eq!(s.resources["a.renamed"].address, "a.renamed");
    assert_eq!(s.outputs, outputs);
}

#[test]
fn every_serial_can_be_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("open");
    store.commit(put(vec![resource("a.x", 1)])).expect("1");
    store
        .commit(put(vec![resource("a.x", 2), resource("a.y", 1)]))
        .expect("2");
    store
        .commit(Commit {
            remove: vec!["a.x".into()],
            ..Commit::default()
        })
        .expect("3");
    let history = store.history().expect("history");
    assert_eq!(
        history.iter().map(|h| h.serial).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let at1 = store.snapshot_at(1).expect("serial 1");
    assert_eq!(at1.resources["a.x"].attributes["input"], 1);
    let at2 = store.snapshot_at(2).expect("serial 2");
    assert_eq!(at2.resources["a.x"].attributes["input"], 2);
    assert_eq!(at2.resources.len(), 2);
    let at3 = store.snapshot_at(3).expect("serial 3");
    assert_eq!(at3.resources, store.snapshot().expect("now").resources);
    assert!(matches!(
        store.snapshot_at(4),
        Err(StateError::NoSuchSerial(4))
    ));
}

#[test]
fn readers_see_the_published_state_while_a_writer_holds_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = SledStore::open(dir.path()).expect("open");
    writer
        .commit(put(vec![resource("a.x", 1)]))
        .expect("commit");
    // A second open is refused (sled's own OS lock) ...
    assert!(matches!(
        SledStore::open(dir.path()),
        Err(StateError::Busy(_))
    ));
    // ... but reading works, from the published snapshot.
    let read = SledStore::read(dir.path()).expect("read");
    assert_eq!(read.resources.keys().collect::<Vec<_>>(), ["a.x"]);
    assert_eq!(read.serial, 1);
    // Every commit is visible to readers as soon as it returns, not half a second on.
    for n in 2..=20i64 {
        writer
            .commit(put(vec![resource(&format!("a.y{n}"), n)]))
            .expect("commit");
        let read = SledStore::read(dir.path()).expect("read");
        assert_eq!(read.serial as i64, n);
        assert_eq!(read, writer.snapshot().expect("snapshot"));
    }
}

#[test]
fn a_second_writer_is_refused_naming_the_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let held = StackLock::acquire(dir.path(), "apply", Duration::ZERO).expect("first");
    assert!(held.took_over.is_none());
    match StackLock::acquire(dir.path(), "plan", Duration::from_millis(300)) {
        Err(LockError::Held { info }) => {
            assert_eq!(info, held.info);
            let message = LockError::Held { info: info.clone() }.to_string();
            assert!(message.contains("apply by "), "{message}");
            assert!(
                message.contains(&format!("plinth force-unlock {}", info.id)),
                "{message}"
            );
        }
        other => panic!(
            "expected the lock to be held, got {:?}",
            other.map(|l| l.info.clone())
        ),
    }
    assert_eq!(StackLock::holder(dir.path()), Some(held.info.clone()));
    drop(held);
    assert_eq!(StackLock::holder(dir.path()), None);
    let again = StackLock::acquire(dir.path(), "apply", Duration::ZERO).expect("free again");
    assert!(
        again.took_over.is_none(),
        "a cleanly released lock is not stale"
    );
}

/// Child mode for the tests below: hold the lock and/or commit resources, printing
/// each committed address only after `commit` returned.
fn child_main() -> bool {
    let Ok(dir) = std::env::var("PLINTH_STATE_TEST_CHILD") else {
        return false;
    };
    let dir = std::path::PathBuf::from(dir);
    let _lock = StackLock::acquire(&dir, "apply", Duration::from_secs(30)).expect("child lock");
    let store = SledStore::open(&dir.join("store")).expect("child open");
    println!("ready");
    let start: usize = std::env::var("PLINTH_STATE_TEST_START")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    for i in start.. {
        let address = format!("plinth_data.r[{i}]");
        store
            .commit(put(vec![resource(&address, i as i64)]))
            .expect("child commit");
        println!("{address}");
    }
    true
}

#[test]
fn child_process_entry() {
    // Runs the child role when re-executed by the kill tests; a no-op otherwise.
    if child_main() {
        std::process::exit(0);
    }
}

#[test]
fn nothing_committed_is_lost_when_the_writer_is_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut reported: Vec<String> = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..20 {
        let mut child = Command::new(&exe)
            .args([
                "child_process_entry",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("PLINTH_STATE_TEST_CHILD", dir.path())
            .env(
                "PLINTH_STATE_TEST_START",
                (reported.len() * 1000 + round * 100_000).to_string(),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut ready = false;
        for line in lines.by_ref() {
            if line.expect("line").trim_end().ends_with("ready") {
                ready = true;
                break;
            }
        }
        assert!(ready, "child never became ready");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wanted = 1 + (seed % 40) as usize;
        for _ in 0..wanted {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("plinth_data") => reported.push(line),
                _ => break,
            }
        }
        child.kill().expect("SIGKILL");
        // Lines the child printed before it died were committed too.
        for line in lines.map_while(Result::ok) {
            if line.starts_with("plinth_data") {
                reported.push(line);
            }
        }
        let _ = child.wait();

        let lock = StackLock::acquire(dir.path(), "check", Duration::from_secs(5))
            .expect("stale lock is taken over");
        let stale = lock
            .took_over
            .clone()
            .expect("the killed child's lock record was found");
        assert_eq!(stale.operation, "apply");
        let store =
            SledStore::open(&dir.path().join("store")).expect("the store opens after a kill");
        let snapshot = store.snapshot().expect("snapshot");
        for address in &reported {
            assert!(
                snapshot.resources.contains_key(address),
                "round {round}: {address} was committed but is lost"
            );
        }
        assert_eq!(
            snapshot.serial as usize,
            snapshot.resources.len(),
            "one serial per committed resource"
        );
    }
    assert!(reported.len() >= 20);
}
