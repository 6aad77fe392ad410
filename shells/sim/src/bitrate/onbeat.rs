//! onbeat's [`Estimator`] as the media flow's controller: the shell a real
//! sender would write, feeding it what the pacer sent and what feedback said,
//! and handing its probe requests to the pacer.

use onbeat_core::Instant;
use onbeat_core::bitrate::{
    Bitrate, Estimator, EstimatorConfig, EstimatorOutput, PacketResult, SentPacket,
};

use super::media::{Controller, Probe};

/// Most results handed to the estimator in one call (feedback reports are
/// cut into slices this long; no heap inside the estimator).
const FEEDBACK_SLICE: usize = 256;

/// onbeat's estimator behind the simulator's controller interface.
pub struct OnbeatController {
    estimator: Estimator,
    probes: Vec<Probe>,
    results: Vec<PacketResult>,
}

impl OnbeatController {
    /// An estimator starting at `start_bps`, never above `max_bps`.
    pub fn new(start_bps: u64, max_bps: u64, now: Instant) -> Self {
        let config = EstimatorConfig {
            start: Bitrate::from_bps(start_bps),
            max: Bitrate::from_bps(max_bps),
            ..EstimatorConfig::default()
        };
        OnbeatController {
            estimator: Estimator::new(config, now),
            probes: Vec::new(),
            results: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(output) = self.estimator.poll_output() {
            if let EstimatorOutput::Probe(p) = output {
                self.probes.push(Probe {
                    id: p.id,
                    rate_bps: p.rate.bps() as f64,
                    duration: p.duration,
                    min_packets: p.min_packets,
                });
            }
        }
    }
}

impl Controller for OnbeatController {
    fn on_sent(&mut self, id: u64, size: u32, probe: Option<u32>, now: Instant) {
        let packet = SentPacket {
            id,
            size,
            send_time: now,
            probe,
        };
        self.estimator.handle_sent(packet, now);
        self.drain();
    }

    fn on_feedback(&mut self, results: &[(u64, Option<Instant>)], now: Instant) {
        self.results.clear();
        self.results.extend(
            results
                .iter()
                .map(|&(id, arrival)| PacketResult { id, arrival }),
        );
        for slice in self.results.chunks(FEEDBACK_SLICE) {
            self.estimator.handle_feedback(slice, now);
        }
        self.drain();
    }

    fn set_app_limited(&mut self, limited: bool, now: Instant) {
        self.estimator.set_app_limited(limited, now);
        self.drain();
    }

    fn wake_at(&self) -> Option<Instant> {
        self.estimator.poll_timeout()
    }

    fn wake(&mut self, now: Instant) {
        self.estimator.handle_timeout(now);
        self.drain();
    }

    fn poll_probe(&mut self) -> Option<Probe> {
        (!self.probes.is_empty()).then(|| self.probes.remove(0))
    }

    fn target_bps(&self) -> f64 {
        self.estimator.target().bps() as f64
    }

    fn pacing_bps(&self) -> f64 {
        self.estimator.pacing_rate().bps() as f64
    }
}
