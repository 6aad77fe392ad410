//! The bandwidth estimator: sent packets and their feedback in, a target
//! rate, a pacing rate and probe requests out.

use heapless::{Deque, Vec};

use super::acked::AckedRate;
use super::arrival::InterArrival;
use super::burst::Burstiness;
use super::control::{Mode, RateControl, Signals};
use super::history::{Fate, History, Sent};
use super::loss::LossRatio;
use super::probe::{ProbeOutcome, ProbeRequest, Probes};
use super::queue::QueueDelay;
use super::rate::Bitrate;
use super::silence::Silence;
use super::trend::{Trendline, Usage};
use crate::time::{Duration, Instant};

mod delays;
mod io;
mod probing;
mod pushback;

pub use io::{EstimatorConfig, EstimatorOutput, PacketResult, SentPacket};

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
/// While the link is silent, the target is this fraction of the rate held
/// before (restored when feedback resumes).
const SILENT_RATE: f64 = 0.0;

/// Bandwidth estimator for one flow (see the [module docs](super)).
#[derive(Clone, Debug)]
pub struct Estimator {
    config: EstimatorConfig,
    now: Instant,
    history: History,
    inter: InterArrival,
    burst: Burstiness,
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
    /// The probe sent at once after one the path carried in full: its own
    /// result waits for the usual spacing.
    follow_up: Option<u32>,
    reported: Option<(Bitrate, Bitrate)>,
    pending: Deque<ProbeRequest, PENDING_PROBES>,
    outcomes: Deque<ProbeOutcome, PENDING_OUTCOMES>,
    /// Media bytes in flight, for the congestion window (see `pushback`).
    flight: pushback::Flight,
    /// The most the sender could use (see `set_desired`).
    desired: Option<Bitrate>,
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
            burst: Burstiness::default(),
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
            follow_up: None,
            reported: None,
            pending: Deque::new(),
            outcomes: Deque::new(),
            flight: pushback::Flight::default(),
            desired: None,
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
            sent_upto: self.flight.on_sent(packet.size, packet.probe.is_some()),
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
            if held > self.control.target() {
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
            self.flight.on_reported(sent.sent_upto);
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
            let delivered = self.acked.rate(self.config.delivered_window.as_micros());
            let signals = Signals {
                usage: self.trend.usage(),
                queue: self.queue.queue(),
                delivered,
                // Too few packets in the shorter window at a low rate: the
                // longer one is the best measure there is of a fall.
                delivered_recent: self
                    .acked
                    .rate(self.config.delivered_window.as_micros() / 2)
                    .or(delivered),
                loss: self.loss.ratio(now),
                rtt: self.rtt.unwrap_or(RTT_CAP),
                app_limited: self.app_limited,
                bursty: self.burst.bursty(),
            };
            let window_rate = if self.burst.bursty() {
                self.acked
                    .rate(pushback::BURSTY_DELIVERED.as_micros())
                    .or(signals.delivered)
            } else {
                signals.delivered
            };
            self.flight.on_report(sample, window_rate);
            self.control.update(&signals, now);
            self.seek_probe(now);
        }
        self.finish_probes(now);
    }

    /// Lets time pass: backs off when feedback has stopped, expires probes.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        if let Some(at) = self.next_backoff.filter(|&at| now >= at) {
            let halved = Bitrate::from_bps(self.control.target().bps() / 2);
            self.control.set_target(halved, now);
            self.next_backoff = Some(at.max(now) + self.config.feedback_timeout);
        }
        let rtt = self.rtt.unwrap_or(RTT_CAP);
        if self.silence.check(self.waiting_since, rtt, now) && !self.competing() {
            let target = self.control.target();
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

    /// What the encoder should produce: the controller's rate, pushed back
    /// while more media is in flight than the path should hold.
    pub fn target(&self) -> Bitrate {
        let target = self.control.target();
        let factor = self.pushback_factor();
        if factor >= 1.0 {
            return target;
        }
        target.scale(factor).max(self.config.min)
    }

    /// The rate the path carries as the controller judges it, before the
    /// congestion window's pushback: what a layer allocator should be fed.
    /// The pushback follows bytes in flight from one packet to the next; a
    /// layer switch made on it would be undone a report later, and each
    /// costs the viewer a keyframe (libwebrtc keeps layer choices on its
    /// stable target for the same reason).
    pub fn available(&self) -> Bitrate {
        self.control.target()
    }

    /// What the pacer should let out (at least the target).
    pub fn pacing_rate(&self) -> Bitrate {
        self.control
            .target()
            .scale(self.config.pacing_factor)
            .max(self.control.target())
    }

    /// What the delay trend says right now.
    pub fn usage(&self) -> Usage {
        self.trend.usage()
    }

    /// Whether the controller has detected a competing loss-based flow.
    pub fn competing(&self) -> bool {
        self.control.mode() == Mode::Competing
    }

    /// Whether the link delivers in bursts (a cellular link's scheduler):
    /// the controller then climbs while no queue stands and leans on the
    /// congestion window instead of the delay trend.
    pub fn bursty(&self) -> bool {
        self.burst.bursty()
    }

    /// The standing queue seen in the latest feedback.
    pub fn queue_delay(&self) -> Option<Duration> {
        self.queue.queue()
    }

    fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }
}
