//! How a [`ClockSync`](super::ClockSync) samples and corrects: ping
//! intervals, when the estimate counts as settled, the drift the bound
//! allows for, and when a correction steps instead of slewing.

use crate::time::Duration;

/// How a [`ClockSync`](super::ClockSync) samples and corrects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockConfig {
    /// Time between pings once synchronised.
    pub interval: Duration,
    /// Time between pings while the estimate is unsettled: for the first
    /// `fast_samples` samples (at start, and again after a reset), and for as
    /// long as new samples keep moving the estimate by more than `settled`.
    pub fast_interval: Duration,
    /// How many samples are always taken at `fast_interval`. Until then the
    /// estimate is being acquired, and corrections apply at once.
    pub fast_samples: u8,
    /// The estimate counts as settled once new samples move it by less than
    /// this on average; a jittery path keeps sampling fast until then.
    pub settled: Duration,
    /// A ping not answered within this long is considered lost.
    pub ping_timeout: Duration,
    /// Largest relative drift between the two clocks that the bound allows
    /// for, in parts per million. Quartz is within ±100 ppm; the default leaves room.
    pub max_drift_ppm: u32,
    /// How much the drift itself may wander, in ppm per second of sample age.
    pub wander_ppm: u32,
    /// Once acquired, a correction larger than this is applied at once
    /// instead of slewed.
    pub step_threshold: Duration,
    /// Largest rate change used to slew a correction, in ppm (10,000 = 1%).
    pub max_slew_ppm: u32,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            interval: Duration::from_secs(1),
            fast_interval: Duration::from_millis(125),
            fast_samples: 16,
            settled: Duration::from_micros(500),
            ping_timeout: Duration::from_secs(5),
            max_drift_ppm: 500,
            wander_ppm: 1,
            step_threshold: Duration::from_millis(200),
            max_slew_ppm: 10_000,
        }
    }
}
