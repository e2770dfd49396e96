//! Kill safety: plinth is killed with SIGKILL at random moments while it changes
//! 1,000 plinth_data resources: while it updates them, destroys them, deletes them as
//! orphans and replaces them. After each kill the state opens, every instance the
//! engine reported finished holds its result, pending intents name only calls that
//! were in flight, the intents an earlier kill left are closed, and the next run
//! takes over the stale lock; the last run converges with no duplicates and no
//! intents left. `PLINTH_KILL_SEED` replays a seed a failure printed.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{main_tf, plinth, Run};
use serde_json::{Map, Value};

/// `plinth ARGS` in `d`, its output piped for reading.
fn spawn(d: &Path, args: &[&str]) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .args(["-C", d.to_str().expect("path"), "--no-color"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn plinth");
    // A destroy of 1,000 prints its lines in half a second: with the default 64 KiB
    // pipe it could be done before a reader starved of CPU read the line to kill at.
    #[cfg(target_os = "linux")]
    if let Some(stdout) = &child.stdout {
        use std::os::fd::AsRawFd;
        // SAFETY: F_SETPIPE_SZ only resizes the buffer of a pipe this process owns.
        unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    }
    child
}

/// The index in `plinth_data.r[7]`.
fn index_of(addr: &str) -> i64 {
    addr.trim_start_matches("plinth_data.r[")
        .trim_end_matches(']')
        .parse()
        .expect("index")
}

/// The round and index an instance's input `"3-7"` holds.
fn input_of(resource: &Value) -> (i64, i64) {
    let input = resource["attributes"]["input"].as_str().expect("input");
    let (round, index) = input.split_once('-').expect("round-index");
    (round.parse().expect("round"), index.parse().expect("index"))
}

/// 1,000 instances (`var.n`) whose input names the round. `EXTRA` marks where a
/// test adds arguments to the resource.
const ROUNDS: &str = r#"
variable "round" {
  type    = number
  default = 0
}
variable "n" {
  type    = number
  default = 1000
}
resource "plinth_data" "r" {
  count = var.n
  input = "${var.round}-${count.index}"
  # EXTRA
}
"#;

/// The progress lines of a call starting, and of a call finished.
const STARTED: [&str; 4] = [
    ": Creating...",
    ": Modifying...",
    ": Replacing...",
    ": Destroying...",
];
const FINISHED: [&str; 4] = [
    ": Creation complete",
    ": Modifications complete",
    ": Replacement complete",
    ": Destruction complete",
];

/// `plinth state pull`, which must succeed.
fn pull(d: &Path, context: &str) -> Value {
    let pulled = plinth(d, &["state", "pull"]);
    assert_eq!(
        pulled.code, 0,
        "{context}: the state does not open: {}",
        pulled.stderr
    );
    serde_json::from_str(&pulled.stdout).expect("state json")
}

fn resources(state: &Value) -> &Map<String, Value> {
    state["resources"].as_object().expect("resources")
}

fn intents(state: &Value) -> &Map<String, Value> {
    state["intents"].as_object().expect("intents")
}

/// What a killed run reported, and the state it left.
struct Killed {
    /// Calls reported finished.
    done: HashSet<String>,
    state: Value,
}

impl Killed {
    fn resources(&self) -> &Map<String, Value> {
        resources(&self.state)
    }

    fn intent_addresses(&self) -> impl Iterator<Item = &str> {
        intents(&self.state)
            .values()
            .map(|i| i["address"].as_str().unwrap_or(""))
    }
}

/// Kills runs of plinth in one stack at random moments, and checks what must hold
/// after any kill.
struct Killer<'d> {
    dir: &'d Path,
    seed: u64,
    /// The ids of the intents the last kill left: the next run must close them.
    left_open: HashSet<String>,
    /// Whether the last run was killed, so the next must take over its lock.
    killed: bool,
}

impl<'d> Killer<'d> {
    fn new(dir: &'d Path) -> Killer<'d> {
        let seed = std::env::var("PLINTH_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|t| t.as_nanos() as u64)
                    .unwrap_or(7)
            })
            | 1;
        eprintln!("seed {seed}");
        Killer {
            dir,
            seed,
            left_open: HashSet::new(),
            killed: false,
        }
    }

