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
mod pushback;
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
}

/// One 100 ms sample of a run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    /// µs since the start.
    pub t: u64,
    /// The first media flow's target, bit/s.
    pub target: u64,
    /// The link's capacity, bit/s.
    pub capacity: u64,
    /// The bottleneck queue, µs.
    pub queue: u64,
    /// Bit/s each media flow delivered over the sample.
    pub delivered: [u64; 2],
    /// Bit/s the TCP-like flow delivered over the sample.
    pub tcp: u64,
}

/// What a run measured, sampled every 100 ms.
pub(crate) struct Run {
    pub samples: Vec<Sample>,
    pub sent: u64,
    pub dropped: u64,
    /// The rate of every probe the first flow's estimator asked for, bit/s.
    pub probe_rates: Vec<u64>,
}

/// The link's FIFO, shared by every flow.
struct Queue {
    free_at: u64,
    rng: ChaCha8Rng,
    sent: u64,
    dropped: u64,
}

impl Queue {
    /// Offers a packet at `t`; returns its arrival at the receiver (sender's
    /// time base) and whether it was lost.
    fn offer(&mut self, link: &Link, t: u64) -> (u64, bool) {
        let cap = link.capacity(t).max(1);
        let service = u64::from(PACKET) * 8 * 1_000_000 / cap;
        let start = self.free_at.max(t);
        let lost_random = self.rng.random::<f64>() < link.loss;
        let overflow = start - t > link.queue_limit_us;
        self.sent += 1;
        if overflow {
            self.dropped += 1;
        } else {
            self.free_at = start + service;
        }
        (self.free_at + ONE_WAY, overflow || lost_random)
    }
}

/// One of our media flows: a smooth source at the estimator's target.
struct Media<'a> {
    est: &'a mut Estimator,
    budget: f64,
    next_id: u64,
    in_flight: Vec<(u64, u64, bool)>,
    feedback: Vec<(u64, Vec<PacketResult>)>,
    probes: Vec<(u64, u32)>,
    asked: Vec<u64>,
    delivered: u64,
}

impl Media<'_> {
    fn step(&mut self, queue: &mut Queue, link: &Link, t: u64) {
        let now = Instant::from_micros(t);
        while let Some(out) = self.est.poll_output() {
            if let EstimatorOutput::Probe(p) = out {
                self.asked.push(p.rate.bps());
                let n = (p.rate.bps() * p.duration.as_micros() / 8_000_000 / u64::from(PACKET))
                    .max(u64::from(p.min_packets));
                let gap = u64::from(PACKET) * 8 * 1_000_000 / p.rate.bps().max(1);
                self.probes.extend((0..n).map(|i| (t + i * gap, p.id)));
            }
        }
        self.budget += self.est.target().bps() as f64 / 1_000.0;
        let mut sends: Vec<Option<u32>> = Vec::new();
        while self.budget >= f64::from(PACKET * 8) {
            self.budget -= f64::from(PACKET * 8);
            sends.push(None);
        }
        self.probes.retain(|&(at, id)| {
            let due = at <= t;
            if due {
                sends.push(Some(id));
            }
            !due
        });
        for probe in sends {
            let (arrival, lost) = queue.offer(link, t);
            self.in_flight.push((arrival, self.next_id, lost));
            let packet = SentPacket {
                id: self.next_id,
                size: PACKET,
                send_time: now,
                probe,
            };
            self.est.handle_sent(packet, now);
            self.next_id += 1;
        }
        if t % FEEDBACK_EVERY == 0 {
            let mut report = Vec::new();
            let delivered = &mut self.delivered;
            self.in_flight.retain(|&(arrival, id, lost)| {
                let done = arrival <= t;
                if done {
                    let arrival = (!lost).then(|| Instant::from_micros(arrival + RECEIVER_OFFSET));
                    *delivered += if lost { 0 } else { u64::from(PACKET) * 8 };
                    report.push(PacketResult { id, arrival });
                }
                !done
            });
            self.feedback.push((t + ONE_WAY, report));
        }
        let est = &mut *self.est;
        self.feedback.retain(|(at, report)| {
            let due = *at <= t;
            if due {
                est.handle_feedback(report, now);
            }
            !due
        });
        if est.poll_timeout().is_some_and(|d| d <= now) {
            est.handle_timeout(now);
        }
    }
}

/// A TCP-like flow: a window of packets, one more per window acknowledged,
/// halved at most once per round trip when a loss is noticed.
struct Tcp {
    cwnd: f64,
    slow_start: bool,
    in_flight: Vec<(u64, bool)>,
    last_halving: u64,
    delivered: u64,
}

impl Tcp {
    fn step(&mut self, queue: &mut Queue, link: &Link, t: u64) {
        let mut loss = false;
        let mut acked = 0u32;
        self.in_flight.retain(|&(ack_at, lost)| {
            let due = ack_at <= t;
            if due {
                loss |= lost;
                acked += u32::from(!lost);
            }
            !due
        });
        self.delivered += u64::from(acked) * u64::from(PACKET) * 8;
        if loss && t >= self.last_halving + 2 * ONE_WAY + 100_000 {
            self.cwnd = (self.cwnd / 2.0).max(2.0);
            self.slow_start = false;
            self.last_halving = t;
        } else if self.slow_start {
            self.cwnd += f64::from(acked);
        } else {
            self.cwnd += f64::from(acked) / self.cwnd;
        }
        while (self.in_flight.len() as f64) < self.cwnd {
            let (arrival, lost) = queue.offer(link, t);
            self.in_flight.push((arrival + ONE_WAY, lost));
        }
    }
}

