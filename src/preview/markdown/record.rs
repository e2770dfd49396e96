//! A [`View`] that forwards everything to another one and keeps what the comment
//! needs: the diagnostics as [`Note`]s (with `file:line`) and the last plan shown.
//! `plinth plan --markdown` wraps the terminal's view in it, so a failed plan's
//! comment shows its errors.

use std::collections::BTreeMap;
use std::sync::Mutex;

use plinth_state::OutputState;

use super::Note;
use crate::apply::Progress;
use crate::diag::{Diagnostics, Sources};
use crate::operation::{Notice, Question, Summary, View};
use crate::plan::{lock, Plan};

pub struct RecordingView<'v> {
    inner: &'v dyn View,
    notes: Mutex<Vec<Note>>,
    plan: Mutex<Option<Plan>>,
}

impl<'v> RecordingView<'v> {
    pub fn new(inner: &'v dyn View) -> RecordingView<'v> {
        RecordingView {
            inner,
            notes: Mutex::default(),
            plan: Mutex::default(),
        }
    }

    /// Every diagnostic reported so far, once each, in the order reported.
    pub fn notes(&self) -> Vec<Note> {
        lock(&self.notes).clone()
    }

    /// The last plan shown.
    pub fn plan(&self) -> Option<Plan> {
        lock(&self.plan).clone()
    }
}

/// Diagnostics as the comment shows them: `location` is `file:line` of the primary
/// span, the file named as the user reads it.
pub fn notes(sources: &Sources, diagnostics: &Diagnostics) -> Vec<Note> {
    diagnostics
        .items
        .iter()
        .map(|d| Note {
            severity: d.severity,
            summary: d.summary.clone(),
            detail: d.detail.clone(),
            location: d.span.map(|span| {
                let file = sources.get(span.file);
                format!("{}:{}", file.name, file.position(span.start).line)
            }),
        })
        .collect()
}

impl View for RecordingView<'_> {
    fn diagnostics(&self, sources: &Sources, diagnostics: &Diagnostics) {
        {
            let mut kept = lock(&self.notes);
            for note in notes(sources, diagnostics) {
                if !kept.contains(&note) {
                    kept.push(note);
                }
            }
        }
        self.inner.diagnostics(sources, diagnostics);
    }

    fn notice(&self, notice: Notice<'_>) {
        self.inner.notice(notice);
    }

    fn plan(&self, plan: &Plan) {
        *lock(&self.plan) = Some(plan.clone());
        self.inner.plan(plan);
    }

    fn applying_saved(&self, plan: &Plan) {
        self.inner.applying_saved(plan);
    }

    fn confirm(&self, question: Question) -> bool {
        self.inner.confirm(question)
    }

    fn progress(&self) -> &dyn Progress {
        self.inner.progress()
    }

    fn summary(&self, summary: Summary<'_>) {
        self.inner.summary(summary);
    }

    fn outputs(&self, outputs: &BTreeMap<String, OutputState>) {
        self.inner.outputs(outputs);
    }

    fn applied_nothing(&self, outputs: &BTreeMap<String, OutputState>) {
        self.inner.applied_nothing(outputs);
    }
}
