//! Probes: asking for them (on request, on leaving application-limited
//! sending, while seeking free capacity) and acting on their verdicts.

use super::Estimator;
use crate::bitrate::rate::Bitrate;
use crate::time::{Duration, Instant};

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
/// A probe that measured at least this fraction of its rate was not limited
/// by the path: another one at twice the lifted target follows at once
/// (unless it was itself such a follow-up).
const PROBE_FULL: f64 = 0.95;
/// Probes while seeking are at least this far apart (unless the last one
/// proved all it asked for).
const SEEK_PROBE_SPACING: Duration = Duration::from_secs(1);
/// The estimator's own probes look this far past the desired rate: a layer
/// allocator lifts its top layers only with room to spare (0.8 of the
/// estimate by default), and capped at the desired rate itself the probes
/// could never show that room (16 seeds of `layers`: up 1835 → 2352 ms).
const DESIRED_REACH: f64 = 1.25;

impl Estimator {
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
            if let Some(rate) = self.worth_seeking(rate) {
                self.probe(rate, now);
            }
        }
    }

    /// The most the sender could use (e.g. every track at its top layer,
    /// the allocator's `Desired`), or `None` for no limit. The estimator's
    /// own probes look no further than a quarter past it, and stop once the
    /// target is there: padding sent to find room nothing will fill is
    /// waste on the subscriber's link. Probes asked for with
    /// [`Estimator::request_probe`] are not limited, and neither is the
    /// target.
    pub fn set_desired(&mut self, desired: Option<Bitrate>, now: Instant) {
        self.advance(now);
        self.desired = desired;
    }

    /// `rate`, lowered to [`DESIRED_REACH`] times the desired rate; `None`
    /// if the target already covers that.
    fn worth_seeking(&self, rate: Bitrate) -> Option<Bitrate> {
        let reach = self.desired.map(|d| d.scale(DESIRED_REACH));
        match reach {
            None => Some(rate),
            Some(r) if r > self.control.target() => Some(rate.min(r)),
            Some(_) => None,
        }
    }

    /// Asks for a probe at `rate` (clamped to `[target, max]`), e.g. because
    /// the layer allocator wants headroom confirmed; returns the cluster id.
    /// Its verdict comes out of [`Estimator::poll_probe_result`].
    pub fn request_probe(&mut self, rate: Bitrate, now: Instant) -> u32 {
        let now = self.advance(now);
        self.probe(rate.max(self.target()), now)
    }

    /// Growing into free capacity for a while asks for a probe at twice the
    /// target (at most every [`SEEK_PROBE_SPACING`]), to find out at once how
    /// much there is.
    pub(super) fn seek_probe(&mut self, now: Instant) {
        let seeking = self
            .control
            .seeking_since()
            .is_some_and(|t| now >= t + SEEK_PROBE_AFTER);
        let spaced = self
            .last_probe
            .is_none_or(|t| now >= t + SEEK_PROBE_SPACING);
        if seeking && spaced && self.probes.expiry().is_none() {
            let _ = self.seek_again(now);
        }
    }

    /// A probe at [`SEEK_PROBE_FACTOR`] times the target (see
    /// `worth_seeking`); its cluster id, or `None` if nothing is worth seeking.
    fn seek_again(&mut self, now: Instant) -> Option<u32> {
        let rate = self
            .control
            .target()
            .bps()
            .saturating_mul(SEEK_PROBE_FACTOR);
        let rate = self.worth_seeking(Bitrate::from_bps(rate))?;
        Some(self.probe(rate, now))
    }

    pub(super) fn probe(&mut self, rate: Bitrate, now: Instant) -> u32 {
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

    pub(super) fn finish_probes(&mut self, now: Instant) {
        while let Some(outcome) = self.probes.take_finished(now) {
            if let Some(measured) = outcome.measured {
                let proven = measured.scale(PROBE_TAKE);
                if proven > self.control.target() && !self.competing() {
                    self.control.set_target(proven, now);
                    // The path carried all of it: there may be more, so look
                    // at once instead of a spacing later. Only once: a chain
                    // of them climbs a cellular link's short bursts, and
                    // lifts one of two flows sharing a link to all of the
                    // room the other left.
                    let full = measured.as_f64() >= PROBE_FULL * outcome.requested.as_f64();
                    let again = self.follow_up != Some(outcome.id);
                    if full && again && self.probes.expiry().is_none() {
                        self.follow_up = self.seek_again(now);
                    }
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
