//! Each stack's reconcile history: one JSON record a line in
//! `.plinth/reconcile/history.jsonl`, `{"format":1,"outcome":{…}}`, appended after
//! every run and kept to the last [`KEEP`] runs (rewritten atomically once it holds a
//! tenth more). Never written through a link under `.plinth/`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use plinth_state::safe_fs;
use serde::{Deserialize, Serialize};

use super::Outcome;

/// How many runs a stack's history keeps.
pub const KEEP: usize = 1000;

/// The version of the record's shape.
const FORMAT: u32 = 1;

#[derive(Serialize)]
struct RecordOut<'a> {
    format: u32,
    outcome: &'a Outcome,
}

#[derive(Deserialize)]
struct RecordIn {
    outcome: Outcome,
}

#[derive(Deserialize)]
struct RecordFormat {
    format: u32,
}

/// Where a stack's history lives.
pub fn path(stack: &Path) -> PathBuf {
    stack
        .join(".plinth")
        .join("reconcile")
        .join("history.jsonl")
}

/// The appender of one stack's history.
pub struct History {
    path: PathBuf,
    keep: usize,
    /// Lines in the file, once counted.
    lines: Option<usize>,
}

impl History {
    pub fn new(stack: &Path) -> History {
        History::keeping(stack, KEEP)
    }

    fn keeping(stack: &Path, keep: usize) -> History {
        History {
            path: path(stack),
            keep: keep.max(1),
            lines: None,
        }
    }

    /// Appends `outcome` (one write of one line), then cuts the file to the last runs
    /// when it has grown past the bound.
    pub fn append(&mut self, outcome: &Outcome) -> io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        safe_fs::create_dirs(dir)?;
        let mut line = serde_json::to_string(&RecordOut {
            format: FORMAT,
            outcome,
        })
        .map_err(io::Error::other)?;
        line.push('\n');
        let lines = match self.lines {
            Some(n) => n,
            None => match std::fs::read(&self.path) {
                Ok(bytes) => bytes
                    .split(|b| *b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
                Err(e) => return Err(self.error(e)),
            },
        };
        safe_fs::open_append(&self.path)?
            .write_all(line.as_bytes())
            .map_err(|e| self.error(e))?;
        let mut lines = lines + 1;
        if lines > self.keep + self.keep / 10 {
            lines = self.cut()?;
        }
        self.lines = Some(lines);
        Ok(())
    }

    /// Rewrites the file with its last `keep` lines; returns how many it kept.
    fn cut(&self) -> io::Result<usize> {
        let bytes = std::fs::read(&self.path).map_err(|e| self.error(e))?;
        let all: Vec<&[u8]> = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let kept = &all[all.len().saturating_sub(self.keep)..];
        let mut out = Vec::with_capacity(bytes.len());
        for line in kept {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        safe_fs::check_dirs(self.path.parent().unwrap_or(Path::new(".")))?;
        safe_fs::write_atomic(&self.path, &out)?;
        Ok(kept.len())
    }

    fn error(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.path.display()))
    }
}

/// One line of a history: its number (from 1) and the run, or why it cannot be read.
pub struct Entry {
    pub line: usize,
    pub outcome: Result<Outcome, String>,
}

/// Every line of `stack`'s history, oldest first (none when the stack has none).
pub fn read(stack: &Path) -> io::Result<Vec<Entry>> {
    let path = path(stack);
    safe_fs::check_file(&path)?;
    let text = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    Ok(text
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, line)| Entry {
            line: i + 1,
            outcome: parse(line),
        })
        .collect())
}

fn parse(line: &[u8]) -> Result<Outcome, String> {
    let head: RecordFormat = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    if head.format != FORMAT {
        return Err(format!(
            "format {} is not one this plinth reads (it reads {FORMAT})",
            head.format
        ));
    }
    let record: RecordIn = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    Ok(record.outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::schedule::bare_outcome;
    use crate::reconcile::{Guardrails, Mode, RunResult, StackJob};
    use std::time::Duration;

    fn outcome(n: usize) -> Outcome {
        let job = StackJob {
            dir: "s".into(),
            mode: Mode::Report,
            guardrails: Guardrails::default(),
            ignore: Vec::new(),
            lock_timeout: Duration::ZERO,
            parallelism: None,
        };
        let mut o = bare_outcome(&job, RunResult::Clean);
        o.error = Some(format!("run {n}"));
        o
    }

    fn runs(stack: &Path) -> Vec<String> {
        read(stack)
            .unwrap()
            .into_iter()
            .map(|e| e.outcome.unwrap().error.unwrap())
            .collect()
    }

    #[test]
    fn appends_runs_and_keeps_the_last_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::keeping(dir.path(), 10);
        for n in 0..11 {
            history.append(&outcome(n)).unwrap();
        }
        assert_eq!(runs(dir.path()).len(), 11);
        history.append(&outcome(11)).unwrap();
        let kept = runs(dir.path());
        assert_eq!(kept.len(), 10);
        assert_eq!(kept[0], "run 2");
        assert_eq!(kept[9], "run 11");
        // A new appender counts the lines already there.
        let mut again = History::keeping(dir.path(), 10);
        again.append(&outcome(12)).unwrap();
        assert_eq!(runs(dir.path()).len(), 11);
    }

    #[test]
    fn a_damaged_line_is_reported_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = History::new(dir.path());
        history.append(&outcome(0)).unwrap();
        let file = path(dir.path());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        f.write_all(b"{\"format\":1,\"outc\n{\"format\":9,\"outcome\":{}}\n")
            .unwrap();
        history.append(&outcome(1)).unwrap();
        let entries = read(dir.path()).unwrap();
        let lines: Vec<(usize, bool)> = entries
            .iter()
            .map(|e| (e.line, e.outcome.is_ok()))
            .collect();
        assert_eq!(lines, [(1, true), (2, false), (3, false), (4, true)]);
        assert!(entries[2]
            .outcome
            .as_ref()
            .err()
            .unwrap()
            .contains("format 9"));
    }

    #[test]
    fn never_writes_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".plinth")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join(".plinth/reconcile")).unwrap();
        let err = History::new(dir.path()).append(&outcome(0)).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }
}
