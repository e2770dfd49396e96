//! When each stack runs: on a jittered schedule (or once), at most `concurrency`
//! stacks at once, a stack never overlapping itself, a failing stack backing off
//! alone. The runner is a parameter, so the schedule knows nothing of what a run does.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Outcome, RunResult, StackJob};
use crate::operation::CancelToken;

/// How the service schedules its stacks.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// The interval between two runs of a stack, before jitter.
    pub every: Duration,
    /// The longest a failing stack waits between runs.
    pub max_backoff: Duration,
    /// At most this many stacks run at once.
    pub concurrency: usize,
    /// Stop after this many ticks (periods of `every`) from the start, then wait
    /// for the runs in flight.
    pub ticks: Option<u64>,
    /// One run of each stack, at once, then stop.
    pub once: bool,
}

/// What the schedule tells as runs start and end (the service records, counts and
/// notifies there).
pub trait Observer: Sync {
    /// A run starts, on its worker thread.
    fn started(&self, _stack: usize, _job: &StackJob) {}
    /// A run ended (told on the scheduling loop's thread, so keep it short); `next`
    /// is how long until the stack runs again (none when it will not).
    fn ended(&self, _stack: usize, _outcome: &Outcome, _next: Option<Duration>) {}
}

impl Observer for () {}

/// The most the schedule's loop sleeps before looking at the cancel token again.
const POLL: Duration = Duration::from_millis(50);

/// Jitter of a stack's interval: ±10%.
const JITTER: f64 = 0.1;

/// The longest the first run of a stack waits after the start.
const FIRST_SPREAD: Duration = Duration::from_secs(30);

