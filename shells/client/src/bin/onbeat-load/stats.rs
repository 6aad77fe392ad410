//! Counters shared by every connection, latency histograms kept per thread,
//! and the once-a-second progress line.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Live counters.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    pub errors: AtomicU64,
    /// Messages sent to each topic.
    pub sent_to: Vec<AtomicU64>,
}

impl Counters {
    pub fn new(topics: usize) -> Arc<Counters> {
        Arc::new(Counters {
            sent_to: (0..topics).map(|_| AtomicU64::new(0)).collect(),
            ..Counters::default()
        })
    }

    pub fn error(&self) {
        self.errors.fetch_add(1, Relaxed);
    }
}

/// Latencies from 1 µs to 100 s at three significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid bounds")
}

/// Prints a progress line to stderr every second until `stop` is set.
pub fn progress(counters: Arc<Counters>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        let (mut last_sent, mut last_received) = (0, 0);
        while !stop.load(Relaxed) {
            std::thread::sleep(Duration::from_secs(1));
            let sent = counters.sent.load(Relaxed);
            let received = counters.received.load(Relaxed);
            eprintln!(
                "[{:>4}s] sent {sent} (+{}/s)  received {received} (+{}/s)  errors {}",
                start.elapsed().as_secs(),
                sent - last_sent,
                received - last_received,
                counters.errors.load(Relaxed),
            );
            (last_sent, last_received) = (sent, received);
        }
    })
}
