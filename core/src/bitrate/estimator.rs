//! The bandwidth estimator: sent packets and their feedback in, a target
//! rate, a pacing rate and probe requests out.

use heapless::{Deque, Vec};

use super::acked::AckedRate;
use super::arrival::InterArrival;
use super::control::{ControlTuning, Mode, RateControl, Signals};
use super::history::{Fate, History, Sent};
use super::loss::LossRatio;
use super::probe::{ProbeOutcome, ProbeRequest, Probes};
use super::queue::QueueDelay;
use super::rate::Bitrate;
use super::silence::Silence;
use super::trend::{Trendline, Usage};
use crate::time::{Duration, Instant};

/// Received results sorted and digested together; a longer report is taken
/// in slices of this many.
const FEEDBACK_SLICE: usize = 256;
/// Probe requests buffered between `poll_output` calls; the oldest goes first.
const PENDING_PROBES: usize = 4;
/// Probe verdicts buffered between `poll_probe_result` calls.
const PENDING_OUTCOMES: usize = 4;
/// Round trips are believed up to this long; a longer one (a stalled
/// feedback path) would only slow reactions down.
const RTT_CAP: Duration = Duration::from_secs(1);
/// Leaving application-limited sending probes at most this often.
const ALR_PROBE_SPACING: Duration = Duration::from_secs(5);
/// A confirmed probe lifts the target to this fraction of what it measured.
const PROBE_TAKE: f64 = 0.9;
/// Growing into free capacity for this long asks for a probe at twice the
/// target, to find out at once how much there is.
const SEEK_PROBE_AFTER: Duration = Duration::from_millis(500);
/// A probe while seeking is at this multiple of the target (more lifts one
/// of two flows sharing a link too far for fairness).
const SEEK_PROBE_FACTOR: u64 = 2;
/// Probes while seeking are at least this far apart.
const SEEK_PROBE_SPACING: Duration = Duration::from_secs(1);
/// While the link is silent, the target is this fraction of the rate held
/// before (restored when feedback resumes).
const SILENT_RATE: f64 = 0.0;

/// A probe's burst is assumed to drain at this fraction of the target.
const SHADOW_SPARE: f64 = 0.5;
/// The delays of packets sent this long after a probe starts count again.
const SHADOW_MAX: Duration = Duration::from_millis(250);

/// How an [`Estimator`] behaves.
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

/// What an [`Estimator`] asks of its shell.
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

/// Bandwidth estimator for one flow (see the [module docs](super)).
#[derive(Clone, Debug)]
pub struct Estimator {
    config: EstimatorConfig,
    now: Instant,
    history: History,
    inter: InterArrival,
    trend: Trendline,
    queue: QueueDelay,
    acked: AckedRate,
    loss: LossRatio,
    probes: Probes,
    control: RateControl,
    app_limited: bool,
    rtt: Option<Duration>,
    /// First packet sent since the last feedback.
    waiting_since: Option<Instant>,
    /// When the target next halves if feedback stays away.
    next_backoff: Option<Instant>,
    silence: Silence,
    /// The target before the link went silent.
    held: Option<Bitrate>,
    /// Send times whose delays a probe's burst inflates (see `shadow_probe`).
    shadow: Option<(Instant, Instant)>,
    /// Newest packet digested by the delay filters.
    delay_front: Option<u64>,
    last_probe: Option<Instant>,
    reported: Option<(Bitrate, Bitrate)>,
    pending: Deque<ProbeRequest, PENDING_PROBES>,
    outcomes: Deque<ProbeOutcome, PENDING_OUTCOMES>,
}

impl Estimator {
    /// A fresh estimator. A `max` below `min` is raised to `min`, and
    /// `start` is clamped into `[min, max]`; a pacing factor below 1 (or NaN)
    /// is taken as 1.
    pub fn new(mut config: EstimatorConfig, now: Instant) -> Self {
        config.max = config.max.max(config.min);
        config.start = config.start.clamp_to(config.min, config.max);
        if config.pacing_factor.is_nan() || config.pacing_factor < 1.0 {
            config.pacing_factor = 1.0;
        }
        let mut e = Estimator {
            config,
            now,
            history: History::new(),
            inter: InterArrival::default(),
            trend: Trendline::default(),
            queue: QueueDelay::default(),
            acked: AckedRate::default(),
            loss: LossRatio::default(),
            probes: Probes::default(),
            control: RateControl::new(config.control, config.min, config.max, config.start, now),
            app_limited: false,
            rtt: None,
            waiting_since: None,
            next_backoff: None,
            silence: Silence::default(),
            held: None,
            shadow: None,
            delay_front: None,
            last_probe: None,
            reported: None,
            pending: Deque::new(),
            outcomes: Deque::new(),
        };
        if config.initial_probes {
            for factor in [3, 6] {
                let rate = Bitrate::from_bps(config.start.bps().saturating_mul(factor));
                e.probe(rate, now);
            }
        }
        e
    }

    /// The configuration in force (after the corrections made by [`Estimator::new`]).
    pub fn config(&self) -> &EstimatorConfig {
        &self.config
    }

