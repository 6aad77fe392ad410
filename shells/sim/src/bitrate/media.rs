//! A media flow: encoder, pacer and rate controller at the sender; a
//! receiver that reports every packet's arrival (or loss) back, like TWCC.

use std::collections::{BTreeMap, VecDeque};

use onbeat_core::{Duration, Instant};

use super::layers::Layers;
use super::source::{MAX_PACKET, Source};
use super::world::{Backward, Flow, Forward, Out};

/// A probe burst the controller asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Probe {
    /// Probe cluster id, echoed on every packet of the burst.
    pub id: u32,
    /// Rate to send at, bits per second.
    pub rate_bps: f64,
    /// How long to keep it up.
    pub duration: Duration,
    /// Send at least this many packets.
    pub min_packets: u32,
}

/// A sender-side rate controller (a bandwidth estimator, or a fixed rate).
pub trait Controller: Send {
    /// A packet left the pacer.
    fn on_sent(&mut self, id: u64, size: u32, probe: Option<u32>, now: Instant);
    /// A feedback report arrived.
    fn on_feedback(&mut self, results: &[(u64, Option<Instant>)], now: Instant);
    /// The encoder produces less than the target (or no longer does).
    fn set_app_limited(&mut self, limited: bool, now: Instant);
    /// When the controller next needs [`Controller::wake`].
    fn wake_at(&self) -> Option<Instant>;
    /// Time has reached [`Controller::wake_at`].
    fn wake(&mut self, now: Instant);
    /// The next probe it wants sent, if any.
    fn poll_probe(&mut self) -> Option<Probe>;
    /// What the encoder should produce, bits per second.
    fn target_bps(&self) -> f64;
    /// What the pacer should let out, bits per second.
    fn pacing_bps(&self) -> f64;
    /// The estimate behind the target, bits per second (the target itself
    /// unless a layer allocator sits between them).
    fn estimate_bps(&self) -> f64 {
        self.target_bps()
    }
    /// Whether the next frame must be a keyframe (asked once).
    fn take_keyframe(&mut self) -> bool {
        false
    }
    /// The layer allocation between estimate and encoder, if any.
    fn layers(&self) -> Option<&Layers> {
        None
    }
}

/// A controller that never changes its rate: the ground-truth checks of the
/// link model use it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedRate(pub f64);

impl Controller for FixedRate {
    fn on_sent(&mut self, _: u64, _: u32, _: Option<u32>, _: Instant) {}
    fn on_feedback(&mut self, _: &[(u64, Option<Instant>)], _: Instant) {}
    fn set_app_limited(&mut self, _: bool, _: Instant) {}
    fn wake_at(&self) -> Option<Instant> {
        None
    }
    fn wake(&mut self, _: Instant) {}
    fn poll_probe(&mut self) -> Option<Probe> {
        None
    }
    fn target_bps(&self) -> f64 {
        self.0
    }
    fn pacing_bps(&self) -> f64 {
        self.0
    }
}

/// How often the receiver reports.
pub const FEEDBACK_EVERY: Duration = Duration::from_millis(50);
/// The receiver also reports as soon as this many packets are unreported.
pub const FEEDBACK_PACKETS: usize = 64;
/// The encoder skips a frame while the pacer holds more than this much media.
pub const MAX_PACER_DELAY: Duration = Duration::from_millis(300);
/// The receiver's clock reads this much more than true time: reported
/// arrivals are on a clock the sender does not share.
const RECEIVER_CLOCK_OFFSET: Duration = Duration::from_micros(3_141_592_653);

struct ActiveProbe {
    probe: Probe,
    until: Instant,
    sent: u32,
}

/// Encoder, pacer and controller at one end; the reporting receiver at the other.
pub struct MediaFlow<C> {
    controller: C,
    source: Source,
    queue: VecDeque<u32>,
    queued_bytes: u64,
    pacer_next: Instant,
    probe: Option<ActiveProbe>,
    pending_probes: VecDeque<Probe>,
    next_id: u64,
    /// Receiver: arrivals not yet reported, and the last id reported.
    arrivals: BTreeMap<u64, Instant>,
    reported: Option<u64>,
    feedback_due: Option<Instant>,
    /// Media frames skipped because the pacer was full.
    pub skipped_frames: u64,
}

impl<C: Controller> MediaFlow<C> {
    /// A flow whose encoder is `source` and whose rates come from `controller`.
    pub fn new(controller: C, source: Source) -> Self {
        MediaFlow {
            controller,
            source,
            queue: VecDeque::new(),
            queued_bytes: 0,
            pacer_next: Instant::ZERO,
            probe: None,
            pending_probes: VecDeque::new(),
            next_id: 0,
            arrivals: BTreeMap::new(),
            reported: None,
            feedback_due: None,
            skipped_frames: 0,
        }
    }

