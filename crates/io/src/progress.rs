//! How a long read reports progress and learns it was cancelled. Readers call these from rayon
//! workers, so an implementation must be cheap and thread-safe; rate limiting is its business.

/// Progress of one long read: `done` of `total` units of the phase `what` ("reading files").
pub trait Progress: Sync {
    fn report(&self, done: u64, total: u64, what: &'static str);
    /// True once the user asked to stop: readers check it between files and give up with
    /// [`crate::Error::Cancelled`].
    fn cancelled(&self) -> bool;
}

/// For callers that neither show progress nor cancel (the CLI).
#[derive(Debug)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _: u64, _: u64, _: &'static str) {}
    fn cancelled(&self) -> bool {
        false
    }
}

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
