//! Kill safety: `plinth apply` of 1,000 plinth_data resources is killed with SIGKILL at
//! random moments, 20 times. After each kill the state opens, every instance the
//! engine reported created is in it, pending intents name only the call that was in
//! flight, the next apply takes over the stale lock, and the last apply converges
//! with no duplicates.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{main_tf, plinth};

/// `plinth apply --auto-approve [extra]` in `d`, its output piped for reading.
fn spawn_apply(d: &std::path::Path, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args([
            "-C",
            d.to_str().expect("path"),
            "--no-color",
            "apply",
            "--auto-approve",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn apply")
}

/// The index in `plinth_data.r[7]`.
fn index_of(addr: &str) -> i64 {
    addr.trim_start_matches("plinth_data.r[")
        .trim_end_matches(']')
        .parse()
        .expect("index")
}

const ROUNDS: &str = r#"
variable "round" {
  type = number
}
resource "plinth_data" "r" {
  count = 1000
  input = "${var.round}-${count.index}"
}
"#;

/// Every round changes all 1,000 instances (created in the first, updated after),
/// so every kill lands in the middle of an apply.
#[test]
fn apply_survives_sigkill_at_random_moments() {
    let dir = main_tf(ROUNDS);
    let d = dir.path();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.as_nanos() as u64)
        .unwrap_or(7)
        | 1;
    eprintln!("seed {seed}");
    let mut expect_takeover = false;
    let mut observed = 0;
    for round in 0..20 {
        let var = format!("round={round}");
        let mut child = spawn_apply(d, &["--var", &var]);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = 1 + (seed % 40) as usize;
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        // Calls started and not reported finished: many can be in flight at once.
        let mut in_flight: HashSet<String> = HashSet::new();
        let mut done: HashSet<String> = HashSet::new();
        let record = |line: &str, in_flight: &mut HashSet<String>, done: &mut HashSet<String>| {
            if let Some(addr) = line
                .strip_suffix(": Creating...")
                .or_else(|| line.strip_suffix(": Modifying..."))
            {
                in_flight.insert(addr.to_string());
            } else if let Some((addr, _)) = line
                .split_once(": Creation complete")
                .or_else(|| line.split_once(": Modifications complete"))
            {
                done.insert(addr.to_string());
                in_flight.remove(addr);
                return true;
            }
            false
        };
        for line in lines.by_ref() {
            let line = line.expect("line");
            if record(&line, &mut in_flight, &mut done) && done.len() >= kill_after {
                break;
            }
        }
        child.kill().expect("SIGKILL");
        for line in lines.map_while(Result::ok) {
            record(&line, &mut in_flight, &mut done);
        }
        let output = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            None,
            "round {round}: apply finished before it was killed:\n{stderr}"
        );
        assert!(done.len() < 1000, "round {round}: every change finished");
        if expect_takeover {
            assert!(
                stderr.contains("Took over a stale lock"),
                "round {round}: stale lock not taken over:\n{stderr}"
            );
        }
        expect_takeover = true;
        observed += done.len();

        let pulled = plinth(d, &["state", "pull"]);
        assert_eq!(
            pulled.code, 0,
            "round {round}: the state does not open after a kill: {}",
            pulled.stderr
        );
        let state: serde_json::Value = serde_json::from_str(&pulled.stdout).expect("state json");
        let resources = state["resources"].as_object().expect("resources");
        let holds_this_round = |addr: &str| {
            resources.get(addr).is_some_and(|r| {
                r["attributes"]["input"] == format!("{round}-{}", index_of(addr)).as_str()
            })
        };
        for addr in &done {
            assert!(
                holds_this_round(addr),
                "round {round}: {addr} was reported changed but state does not hold the change"
            );
        }
        let intents = state["intents"].as_object().expect("intents");
        for intent in intents.values() {
            let addr = intent["address"].as_str().unwrap_or("");
            assert!(
                in_flight.contains(addr),
                "round {round}: intent for {addr} was not in flight"
            );
            assert!(
                !holds_this_round(addr),
                "round {round}: {addr} has both a result and a pending intent"
            );
        }
    }
    assert!(observed >= 20, "too few changes observed: {observed}");

    let last = plinth(d, &["apply", "--auto-approve", "--var", "round=100"]);
    assert_eq!(last.code, 0, "{}", last.stderr);
    assert!(
        last.stderr.contains("Took over a stale lock"),
        "{}",
        last.stderr
    );
    let state: serde_json::Value =
        serde_json::from_str(&plinth(d, &["state", "pull"]).stdout).expect("json");
    let resources = state["resources"].as_object().expect("resources");
    assert_eq!(resources.len(), 1000);
    let ids: HashSet<&str> = resources
        .values()
        .filter_map(|r| r["attributes"]["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 1000, "duplicate ids");
    for (addr, r) in resources {
        assert_eq!(
            r["attributes"]["input"],
            format!("100-{}", index_of(addr)).as_str(),
            "{addr} holds the wrong input"
        );
    }
    assert!(
        state["intents"].as_object().expect("intents").is_empty(),
        "stale intents were not closed"
    );
    let plan = plinth(d, &["plan", "--detailed-exitcode", "--var", "round=100"]);
    assert_eq!(plan.code, 0, "not converged:\n{}", plan.stdout);
}

#[test]
fn ctrl_c_lets_in_flight_work_finish_saves_and_releases_the_lock() {
    let dir =
        main_tf("resource \"plinth_data\" \"r\" {\n  count = 5000\n  input = count.index\n}\n");
    let d = dir.path();
    // Without a cap every call would be in flight at once, and all would finish.
    let mut child = spawn_apply(d, &["--parallelism", "8"]);
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut created = HashSet::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some((addr, _)) = line.split_once(": Creation complete") {
            created.insert(addr.to_string());
            if created.len() == 50 {
                break;
            }
        }
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill")
        .success());
    for line in lines.map_while(Result::ok) {
        if let Some((addr, _)) = line.split_once(": Creation complete") {
            created.insert(addr.to_string());
        }
    }
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Interrupted: the changes in flight finished and were saved"),
        "{stderr}"
    );

    let state: serde_json::Value =
        serde_json::from_str(&plinth(d, &["state", "pull"]).stdout).expect("json");
    let resources = state["resources"].as_object().expect("resources");
    assert!(
        resources.len() < 5000,
        "the interrupt did not stop the apply"
    );
    assert_eq!(
        resources.len(),
        created.len(),
        "state and reported creations differ"
    );
    assert!(
        state["intents"].as_object().expect("intents").is_empty(),
        "an interrupted apply left intents"
    );
    let again = plinth(d, &["apply", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        !again.stderr.contains("stale lock"),
        "the lock was not released: {}",
        again.stderr
    );
}
