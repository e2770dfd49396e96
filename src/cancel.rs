//! Cancellation of a running operation: a token the caller keeps and the operation
//! checks. Cancelling lets the provider calls in flight finish and be saved, and
//! starts no new ones.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A cheap handle on one cancellation flag; clones share it.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks the operation to stop. Returns whether it had been asked already. Only
    /// touches an atomic, so a signal handler may call it.
    pub fn cancel(&self) -> bool {
        self.0.swap(true, Ordering::SeqCst)
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