    /// A packet left the pacer. A packet whose id does not increase is ignored.
    pub fn handle_sent(&mut self, packet: SentPacket, now: Instant) {
        let now = self.advance(now);
        let recorded = self.history.record(Sent {
            id: packet.id,
            size: packet.size,
            send_time: packet.send_time,
            probe: packet.probe,
            fate: Fate::Unreported,
        });
        if !recorded {
            return;
        }
        if let Some(cluster) = packet.probe {
            self.probes.on_sent(cluster, packet.size, packet.send_time);
            self.shadow_probe(packet.size, packet.send_time);
        }
        if self.waiting_since.is_none() {
            self.waiting_since = Some(now);
            self.next_backoff = Some(now + self.config.feedback_timeout);
        }
    }

    /// A feedback report arrived. Results may come in any order, repeat, or
    /// name packets never sent or long forgotten: those are ignored.
    pub fn handle_feedback(&mut self, results: &[PacketResult], now: Instant) {
        let now = self.advance(now);
        self.waiting_since = None;
        self.next_backoff = None;
        let resumed = self.silence.on_feedback(now);
        if resumed {
            self.control.outage_ended();
        }
        if let Some(held) = self.held.take().filter(|_| resumed) {
            // An outage, not congestion: back to the rate held before.
            if held > self.target() {
                self.control.set_target(held, now);
            }
        }
        self.queue.begin_report();
        let mut batch: Vec<(u64, Instant), FEEDBACK_SLICE> = Vec::new();
        let mut newest: Option<(u64, Instant)> = None;
        for r in results {
            let Some(sent) = self.history.get_mut(r.id) else {
                continue;
            };
            let (size, send_time, probe) = (sent.size, sent.send_time, sent.probe);
            match (sent.fate, r.arrival) {
                (Fate::Received, _) | (Fate::Lost, None) => continue,
                (_, None) => {
                    sent.fate = Fate::Lost;
                    self.loss.add(true, now);
                }
                (_, Some(arrival)) => {
                    sent.fate = Fate::Received;
                    self.loss.add(false, now);
                    self.acked.add(arrival, size);
                    if newest.is_none_or(|(id, _)| r.id > id) {
                        newest = Some((r.id, send_time));
                    }
                    if batch.is_full() {
                        self.digest_delays(&mut batch);
                    }
                    // Cannot fail: the batch was emptied above if it was full.
                    let _ = batch.push((r.id, arrival));
                }
            }
            if let Some(cluster) = probe {
                self.probes.on_result(cluster, size, r.arrival);
            }
        }
        self.digest_delays(&mut batch);
        if resumed {
            // The gap's delays say nothing about our rate.
            self.inter = InterArrival::default();
            self.trend = Trendline::default();
        }
        if let Some((_, send)) = newest {
            let sample = now.saturating_duration_since(send).min(RTT_CAP);
            self.rtt = Some(match self.rtt {
                None => sample,
                Some(r) => Duration::from_micros((r.as_micros() * 7 + sample.as_micros()) / 8),
            });
            let signals = Signals {
                usage: self.trend.usage(),
                queue: self.queue.queue(),
                delivered: self.acked.rate(self.config.delivered_window.as_micros()),
                delivered_recent: self
                    .acked
                    .rate(self.config.delivered_window.as_micros() / 2),
                loss: self.loss.ratio(now),
                rtt: self.rtt.unwrap_or(RTT_CAP),
                app_limited: self.app_limited,
            };
            self.control.update(&signals, now);
            let seeking = self
                .control
                .seeking_since()
                .is_some_and(|t| now >= t + SEEK_PROBE_AFTER);
            let spaced = self
                .last_probe
                .is_none_or(|t| now >= t + SEEK_PROBE_SPACING);
            if seeking && spaced && self.probes.expiry().is_none() {
                let rate = Bitrate::from_bps(self.target().bps().saturating_mul(SEEK_PROBE_FACTOR));
                self.probe(rate, now);
            }
        }
        self.finish_probes(now);
    }

    /// Whether the sender is application-limited (it had less to send than
    /// the target allows). While it is, the target does not grow: delivery
    /// below the target says nothing about the path. Leaving that state
    /// probes for headroom (at most every 5 s).
    pub fn set_app_limited(&mut self, limited: bool, now: Instant) {
        let now = self.advance(now);
        let leaving = self.app_limited && !limited;
        self.app_limited = limited;
        if leaving && self.last_probe.is_none_or(|t| now >= t + ALR_PROBE_SPACING) {
            let rate = Bitrate::from_bps(self.target().bps().saturating_mul(2));
            self.probe(rate, now);
        }
    }

    /// Asks for a probe at `rate` (clamped to `[target, max]`), e.g. because
    /// the layer allocator wants headroom confirmed; returns the cluster id.
    /// Its verdict comes out of [`Estimator::poll_probe_result`].
    pub fn request_probe(&mut self, rate: Bitrate, now: Instant) -> u32 {
        let now = self.advance(now);
        self.probe(rate.max(self.target()), now)
    }

