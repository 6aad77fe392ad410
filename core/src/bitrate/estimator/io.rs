//! What goes into an estimator and what comes out: its configuration,
//! sent packets, feedback results and outputs.

use crate::bitrate::control::ControlTuning;
use crate::bitrate::probe::ProbeRequest;
use crate::bitrate::rate::Bitrate;
use crate::time::{Duration, Instant};

/// How an [`super::Estimator`] behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EstimatorConfig {
    /// The target never goes below this.
    pub min: Bitrate,
    /// The target never goes above this.
    pub max: Bitrate,
    /// The target before any feedback.
    pub start: Bitrate,
    /// Pacing rate as a multiple of the target (at least 1.0): room for the
    /// encoder's bursts without letting them queue at the bottleneck.
    pub pacing_factor: f64,
    /// Probe at 3× and 6× `start` at once, to find the capacity in the first
    /// second instead of growing toward it.
    pub initial_probes: bool,
    /// Without any feedback for this long while sending, the target halves
    /// (and again every such period).
    pub feedback_timeout: Duration,
    /// The delivered rate is measured over this much of the receiver's time.
    pub delivered_window: Duration,
    /// The rate controller's knobs.
    pub control: ControlTuning,
}

impl Default for EstimatorConfig {
    /// min 30 kbit/s, start 300 kbit/s, max 20 Mbit/s, pacing ×1.25, initial
    /// probes on, feedback timeout 1 s, delivered window 250 ms.
    fn default() -> Self {
        EstimatorConfig {
            min: Bitrate::from_kbps(30),
            max: Bitrate::from_mbps(20),
            start: Bitrate::from_kbps(300),
            pacing_factor: 1.25,
            initial_probes: true,
            feedback_timeout: Duration::from_secs(1),
            delivered_window: Duration::from_millis(250),
            control: ControlTuning::default(),
        }
    }
}

/// A packet that left the pacer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentPacket {
    /// Transport-wide sequence number, one more than the previous packet's.
    pub id: u64,
    /// Bytes on the wire.
    pub size: u32,
    /// When it left (sender's clock).
    pub send_time: Instant,
    /// The probe cluster it belongs to, if any.
    pub probe: Option<u32>,
}

/// Feedback for one earlier packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketResult {
    /// The packet's transport-wide sequence number.
    pub id: u64,
    /// When it arrived, on the receiver's clock (unsynchronised with the
    /// sender's); `None` if it was lost.
    pub arrival: Option<Instant>,
}

/// What an [`super::Estimator`] asks of its shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EstimatorOutput {
    /// The encoder should now produce `target` and the pacer let out `pacing`.
    Target {
        /// Rate for the encoder(s).
        target: Bitrate,
        /// Rate for the pacer (at least `target`).
        pacing: Bitrate,
    },
    /// Send a probe cluster.
    Probe(ProbeRequest),
}
