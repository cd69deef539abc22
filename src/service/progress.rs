//! Progress and cancellation for long work (uploads, downloads, later jobs and scans). The worker
//! bumps counters; the console reads them on its tick. Atomics, so neither side ever waits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    done: AtomicU64,
    total: AtomicU64,
    cancelled: AtomicBool,
}

impl Progress {
    pub fn set_total(&self, total: u64) {
        self.0.total.store(total, Ordering::Relaxed);
    }
    pub fn advance(&self, by: u64) {
        self.0.done.fetch_add(by, Ordering::Relaxed);
    }
    pub fn done(&self) -> u64 {
        self.0.done.load(Ordering::Relaxed)
    }
    /// Zero when the size is not known in advance (a stream from stdin).
    pub fn total(&self) -> u64 {
        self.0.total.load(Ordering::Relaxed)
    }
    /// Fraction done, when the total is known.
    pub fn ratio(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| (self.done() as f64 / total as f64).min(1.0))
    }
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::Relaxed);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::Relaxed)
    }
}
