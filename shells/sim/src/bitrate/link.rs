//! The bottleneck: a drop-tail queue in front of a [`Capacity`], then
//! propagation delay, jitter and random or bursty loss, recording the ground
//! truth of every packet.
//!
//! Randomness comes from the link's own streams (loss, loss state, jitter),
//! seeded from the run's seed and the link's name, never from a flow's. The
//! bursty-loss state is a function of time alone, so two runs on the same seed
//! see the same bad periods whatever they send.

use std::collections::VecDeque;

use onbeat_core::{Duration, Instant};

use super::capacity::{Capacity, Cursor};
use crate::rng::SimRng;

/// How much the drop-tail queue holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum QueueLimit {
    /// At most this many bytes waiting or in service.
    Bytes(u32),
    /// A packet is dropped when it would wait longer than this.
    Time(Duration),
}

/// Random loss on the path, before the queue (a lost packet takes no capacity).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// No random loss.
    None,
    /// Each packet lost independently with this probability.
    Random(f64),
    /// Gilbert–Elliott in time: good and bad periods of exponentially
    /// distributed lengths, each with its own loss probability.
    Bursty {
        /// Mean length of a good period.
        good_mean: Duration,
        /// Mean length of a bad period.
        bad_mean: Duration,
        /// Loss probability while good.
        loss_good: f64,
        /// Loss probability while bad.
        loss_bad: f64,
    },
}

/// A bottleneck link's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct BottleneckConfig {
    /// The service rate over time.
    pub capacity: Capacity,
    /// The queue's size.
    pub queue: QueueLimit,
    /// One-way propagation delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `[0, jitter)` per packet; packets stay
    /// in order (jitter delays a packet, it never overtakes the one before).
    pub jitter: Duration,
    /// Random loss.
    pub loss: Loss,
}

/// What happened to one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// It arrives at the far end.
    Delivered {
        /// When it arrives.
        at: Instant,
    },
    /// The queue was full.
    QueueFull,
    /// Random or bursty loss.
    Lost,
}

/// The ground truth about one packet that entered the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketRecord {
    /// Which flow sent it.
    pub flow: u8,
    /// When it reached the link.
    pub sent: Instant,
    /// Bytes on the wire.
    pub size: u32,
    /// How long it waited before its first bit left (zero if not queued).
    pub queued: Duration,
    /// What happened to it.
    pub fate: Fate,
}

/// Independent random streams derived from a run's seed.
pub fn stream(seed: u64, name: u64) -> SimRng {
    // SplitMix64 of the pair, so that nearby seeds and names give unrelated streams.
    let mut z = seed ^ name.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    SimRng::new(z ^ (z >> 31))
}

/// One direction through the bottleneck.
#[derive(Debug)]
pub struct Bottleneck {
    config: BottleneckConfig,
    cursor: Cursor,
    /// End of service and size of every packet not yet fully sent.
    backlog: VecDeque<(Instant, u32)>,
    backlog_bytes: u64,
    busy_until: Instant,
    last_arrival: Instant,
    loss_rng: SimRng,
    state_rng: SimRng,
    jitter_rng: SimRng,
    /// Whether the bursty-loss state is bad, and until when it lasts.
    bad: bool,
    state_until: Instant,
    records: Vec<PacketRecord>,
}

impl Bottleneck {
    /// A link on the random streams of `seed` and `name`.
    pub fn new(config: BottleneckConfig, seed: u64, name: u64) -> Self {
        let mut state_rng = stream(seed, name.wrapping_mul(3) + 1);
        let state_until = match config.loss {
            Loss::Bursty { good_mean, .. } => {
                Instant::ZERO + exponential(&mut state_rng, good_mean)
            }
            _ => Instant::MAX,
        };
        Bottleneck {
            cursor: Cursor::default(),
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            busy_until: Instant::ZERO,
            last_arrival: Instant::ZERO,
            loss_rng: stream(seed, name.wrapping_mul(3)),
            state_rng,
            jitter_rng: stream(seed, name.wrapping_mul(3) + 2),
            bad: false,
            state_until,
            records: Vec::new(),
            config,
        }
    }

    /// The link's parameters.
    pub fn config(&self) -> &BottleneckConfig {
        &self.config
    }

    /// Every packet so far, in the order they reached the link.
    pub fn records(&self) -> &[PacketRecord] {
        &self.records
    }

    /// Bytes queued or in service at `now`.
    pub fn queued_bytes(&mut self, now: Instant) -> u64 {
        while self.backlog.front().is_some_and(|&(end, _)| end <= now) {
            let (_, size) = self.backlog.pop_front().unwrap_or_default();
            self.backlog_bytes -= u64::from(size);
        }
        self.backlog_bytes
    }

    /// Whether bursty loss is in its bad state at `now`.
    fn bad_at(&mut self, now: Instant) -> bool {
        if let Loss::Bursty {
            good_mean,
            bad_mean,
            ..
        } = self.config.loss
        {
            while self.state_until <= now {
                self.bad = !self.bad;
                let mean = if self.bad { bad_mean } else { good_mean };
                self.state_until += exponential(&mut self.state_rng, mean);
            }
        }
        self.bad
    }