    fn next(&mut self) -> u64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    /// Runs `plinth ARGS` and SIGKILLs it once 1 to 40 calls were reported finished.
    /// Checks that it was killed, took over the lock a kill before left, that the
    /// state opens, that the intents left name calls in flight and that those an
    /// earlier kill left are closed.
    fn kill(&mut self, round: usize, args: &[&str]) -> Killed {
        let kill_after = 1 + (self.next() % 40) as usize;
        let mut child = spawn(self.dir, args);
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        // Calls started and not reported finished: many can be in flight at once.
        let mut in_flight = HashSet::new();
        let mut done = HashSet::new();
        let record = |line: &str, in_flight: &mut HashSet<String>, done: &mut HashSet<String>| {
            if let Some(addr) = STARTED.iter().find_map(|s| line.strip_suffix(s)) {
                in_flight.insert(addr.to_string());
            } else if let Some((addr, _)) = FINISHED.iter().find_map(|s| line.split_once(s)) {
                in_flight.remove(addr);
                done.insert(addr.to_string());
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
            "round {round}: plinth finished before it was killed:\n{stderr}"
        );
        self.check_took_over(&format!("round {round}"), &stderr);
        self.killed = true;

        let state = pull(self.dir, &format!("round {round}, after a kill"));
        self.check_closed(&format!("round {round}"), &state);
        for intent in intents(&state).values() {
            let addr = intent["address"].as_str().unwrap_or("");
            assert!(
                in_flight.contains(addr),
                "round {round}: intent for {addr} was not in flight"
            );
        }
        self.left_open = intents(&state).keys().cloned().collect();
        Killed { done, state }
    }

    /// Runs `plinth ARGS` to the end after a kill, and returns the state it left,
    /// with every intent closed.
    fn finish(&mut self, args: &[&str]) -> (Run, Value) {
        let run = plinth(self.dir, args);
        assert_eq!(run.code, 0, "{args:?}:\n{}\n{}", run.stdout, run.stderr);
        self.check_took_over(&format!("{args:?}"), &run.stderr);
        self.killed = false;
        let state = pull(self.dir, &format!("after {args:?}"));
        assert!(
            intents(&state).is_empty(),
            "{args:?} left intents open: {:?}",
            intents(&state)
        );
        self.left_open.clear();
        (run, state)
    }

    fn check_took_over(&self, context: &str, stderr: &str) {
        if self.killed {
            assert!(
                stderr.contains("Took over a stale lock"),
                "{context}: stale lock not taken over:\n{stderr}"
            );
        }
    }

    fn check_closed(&self, context: &str, state: &Value) {
        for id in &self.left_open {
            assert!(
                !intents(state).contains_key(id),
                "{context}: the intent {id} a kill left stayed open through the next run"
            );
        }
    }
}

/// The state holds `count` instances, each with the input `round-index` and its own
/// id, and planning `vars` again changes nothing.
fn assert_converged(d: &Path, state: &Value, count: usize, round: i64, vars: &[&str]) {
    let resources = resources(state);
    assert_eq!(resources.len(), count, "instances in state");
    let ids: HashSet<&str> = resources
        .values()
        .filter_map(|r| r["attributes"]["id"].as_str())
        .collect();
    assert_eq!(ids.len(), count, "duplicate ids");
    for (addr, r) in resources {
        assert_eq!(
            input_of(r),
            (round, index_of(addr)),
            "{addr} holds the wrong input"
        );
    }
    let plan = plinth(
        d,
        &[&["plan", "--detailed-exitcode"], vars].concat::<&str>(),
    );
    assert_eq!(
        plan.code, 0,
        "not converged:\n{}{}",
        plan.stdout, plan.stderr
    );
}

/// Every round changes all 1,000 instances (created in the first, updated after),
/// so every kill lands in the middle of an apply.
#[test]
fn apply_survives_sigkill_at_random_moments() {
    let dir = main_tf(ROUNDS);
    let d = dir.path();
    let mut killer = Killer::new(d);
    let mut observed = 0;
    for round in 0..20 {
        let var = format!("round={round}");
        let k = killer.kill(round, &["apply", "--auto-approve", "--var", &var]);
        observed += k.done.len();
        let holds_this_round = |addr: &str| {
            k.resources()
                .get(addr)
                .is_some_and(|r| input_of(r) == (round as i64, index_of(addr)))
        };
        for addr in &k.done {
            assert!(
                holds_this_round(addr),
                "round {round}: {addr} was reported changed but state does not hold the change"
            );
        }
        for addr in k.intent_addresses() {
            assert!(
                !holds_this_round(addr),
                "round {round}: {addr} has both a result and a pending intent"
            );
        }
    }
    assert!(observed >= 20, "too few changes observed: {observed}");

    let vars = ["--var", "round=100"];
    let (_, state) = killer.finish(&[&["apply", "--auto-approve"], &vars[..]].concat::<&str>());
    assert_converged(d, &state, 1000, 100, &vars);
}

/// Applies 1,000 instances, then kills successive runs of `plinth COMMAND
/// --auto-approve VARS`, each deleting the instances left. After each kill every
/// instance reported destroyed is gone and no other instance appeared or changed;
/// an instance with a pending intent is still in state (its removal and the end of
/// its intent are one commit). A refresh-only apply, which has nothing to change,
/// settles the intents the last kill left; the run after it destroys the rest, and
/// an apply of the stack with nothing left changes nothing and leaves no intent.
fn deletions_survive_sigkill(command: &str, vars: &[&str]) {
    let dir = main_tf(ROUNDS);
    let d = dir.path();
    let first = plinth(d, &["apply", "--auto-approve"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let mut left: HashSet<String> = resources(&pull(d, "after the first apply"))
        .keys()
        .cloned()
        .collect();
    assert_eq!(left.len(), 1000);

    let args = [&[command, "--auto-approve"], vars].concat::<&str>();
    let mut killer = Killer::new(d);
    let mut observed = 0;
    let mut intents_left = 0;
    let mut last = None;
    for round in 0..7 {
        // A run with little left to delete prints all of it before a kill lands.
        if left.len() < 500 {
            let (_, state) = killer.finish(&["apply", "--auto-approve"]);
            left = resources(&state).keys().cloned().collect();
            assert_eq!(left.len(), 1000, "round {round}: the apply after a kill");
        }
        let k = killer.kill(round, &args);
        observed += k.done.len();
        intents_left += k.intent_addresses().count();
        for addr in &k.done {
            assert!(
                !k.resources().contains_key(addr),
                "round {round}: {addr} was reported destroyed but is still in state"
            );
        }
        for (addr, r) in k.resources() {
            assert!(
                left.contains(addr),
                "round {round}: {addr} is in state though an earlier run destroyed it"
            );
            assert_eq!(input_of(r), (0, index_of(addr)), "round {round}: {addr}");
        }
        for addr in k.intent_addresses() {
            assert!(
                k.resources().contains_key(addr),
                "round {round}: {addr} has a pending delete but is gone from state"
            );
        }
        left = k.resources().keys().cloned().collect();
        last = Some(k);
    }
    assert!(observed >= 7, "too few deletions observed: {observed}");
    assert!(intents_left > 0, "no kill left an intent open");

    let last = last.expect("a round");
    let settle = [&["apply", "--auto-approve", "--refresh-only"], vars].concat::<&str>();
    let (run, state) = killer.finish(&settle);
    // A delete whose commit was durable in the database but not yet published when
    // plinth was killed shows in state pull only once the next run republishes it.
    let now: HashSet<String> = resources(&state).keys().cloned().collect();
    let pending: HashSet<&str> = last.intent_addresses().collect();
    for addr in left.symmetric_difference(&now) {
        assert!(
            pending.contains(addr.as_str()) && !now.contains(addr),
            "settling the intents changed {addr}, which had no pending delete"
        );
    }
    for addr in pending.iter().filter(|a| now.contains(**a)) {
        assert!(
            run.stdout
                .contains(&format!("Resolved the Delete of {addr} left in flight")),
            "the intent for {addr} was not reported settled:\n{}",
            run.stdout
        );
    }

    let nothing = ["--var", "n=0"];
    let (_, state) = killer.finish(&args);
    assert_converged(d, &state, 0, 0, &nothing);
    let (_, state) = killer.finish(&[&["apply", "--auto-approve"], &nothing[..]].concat::<&str>());
    assert_converged(d, &state, 0, 0, &nothing);
}

#[test]
fn destroy_survives_sigkill_at_random_moments() {
    deletions_survive_sigkill("destroy", &[]);
}

#[test]
fn orphan_deletion_survives_sigkill_at_random_moments() {
    deletions_survive_sigkill("apply", &["--var", "n=0"]);
}

/// Applies 1,000 instances, then kills applies that replace them all (a new
/// `triggers_replace` each round). After each kill every address is still in state
/// (a replacement's result and the end of its intent are one commit), holding an
/// object no older than the last kill left; every replacement reported finished
/// holds this round's object, an instance with a pending intent does not, and no two
/// instances share an id.
fn replacement_survives_sigkill(lifecycle: &str) {
    let dir = main_tf(&ROUNDS.replace(
        "  # EXTRA\n",
        &format!("  triggers_replace = var.round\n{lifecycle}"),
    ));
    let d = dir.path();
    let first = plinth(d, &["apply", "--auto-approve"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let mut held: HashMap<String, i64> = resources(&pull(d, "after the first apply"))
        .iter()
        .map(|(addr, r)| (addr.clone(), input_of(r).0))
        .collect();
    assert_eq!(held.len(), 1000);

    let mut killer = Killer::new(d);
    let mut observed = 0;
    for round in 1..7 {
        let var = format!("round={round}");
        let k = killer.kill(round, &["apply", "--auto-approve", "--var", &var]);
        observed += k.done.len();
        let resources = k.resources();
        assert_eq!(
            resources.len(),
            1000,
            "round {round}: a replacement lost an instance"
        );
        let ids: HashSet<&str> = resources
            .values()
            .filter_map(|r| r["attributes"]["id"].as_str())
            .collect();
        assert_eq!(ids.len(), 1000, "round {round}: duplicate ids");
        for (addr, r) in resources {
            let (r_round, index) = input_of(r);
            assert_eq!(index, index_of(addr), "round {round}: {addr}");
            assert!(
                held[addr] <= r_round && r_round <= round as i64,
                "round {round}: {addr} holds round {r_round}'s object after round {}'s",
                held[addr]
            );
            assert_eq!(
                r["attributes"]["triggers_replace"], r_round,
                "round {round}: {addr} mixes two objects"
            );
        }
        for addr in &k.done {
            assert_eq!(
                input_of(&resources[addr]).0,
                round as i64,
                "round {round}: {addr} was reported replaced but state holds the old object"
            );
        }
        for addr in k.intent_addresses() {
            assert_ne!(
                input_of(&resources[addr]).0,
                round as i64,
                "round {round}: {addr} has both a result and a pending intent"
            );
        }
        held = resources
            .iter()
            .map(|(addr, r)| (addr.clone(), input_of(r).0))
            .collect();
    }
    assert!(observed >= 6, "too few replacements observed: {observed}");

    let vars = ["--var", "round=100"];
    let (_, state) = killer.finish(&[&["apply", "--auto-approve"], &vars[..]].concat::<&str>());
    assert_converged(d, &state, 1000, 100, &vars);
}

#[test]
fn replacement_survives_sigkill_at_random_moments() {
    replacement_survives_sigkill("");
}

#[test]
fn create_before_destroy_replacement_survives_sigkill_at_random_moments() {
    replacement_survives_sigkill("  lifecycle {\n    create_before_destroy = true\n  }\n");
}

#[test]
fn ctrl_c_lets_in_flight_work_finish_saves_and_releases_the_lock() {
    let dir =
        main_tf("resource \"plinth_data\" \"r\" {\n  count = 5000\n  input = count.index\n}\n");
    let d = dir.path();
    // Without a cap every call would be in flight at once, and all would finish.
    let mut child = spawn(d, &["apply", "--auto-approve", "--parallelism", "8"]);
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

    let state = pull(d, "after Ctrl-C");
    let resources = resources(&state);
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
        intents(&state).is_empty(),
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
