//! The figures of one run, all from the bottleneck's ground truth (true
//! capacity, each packet's wait and fate), never from an estimator's belief.

use onbeat_core::{Duration, Instant};
use serde::Serialize;

use super::capacity::Capacity;
use super::late::late;
use super::layer_figures::{LayerFigures, Phase};
use super::link::{Fate, PacketRecord};
use super::world::Sample;

/// Time excluded from utilization, delay, loss and score while a flow starts.
pub const WARMUP: Duration = Duration::from_secs(5);
/// Queue delay a step down must bring the queue back under.
const RECOVERED_QUEUE: Duration = Duration::from_millis(50);
/// How long the queue must stay under that for the link to count as recovered.
const RECOVERED_FOR: Duration = Duration::from_secs(1);
/// Window over which the received rate is measured after a step up.
const RATE_WINDOW: Duration = Duration::from_millis(500);
/// Part of a capacity phase, from its end, counted as steady.
const STEADY: Duration = Duration::from_secs(10);
/// Time after a phase starts before fairness is judged.
const SETTLE: Duration = Duration::from_secs(10);
/// Phases whose fairness is reported one by one.
pub const JAIN_PHASES: usize = 5;
/// Window of `min_share_1s`, and the step it slides by.
const SHARE_WINDOW: Duration = Duration::from_secs(1);
const SHARE_STEP: Duration = Duration::from_millis(100);
/// Time before `min_share_1s` is judged: TCP's slow start and the
/// estimator's start-up are over by then.
const SHARE_FROM: Duration = Duration::from_secs(10);
/// p95 one-way delay at or above which the delay score is zero (MMSys'21).
const DELAY_CAP_MS: f64 = 400.0;

/// What one run of one estimator measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Bits the estimator's flows delivered / bits the link could carry.
    pub utilization: f64,
    /// 95th percentile of the time packets waited in the bottleneck queue, ms.
    pub p95_queue_ms: f64,
    /// 95th percentile one-way delay (propagation, jitter, queue, serialisation), ms.
    pub p95_delay_ms: f64,
    /// Share of the estimator's packets lost (queue full or random loss).
    pub loss: f64,
    /// Longest time after a step down until the queue is under 50 ms for
    /// every packet of a whole second.
    pub recover_down_ms: Option<f64>,
    /// Longest time after a step up until the received rate reaches 90% of
    /// the new capacity (over 500 ms).
    pub reach_up_ms: Option<f64>,
    /// Mean over steady phases (their last 10 s) of the target's
    /// peak-to-peak over its mean.
    pub steady_variation: Option<f64>,
    /// Jain's index of two flows' received rates, the worst phase (each
    /// judged from 10 s after it starts).
    pub jain: Option<f64>,
    /// Jain's index in each phase (up to [`JAIN_PHASES`]), in order.
    pub jain_phases: [Option<f64>; JAIN_PHASES],
    /// The estimator's share of what the bottleneck delivered next to TCP.
    pub tcp_share: Option<f64>,
    /// Next to TCP, the lowest share of the link's capacity the estimator's
    /// flows received in any 1 s window (sliding by 100 ms) from 10 s on.
    pub min_share_1s: Option<f64>,
    /// Share of delivered packets over the trace goal's delay (traces only).
    pub late_share: Option<f64>,
    /// Of those, the share sent into a delivery gap rather than behind the
    /// flow's own queue (see [`late`](super::late)).
    pub late_in_gap: Option<f64>,
    /// MMSys'21 score: 20·delay score + 20·min(1, utilization) + 30·(1 − loss).
    pub score: f64,
    /// The layer allocator's figures (`layers` only).
    #[serde(skip)]
    pub layers: Option<LayerFigures>,
}

/// What a run hands to [`Run::figures`].
pub struct Run<'a> {
    /// The link's capacity.
    pub capacity: &'a Capacity,
    /// One-way propagation delay.
    pub delay: Duration,
    /// Every packet's ground truth.
    pub records: &'a [PacketRecord],
    /// The flows run by the estimator being judged.
    pub flows: &'a [u8],
    /// The TCP flow, if any.
    pub tcp: Option<u8>,
    /// Target samples of the first judged flow.
    pub samples: &'a [Sample],
    /// When the run ends.
    pub end: Instant,
    /// Nominal phases to judge steps and steadiness by, where the capacity's
    /// own steps are noise around them.
    pub nominal: Option<&'a [Phase]>,
}

fn percentile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

