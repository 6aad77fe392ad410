//! Closed-loop tests of the estimator over a small packet-level bottleneck
//! model: a drop-tail queue drained at a scheduled capacity, propagation
//! delay, random loss, and feedback every 50 ms. The real judging happens in
//! onbeat-sim; this model only has to be right enough to tell a controller
//! that works from one that does not.

extern crate std;

use std::vec::Vec;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

mod closed_loop;
mod input;
use crate::time::Instant;

const PACKET: u32 = 1_200;
const ONE_WAY: u64 = 50_000;
const FEEDBACK_EVERY: u64 = 50_000;
/// The receiver's clock runs this far ahead of the sender's.
const RECEIVER_OFFSET: u64 = 123_456_789_000;

/// One simulated run's world.
pub(crate) struct Link {
    /// (from µs, capacity bit/s).
    pub steps: Vec<(u64, u64)>,
    pub queue_limit_us: u64,
    pub loss: f64,
    pub seed: u64,
}

/// What a run measured, sampled every 100 ms.
pub(crate) struct Run {
    /// (µs, target bit/s, capacity bit/s, queue µs, delivered bit/s over the sample).
    pub samples: Vec<(u64, u64, u64, u64, u64)>,
    pub sent: u64,
    pub dropped: u64,
}

impl Link {
    pub fn constant(bps: u64) -> Link {
        Link {
            steps: std::vec![(0, bps)],
            queue_limit_us: 300_000,
            loss: 0.0,
            seed: 1,
        }
    }

    fn capacity(&self, at: u64) -> u64 {
        self.steps
            .iter()
            .rev()
            .find(|(from, _)| at >= *from)
            .map_or(self.steps[0].1, |s| s.1)
    }

    /// Runs `estimator` for `secs` seconds over this link.
    pub fn run(&self, estimator: &mut Estimator, secs: u64) -> Run {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let end = secs * 1_000_000;
        let mut budget = 0.0f64;
        let mut next_id = 0u64;
        let mut link_free = 0u64;
        // (arrival at receiver µs on the sender's time base, id, lost)
        let mut in_flight: Vec<(u64, u64, bool)> = Vec::new();
        let mut feedback: Vec<(u64, Vec<PacketResult>)> = Vec::new();
        let mut probes: Vec<(u64, u32)> = Vec::new();
        let mut next_report = FEEDBACK_EVERY;
        let mut run = Run {
            samples: Vec::new(),
            sent: 0,
            dropped: 0,
        };
        let mut delivered_bits = 0u64;
        let mut t = 0u64;
        while t < end {
            let now = Instant::from_micros(t);
            while let Some(out) = estimator.poll_output() {
                if let EstimatorOutput::Probe(p) = out {
                    let n = (p.rate.bps() * p.duration.as_micros() / 8_000_000 / u64::from(PACKET))
                        .max(u64::from(p.min_packets));
                    let gap = u64::from(PACKET) * 8 * 1_000_000 / p.rate.bps().max(1);
                    for i in 0..n {
                        probes.push((t + i * gap, p.id));
                    }
                }
            }
            // The media source, smooth at the target rate, and due probe packets.
            budget += estimator.target().bps() as f64 / 1_000.0;
            let mut sends: Vec<Option<u32>> = Vec::new();
            while budget >= f64::from(PACKET * 8) {
                budget -= f64::from(PACKET * 8);
                sends.push(None);
            }
            probes.retain(|&(at, id)| {
                if at <= t {
                    sends.push(Some(id));
                    false
                } else {
                    true
                }
            });
            for probe in sends {
                let cap = self.capacity(t).max(1);
                let service = u64::from(PACKET) * 8 * 1_000_000 / cap;
                let start = link_free.max(t);
                let lost_random = rng.random::<f64>() < self.loss;
                let overflow = start - t > self.queue_limit_us;
                if overflow {
                    run.dropped += 1;
                } else {
                    link_free = start + service;
                }
                in_flight.push((link_free + ONE_WAY, next_id, overflow || lost_random));
                estimator.handle_sent(
                    SentPacket {
                        id: next_id,
                        size: PACKET,
                        send_time: now,
                        probe,
                    },
                    now,
                );
                next_id += 1;
                run.sent += 1;
            }
            if t >= next_report {
                next_report += FEEDBACK_EVERY;
                let mut report = Vec::new();
                in_flight.retain(|&(arrival, id, lost)| {
                    if arrival <= t {
                        let arrival =
                            (!lost).then(|| Instant::from_micros(arrival + RECEIVER_OFFSET));
                        if !lost {
                            delivered_bits += u64::from(PACKET) * 8;
                        }
                        report.push(PacketResult { id, arrival });
                        false
                    } else {
                        true
                    }
                });
                feedback.push((t + ONE_WAY, report));
            }
            feedback.retain(|(at, report)| {
                if *at <= t {
                    estimator.handle_feedback(report, now);
                    false
                } else {
                    true
                }
            });
            if estimator.poll_timeout().is_some_and(|d| d <= now) {
                estimator.handle_timeout(now);
            }
            if t % 100_000 == 0 {
                run.samples.push((
                    t,
                    estimator.target().bps(),
                    self.capacity(t),
                    link_free.saturating_sub(t),
                    delivered_bits * 10,
                ));
                delivered_bits = 0;
            }
            t += 1_000;
        }
        run
    }
}