    /// A packet of `size` bytes from `flow` reaches the link at `now`.
    pub fn send(&mut self, flow: u8, size: u32, now: Instant) -> Fate {
        let p = match self.config.loss {
            Loss::None => 0.0,
            Loss::Random(p) => p,
            Loss::Bursty {
                loss_good,
                loss_bad,
                ..
            } => {
                if self.bad_at(now) {
                    loss_bad
                } else {
                    loss_good
                }
            }
        };
        let lost = self.loss_rng.chance(p);
        let queued = self.queued_bytes(now);
        let start = self.busy_until.max(now);
        let wait = start - now;
        let full = match self.config.queue {
            QueueLimit::Bytes(b) => queued + u64::from(size) > u64::from(b),
            QueueLimit::Time(d) => wait > d,
        };
        let mut record = PacketRecord {
            flow,
            sent: now,
            size,
            queued: Duration::ZERO,
            fate: Fate::Lost,
        };
        if lost {
            // Decided before the queue, so a lost packet neither waits nor takes capacity.
        } else if full {
            record.fate = Fate::QueueFull;
        } else {
            let service = self.config.capacity.serve(start, size, &mut self.cursor);
            self.busy_until = service.end;
            self.backlog.push_back((service.end, size));
            self.backlog_bytes += u64::from(size);
            let jitter = self
                .jitter_rng
                .uniform(0.0, self.config.jitter.as_micros() as f64);
            let at = service
                .end
                .saturating_add(self.config.delay)
                .saturating_add(Duration::from_micros(jitter as u64))
                .max(self.last_arrival);
            self.last_arrival = at;
            record.queued = service.start.saturating_duration_since(now);
            record.fate = Fate::Delivered { at };
        }
        self.records.push(record);
        record.fate
    }
}

fn exponential(rng: &mut SimRng, mean: Duration) -> Duration {
    let u = rng.unit();
    let d = -(1.0 - u).ln() * mean.as_micros() as f64;
    Duration::from_micros((d as u64).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(loss: Loss, queue: QueueLimit) -> Bottleneck {
        Bottleneck::new(
            BottleneckConfig {
                capacity: Capacity::constant(1_000_000),
                queue,
                delay: Duration::from_millis(50),
                jitter: Duration::ZERO,
                loss,
            },
            7,
            0,
        )
    }

    #[test]
    fn an_idle_link_adds_serialisation_and_propagation_only() {
        let mut l = link(Loss::None, QueueLimit::Bytes(10_000));
        let fate = l.send(0, 1250, Instant::from_millis(100));
        assert_eq!(
            fate,
            Fate::Delivered {
                at: Instant::from_millis(160)
            }
        );
        assert_eq!(l.records()[0].queued, Duration::ZERO);
    }

    #[test]
    fn a_burst_queues_then_overflows_the_byte_limit() {
        let mut l = link(Loss::None, QueueLimit::Bytes(5_000));
        let fates: Vec<_> = (0..6).map(|_| l.send(0, 1250, Instant::ZERO)).collect();
        assert!(
            fates[..4]
                .iter()
                .all(|f| matches!(f, Fate::Delivered { .. }))
        );
        assert_eq!(fates[4], Fate::QueueFull);
        assert_eq!(l.records()[3].queued, Duration::from_millis(30));
        // Once served, there is room again.
        assert!(matches!(
            l.send(0, 1250, Instant::from_millis(10)),
            Fate::Delivered { .. }
        ));
    }

    #[test]
    fn a_time_limit_bounds_the_wait() {
        let mut l = link(Loss::None, QueueLimit::Time(Duration::from_millis(25)));
        let waits: Vec<_> = (0..5)
            .filter_map(|_| {
                l.send(0, 1250, Instant::ZERO);
                l.records()
                    .last()
                    .filter(|r| r.fate != Fate::QueueFull)
                    .map(|r| r.queued)
            })
            .collect();
        assert_eq!(waits.len(), 3, "waits {waits:?}");
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(25)));
    }

    #[test]
    fn bursty_loss_state_depends_on_time_alone() {
        let bursty = Loss::Bursty {
            good_mean: Duration::from_millis(500),
            bad_mean: Duration::from_millis(100),
            loss_good: 0.0,
            loss_bad: 1.0,
        };
        let mut a = link(bursty, QueueLimit::Bytes(1 << 30));
        let mut b = link(bursty, QueueLimit::Bytes(1 << 30));
        let mut states = (Vec::new(), Vec::new());
        for ms in 0..200_000 {
            // `b` is asked ten times as often: its state must still match `a`'s.
            let t = Instant::from_millis(ms);
            let seen_by_b = b.bad_at(t);
            if ms % 10 == 0 {
                states.0.push(a.bad_at(t));
                states.1.push(seen_by_b);
            }
        }
        assert_eq!(states.0, states.1);
        let bad = states.0.iter().filter(|&&s| s).count() as f64 / states.0.len() as f64;
        assert!((bad - 1.0 / 6.0).abs() < 0.05, "bad share {bad}");
    }
}
