//! The layer allocator: which simulcast/SVC layer each of a subscriber's
//! tracks gets, given the bitrate available to that subscriber.
//!
//! Rules, in order:
//!
//! 1. **Lowest layers first.** Tracks are ranked by priority (higher first,
//!    then by age). Every track gets its lowest layer before any gets more;
//!    the spare budget then lifts tracks one layer at a time, in rank order,
//!    round after round.
//! 2. **Pause only when the lowest layers do not fit.** If the lowest layers of
//!    all tracks exceed the available rate, the lowest-ranked tracks are
//!    paused until the rest fit, and resumed as soon as they fit again.
//! 3. **Down at once.** When the current layers exceed the available rate, the
//!    tracks step down on that same estimate (within 500 ms of congestion as
//!    long as the estimator reacts within that).
//! 4. **Up only with confirmed headroom.** A higher allocation must fit in
//!    `up_fraction` of the available rate (the hysteresis band: with the
//!    default 0.8, estimate noise of ±10% never crosses it both ways) *and* be
//!    confirmed: by a probe that carried it, or by the estimate having
//!    covered it for `sustain`. When the next step (resuming the
//!    highest-ranked paused track, else lifting one) does not fit, the
//!    allocator asks for a probe: at the rate every top layer needs, at most
//!    [`PROBE_REACH`] times the estimate and at least what the next step
//!    needs, so that one probe finds out how far the layers can rise and the
//!    step up follows as soon as its result is in. With every track paused
//!    nothing is sent, and probes are the only way back.
//! 5. **A keyframe on every switch up** (and on every resume and first layer).
//!
//! Decisions come out of `poll_output` as events, computed by comparing each
//! track's layer with the one last reported, so no event is ever dropped.

use heapless::Vec;

use super::rate::Bitrate;
use crate::time::{Duration, Instant};

mod config;
mod events;
mod plan;
#[cfg(test)]
mod tests;

pub use config::AllocatorConfig;
pub use events::{AllocError, AllocatorEvent, LayerChoice, TrackId};
use plan::{Plan, rank};

/// Layers per track at most (simulcast has three; SVC rarely more than four).
pub const MAX_LAYERS: usize = 4;
/// An estimate below this fraction of the one before is congestion: no
/// probe for `probe_backoff`.
const DROP: f64 = 0.9;
/// A probe for headroom goes up to this multiple of the current estimate:
/// far enough that one probe usually settles where the layers belong when
/// capacity returns, short of asking a crowded path for the moon.
pub const PROBE_REACH: f64 = 8.0;
/// Probes in a row that proved too little double the wait before the next,
/// up to this many doublings. Each probe into a link too slow for the next
/// step queues its burst there (five packets are 160 ms at 0.3 Mbit/s), and
/// a probe every 1.5 s through a long slow phase unsettles the layers that
/// do fit (100 seeds of `layers`: up to 9.6 switches a minute on a seed with
/// no doubling, 4.8 with one; the median step up 1636, 2577 ms; two
/// doublings: 0.8 a minute, but 4387 ms).
const SHORT_DOUBLINGS: u32 = 1;

#[derive(Clone, Debug)]
pub(crate) struct Track {
    pub id: TrackId,
    pub priority: u8,
    pub age: u32,
    pub layers: Vec<Bitrate, MAX_LAYERS>,
    pub current: LayerChoice,
    shown: Option<LayerChoice>,
    keyframe: bool,
}

/// Per-subscriber layer allocator for up to `TRACKS` tracks (see the module docs).
#[derive(Clone, Debug)]
pub struct Allocator<const TRACKS: usize = 8> {
    config: AllocatorConfig,
    now: Instant,
    tracks: Vec<Track, TRACKS>,
    next_age: u32,
    available: Bitrate,
    /// Since when the estimate has covered the pending upgrade.
    sustained_since: Option<Instant>,
    /// The latest confirmed probe: its rate and when.
    confirmed: Option<(Bitrate, Instant)>,
    next_probe: Instant,
    /// Whether an upgrade waits on headroom (so a probe is worth asking for).
    wants_headroom: Option<Bitrate>,
    probe_wanted: Option<Bitrate>,
    desired_shown: Option<Bitrate>,
    /// Probes in a row that proved too little for the next step.
    short_probes: u32,
}

impl<const TRACKS: usize> Allocator<TRACKS> {
    /// An allocator with no tracks and nothing available yet.
    pub fn new(mut config: AllocatorConfig) -> Self {
        if !(config.up_fraction > 0.0 && config.up_fraction <= 1.0) {
            config.up_fraction = AllocatorConfig::default().up_fraction;
        }
        Allocator {
            config,
            now: Instant::ZERO,
            tracks: Vec::new(),
            next_age: 0,
            available: Bitrate::ZERO,
            sustained_since: None,
            confirmed: None,
            next_probe: Instant::ZERO,
            wants_headroom: None,
            probe_wanted: None,
            desired_shown: None,
            short_probes: 0,
        }
    }

