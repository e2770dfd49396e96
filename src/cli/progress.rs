//! Apply progress: a line per instance as its change starts and as it finishes. On
//! a terminal, the changes in flight also show as spinners with their elapsed time
//! below the log (indicatif); elsewhere (CI logs, pipes) only the lines are printed.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::apply::Progress;
use crate::plan::lock;

/// More spinners than this would not fit a terminal; the rest still get their lines.
const MAX_SPINNERS: usize = 12;

pub struct ApplyProgress {
    live: Option<Live>,
}

struct Live {
    bars: MultiProgress,
    in_flight: Mutex<HashMap<String, ProgressBar>>,
    style: ProgressStyle,
}

impl ApplyProgress {
    /// Spinners when stdout is a terminal, plain lines otherwise.
    pub fn new() -> ApplyProgress {
        let live = std::io::stdout().is_terminal().then(|| Live {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
            in_flight: Mutex::new(HashMap::new()),
            style: ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        });
        ApplyProgress { live }
    }

    fn line(&self, text: &str) {
        match &self.live {
            Some(live) => {
                if live.bars.println(text).is_err() {
                    println!("{text}");
                }
            }
            None => println!("{text}"),
        }
    }
}

impl Progress for ApplyProgress {
    fn started(&self, address: &str, verb: &str) {
        self.line(&format!("{address}: {verb}"));
        if let Some(live) = &self.live {
            let mut in_flight = lock(&live.in_flight);
            if in_flight.len() < MAX_SPINNERS {
                let bar = live.bars.add(ProgressBar::new_spinner());
                bar.set_style(live.style.clone());
                bar.set_message(format!("{address}: {verb}"));
                bar.enable_steady_tick(Duration::from_millis(120));
                in_flight.insert(address.to_string(), bar);
            }
        }
    }

    fn finished(&self, address: &str, message: Option<&str>) {
        if let Some(live) = &self.live {
            if let Some(bar) = lock(&live.in_flight).remove(address) {
                bar.finish_and_clear();
                live.bars.remove(&bar);
            }
        }
        if let Some(m) = message {
            self.line(&format!("{address}: {m}"));
        }
    }

    fn note(&self, line: &str) {
        self.line(line);
    }
}