    /// Lets time pass: backs off when feedback has stopped, expires probes.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        if let Some(at) = self.next_backoff.filter(|&at| now >= at) {
            let halved = Bitrate::from_bps(self.target().bps() / 2);
            self.control.set_target(halved, now);
            self.next_backoff = Some(at.max(now) + self.config.feedback_timeout);
        }
        let rtt = self.rtt.unwrap_or(RTT_CAP);
        if self.silence.check(self.waiting_since, rtt, now) && !self.competing() {
            let target = self.target();
            self.held = Some(self.held.unwrap_or(target));
            self.control.set_target(target.scale(SILENT_RATE), now);
        }
        self.finish_probes(now);
    }

    /// When [`Estimator::handle_timeout`] is next needed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let silence = self
            .silence
            .deadline(self.waiting_since, self.rtt.unwrap_or(RTT_CAP));
        [self.next_backoff, self.probes.expiry(), silence]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next thing to do: a changed target first, then probe requests.
    pub fn poll_output(&mut self) -> Option<EstimatorOutput> {
        let now = (self.target(), self.pacing_rate());
        if self.reported != Some(now) {
            self.reported = Some(now);
            return Some(EstimatorOutput::Target {
                target: now.0,
                pacing: now.1,
            });
        }
        self.pending.pop_front().map(EstimatorOutput::Probe)
    }

    /// The verdict of the next finished probe cluster.
    pub fn poll_probe_result(&mut self) -> Option<ProbeOutcome> {
        self.outcomes.pop_front()
    }

    /// What the encoder should produce.
    pub fn target(&self) -> Bitrate {
        self.control.target()
    }

    /// What the pacer should let out (at least the target).
    pub fn pacing_rate(&self) -> Bitrate {
        self.target()
            .scale(self.config.pacing_factor)
            .max(self.target())
    }

    /// What the delay trend says right now.
    pub fn usage(&self) -> Usage {
        self.trend.usage()
    }

    /// Whether the controller has detected a competing loss-based flow.
    pub fn competing(&self) -> bool {
        self.control.mode() == Mode::Competing
    }

    /// The standing queue seen in the latest feedback.
    pub fn queue_delay(&self) -> Option<Duration> {
        self.queue.queue()
    }

    fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    fn probe(&mut self, rate: Bitrate, now: Instant) -> u32 {
        let rate = rate.clamp_to(self.config.min, self.config.max);
        let req = self.probes.start(rate, now);
        self.last_probe = Some(now);
        if self.pending.is_full() {
            self.pending.pop_front();
        }
        // Cannot fail: a slot was freed above if the queue was full.
        let _ = self.pending.push_back(req);
        req.id
    }

    /// Feeds received packets to the delay filters in send order; packets
    /// older than ones already digested only counted toward delivery.
    fn digest_delays(&mut self, batch: &mut Vec<(u64, Instant), FEEDBACK_SLICE>) {
        batch.sort_unstable_by_key(|(id, _)| *id);
        for &(id, arrival) in batch.iter() {
            if self.delay_front.is_some_and(|front| id <= front) {
                continue;
            }
            self.delay_front = Some(id);
            let Some(send) = self.history.get(id).map(|s| s.send_time) else {
                continue;
            };
            let shadowed = self.shadow.is_some_and(|(a, b)| send >= a && send <= b);
            if !shadowed {
                self.queue.add(send, arrival);
            }
            let (delta, reset) = self.inter.add(send, arrival);
            if reset {
                self.trend = Trendline::default();
                self.queue.reset();
                self.acked.reset();
            } else if let Some(delta) = delta.filter(|_| !shadowed) {
                self.trend.add(&delta);
            }
        }
        batch.clear();
    }

    /// A probe packet of `size` bytes left at `send`. A probe's burst makes
    /// a queue by design (at 300 kbit/s, a 5-packet probe queues 160 ms), so
    /// the packets sent from its start until the bottleneck could have
    /// drained its extra bytes are kept out of the delay signals: asking for
    /// headroom must not by itself cut the rate. The drain assumes spare
    /// capacity of [`SHADOW_SPARE`] of the target, and the shadow lasts at
    /// most [`SHADOW_MAX`] so that real congestion is not hidden for long.
    fn shadow_probe(&mut self, size: u32, send: Instant) {
        let spare = self.target().scale(SHADOW_SPARE).bps().max(1);
        let drain = Duration::from_micros(u64::from(size) * 8 * 1_000_000 / spare);
        self.shadow = Some(match self.shadow {
            Some((a, b)) if send <= b => (a, (b + drain).min(a + SHADOW_MAX)),
            _ => (send, send + drain.min(SHADOW_MAX)),
        });
    }

    fn finish_probes(&mut self, now: Instant) {
        while let Some(outcome) = self.probes.take_finished(now) {
            if let Some(measured) = outcome.measured {
                let proven = measured.scale(PROBE_TAKE);
                if proven > self.target() && !self.competing() {
                    self.control.set_target(proven, now);
                }
            }
            if self.outcomes.is_full() {
                self.outcomes.pop_front();
            }
            // Cannot fail: a slot was freed above if the queue was full.
            let _ = self.outcomes.push_back(outcome);
        }
    }
}
