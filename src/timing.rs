//! Where a command's time goes, for benchmarks: with `PLINTH_TIMINGS` set, each phase
//! (loading, starting plugins, configuring them, refreshing, planning, applying, …)
//! is timed and the list is printed to stderr when the command ends, one
//! `plinth-timing PHASE SECONDS` line per phase, in the order they finished. Without
//! the variable a phase costs one relaxed load.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// 0: not read yet, 1: off, 2: on.
static STATE: AtomicU8 = AtomicU8::new(0);
static PHASES: Mutex<Vec<(&'static str, Duration)>> = Mutex::new(Vec::new());

fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        0 => {
            let on = std::env::var_os("PLINTH_TIMINGS").is_some_and(|v| !v.is_empty());
            STATE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
        s => s == 2,
    }
}

/// A phase being timed: its time is recorded when it is dropped.
pub struct Phase {
    name: &'static str,
    started: Option<Instant>,
}

/// Starts timing `name`.
pub fn phase(name: &'static str) -> Phase {
    Phase {
        name,
        started: enabled().then(Instant::now),
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(t) = self.started {
            let mut phases = PHASES.lock().unwrap_or_else(|e| e.into_inner());
            phases.push((self.name, t.elapsed()));
        }
    }
}

/// The phases timed so far, as the lines `report` prints.
pub fn lines() -> Vec<String> {
    let phases = PHASES.lock().unwrap_or_else(|e| e.into_inner());
    phases
        .iter()
        .map(|(name, d)| format!("plinth-timing {name} {:.3}", d.as_secs_f64()))
        .collect()
}

/// Prints every phase timed (nothing when timing is off).
pub fn report() {
    for line in lines() {
        eprintln!("{line}");
    }
}