/// A number in [0, 1) fixed by `name` and `salt`: FNV-1a, then splitmix64's finaliser.
fn unit(name: &str, salt: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain(salt.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// How long after the start a stack first runs: spread over half an interval (at
/// most 30 s), by name, so stacks do not all start at once.
pub fn first_delay(name: &str, every: Duration) -> Duration {
    (every / 2).min(FIRST_SPREAD).mul_f64(unit(name, u64::MAX))
}

/// How long after its run number `run` started a stack runs again: `every` — doubled
/// for each failure in a row, capped by `max_backoff` — then ±10% by name and run.
pub fn interval(
    name: &str,
    run: u64,
    every: Duration,
    failures: u32,
    max_backoff: Duration,
) -> Duration {
    let base = if failures == 0 {
        every
    } else {
        let factor = 2u32.saturating_pow(failures.min(31));
        every.saturating_mul(factor).min(max_backoff.max(every))
    };
    base.mul_f64(1.0 + JITTER * (2.0 * unit(name, run) - 1.0))
}

/// One stack's place in the schedule.
struct Slot {
    name: String,
    due: Option<Instant>,
    running: Option<Instant>,
    runs: u64,
    failures: u32,
    last: Option<Outcome>,
}

/// Runs `jobs` by `schedule` until it ends (`once`: every stack ran; `ticks`: the
/// last tick passed) or `cancel` is cancelled; the runs in flight then finish (they
/// get the token) and no new one starts. Returns each stack's last outcome.
pub fn run<R>(
    jobs: &[StackJob],
    schedule: &Schedule,
    runner: &R,
    observer: &dyn Observer,
    cancel: &CancelToken,
) -> Vec<Option<Outcome>>
where
    R: Fn(&StackJob, &CancelToken) -> Outcome + Sync,
{
    let start = Instant::now();
    let deadline = schedule.ticks.map(|n| {
        start
            + schedule
                .every
                .saturating_mul(n.min(u64::from(u32::MAX)) as u32)
    });
    let mut slots: Vec<Slot> = jobs
        .iter()
        .map(|job| {
            let name = job.dir.display().to_string();
            let first = if schedule.once {
                Duration::ZERO
            } else {
                first_delay(&name, schedule.every)
            };
            Slot {
                name,
                due: Some(start + first),
                running: None,
                runs: 0,
                failures: 0,
                last: None,
            }
        })
        .collect();
    let concurrency = schedule.concurrency.max(1);
    let (work_tx, work_rx) = mpsc::channel::<usize>();
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<(usize, Outcome)>();
    std::thread::scope(|scope| {
        for _ in 0..concurrency.min(jobs.len()) {
            let work_rx = &work_rx;
            let done_tx = done_tx.clone();
            scope.spawn(move || loop {
                let next = match work_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(i) = next else { return };
                let job = &jobs[i];
                observer.started(i, job);
                let outcome = catch_unwind(AssertUnwindSafe(|| runner(job, cancel)))
                    .unwrap_or_else(|panic| panicked(job, panic.as_ref()));
                if done_tx.send((i, outcome)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        let mut running = 0usize;
        loop {
            let now = Instant::now();
            let stopping = cancel.is_cancelled() || deadline.is_some_and(|d| now >= d);
            if !stopping {
                while running < concurrency {
                    let Some(i) = due_now(&slots, now) else { break };
                    slots[i].running = Some(now);
                    slots[i].due = None;
                    running += 1;
                    if work_tx.send(i).is_err() {
                        return;
                    }
                }
            }
            if running == 0 && (stopping || slots.iter().all(|s| s.due.is_none())) {
                break;
            }
            let mut wake = now + POLL;
            if !stopping && running < concurrency {
                if let Some(due) = slots
                    .iter()
                    .filter(|s| s.running.is_none())
                    .filter_map(|s| s.due)
                    .min()
                {
                    wake = wake.min(due);
                }
            }
            if let Some(d) = deadline {
                wake = wake.min(d.max(now));
            }
            match done_rx.recv_timeout(wake.saturating_duration_since(now)) {
                Ok((i, outcome)) => {
                    running -= 1;
                    let slot = &mut slots[i];
                    let began = slot.running.take().unwrap_or(now);
                    match outcome.result {
                        RunResult::Failed => slot.failures = slot.failures.saturating_add(1),
                        RunResult::LockSkipped => {}
                        _ => slot.failures = 0,
                    }
                    let next = (!schedule.once && !cancel.is_cancelled()).then(|| {
                        interval(
                            &slot.name,
                            slot.runs,
                            schedule.every,
                            slot.failures,
                            schedule.max_backoff,
                        )
                    });
                    slot.runs += 1;
                    slot.due = next.map(|n| began + n);
                    let left = slot
                        .due
                        .map(|d| d.saturating_duration_since(Instant::now()));
                    observer.ended(i, &outcome, left);
                    slot.last = Some(outcome);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        drop(work_tx);
    });
    slots.into_iter().map(|s| s.last).collect()
}

/// The idle stack that has been due longest, if any is due.
fn due_now(slots: &[Slot], now: Instant) -> Option<usize> {
    slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.running.is_none())
        .filter_map(|(i, s)| s.due.filter(|d| *d <= now).map(|d| (d, i)))
        .min()
        .map(|(_, i)| i)
}

/// The outcome of a run whose runner panicked: a failure, so the stack backs off and
/// the service goes on.
fn panicked(job: &StackJob, panic: &(dyn std::any::Any + Send)) -> Outcome {
    let why = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    let mut outcome = bare_outcome(job, RunResult::Failed);
    outcome.error = Some(format!("the run panicked: {why}"));
    outcome
}

/// An outcome with nothing found or done: a run that did not get that far.
pub(crate) fn bare_outcome(job: &StackJob, result: RunResult) -> Outcome {
    Outcome {
        stack: job.dir.display().to_string(),
        mode: job.mode,
        started: now_seconds(),
        duration_seconds: 0.0,
        result,
        drift: Default::default(),
        applied: Vec::new(),
        skipped: Vec::new(),
        refusal: None,
        lock_holder: None,
        error: None,
    }
}

/// Seconds since the Unix epoch.
pub fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::{Guardrails, Mode};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn job(name: &str) -> StackJob {
        StackJob {
            dir: name.into(),
            mode: Mode::Report,
            guardrails: Guardrails::default(),
            ignore: Vec::new(),
            lock_timeout: Duration::ZERO,
            parallelism: None,
        }
    }

    fn ended(job: &StackJob, result: RunResult) -> Outcome {
        bare_outcome(job, result)
    }

    fn schedule(every_ms: u64, ticks: Option<u64>, concurrency: usize) -> Schedule {
        Schedule {
            every: Duration::from_millis(every_ms),
            max_backoff: Duration::from_secs(3600),
            concurrency,
            ticks,
            once: false,
        }
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(usize, RunResult, Option<Duration>)>>);

    impl Observer for Recorder {
        fn ended(&self, stack: usize, outcome: &Outcome, next: Option<Duration>) {
            if let Ok(mut v) = self.0.lock() {
                v.push((stack, outcome.result, next));
            }
        }
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_depends_only_on_name_and_run() {
        let every = Duration::from_secs(900);
        for name in ["a", "b", "stacks/web", "stacks/db", ""] {
            for run in 0..200 {
                let i = interval(name, run, every, 0, every);
                assert!(
                    i >= every.mul_f64(0.9) && i <= every.mul_f64(1.1),
                    "{name} {i:?}"
                );
                assert_eq!(i, interval(name, run, every, 0, every));
            }
            let first = first_delay(name, every);
            assert!(first <= Duration::from_secs(30), "{first:?}");
            assert_eq!(first, first_delay(name, every));
        }
        assert_ne!(first_delay("a", every), first_delay("b", every));
        let short = Duration::from_secs(2);
        assert!(first_delay("a", short) <= Duration::from_secs(1));
    }

    #[test]
    fn backoff_doubles_per_failure_up_to_the_cap() {
        let every = Duration::from_secs(60);
        let cap = Duration::from_secs(600);
        let near = |d: Duration, want: u64| {
            let w = Duration::from_secs(want);
            d >= w.mul_f64(0.9) && d <= w.mul_f64(1.1)
        };
        assert!(near(interval("s", 0, every, 1, cap), 120));
        assert!(near(interval("s", 0, every, 2, cap), 240));
        assert!(near(interval("s", 0, every, 3, cap), 480));
        assert!(near(interval("s", 0, every, 4, cap), 600));
        assert!(near(interval("s", 0, every, 400, cap), 600));
    }

    #[test]
    fn once_runs_each_stack_once_with_at_most_n_at_a_time() {
        let jobs: Vec<StackJob> = (0..10).map(|i| job(&format!("s{i}"))).collect();
        let now = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let runs = Mutex::new(HashMap::<String, usize>::new());
        let runner = |job: &StackJob, _: &CancelToken| {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            now.fetch_sub(1, Ordering::SeqCst);
            *runs
                .lock()
                .unwrap()
                .entry(job.dir.display().to_string())
                .or_default() += 1;
            ended(job, RunResult::Clean)
        };
        let once = Schedule {
            once: true,
            ..schedule(1000, None, 3)
        };
        let last = run(&jobs, &once, &runner, &(), &CancelToken::new());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        let runs = runs.into_inner().unwrap();
        assert_eq!(runs.len(), 10);
        assert!(runs.values().all(|n| *n == 1), "{runs:?}");
        assert!(last
            .iter()
            .all(|o| o.as_ref().unwrap().result == RunResult::Clean));
    }

    #[test]
    fn a_stack_never_overlaps_itself_when_a_run_outlasts_the_interval() {
        let jobs = vec![job("slow"), job("other")];
        let busy: Vec<AtomicUsize> = (0..2).map(|_| AtomicUsize::new(0)).collect();
        let overlaps = AtomicUsize::new(0);
        let count = AtomicUsize::new(0);
        let runner = |job: &StackJob, _: &CancelToken| {
            let i = usize::from(job.dir.as_os_str() == "other");
            if busy[i].fetch_add(1, Ordering::SeqCst) > 0 {
                overlaps.fetch_add(1, Ordering::SeqCst);
            }
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            busy[i].fetch_sub(1, Ordering::SeqCst);
            ended(job, RunResult::Clean)
        };
        run(
            &jobs,
            &schedule(5, Some(40), 4),
            &runner,
            &(),
            &CancelToken::new(),
        );
        assert_eq!(overlaps.load(Ordering::SeqCst), 0);
        assert!(count.load(Ordering::SeqCst) >= 6);
    }

    #[test]
    fn only_the_failing_stack_backs_off_and_success_resets_it() {
        let jobs = vec![job("bad"), job("good")];
        let bad_runs = AtomicUsize::new(0);
        let runner = |job: &StackJob, _: &CancelToken| {
            if job.dir.as_os_str() == "bad" {
                let n = bad_runs.fetch_add(1, Ordering::SeqCst);
                let result = match n {
                    0..=2 => RunResult::Failed,
                    3 => RunResult::LockSkipped,
                    _ => RunResult::Clean,
                };
                return ended(job, result);
            }
            ended(job, RunResult::Clean)
        };
        let recorder = Recorder::default();
        let mut s = schedule(10, Some(100), 4);
        s.max_backoff = Duration::from_millis(60);
        run(&jobs, &s, &runner, &recorder, &CancelToken::new());
        let seen = recorder.0.into_inner().unwrap();
        let bad: Vec<_> = seen.iter().filter(|(i, ..)| *i == 0).collect();
        let good: Vec<_> = seen.iter().filter(|(i, ..)| *i == 1).collect();
        // Runs 1-3 fail: the waits grow 20, 40, 60 (capped) ms; the lock skip keeps
        // the backoff; a clean run resets it.
        let wait = |k: usize| bad[k].2.unwrap();
        assert!(wait(0) <= Duration::from_millis(22) && wait(0) >= Duration::from_millis(10));
        assert!(wait(1) > Duration::from_millis(30), "{:?}", wait(1));
        assert!(wait(2) > Duration::from_millis(45), "{:?}", wait(2));
        assert!(wait(2) <= Duration::from_millis(66));
        assert!(wait(3) > Duration::from_millis(45), "{:?}", wait(3));
        assert_eq!(bad[4].1, RunResult::Clean);
        assert!(wait(4) <= Duration::from_millis(11));
        // The good stack kept its pace while the bad one waited.
        let recovered = seen
            .iter()
            .position(|(i, r, _)| *i == 0 && *r == RunResult::Clean)
            .unwrap();
        let good_meanwhile = seen[..recovered].iter().filter(|(i, ..)| *i == 1).count();
        assert!(good_meanwhile >= 10, "{good_meanwhile}");
        assert!(good
            .iter()
            .all(|(_, r, n)| *r == RunResult::Clean
                && n.is_none_or(|n| n <= Duration::from_millis(11))));
    }

    #[test]
    fn cancelling_starts_no_new_run_and_hands_the_token_to_runs_in_flight() {
        let jobs: Vec<StackJob> = (0..6).map(|i| job(&format!("s{i}"))).collect();
        let cancel = CancelToken::new();
        let started_after = Arc::new(AtomicUsize::new(0));
        let started = AtomicUsize::new(0);
        let runner = |job: &StackJob, token: &CancelToken| {
            if token.is_cancelled() {
                started_after.fetch_add(1, Ordering::SeqCst);
            }
            started.fetch_add(1, Ordering::SeqCst);
            while !token.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            ended(job, RunResult::Cancelled)
        };
        let stopper = {
            let cancel = cancel.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                cancel.cancel();
            })
        };
        let begun = Instant::now();
        let last = run(&jobs, &schedule(20, None, 2), &runner, &(), &cancel);
        stopper.join().unwrap();
        assert!(begun.elapsed() < Duration::from_secs(2));
        assert_eq!(started.load(Ordering::SeqCst), 2);
        assert_eq!(started_after.load(Ordering::SeqCst), 0);
        let cancelled = last
            .iter()
            .flatten()
            .filter(|o| o.result == RunResult::Cancelled)
            .count();
        assert_eq!(cancelled, 2);
    }

    #[test]
    fn a_panicking_runner_is_a_failed_run() {
        let jobs = vec![job("p")];
        let runner = |_: &StackJob, _: &CancelToken| -> Outcome { panic!("boom") };
        let once = Schedule {
            once: true,
            ..schedule(10, None, 1)
        };
        let last = run(&jobs, &once, &runner, &(), &CancelToken::new());
        let outcome = last[0].as_ref().unwrap();
        assert_eq!(outcome.result, RunResult::Failed);
        assert!(outcome.error.as_deref().unwrap().contains("boom"));
    }
}
