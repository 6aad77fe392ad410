//! onbeat's [`Estimator`] as the media flow's controller: the shell a real
//! sender would write, feeding it what the pacer sent and what feedback said,
//! and handing its probe requests to the pacer.

use onbeat_core::Instant;
use onbeat_core::bitrate::{
    Bitrate, Estimator, EstimatorConfig, EstimatorOutput, PacketResult, SentPacket,
};

use super::layers::Layers;
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

/// onbeat's estimator feeding onbeat's layer allocator: the encoder sends
/// the chosen layers, the allocator's probe requests go to the estimator and
/// the verdicts come back.
pub struct LayeredOnbeat {
    inner: OnbeatController,
    layers: Layers,
    app_limited: bool,
}

/// The encoder counts as application-limited below this share of the target.
const APP_LIMITED_BELOW: f64 = 0.9;

impl LayeredOnbeat {
    /// The estimator (as [`OnbeatController::new`]) and the allocator of
    /// the `layers` scenario's tracks.
    pub fn new(start_bps: u64, max_bps: u64, now: Instant) -> Result<Self, String> {
        let mut c = LayeredOnbeat {
            inner: OnbeatController::new(start_bps, max_bps, now),
            layers: Layers::new(now)?,
            app_limited: false,
        };
        c.sync(now);
        Ok(c)
    }

    /// Hands the estimate and probe verdicts to the allocator, and its
    /// probe requests and encoder rate back to the estimator.
    fn sync(&mut self, now: Instant) {
        let estimator = &mut self.inner.estimator;
        while let Some(outcome) = estimator.poll_probe_result() {
            self.layers.probe_result(outcome.measured, now);
        }
        self.layers
            .estimate(estimator.available().bps() as f64, now);
        if let Some(rate) = self.layers.take_probe() {
            estimator.request_probe(rate, now);
        }
        if let Some(desired) = self.layers.take_desired() {
            estimator.set_desired(Some(desired), now);
        }
        let limited = self.layers.total_bps() < APP_LIMITED_BELOW * estimator.target().bps() as f64;
        if limited != self.app_limited {
            self.app_limited = limited;
            estimator.set_app_limited(limited, now);
        }
        self.inner.drain();
    }
}

impl Controller for LayeredOnbeat {
    fn on_sent(&mut self, id: u64, size: u32, probe: Option<u32>, now: Instant) {
        self.inner.on_sent(id, size, probe, now);
    }

    fn on_feedback(&mut self, results: &[(u64, Option<Instant>)], now: Instant) {
        self.inner.on_feedback(results, now);
        self.sync(now);
    }

    fn set_app_limited(&mut self, limited: bool, now: Instant) {
        self.inner.set_app_limited(limited, now);
    }

    fn wake_at(&self) -> Option<Instant> {
        [self.inner.wake_at(), self.layers.wake_at()]
            .into_iter()
            .flatten()
            .min()
    }

    fn wake(&mut self, now: Instant) {
        if self.inner.wake_at().is_some_and(|t| t <= now) {
            self.inner.wake(now);
        }
        if self.layers.wake_at().is_some_and(|t| t <= now) {
            self.layers.wake(now);
        }
        self.sync(now);
    }

    fn poll_probe(&mut self) -> Option<Probe> {
        self.inner.poll_probe()
    }

    fn target_bps(&self) -> f64 {
        self.layers.total_bps()
    }

    fn pacing_bps(&self) -> f64 {
        self.inner.pacing_bps()
    }

    fn estimate_bps(&self) -> f64 {
        self.inner.target_bps()
    }

    fn take_keyframe(&mut self) -> bool {
        self.layers.take_keyframe()
    }

    fn layers(&self) -> Option<&Layers> {
        Some(&self.layers)
    }
}
