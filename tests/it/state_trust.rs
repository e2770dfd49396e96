//! The state as unattended runs need it: readers never make a writer fail and see
//! every commit; a store that cannot be read whole is refused by every command (and
//! recovered by `plinth state recover`), never taken as empty; plinth never writes
//! through a link under `.plinth/`; workspace names cannot leave `.plinth/`; a saved
//! plan is exactly what apply does; calls left in flight are settled by the next run
//! that takes the lock.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{main_tf, plinth, Run};

const FIVE: &str = r#"
variable "round" {
  type    = number
  default = 0
}
resource "plinth_data" "r" {
  count = 5
  input = "${var.round}-${count.index}"
}
output "round" {
  value = var.round
}
"#;

fn ok(run: Run) -> Run {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

/// Every file under `.plinth/` and the SHA-256 of its content (of its target's
/// name for a link).
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    use common::sha256_hex as hash;
    fn walk(p: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            let kind = e.file_type().expect("file type");
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).expect("link");
                out.insert(path, hash(target.as_os_str().as_encoded_bytes()));
            } else if kind.is_dir() {
                walk(&path, out);
            } else {
                out.insert(path.clone(), hash(&std::fs::read(&path).expect("read")));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&dir.join(".plinth"), &mut out);
    out
}

fn store(d: &Path) -> PathBuf {
    d.join(".plinth/workspaces/default/store")
}

