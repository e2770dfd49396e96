//! The stack lock: one writer per stack and workspace.
//!
//! Mutual exclusion is an OS lock on `lock` (released by the kernel when the holder
//! exits, however it exits); the file's content is the holder's record, shown to a
//! process that has to wait. Finding a record when the OS lock was free means its
//! holder died: the lock is stale and is taken over, and the caller is told so.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::{now, random_id};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    /// What the holder is doing: "apply", "plan", "state rm"…
    pub operation: String,
    /// `user@host`
    pub who: String,
    pub pid: u32,
    /// Seconds since the Unix epoch.
    pub created: u64,
}

impl LockInfo {
    /// A record for a lock this process takes now for `operation`.
    pub fn new(operation: &str) -> LockInfo {
        LockInfo {
            id: random_id(),
            operation: operation.to_string(),
            who: who(),
            pid: std::process::id(),
            created: now(),
        }
    }

    /// The host part of `who`.
    pub fn host(&self) -> &str {
        self.who
            .rsplit_once('@')
            .map_or(&self.who, |(_, host)| host)
    }
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} by {} (pid {}) since {} UTC",
            self.operation,
            self.who,
            self.pid,
            format_time(self.created)
        )
    }
}

/// `YYYY-MM-DD HH:MM:SS` for seconds since the epoch (UTC).
pub fn format_time(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the state is locked: {info}\n  If you are sure no other plinth process is using this stack, run:\n    plinth force-unlock {id}", id = info.id)]
    Held { info: LockInfo },
    #[error("the state is locked by another process (its lock record could not be read: {0})")]
    HeldUnreadable(String),
    #[error("cannot use lock file {path}: {message}")]
    Io { path: String, message: String },
}

/// A held lock; released when dropped.
pub struct StackLock {
    file: File,
    pub info: LockInfo,
    /// The record of a dead holder this lock replaced, if any.
    pub took_over: Option<LockInfo>,
}

fn io(path: &Path, e: impl std::fmt::Display) -> LockError {
    LockError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host}")
}

fn read_info(file: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

impl StackLock {
    /// Takes the lock in `dir` for `operation`, waiting up to `timeout` for a holder
    /// to finish.
    pub fn acquire(dir: &Path, operation: &str, timeout: Duration) -> Result<StackLock, LockError> {
        crate::safe_fs::create_dirs(dir).map_err(|e| io(dir, e))?;
        let path = dir.join("lock");
        let started = Instant::now();
        loop {
            let mut file = crate::safe_fs::open_rw(&path).map_err(|e| io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {
                    let previous = read_info(&mut file);
                    let info = LockInfo::new(operation);
                    let text = serde_json::to_string(&info).map_err(|e| io(&path, e))?;
                    file.set_len(0).map_err(|e| io(&path, e))?;
                    file.seek(SeekFrom::Start(0)).map_err(|e| io(&path, e))?;
                    file.write_all(text.as_bytes()).map_err(|e| io(&path, e))?;
                    file.sync_all().map_err(|e| io(&path, e))?;
                    return Ok(StackLock {
                        file,
                        info,
                        took_over: previous,
                    });
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    if started.elapsed() >= timeout {
                        // The holder writes its record right after taking the lock; give
                        // it a moment so the error can name it.
                        for _ in 0..50 {
                            if let Some(info) = read_info(&mut file) {
                                return Err(LockError::Held { info });
                            }
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        return Err(LockError::HeldUnreadable(
                            "the holder has not written it".into(),
                        ));
                    }
                    std::thread::sleep(
                        Duration::from_millis(100)
                            .min(timeout.saturating_sub(started.elapsed()))
                            .max(Duration::from_millis(1)),
                    );
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(&path, e)),
            }
        }
    }

    /// The record of whoever holds the lock in `dir` now, if anyone does. Only the
    /// record is read: trying the OS lock, even for an instant, could make a writer
    /// that starts at that moment fail. A record whose process is gone (on this
    /// host) is a dead holder's and not reported.
    pub fn holder(dir: &Path) -> Option<LockInfo> {
        let mut file = File::open(dir.join("lock")).ok()?;
        let info = read_info(&mut file)?;
        if info.who == who() && !process_alive(info.pid) {
            return None;
        }
        Some(info)
    }

    /// `plinth force-unlock ID`: clears a lock record left behind. The OS lock of a
    /// live local holder cannot be broken: that process must finish or be stopped.
    pub fn force_unlock(dir: &Path, id: &str) -> Result<(), LockError> {
        let path = dir.join("lock");
        crate::safe_fs::check_file(&path).map_err(|e| io(&path, e))?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let info = read_info(&mut file);
        match info {
            Some(info) if info.id == id => match file.try_lock() {
                Ok(()) => {
                    file.set_len(0).map_err(|e| io(&path, e))?;
                    Ok(())
                }
                Err(_) => Err(LockError::Io {
                    path: path.display().to_string(),
                    message: format!("lock {id} is held by a running process on this machine (pid {}); stop that process instead", info.pid),
                }),
            },
            Some(info) => Err(LockError::Io {
                path: path.display().to_string(),
                message: format!("the lock id is {}, not {id}", info.id),
            }),
            None => Err(LockError::Io {
                path: path.display().to_string(),
                message: "the state is not locked".into(),
            }),
        }
    }
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks that the process exists without sending anything.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl Drop for StackLock {
    fn drop(&mut self) {
        // Clear the record first so the next holder does not take it for a dead one.
        let _ = self.file.set_len(0);
        let _ = self.file.sync_all();
        let _ = self.file.unlock();
    }
}
