//! Control of a long job (opening a dataset, later exports and inference): a cancel flag the
//! UI sets from another thread, and a progress sink the job's workers call. Both are cheap to
//! call from rayon workers: the flag is an atomic and the sink forwards at most ~20 updates a
//! second (plus each phase's first and last), never out of order within a phase.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shared "stop" flag: clones see the same flag.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// One progress report: `done` of `total` units of the phase `what` ("decoding slices").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobUpdate {
    pub done: u64,
    pub total: u64,
    pub what: &'static str,
}

type Sink = Box<dyn Fn(JobUpdate) + Send + Sync>;

/// What a long job is given: the cancel flag and where its progress goes.
pub struct JobControl {
    cancel: CancelToken,
    sink: Sink,
    started: Instant,
    /// Milliseconds after `started` of the last forwarded update.
    last_ms: AtomicU64,
    interval: Duration,
    /// The last forwarded update, so a late report from a slower worker is dropped.
    last: Mutex<Option<JobUpdate>>,
}

impl std::fmt::Debug for JobControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobControl")
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

impl JobControl {
    /// At most one update per 50 ms (the first and last of each phase always pass).
    pub fn new(cancel: CancelToken, sink: impl Fn(JobUpdate) + Send + Sync + 'static) -> Self {
        JobControl::with_interval(cancel, Duration::from_millis(50), sink)
    }

    pub fn with_interval(
        cancel: CancelToken,
        interval: Duration,
        sink: impl Fn(JobUpdate) + Send + Sync + 'static,
    ) -> Self {
        JobControl {
            cancel,
            sink: Box::new(sink),
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
            interval,
            last: Mutex::new(None),
        }
    }

    /// A control nobody watches (tests, the CLI).
    pub fn silent() -> JobControl {
        JobControl::new(CancelToken::new(), |_| {})
    }

    pub fn token(&self) -> &CancelToken {
        &self.cancel
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    pub fn report(&self, done: u64, total: u64, what: &'static str) {
        let edge = done == 0 || done >= total;
        let now_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let interval_ms = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX);
        if !edge {
            // Claim the slot without locking: only one worker per interval gets through.
            let last = self.last_ms.load(Ordering::Relaxed);
            if now_ms.saturating_sub(last) < interval_ms
                || self
                    .last_ms
                    .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                return;
            }
        } else {
            self.last_ms.store(now_ms, Ordering::Relaxed);
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let update = JobUpdate { done, total, what };
        if let Some(prev) = last.as_ref() {
            if prev.what == what && prev.total == total && prev.done >= done {
                return;
            }
        }
        // Forwarded under the lock so updates leave in the order they were accepted.
        (self.sink)(update.clone());
        *last = Some(update);
    }
}

impl dafne_io::Progress for JobControl {
    fn report(&self, done: u64, total: u64, what: &'static str) {
        JobControl::report(self, done, total, what);
    }

    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn recording(interval: Duration) -> (JobControl, Arc<Mutex<Vec<JobUpdate>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink_seen = seen.clone();
        let control = JobControl::with_interval(CancelToken::new(), interval, move |u| {
            sink_seen.lock().unwrap().push(u)
        });
        (control, seen)
    }

    #[test]
    fn rate_limits_but_keeps_first_and_last() {
        let (control, seen) = recording(Duration::from_secs(3600));
        for done in 0..=1000 {
            control.report(done, 1000, "decoding slices");
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].done, 0);
        assert_eq!(seen[1].done, 1000);
    }

    #[test]
    fn late_reports_never_go_backwards() {
        let (control, seen) = recording(Duration::ZERO);
        for done in [0, 3, 2, 5, 4, 10] {
            control.report(done, 10, "reading files");
        }
        let dones: Vec<u64> = seen.lock().unwrap().iter().map(|u| u.done).collect();
        assert_eq!(dones, vec![0, 3, 5, 10]);
    }

    #[test]
    fn clones_of_a_token_share_the_flag() {
        let token = CancelToken::new();
        let control = JobControl::new(token.clone(), |_| {});
        assert!(!control.is_cancelled());
        token.cancel();
        assert!(control.is_cancelled());
    }
}