    /// The controller.
    pub fn controller(&self) -> &C {
        &self.controller
    }

    fn drain_controller(&mut self) {
        while let Some(p) = self.controller.poll_probe() {
            self.pending_probes.push_back(p);
        }
    }

    fn pacer_busy(&self) -> bool {
        !self.queue.is_empty() || self.probe.is_some() || !self.pending_probes.is_empty()
    }

    fn encode(&mut self, now: Instant) {
        let pacing = self.controller.pacing_bps().max(1.0);
        let backlog = Duration::from_micros((self.queued_bytes as f64 * 8.0 / pacing * 1e6) as u64);
        if self.controller.take_keyframe() {
            self.source.want_keyframe();
        }
        let target = self.controller.target_bps();
        let (packets, _) = self.source.frame(target);
        if backlog > MAX_PACER_DELAY {
            self.skipped_frames += 1;
            return;
        }
        if self.queue.is_empty() && self.probe.is_none() {
            self.pacer_next = self.pacer_next.max(now);
        }
        for size in packets {
            self.queued_bytes += u64::from(size);
            self.queue.push_back(size);
        }
    }

    fn pace(&mut self, now: Instant, out: &mut Out) {
        while self.pacer_next <= now && self.pacer_busy() {
            if self.probe.is_none() {
                if let Some(probe) = self.pending_probes.pop_front() {
                    self.probe = Some(ActiveProbe {
                        probe,
                        until: now + probe.duration,
                        sent: 0,
                    });
                }
            }
            let (size, probe_id) = match (self.queue.pop_front(), &mut self.probe) {
                (Some(size), p) => {
                    self.queued_bytes -= u64::from(size);
                    (size, p.as_ref().map(|p| p.probe.id))
                }
                // Padding fills a probe when there is no media to send.
                (None, Some(p)) => (MAX_PACKET, Some(p.probe.id)),
                (None, None) => break,
            };
            let mut rate = self.controller.pacing_bps();
            if let Some(p) = &mut self.probe {
                p.sent += 1;
                rate = rate.max(p.probe.rate_bps);
                if p.sent >= p.probe.min_packets && now >= p.until {
                    self.probe = None;
                }
            }
            let id = self.next_id;
            self.next_id += 1;
            self.controller.on_sent(id, size, probe_id, now);
            self.drain_controller();
            out.forward.push((size, Forward::Media { id }));
            let gap = (f64::from(size) * 8.0 / rate.max(1.0) * 1e6).ceil() as u64;
            self.pacer_next = self.pacer_next.max(now) + Duration::from_micros(gap.max(1));
        }
    }

    fn report(&mut self, out: &mut Out) {
        self.feedback_due = None;
        let Some((&highest, _)) = self.arrivals.last_key_value() else {
            return;
        };
        let first = self.reported.map_or(0, |r| r + 1);
        let results = (first..=highest)
            .map(|id| {
                let at = self.arrivals.get(&id).map(|&t| t + RECEIVER_CLOCK_OFFSET);
                (id, at)
            })
            .collect();
        self.arrivals.clear();
        self.reported = Some(highest);
        out.backward.push(Backward::Feedback(results));
    }
}

impl<C: Controller> Flow for MediaFlow<C> {
    fn wake_at(&self) -> Option<Instant> {
        let pacer = self.pacer_busy().then_some(self.pacer_next);
        [
            self.controller.wake_at(),
            Some(self.source.next_frame_at()),
            pacer,
            self.feedback_due,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn wake(&mut self, now: Instant, out: &mut Out) {
        if self.controller.wake_at().is_some_and(|t| t <= now) {
            self.controller.wake(now);
            self.drain_controller();
        }
        if self.feedback_due.is_some_and(|t| t <= now) {
            self.report(out);
        }
        if self.source.next_frame_at() <= now {
            self.encode(now);
        }
        self.pace(now, out);
    }

    fn at_receiver(&mut self, packet: Forward, now: Instant, out: &mut Out) {
        let Forward::Media { id } = packet else {
            return;
        };
        if self.reported.is_some_and(|r| id <= r) {
            return;
        }
        self.arrivals.insert(id, now);
        if self.arrivals.len() >= FEEDBACK_PACKETS {
            self.report(out);
        } else if self.feedback_due.is_none() {
            self.feedback_due = Some(now + FEEDBACK_EVERY);
        }
    }

    fn at_sender(&mut self, message: Backward, now: Instant, _: &mut Out) {
        if let Backward::Feedback(results) = message {
            self.controller.on_feedback(&results, now);
            self.drain_controller();
        }
    }

    fn target_bps(&self) -> Option<f64> {
        Some(self.controller.estimate_bps())
    }

    fn layers(&self) -> Option<&Layers> {
        self.controller.layers()
    }
}

#[cfg(test)]
mod tests;
