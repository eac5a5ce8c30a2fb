//! How a long job (reading a series, segmenting, training) reports progress and learns it was
//! cancelled. Workers call these from rayon threads, so an implementation must be cheap and
//! thread-safe; rate limiting is its business.

/// Progress of one long job: `done` of `total` units of the phase `what` ("reading files").
pub trait Progress: Sync {
    fn report(&self, done: u64, total: u64, what: &'static str);
    /// True once the user asked to stop: jobs check it between units of work and give up
    /// with their crate's `Cancelled` error.
    fn cancelled(&self) -> bool;
}

/// For callers that neither show progress nor cancel (the CLI, tests).
#[derive(Debug)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _: u64, _: u64, _: &'static str) {}
    fn cancelled(&self) -> bool {
        false
    }
}