/// The median of `v` (mean of the middle two), `None` when empty.
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl Run<'_> {
    fn delivered_bits(&self, flows: &[u8], a: Instant, b: Instant) -> f64 {
        self.records
            .iter()
            .filter(|r| flows.contains(&r.flow))
            .filter_map(|r| match r.fate {
                Fate::Delivered { at } if at >= a && at < b => Some(f64::from(r.size) * 8.0),
                _ => None,
            })
            .sum()
    }

    fn judged(&self) -> impl Iterator<Item = &PacketRecord> {
        let from = Instant::ZERO + WARMUP;
        self.records
            .iter()
            .filter(move |r| self.flows.contains(&r.flow) && r.sent >= from)
    }

    /// Phases of a stepped capacity: (start, end, rate before, rate).
    fn phases(&self) -> Vec<(Instant, Instant, u64, u64)> {
        if let Some(nominal) = self.nominal {
            let mut before = nominal.first().map_or(0, |p| p.bps);
            return nominal
                .iter()
                .map(|p| {
                    let phase = (p.from, p.to.min(self.end), before, p.bps);
                    before = p.bps;
                    phase
                })
                .filter(|p| p.1 > p.0)
                .collect();
        }
        let Capacity::Steps(steps) = self.capacity else {
            return Vec::new();
        };
        steps
            .iter()
            .enumerate()
            .map(|(i, &(from, bps))| {
                let to = steps.get(i + 1).map_or(self.end, |s| s.0).min(self.end);
                let before = if i == 0 { bps } else { steps[i - 1].1 };
                (from, to, before, bps)
            })
            .filter(|p| p.1 > p.0)
            .collect()
    }

    fn recover_down(&self) -> Option<f64> {
        let downs: Vec<_> = self.phases().into_iter().filter(|p| p.3 < p.2).collect();
        let worst = downs.iter().map(|&(from, to, _, _)| {
            // Recovered at the first packet from which on every packet for
            // RECOVERED_FOR waits less than 50 ms.
            let phase: Vec<&PacketRecord> = self
                .records
                .iter()
                .filter(|r| self.flows.contains(&r.flow) && r.sent >= from && r.sent < to)
                .collect();
            let mut calm_since = None;
            for r in &phase {
                if r.queued >= RECOVERED_QUEUE {
                    calm_since = None;
                } else {
                    let since = *calm_since.get_or_insert(r.sent);
                    if r.sent - since >= RECOVERED_FOR {
                        return (since - from).as_micros() as f64 / 1e3;
                    }
                }
            }
            (to - from).as_micros() as f64 / 1e3
        });
        worst.reduce(f64::max)
    }

    fn reach_up(&self) -> Option<f64> {
        let ups: Vec<_> = self.phases().into_iter().filter(|p| p.3 > p.2).collect();
        let step = Duration::from_millis(100);
        let worst = ups.iter().map(|&(from, to, _, bps)| {
            let mut end = from + RATE_WINDOW;
            while end <= to {
                let bits = self.delivered_bits(self.flows, end.saturating_sub(RATE_WINDOW), end);
                if bits / (RATE_WINDOW.as_micros() as f64 / 1e6) >= 0.9 * bps as f64 {
                    return (end - from).as_micros() as f64 / 1e3;
                }
                end += step;
            }
            (to - from).as_micros() as f64 / 1e3
        });
        worst.reduce(f64::max)
    }

    fn steady_variation(&self) -> Option<f64> {
        let windows: Vec<f64> = self
            .phases()
            .into_iter()
            .filter(|p| p.1 - p.0 >= STEADY + Duration::from_secs(5))
            .filter_map(|(_, to, _, _)| {
                let from = to.saturating_sub(STEADY);
                let v: Vec<f64> = self
                    .samples
                    .iter()
                    .filter(|s| s.at >= from && s.at < to)
                    .map(|s| s.target_bps)
                    .collect();
                let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
                let (lo, hi) = v
                    .iter()
                    .fold((f64::MAX, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
                (mean > 0.0).then(|| (hi - lo) / mean)
            })
            .collect();
        (!windows.is_empty()).then(|| windows.iter().sum::<f64>() / windows.len() as f64)
    }

    /// Jain's index per phase, judged from [`SETTLE`] after it starts.
    fn jain(&self) -> Vec<f64> {
        let &[a, b] = self.flows else {
            return Vec::new();
        };
        let mut phases: Vec<_> = self.phases().into_iter().map(|p| (p.0, p.1)).collect();
        if phases.is_empty() {
            phases.push((Instant::ZERO, self.end));
        }
        phases
            .into_iter()
            .filter(|p| p.1 > p.0 + SETTLE)
            .map(|(from, to)| {
                let x = self.delivered_bits(&[a], from + SETTLE, to);
                let y = self.delivered_bits(&[b], from + SETTLE, to);
                if x + y == 0.0 {
                    0.0
                } else {
                    (x + y).powi(2) / (2.0 * (x * x + y * y))
                }
            })
            .collect()
    }

    /// The lowest share of the capacity the judged flows received over any
    /// [`SHARE_WINDOW`] from [`SHARE_FROM`] on, next to TCP only.
    fn min_share(&self) -> Option<f64> {
        self.tcp?;
        let from = Instant::ZERO + SHARE_FROM;
        let step = SHARE_STEP.as_micros();
        let bins = ((self.end - from).as_micros() / step) as usize;
        let mut bits = vec![0.0; bins];
        for r in self.records.iter().filter(|r| self.flows.contains(&r.flow)) {
            if let Fate::Delivered { at } = r.fate {
                let bin = at
                    .checked_duration_since(from)
                    .map(|d| d.as_micros() / step);
                if let Some(b) = bin.and_then(|b| bits.get_mut(b as usize)) {
                    *b += f64::from(r.size) * 8.0;
                }
            }
        }
        let per = (SHARE_WINDOW.as_micros() / step) as usize;
        bits.windows(per)
            .enumerate()
            .filter_map(|(i, w)| {
                let a = from + Duration::from_micros(i as u64 * step);
                let capacity = self.capacity.bits_between(a, a + SHARE_WINDOW);
                // A window the link could carry nothing in says nothing of the flow.
                (capacity > 0.0).then(|| w.iter().sum::<f64>() / capacity)
            })
            .reduce(f64::min)
    }

    /// Every figure of this run.
    pub fn figures(&self) -> Figures {
        let from = Instant::ZERO + WARMUP;
        let capacity = self.capacity.bits_between(from, self.end);
        let utilization = self.delivered_bits(self.flows, from, self.end) / capacity.max(1.0);
        let mut queue = Vec::new();
        let mut delay = Vec::new();
        let (mut sent, mut lost) = (0u64, 0u64);
        for r in self.judged() {
            sent += 1;
            match r.fate {
                Fate::Delivered { at } => {
                    queue.push(r.queued.as_micros() as f64 / 1e3);
                    delay.push((at - r.sent).as_micros() as f64 / 1e3);
                }
                _ => lost += 1,
            }
        }
        let loss = lost as f64 / sent.max(1) as f64;
        let p95_delay_ms = percentile(delay, 0.95);
        let jain = self.jain();
        let mut jain_phases = [None; JAIN_PHASES];
        for (slot, j) in jain_phases.iter_mut().zip(&jain) {
            *slot = Some(*j);
        }
        let tcp_share = self.tcp.map(|t| {
            let mine = self.delivered_bits(self.flows, from, self.end);
            let theirs = self.delivered_bits(&[t], from, self.end);
            mine / (mine + theirs).max(1.0)
        });
        let late = late(self.capacity, self.judged());
        Figures {
            utilization,
            p95_queue_ms: percentile(queue, 0.95),
            p95_delay_ms,
            loss,
            recover_down_ms: self.recover_down(),
            reach_up_ms: self.reach_up(),
            steady_variation: self.steady_variation(),
            jain: jain.iter().copied().reduce(f64::min),
            jain_phases,
            tcp_share,
            min_share_1s: self.min_share(),
            late_share: late.map(|l| l.share),
            late_in_gap: late.map(|l| l.in_gap),
            score: score(p95_delay_ms, self.delay, utilization, loss),
            layers: None,
        }
    }
}

/// The MMSys'21 challenge score (at most 70): the delay score is
/// `(400 − min(d, 400)) / (400 − p)` clamped to `[0, 1]`, where `d` is the
/// p95 one-way delay and `p` the propagation delay, both in ms.
pub fn score(p95_delay_ms: f64, propagation: Duration, utilization: f64, loss: f64) -> f64 {
    let p = (propagation.as_micros() as f64 / 1e3).min(DELAY_CAP_MS - 1.0);
    let delay_score =
        ((DELAY_CAP_MS - p95_delay_ms.min(DELAY_CAP_MS)) / (DELAY_CAP_MS - p)).clamp(0.0, 1.0);
    20.0 * delay_score + 20.0 * utilization.min(1.0) + 30.0 * (1.0 - loss)
}

#[cfg(test)]
mod tests;
