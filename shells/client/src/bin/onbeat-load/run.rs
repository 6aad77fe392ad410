//! What every connection task shares: the run's settings, the counters, the
//! start and stop signals, and the per-thread histogram.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use smol::channel::Receiver;
use smol::lock::Semaphore;

use crate::stats::Counters;

/// Messages published but not yet delivered everywhere, at most, at the
/// maximum rate.
pub const IN_FLIGHT: u64 = 16;

/// How fast publishers send.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    /// Messages per second across all publishers.
    PerSec(f64),
    /// As fast as the sockets take them.
    Max,
}

/// The settings and signals of one run, shared by every connection.
pub struct Shared {
    pub url: String,
    pub token: Option<String>,
    pub codec: onbeat_client::Codec,
    pub topics: Vec<String>,
    pub payload: usize,
    pub rate: Rate,
    pub publishers: usize,
    pub duration: Duration,
    pub counters: Arc<Counters>,
    /// Connections set up (subscribed, or welcomed for publishers and idle).
    pub ready: AtomicUsize,
    /// Publishers that finished sending.
    pub finished: AtomicUsize,
    /// Connections that failed to set up.
    pub failed: AtomicUsize,
    /// Subscribers of each topic.
    pub subscribers_of: Vec<u64>,
    /// Closed when publishers may start.
    pub go: Receiver<()>,
    /// Closed when every connection should end.
    pub stop: Receiver<()>,
    /// Bounds connections being opened at once, so that the server's accept
    /// backlog does not overflow.
    pub connecting: Semaphore,
}

impl Shared {
    /// Waits for the start signal; returns the instant publishing ends.
    pub async fn start(&self) -> Instant {
        let _ = self.go.recv().await;
        Instant::now() + self.duration
    }

    /// The gap between two messages of one publisher, if rate-limited.
    pub fn interval(&self) -> Option<Duration> {
        match self.rate {
            Rate::PerSec(rate) => Some(Duration::from_secs_f64(self.publishers as f64 / rate)),
            Rate::Max => None,
        }
    }

    /// At the maximum rate, waits while more than [`IN_FLIGHT`] messages
    /// worth of deliveries are owed: the run measures the rate the server
    /// sustains, not how much it can queue.
    pub async fn window(&self) {
        if self.rate != Rate::Max {
            return;
        }
        let fanout = self.subscribers_of.iter().sum::<u64>() / self.topics.len() as u64;
        let limit = IN_FLIGHT * fanout.max(1);
        loop {
            let owed: u64 = self
                .counters
                .sent_to
                .iter()
                .zip(&self.subscribers_of)
                .map(|(sent, subs)| sent.load(Relaxed) * subs)
                .sum();
            let received = self.counters.received.load(Relaxed);
            if owed.saturating_sub(received) <= limit || self.stop.is_closed() {
                return;
            }
            smol::Timer::after(Duration::from_micros(200)).await;
        }
    }

    pub fn arrived(&self) {
        self.ready.fetch_add(1, Relaxed);
    }

    pub fn fail(&self, what: &str, error: impl std::fmt::Display) {
        if self.failed.fetch_add(1, Relaxed) < 5 {
            eprintln!("{what}: {error}");
        }
        self.counters.error();
    }
}

/// What a worker thread runs.
#[derive(Clone, Debug)]
pub enum Job {
    /// Subscribe to the topic with this index and record deliveries.
    Subscriber(usize),
    /// Publish, as publisher number `n`.
    Publisher(usize),
    /// Open a connection, say hello, and hold it.
    Idle,
}
