//! How an allocator behaves.

use crate::time::Duration;

/// How an [`super::Allocator`] behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AllocatorConfig {
    /// Layers go up only if they fit in this fraction of the available rate
    /// (default 0.8): the hysteresis band.
    pub up_fraction: f64,
    /// An estimate that covers a higher allocation for this long confirms it
    /// without a probe (default 1.5 s).
    pub sustain: Duration,
    /// A confirmed probe allows upgrades for this long (default 3 s).
    pub confirm_valid: Duration,
    /// Probes are asked for at most this often (default 1 s).
    pub probe_interval: Duration,
    /// After a probe that proved too little for the next step, the next
    /// waits this long (default 1.5 s), twice as long after the second such
    /// in a row: probes are how a returning capacity shows while the layers
    /// keep the sender below it.
    pub probe_backoff: Duration,
}

impl Default for AllocatorConfig {
    fn default() -> Self {
        AllocatorConfig {
            up_fraction: 0.8,
            sustain: Duration::from_millis(1_500),
            confirm_valid: Duration::from_secs(3),
            probe_interval: Duration::from_secs(1),
            probe_backoff: Duration::from_millis(1_500),
        }
    }
}
