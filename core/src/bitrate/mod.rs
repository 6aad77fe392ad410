//! Bitrate decisions: how fast to send, and which layers a subscriber gets.
//!
//! - [`Estimator`] turns per-packet send records and transport feedback (e.g.
//!   TWCC) into a target rate for the encoder, a pacing rate and probe
//!   requests. It keeps GCC's delay-trend detector and adds an absolute
//!   queue measure, capacity-proportional cuts, accelerating growth, a loss
//!   bound that ignores random loss, a hold during link outages, a mode for
//!   bursty (cellular) links, and a mode for competing with loss-based flows. See `docs/bitrate.md` for the design and how it differs from GCC.
//! - [`Allocator`] chooses, for one subscriber, a simulcast/SVC layer per
//!   track from the available rate: lowest layers first by priority, down at
//!   once, up only with confirmed headroom and with hysteresis, keyframes on
//!   every switch up.
//!
//! Rates are [`Bitrate`] values (bits per second, saturating arithmetic).
//! Both machines follow the crate's rule: after every `handle_*` call drain
//! `poll_output()`, then arm a timer for `poll_timeout()`. Beyond the common
//! shape, the estimator has [`Estimator::request_probe`] (headroom wanted by
//! the allocator) and [`Estimator::poll_probe_result`] (each probe's verdict,
//! to pass to the allocator's `handle_probe_result`).
//!
//! One flow needs no heap: the packet history, the filters and the output
//! queues are fixed-capacity, sized by the constants re-exported here.

mod acked;
mod allocator;
mod arrival;
mod burst;
mod control;
mod estimator;
mod history;
mod loss;
mod probe;
mod queue;
mod rate;
mod silence;
mod trend;

#[cfg(test)]
mod tests;

pub use allocator::{
    AllocError, Allocator, AllocatorConfig, AllocatorEvent, LayerChoice, MAX_LAYERS, PROBE_REACH,
    TrackId,
};
pub use arrival::BURST;
pub use control::{ControlTuning, Mode};
pub use estimator::{Estimator, EstimatorConfig, EstimatorOutput, PacketResult, SentPacket};
pub use history::SENT_HISTORY;
pub use probe::{PROBE_CLUSTERS, ProbeOutcome, ProbeRequest};
pub use rate::Bitrate;
pub use trend::{TREND_WINDOW, Usage};
