//! How a long read reports progress and learns it was cancelled. Readers call these from rayon
//! workers, so an implementation must be cheap and thread-safe; rate limiting is its business.

pub use dafne_core::{NoProgress, Progress};

/// Counts finished units across worker threads and reports each one.
pub(crate) struct Counter<'a> {
    progress: &'a dyn Progress,
    done: std::sync::atomic::AtomicU64,
    total: u64,
    what: &'static str,
}

impl<'a> Counter<'a> {
    pub(crate) fn start(progress: &'a dyn Progress, total: usize, what: &'static str) -> Self {
        let total = total as u64;
        progress.report(0, total, what);
        Counter {
            progress,
            done: std::sync::atomic::AtomicU64::new(0),
            total,
            what,
        }
    }

    pub(crate) fn tick(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        self.progress.report(done, self.total, self.what);
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.progress.cancelled()
    }
}