fn state_list(d: &Path) -> Vec<String> {
    ok(plinth(d, &["state", "list"]))
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs each command and asserts it fails with `message`, changing nothing.
fn refused_by_every_command(d: &Path, message: &str) {
    let before = tree(d);
    for args in [
        &["state", "list"][..],
        &["state", "show", "plinth_data.r[0]"],
        &["state", "pull"],
        &["output"],
        &["console"],
        &["plan"],
        &["plan", "--refresh=false"],
        &["apply", "--auto-approve"],
        &["destroy", "--auto-approve"],
        &["state", "rm", "plinth_data.r[0]"],
    ] {
        let run = plinth(d, args);
        assert_eq!(
            run.code, 1,
            "{args:?} did not refuse the damaged state:\n{}{}",
            run.stdout, run.stderr
        );
        assert!(
            run.stderr.contains(message),
            "{args:?}: expected {message:?} in:\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("plinth state recover"),
            "{args:?} does not say how to recover:\n{}",
            run.stderr
        );
        assert!(
            !run.stdout.contains("to add") && !run.stdout.contains("No changes"),
            "{args:?} planned against a damaged state:\n{}",
            run.stdout
        );
        assert_eq!(before, tree(d), "{args:?} changed .plinth/");
    }
}

#[test]
fn a_missing_database_is_refused_and_recovered_from_the_copy() {
    let dir = main_tf(FIVE);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    let history = ok(plinth(d, &["state", "history"])).stdout;
    std::fs::remove_dir_all(store(d).join("db")).expect("remove db");
    refused_by_every_command(d, "the state database");
    let recovered = ok(plinth(d, &["state", "recover"]));
    assert!(
        recovered
            .stdout
            .contains("Rebuilt the state database from its published copy"),
        "{}",
        recovered.stdout
    );
    assert_eq!(state_list(d).len(), 5);
    let plan = plinth(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    // The history came back too.
    assert_eq!(ok(plinth(d, &["state", "history"])).stdout, history);
}

#[test]
fn a_missing_published_copy_is_refused_and_published_again() {
    let dir = main_tf(FIVE);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    std::fs::remove_file(store(d).join("snapshot")).expect("remove snapshot");
    refused_by_every_command(d, "is missing");
    let recovered = ok(plinth(d, &["state", "recover"]));
    assert!(
        recovered
            .stdout
            .contains("Published the state again from its database"),
        "{}",
        recovered.stdout
    );
    assert_eq!(state_list(d).len(), 5);
    assert_eq!(plinth(d, &["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn an_edited_copy_is_refused_by_readers_and_writers() {
    let dir = main_tf(FIVE);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    ok(plinth(d, &["apply", "--auto-approve", "--var", "round=1"]));
    let snapshot = store(d).join("snapshot");
    let text = std::fs::read_to_string(&snapshot).expect("snapshot");
    let (header, body) = text.split_once('\n').expect("header");
    // Valid JSON, same serial, one resource gone: the checksum no longer matches.
    let mut state: serde_json::Value = serde_json::from_str(body).expect("json");
    state["resources"]
        .as_object_mut()
        .expect("resources")
        .remove("plinth_data.r[0]");
    let edited = serde_json::to_string(&state).expect("json");
    std::fs::write(&snapshot, format!("{header}\n{edited}")).expect("write");
    refused_by_every_command(d, "damaged");

    // With its checksum made again the copy reads, but no writer acts on it: the
    // database disagrees.
    let sum = common::sha256_hex(edited.as_bytes());
    let offset = header.rsplit("journal=").next().expect("offset");
    std::fs::write(
        &snapshot,
        format!("plinth-snapshot 1 sha256={sum} journal={offset}\n{edited}"),
    )
    .expect("write");
    let before = tree(d);
    let apply = plinth(d, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}{}", apply.stdout, apply.stderr);
    assert!(
        apply.stderr.contains("disagree at serial"),
        "{}",
        apply.stderr
    );
    assert!(!apply.stdout.contains("Apply complete"), "{}", apply.stdout);
    let published = |t: &BTreeMap<PathBuf, String>| -> Vec<String> {
        t.iter()
            .filter(|(p, _)| !p.to_string_lossy().contains("/db/"))
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(published(&before), published(&tree(d)));
    // The database is whole: recover publishes it again, and all 5 are back.
    ok(plinth(d, &["state", "recover", "--from", "database"]));
    assert_eq!(state_list(d).len(), 5);
    assert_eq!(
        plinth(d, &["plan", "--detailed-exitcode", "--var", "round=1"]).code,
        0
    );
}

#[test]
fn a_damaged_journal_is_refused() {
    let dir = main_tf(FIVE);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    ok(plinth(d, &["apply", "--auto-approve", "--var", "round=1"]));
    let journal = store(d).join("journal");
    let text = std::fs::read_to_string(&journal).expect("journal");
    // An edited line in the history: the current state still reads (from the
    // snapshot), but the history does not, and no writer acts on the store.
    std::fs::write(&journal, text.replacen("0-3", "0-9", 1)).expect("write");
    let before = tree(d);
    assert_eq!(state_list(d).len(), 5);
    for args in [
        &["state", "history"][..],
        &["apply", "--auto-approve"],
        &["destroy", "--auto-approve"],
        &["state", "rm", "plinth_data.r[0]"],
    ] {
        let run = plinth(d, args);
        assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("damaged"), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("plinth state recover"),
            "{}",
            run.stderr
        );
    }
    let published = |t: &BTreeMap<PathBuf, String>| -> Vec<String> {
        t.iter()
            .filter(|(p, _)| !p.to_string_lossy().contains("/db/"))
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(published(&before), published(&tree(d)));
    // A journal cut short of what the snapshot says.
    std::fs::write(&journal, "").expect("truncate");
    refused_by_every_command(d, "truncated");
}

#[test]
fn a_corrupt_database_is_refused_by_every_command() {
    let dir = main_tf(FIVE);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    let db = store(d).join("db").join("db");
    let len = std::fs::metadata(&db).expect("db").len() as usize;
    std::fs::write(&db, vec![0x5a; len]).expect("overwrite");
    // Readers check the database too while no writer holds it: a plan never says
    // "No changes" over a database a writer would refuse.
    refused_by_every_command(d, "the state cannot be read whole");
    // The published copy is intact: recover rebuilds the database from it.
    ok(plinth(d, &["state", "recover"]));
    assert_eq!(state_list(d).len(), 5);
    assert_eq!(plinth(d, &["apply", "--auto-approve"]).code, 0);
}

#[test]
fn plinth_never_writes_through_a_link_under_dot_plinth() {
    let dir = main_tf(FIVE);
    let d = dir.path();
    let outside = tempfile::tempdir().expect("tempdir");
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious").expect("victim");

    // A link where the lock file goes.
    let wdir = d.join(".plinth/workspaces/default");
    std::fs::create_dir_all(&wdir).expect("mkdir");
    std::os::unix::fs::symlink(&victim, wdir.join("lock")).expect("symlink");
    let run = plinth(d, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious"
    );
    std::fs::remove_file(wdir.join("lock")).expect("rm");

    // A link in place of the store's snapshot.
    ok(plinth(d, &["apply", "--auto-approve"]));
    let snapshot = store(d).join("snapshot");
    std::fs::remove_file(&snapshot).expect("rm");
    std::os::unix::fs::symlink(&victim, &snapshot).expect("symlink");
    for args in [
        &["apply", "--auto-approve", "--var", "round=2"][..],
        &["state", "list"],
    ] {
        let run = plinth(d, args);
        assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "precious"
    );

    // A workspace directory that is a link to somewhere else.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(elsewhere.path(), d.join(".plinth/workspaces/dev")).expect("ln");
    let run = plinth_in_workspace(d, "dev", &["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).expect("dir").count(),
        0,
        "plinth wrote through the link"
    );
}

fn plinth_in_workspace(d: &Path, workspace: &str, args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", d.to_str().expect("path"), "--no-color"])
        .args(args)
        .env("PLINTH_WORKSPACE", workspace)
        .output()
        .expect("run");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn workspace_names_cannot_leave_dot_plinth() {
    let dir = main_tf(FIVE);
    let d = dir.path();
    for name in ["../../x", "a/b", "..", "sp ace"] {
        let run = plinth_in_workspace(d, name, &["apply", "--auto-approve"]);
        assert_eq!(run.code, 1, "{name}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("is not allowed") && run.stderr.contains("PLINTH_WORKSPACE"),
            "{name}: {}",
            run.stderr
        );
        let run = plinth(d, &["workspace", "new", name]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(run.stderr.contains("is not allowed"), "{}", run.stderr);
    }
    std::fs::create_dir_all(d.join(".plinth")).expect("mkdir");
    std::fs::write(d.join(".plinth/environment"), "../../escaped").expect("write");
    let run = plinth(d, &["state", "list"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(".plinth/environment"), "{}", run.stderr);
    let run = plinth(d, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!d.join("escaped").exists() && !d.parent().expect("parent").join("escaped").exists());
    assert!(!d.join(".plinth/workspaces").exists(), "state was written");
}

/// Readers in tight loops beside 100 applies: no apply fails, no reader fails, and
/// a reader after an apply returns sees what it committed.
#[test]
fn readers_in_tight_loops_never_make_a_writer_fail() {
    let dir = main_tf(FIVE);
    let d = dir.path().to_path_buf();
    ok(plinth(&d, &["plan", "--out", "p.plan"]));
    let stop = Arc::new(AtomicBool::new(false));
    const READS: [&[&str]; 8] = [
        &["state", "list"],
        &["state", "pull"],
        &["output", "--json"],
        &["state", "show", "plinth_data.r[2]"],
        &["plan", "--refresh=false"],
        &["show", "p.plan"],
        &["workspace", "show"],
        &["state", "history"],
    ];
    // Three readers, each going round every read-only command without a pause.
    let readers: Vec<_> = (0..3)
        .map(|first| {
            let (d, stop) = (d.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut runs = 0;
                let mut last_serial = 0;
                while !stop.load(Ordering::SeqCst) {
                    let args = READS[(first + runs) % READS.len()];
                    let run = plinth(&d, args);
                    // Before the first apply there is no instance to show.
                    let first_show =
                        args[..2] == ["state", "show"] && run.stderr.contains("no instance");
                    assert!(
                        run.code == 0 || first_show,
                        "reader {args:?} failed: {}",
                        run.stderr
                    );
                    if args == ["state", "pull"] {
                        let s: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
                        let serial = s["serial"].as_u64().expect("serial");
                        assert!(serial >= last_serial, "a reader went back in time");
                        last_serial = serial;
                    }
                    runs += 1;
                }
                runs
            })
        })
        .collect();
    let mut failures = Vec::new();
    // 40 applies, each racing every reader (100 took 70 s, with the readers keeping
    // CI's two cores busy the whole time).
    for round in 1..=40 {
        let var = format!("round={round}");
        let run = plinth(&d, &["apply", "--auto-approve", "--var", &var]);
        if run.code != 0 {
            failures.push(format!("round {round}: {}", run.stderr));
            continue;
        }
        // What the apply committed is what the next reader sees.
        let out = ok(plinth(&d, &["output", "round", "--raw"]));
        assert_eq!(out.stdout, round.to_string());
    }
    stop.store(true, Ordering::SeqCst);
    let runs: usize = readers
        .into_iter()
        .map(|r| r.join().expect("a reader failed"))
        .sum();
    assert!(
        failures.is_empty(),
        "{} applies failed: {failures:?}",
        failures.len()
    );
    assert!(runs >= 100, "the readers ran only {runs} times");
}

#[test]
fn a_reader_before_the_first_apply_sees_an_empty_state() {
    let dir = main_tf(FIVE);
    let d = dir.path();
    assert_eq!(ok(plinth(d, &["state", "list"])).stdout, "");
    assert_eq!(ok(plinth(d, &["output", "--json"])).stdout.trim(), "{}");
    assert!(!d.join(".plinth").exists(), "a reader wrote .plinth/");
}

#[test]
fn a_saved_plan_is_exactly_what_apply_does() {
    let dir = main_tf(FIVE);
    let d = dir.path();
    ok(plinth(d, &["plan", "--out", "p.plan", "--var", "round=1"]));
    let text = std::fs::read_to_string(d.join("p.plan")).expect("plan");

    // An edited variable: the file is damaged.
    let edited = text.replace("\"value\": 1", "\"value\": 7");
    assert_ne!(edited, text, "the plan file holds the variable");
    std::fs::write(d.join("edited.plan"), &edited).expect("write");
    let run = plinth(d, &["apply", "edited.plan"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("is damaged"), "{}", run.stderr);
    assert!(!d.join(".plinth").exists(), "a refused plan wrote state");

    // Edited with its checksum made again: planning again with the edited value
    // gives other values than the plan shows, and that is named.
    let (_, body) = edited.split_once('\n').expect("header");
    std::fs::write(d.join("resigned.plan"), common::signed_plan(body)).expect("w");
    let run = plinth(d, &["apply", "resigned.plan"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("planning again now gives different changes")
            && run.stderr.contains("plinth_data.r["),
        "{}",
        run.stderr
    );
    assert!(!store(d).exists(), "a refused plan wrote state");

    // The same configuration in another, empty stack directory: refused.
    let other = main_tf(FIVE);
    std::fs::copy(d.join("p.plan"), other.path().join("p.plan")).expect("copy");
    let run = plinth(other.path(), &["apply", "p.plan"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("the plan was made for the stack at"),
        "{}",
        run.stderr
    );
    assert!(!other.path().join(".plinth").exists());

    // A truncated file is damaged.
    std::fs::write(d.join("short.plan"), &text[..text.len() / 2]).expect("write");
    let run = plinth(d, &["apply", "short.plan"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("is damaged"), "{}", run.stderr);

    // The real one applies, and does what show printed.
    let shown = ok(plinth(d, &["show", "p.plan"])).stdout;
    assert!(shown.contains("\"1-4\""), "{shown}");
    ok(plinth(d, &["apply", "p.plan"]));
    assert!(ok(plinth(d, &["state", "show", "plinth_data.r[4]"]))
        .stdout
        .contains("1-4"));
}

#[test]
fn a_run_with_nothing_to_change_settles_calls_left_in_flight() {
    let dir = main_tf(FIVE);
    let d = dir.path();
    ok(plinth(d, &["apply", "--auto-approve"]));
    // What a killed plinth leaves: an intent for a call whose result was never saved.
    {
        let store = plinth_state::SledStore::open(&store(d)).expect("open");
        use plinth_state::StateStore;
        store
            .commit(plinth_state::Commit {
                begin_intents: vec![plinth_state::Intent {
                    id: "killed-1".into(),
                    address: "plinth_data.r[3]".into(),
                    action: plinth_state::IntentAction::Update,
                    started: 0,
                    pid: 999_999,
                }],
                ..Default::default()
            })
            .expect("commit");
    }
    let run = ok(plinth(d, &["apply", "--auto-approve"]));
    assert!(
        run.stdout
            .contains("Resolved the Update of plinth_data.r[3]")
            || run
                .stderr
                .contains("Resolved the Update of plinth_data.r[3]"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let pulled: serde_json::Value =
        serde_json::from_str(&ok(plinth(d, &["state", "pull"])).stdout).expect("json");
    assert_eq!(
        pulled["intents"],
        serde_json::json!({}),
        "the intent stayed open"
    );
    assert_eq!(pulled["resources"].as_object().expect("resources").len(), 5);
}