impl Run {
    fn between(&self, from_s: f64, to_s: f64) -> impl Iterator<Item = &(u64, u64, u64, u64, u64)> {
        let (a, b) = ((from_s * 1e6) as u64, (to_s * 1e6) as u64);
        self.samples.iter().filter(move |s| s.0 >= a && s.0 < b)
    }

    /// Delivered bits over capacity between two instants (s).
    pub fn utilization(&self, from_s: f64, to_s: f64) -> f64 {
        let (d, c) = self
            .between(from_s, to_s)
            .fold((0u64, 0u64), |(d, c), s| (d + s.4, c + s.2));
        d as f64 / c as f64
    }

    /// The 95th percentile of the bottleneck queue (ms) between two instants.
    pub fn p95_queue_ms(&self, from_s: f64, to_s: f64) -> f64 {
        let mut q: Vec<u64> = self.between(from_s, to_s).map(|s| s.3).collect();
        q.sort_unstable();
        q[(q.len() * 95 / 100).min(q.len() - 1)] as f64 / 1_000.0
    }

    /// Peak-to-peak over mean of the target between two instants.
    pub fn variation(&self, from_s: f64, to_s: f64) -> f64 {
        let t: Vec<u64> = self.between(from_s, to_s).map(|s| s.1).collect();
        let (lo, hi) = (t.iter().min().unwrap(), t.iter().max().unwrap());
        let mean = t.iter().sum::<u64>() as f64 / t.len() as f64;
        (hi - lo) as f64 / mean
    }

    /// Seconds after `from_s` until `pred` first holds for a sample.
    pub fn first_after(
        &self,
        from_s: f64,
        pred: impl Fn(&(u64, u64, u64, u64, u64)) -> bool,
    ) -> Option<f64> {
        self.between(from_s, f64::MAX)
            .find(|s| pred(s))
            .map(|s| s.0 as f64 / 1e6 - from_s)
    }

    /// Mean target (bit/s) between two instants.
    pub fn mean_target(&self, from_s: f64, to_s: f64) -> f64 {
        let t: Vec<u64> = self.between(from_s, to_s).map(|s| s.1).collect();
        t.iter().sum::<u64>() as f64 / t.len() as f64
    }
}

/// An estimator with the default configuration, started at zero.
pub(crate) fn estimator() -> Estimator {
    Estimator::new(EstimatorConfig::default(), Instant::ZERO)
}
