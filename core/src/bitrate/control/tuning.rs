//! The rate controller's knobs.

use crate::time::Duration;

/// Knobs of the rate controller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ControlTuning {
    /// A standing queue above this is congestion even with a flat trend
    /// (or above two packets' worth at the current rate, if that is
    /// longer: at low rates a packet or two always waits).
    pub queue_high: Duration,
    /// A cut aims to drain the standing queue within this long.
    pub drain: Duration,
    /// Smallest cut, as a fraction of the delivered rate.
    pub min_cut: f64,
    /// Largest cut, as a fraction of the delivered rate.
    pub max_cut: f64,
    /// Near the capacity measured at the last cuts, the target grows by this
    /// many bytes per response time (a round trip plus 100 ms).
    pub creep_packet: u32,
    /// Growth per second once past that capacity without congestion.
    pub growth_start: f64,
    /// How much the growth per second rises for every second without congestion.
    pub growth_accel: f64,
    /// The fastest growth per second; also used to climb back to the last
    /// measured capacity after a deep cut.
    pub growth_max: f64,
    /// The target never exceeds this multiple of the delivered rate (plus 10 kbit/s).
    pub delivered_headroom: f64,
    /// Loss above this fraction cuts the target even without a queue.
    pub heavy_loss: f64,
    /// A queue above the standing-queue mark for this long, twice the mark
    /// deep and not falling, while our target fell to `competing_fall` of
    /// what it was when the queue rose, means that a loss-based flow
    /// competes: our own queue falls once we cut, a competitor's does not.
    pub competing_after: Duration,
    /// See `competing_after`.
    pub competing_fall: f64,
    /// In competing mode, a queue below 10 ms for this long means the
    /// competitor left.
    pub competing_quiet: Duration,
}

impl Default for ControlTuning {
    fn default() -> Self {
        ControlTuning {
            queue_high: Duration::from_millis(20),
            drain: Duration::from_millis(500),
            min_cut: 0.03,
            max_cut: 0.5,
            creep_packet: 900,
            growth_start: 0.03,
            growth_accel: 0.35,
            growth_max: 0.6,
            delivered_headroom: 1.5,
            heavy_loss: 0.2,
            competing_after: Duration::from_secs(2),
            competing_fall: 0.75,
            competing_quiet: Duration::from_secs(3),
        }
    }
}