impl Link {
    /// Runs `estimator` alone for `secs` seconds over this link.
    pub fn run(&self, estimator: &mut Estimator, secs: u64) -> Run {
        self.run_with(estimator, None, false, secs)
    }

    /// Runs `first`, and `second` and a TCP-like flow if asked, for `secs`
    /// seconds over this link.
    pub fn run_with(
        &self,
        first: &mut Estimator,
        second: Option<&mut Estimator>,
        tcp: bool,
        secs: u64,
    ) -> Run {
        let mut queue = Queue {
            free_at: 0,
            rng: ChaCha8Rng::seed_from_u64(self.seed),
            sent: 0,
            dropped: 0,
        };
        let media = |est| Media {
            est,
            budget: 0.0,
            next_id: 0,
            in_flight: Vec::new(),
            feedback: Vec::new(),
            probes: Vec::new(),
            asked: Vec::new(),
            delivered: 0,
        };
        let mut flows: Vec<Media<'_>> = core::iter::once(first).chain(second).map(media).collect();
        let mut tcp = tcp.then(|| Tcp {
            cwnd: 2.0,
            slow_start: true,
            in_flight: Vec::new(),
            last_halving: 0,
            delivered: 0,
        });
        let mut samples = Vec::new();
        for t in (0..secs * 1_000_000).step_by(1_000) {
            for f in flows.iter_mut() {
                f.step(&mut queue, self, t);
            }
            if let Some(tcp) = tcp.as_mut() {
                tcp.step(&mut queue, self, t);
            }
            if t % 100_000 == 0 {
                let mut delivered = [0; 2];
                for (d, f) in delivered.iter_mut().zip(flows.iter_mut()) {
                    *d = core::mem::take(&mut f.delivered) * 10;
                }
                samples.push(Sample {
                    t,
                    target: flows[0].est.target().bps(),
                    capacity: self.capacity(t),
                    queue: queue.free_at.saturating_sub(t),
                    delivered,
                    tcp: tcp
                        .as_mut()
                        .map_or(0, |f| core::mem::take(&mut f.delivered) * 10),
                });
            }
        }
        Run {
            samples,
            sent: queue.sent,
            dropped: queue.dropped,
            probe_rates: core::mem::take(&mut flows[0].asked),
        }
    }
}

impl Run {
    fn between(&self, from_s: f64, to_s: f64) -> impl Iterator<Item = &Sample> {
        let (a, b) = ((from_s * 1e6) as u64, (to_s * 1e6) as u64);
        self.samples.iter().filter(move |s| s.t >= a && s.t < b)
    }

    /// Bits delivered by all flows over capacity between two instants (s).
    pub fn utilization(&self, from_s: f64, to_s: f64) -> f64 {
        let (d, c) = self.between(from_s, to_s).fold((0u64, 0u64), |(d, c), s| {
            (d + s.delivered[0] + s.delivered[1] + s.tcp, c + s.capacity)
        });
        d as f64 / c as f64
    }

    /// Mean delivered rate (bit/s) of media flow `flow`, or of the TCP-like
    /// flow (`None`), between two instants.
    pub fn mean_delivered(&self, flow: Option<usize>, from_s: f64, to_s: f64) -> f64 {
        let v: Vec<u64> = self
            .between(from_s, to_s)
            .map(|s| flow.map_or(s.tcp, |i| s.delivered[i]))
            .collect();
        v.iter().sum::<u64>() as f64 / v.len() as f64
    }

    /// The 95th percentile of the bottleneck queue (ms) between two instants.
    pub fn p95_queue_ms(&self, from_s: f64, to_s: f64) -> f64 {
        let mut q: Vec<u64> = self.between(from_s, to_s).map(|s| s.queue).collect();
        q.sort_unstable();
        q[(q.len() * 95 / 100).min(q.len() - 1)] as f64 / 1_000.0
    }

    /// Peak-to-peak over mean of the target between two instants.
    pub fn variation(&self, from_s: f64, to_s: f64) -> f64 {
        let t: Vec<u64> = self.between(from_s, to_s).map(|s| s.target).collect();
        let (lo, hi) = (t.iter().min().unwrap(), t.iter().max().unwrap());
        let mean = t.iter().sum::<u64>() as f64 / t.len() as f64;
        (hi - lo) as f64 / mean
    }

    /// Seconds after `from_s` until `pred` first holds for a sample.
    pub fn first_after(&self, from_s: f64, pred: impl Fn(&Sample) -> bool) -> Option<f64> {
        self.between(from_s, f64::MAX)
            .find(|s| pred(s))
            .map(|s| s.t as f64 / 1e6 - from_s)
    }

    /// Mean target (bit/s) between two instants.
    pub fn mean_target(&self, from_s: f64, to_s: f64) -> f64 {
        let t: Vec<u64> = self.between(from_s, to_s).map(|s| s.target).collect();
        t.iter().sum::<u64>() as f64 / t.len() as f64
    }
}

/// An estimator with the default configuration, started at zero.
pub(crate) fn estimator() -> Estimator {
    Estimator::new(EstimatorConfig::default(), Instant::ZERO)
}

/// An estimator that asks for no probe by itself.
pub(crate) fn without_initial_probes() -> Estimator {
    Estimator::new(
        EstimatorConfig {
            initial_probes: false,
            ..EstimatorConfig::default()
        },
        Instant::ZERO,
    )
}