    /// Adds a track with its layers' bitrates (ascending) and a priority
    /// (higher is more important). It starts at its lowest layer if that fits.
    pub fn add_track(
        &mut self,
        track: TrackId,
        priority: u8,
        layers: &[Bitrate],
        now: Instant,
    ) -> Result<(), AllocError> {
        if self.tracks.iter().any(|t| t.id == track) {
            return Err(AllocError::DuplicateTrack);
        }
        if layers.is_empty() {
            return Err(AllocError::NoLayers);
        }
        let layers: Vec<Bitrate, MAX_LAYERS> =
            Vec::from_slice(layers).map_err(|_| AllocError::TooManyLayers)?;
        if layers.windows(2).any(|w| w[0] >= w[1]) {
            return Err(AllocError::NotAscending);
        }
        let t = Track {
            id: track,
            priority,
            age: self.next_age,
            layers,
            current: LayerChoice::Paused,
            shown: None,
            keyframe: false,
        };
        self.tracks.push(t).map_err(|_| AllocError::TooManyTracks)?;
        self.next_age = self.next_age.wrapping_add(1);
        let now = self.advance(now);
        self.decide(now);
        Ok(())
    }

    /// Removes a track (unknown ids are ignored); its budget goes to the others.
    pub fn remove_track(&mut self, track: TrackId, now: Instant) {
        self.tracks.retain(|t| t.id != track);
        let now = self.advance(now);
        self.decide(now);
    }

    /// The subscriber's available bitrate changed.
    pub fn handle_estimate(&mut self, available: Bitrate, now: Instant) {
        let now = self.advance(now);
        if available < self.available.scale(DROP) {
            // Congestion: a probe now would only deepen the queue.
            self.next_probe = self.next_probe.max(now + self.config.probe_backoff);
        }
        self.available = available;
        self.decide(now);
    }

    /// A probe for headroom finished: `proven` is the rate it showed the
    /// path carries (e.g. [`super::ProbeOutcome::measured`]), `None` if it
    /// showed nothing. Layers that fit in it step up at once.
    pub fn handle_probe_result(&mut self, proven: Option<Bitrate>, now: Instant) {
        let now = self.advance(now);
        if let Some(rate) = proven {
            self.confirmed = Some((rate, now));
        }
        self.decide(now);
        let short = self
            .wants_headroom
            .is_some_and(|need| proven.is_none_or(|p| p < need));
        if short {
            let doublings = self.short_probes.min(SHORT_DOUBLINGS);
            self.short_probes = self.short_probes.saturating_add(1);
            let wait = Duration::from_micros(self.config.probe_backoff.as_micros() << doublings);
            self.next_probe = self.next_probe.max(now + wait);
        } else if proven.is_some() {
            self.short_probes = 0;
        }
    }

    /// Lets time pass (a sustained estimate may now confirm an upgrade).
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        self.decide(now);
    }

    /// When [`Allocator::handle_timeout`] is next needed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let sustain = self.sustained_since.map(|t| t + self.config.sustain);
        let probe = self.wants_headroom.map(|_| self.next_probe.max(self.now));
        match (sustain, probe) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What `track` gets now, or `None` for an unknown track.
    pub fn layer(&self, track: TrackId) -> Option<LayerChoice> {
        self.tracks
            .iter()
            .find(|t| t.id == track)
            .map(|t| t.current)
    }

    /// Every track at its top layer.
    fn top_total(&self) -> Bitrate {
        self.tracks.iter().fold(Bitrate::ZERO, |sum, t| {
            sum.saturating_add(t.layers.last().copied().unwrap_or(Bitrate::ZERO))
        })
    }

    fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    /// Applies the rules to the current estimate.
    fn decide(&mut self, now: Instant) {
        let order = rank(&self.tracks);
        let available = self.available.bps();
        let budget = Bitrate::from_bps(available)
            .scale(self.config.up_fraction)
            .bps();
        // Rules 2 and 3: pause what cannot fit, step down what no longer fits.
        let fitting = Plan::lowest_that_fit(&self.tracks, &order, available);
        let mut next = Plan::current(&self.tracks).paused_like(&fitting);
        if next.total(&self.tracks) > available {
            next = next.at_most(&fitting.fill(&self.tracks, &order, available));
        }
        // Rule 4: up only within the band, once confirmed.
        let up = next.at_least(&fitting.fill(&self.tracks, &order, budget));
        if up != next && up.total(&self.tracks) <= budget {
            let need = Bitrate::from_bps(up.total(&self.tracks));
            let since = *self.sustained_since.get_or_insert(now);
            let probed = self.confirmed.is_some_and(|(rate, at)| {
                rate.scale(self.config.up_fraction) >= need && now < at + self.config.confirm_valid
            });
            if probed || now >= since + self.config.sustain {
                next = up;
                self.sustained_since = None;
            } else {
                self.wants_headroom = Some(need.scale(1.0 / self.config.up_fraction));
            }
        } else {
            self.sustained_since = None;
            self.wants_headroom = next
                .next_step(&self.tracks, &order)
                .map(|need| Bitrate::from_bps(need).scale(1.0 / self.config.up_fraction));
        }
        next.apply(&mut self.tracks);
        if let Some(need) = self.wants_headroom
            && now >= self.next_probe
            && self.available > Bitrate::ZERO
        {
            let top = self.top_total().scale(1.0 / self.config.up_fraction);
            let reach = self.available.scale(PROBE_REACH);
            self.probe_wanted = Some(top.min(reach).max(need));
            self.next_probe = now + self.config.probe_interval;
        }
    }
}
