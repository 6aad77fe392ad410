//! The window of clock samples and what can be concluded from it.
//!
//! Two conclusions are drawn, for two different purposes:
//!
//! - the *bound*: the range of offsets that every clock model consistent with
//!   every sample allows (the `region` module). It needs no assumption about
//!   path symmetry, so it is honest;
//! - the *estimate*: the single most likely offset, which assumes the quickest
//!   forward and return trips are equally long and must guess the drift.

use heapless::Vec;

use super::super::mapping::abs;
use super::super::region::{Region, Strip};
use super::hull::{Hull, Side};
use crate::time::Instant;

/// Samples kept in the window.
pub(crate) const WINDOW: usize = 64;

/// How far the drift estimate is doubted, as a multiple of the disagreement
/// between the two directions' estimates, when old samples are weighed
/// against new ones.
const DRIFT_DOUBT: f64 = 0.5;

/// One exchange: the offset lay in `[lo, hi]` µs around local instant `at`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    pub at: Instant,
    pub lo: i64,
    pub hi: i64,
    /// Extra width for drift during the exchange and timestamp rounding, µs.
    pub slack: f64,
}

/// What became of the window when a sample was added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Added {
    /// The sample agreed with the window.
    Agreed,
    /// It contradicted older samples: a clock stepped, and those were dropped.
    Contradicted,
}

/// The samples, oldest first, with their intersection.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    samples: Vec<Sample, WINDOW>,
    /// The samples as strips relative to `reference` and `base`, same order.
    strips: Vec<Strip, WINDOW>,
    /// The line under every upper bound (the forward path at its quickest).
    ceiling: Hull,
    /// The line over every lower bound (the return path at its quickest).
    floor: Hull,
    region: Region,
    /// Local instant that x = 0 refers to.
    reference: Instant,
    /// Offset (µs) that strips and the region are relative to.
    base: i64,
    max_drift: f64,
    wander: f64,
    /// The last estimate: (local instant, base and centre of the offset µs,
    /// drift µs/s).
    line: Option<(Instant, i64, f64, f64)>,
}

impl Window {
    /// An empty window for clocks within `max_drift_ppm` of each other whose
    /// drift wanders by up to `wander_ppm` per second of sample age.
    pub(crate) fn new(max_drift_ppm: u32, wander_ppm: u32) -> Self {
        Window {
            max_drift: f64::from(max_drift_ppm),
            wander: f64::from(wander_ppm),
            ..Window::default()
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    pub(crate) fn clear(&mut self) {
        self.samples.clear();
        self.strips.clear();
        self.ceiling = Hull::default();
        self.floor = Hull::default();
        self.region = Region::default();
        self.line = None;
    }

    /// Adds a sample taken around local `now`. A full window first forgets the
    /// sample that pins the offset least, so good samples outlive bad ones.
    pub(crate) fn add(&mut self, sample: Sample, now: Instant) -> Added {
        if self.samples.is_full() {
            let evict = self.least_useful(now);
            self.ceiling.remove(&self.strips, evict);
            self.floor.remove(&self.strips, evict);
            self.samples.remove(evict);
            self.strips.remove(evict);
        }
        // Just made room above; cannot fail.
        let _ = self.samples.push(sample);
        self.rebuild()
    }

    /// Recomputes strips and region after a sample was added, and extends
    /// the hulls with it. When the samples
    /// contradict each other, one of the clocks stepped: everything before
    /// the newest sample describes a clock that no longer exists, and is
    /// dropped (keeping part of it could keep a sample taken across the step).
    fn rebuild(&mut self) -> Added {
        // Never empty here: a sample was just pushed.
        let newest = self.samples[self.samples.len() - 1];
        self.reference = newest.at;
        self.base = newest.lo / 2 + newest.hi / 2;
        self.strips.clear();
        for s in &self.samples {
            let strip = self.strip_of(s);
            // Same capacity as `samples`; cannot fail.
            let _ = self.strips.push(strip);
        }
        let newest_index = self.strips.len() - 1;
        if newest_index == 0 {
            self.ceiling.build(&self.strips, Side::Upper);
            self.floor.build(&self.strips, Side::Lower);
        } else {
            self.ceiling.push(&self.strips, newest_index);
            self.floor.push(&self.strips, newest_index);
        }
        // Only strips on the hulls can bind: a strip above the ceiling or
        // below the floor is implied by its neighbours on the hull.
        let newest_strip = self.strips[self.strips.len() - 1];
        self.region.reset(newest_strip, self.max_drift);
        let strips = &self.strips;
        let region = &mut self.region;
        let agreed = self
            .ceiling
            .indices()
            .chain(self.floor.indices())
            .all(|i| region.clip(strips[i]));
        if agreed {
            return Added::Agreed;
        }
        self.samples.clear();
        self.strips.clear();
        let _ = self.samples.push(newest);
        let _ = self.strips.push(newest_strip);
        self.ceiling.build(&self.strips, Side::Upper);
        self.floor.build(&self.strips, Side::Lower);
        self.region.reset(newest_strip, self.max_drift);
        Added::Contradicted
    }

    fn strip_of(&self, s: &Sample) -> Strip {
        let x = secs_between(s.at, self.reference);
        let slack = s.slack + self.wander * abs(x);
        Strip {
            x,
            lo: s.lo.saturating_sub(self.base) as f64 - slack,
            hi: s.hi.saturating_sub(self.base) as f64 + slack,
        }
    }

    /// The sample that pins the offset least. A sample bounds the offset from
    /// above by its forward trip and from below by its return trip; either
    /// side alone may be the best in the window (one quick direction is far
    /// likelier than two), so a sample is worth what its better side is: its
    /// distance from the last estimate, aged by the drift's wander.
    fn least_useful(&self, now: Instant) -> usize {
        let worth = |s: &Sample| {
            let age = secs_between(now, s.at);
            let side = match self.line {
                Some((at, base, centre, rate)) => {
                    let here = centre + rate * secs_between(s.at, at);
                    let (lo, hi) = (s.lo.saturating_sub(base), s.hi.saturating_sub(base));
                    (hi as f64 - here).min(here - lo as f64)
                }
                None => s.hi.saturating_sub(s.lo) as f64,
            };
            side + s.slack + self.wander * age
        };
        let mut worst = 0;
        for (i, s) in self.samples.iter().enumerate() {
            if worth(s) > worth(&self.samples[worst]) {
                worst = i;
            }
        }
        worst
    }

    /// How much queueing the path adds to a typical round trip, µs: the
    /// median round trip in the window less the quickest.
    pub(crate) fn queueing(&self) -> f64 {
        let mut widths: Vec<i64, WINDOW> = self
            .samples
            .iter()
            .map(|s| s.hi.saturating_sub(s.lo))
            .collect();
        let n = widths.len();
        if n == 0 {
            return 0.0;
        }
        let (_, median, _) = widths.select_nth_unstable(n / 2);
        let median = *median;
        let quickest = widths.iter().copied().min().unwrap_or(median);
        (median - quickest) as f64
    }

    /// The offsets between which the true offset lies at `now`, as
    /// `(base, lo, hi)`: from `base + lo` to `base + hi` µs.
    pub(crate) fn offset_range(&self, now: Instant) -> Option<(i64, f64, f64)> {
        let x = secs_between(now, self.reference);
        let (lo, hi) = self.region.range_at(x)?;
        let wander = self.wander * abs(x);
        Some((self.base, lo - wander, hi + wander))
    }

    /// The best point estimate at local `now`: `(base, centre, drift)`, the
    /// offset being `base + centre` µs and the drift in µs per µs.
    ///
    /// The drift comes from the queue-free envelopes of both directions
    /// ([`Window::envelope_rate`]). At that drift, the estimate is the middle of
    /// the offsets every sample allows — which uses the quickest forward and
    /// the quickest return trip independently, as no single sample can — with
    /// old samples loosened in proportion to how much the drift is in doubt,
    /// so that a wrong drift cannot tilt them across the present.
    pub(crate) fn target(&mut self, now: Instant) -> Option<(i64, f64, f64)> {
        let (rate_lo, rate_hi) = self.region.rate_range()?;
        let (rate, doubt) = self.envelope_rate(rate_lo, rate_hi);
        let (mut a_lo, mut a_hi) = (f64::MIN, f64::MAX);
        for strip in &self.strips {
            let loosen = doubt * abs(strip.x);
            a_lo = a_lo.max(strip.lo - loosen - rate * strip.x);
            a_hi = a_hi.min(strip.hi + loosen - rate * strip.x);
        }
        let x = secs_between(now, self.reference);
        // Loosening only widens each strip, and the drift lies within the
        // region's range, so the slice is never empty; guard rounding anyway.
        let centre = if a_lo <= a_hi {
            (a_lo + a_hi) / 2.0
        } else {
            let (lo, hi) = self.region.range_at(0.0)?;
            (lo + hi) / 2.0
        };
        self.line = Some((self.reference, self.base, centre, rate));
        Some((self.base, centre + rate * x, rate * 1e-6))
    }

    /// The drift (µs/s) of the queue-free paths, in the manner of Moon,
    /// Skelly and Towsley (1999): of the lines under every sample's upper
    /// bound (the forward path at its quickest), the one highest at the
    /// window's mean time, and likewise over every lower bound (the return
    /// path). Anchored at the mean time, each rests on quick samples from both
    /// ends of the window, the longest baseline there is; queueing spikes
    /// never touch it. The two slopes are averaged and kept within what the
    /// samples allow; how far they disagree says how much to doubt the result.
    ///
    /// Returns the drift and its doubt, both µs/s.
    fn envelope_rate(&self, lo: f64, hi: f64) -> (f64, f64) {
        let n = self.strips.len() as f64;
        let mean_x = self.strips.iter().map(|s| s.x).sum::<f64>() / n;
        let forward = self.ceiling.slope_at(&self.strips, mean_x);
        let back = self.floor.slope_at(&self.strips, mean_x);
        // Each is a concave optimum in the drift, so within the drifts the
        // samples allow it is the nearest one to the free optimum.
        let (forward, back) = (forward.clamp(lo, hi), back.clamp(lo, hi));
        let rate = (forward + back) / 2.0;
        (rate, DRIFT_DOUBT * abs(forward - back))
    }
}

pub(crate) fn secs_between(at: Instant, reference: Instant) -> f64 {
    at.signed_micros_since(reference) as f64 * 1e-6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_s: u64, offset: i64, fwd: i64, back: i64) -> Sample {
        Sample {
            at: Instant::from_micros(at_s * 1_000_000),
            lo: offset - back,
            hi: offset + fwd,
            slack: 2.0,
        }
    }

    #[test]
    fn envelope_drift_ignores_queueing_spikes() {
        // 80 µs/s of drift; every third sample queued for 30 ms on one side.
        let mut w = Window::new(500, 1);
        for t in 0..40u64 {
            let spike = if t % 3 == 0 { 30_000 } else { 0 };
            let (f, b) = if t % 2 == 0 {
                (20_000 + spike, 20_000)
            } else {
                (20_000, 20_000 + spike)
            };
            w.add(
                sample(t, 80 * t as i64, f, b),
                Instant::from_micros(t * 1_000_000),
            );
        }
        let (base, centre, rate) = w.target(Instant::from_micros(39_000_000)).unwrap();
        assert!(abs(rate * 1e6 - 80.0) < 1.0, "{}", rate * 1e6);
        let offset = base as f64 + centre;
        assert!(abs(offset - 80.0 * 39.0) < 50.0, "{offset}");
    }

    #[test]
    fn a_full_window_keeps_its_best_samples() {
        let mut w = Window::new(500, 1);
        w.add(sample(0, 0, 1_000, 1_000), Instant::ZERO);
        for t in 1..=2 * WINDOW as u64 {
            w.add(
                sample(t, 0, 50_000, 50_000),
                Instant::from_micros(t * 1_000_000),
            );
        }
        assert_eq!(w.len(), WINDOW);
        // Where the quick sample was taken, it still pins the offset.
        let (_, lo, hi) = w.offset_range(Instant::ZERO).unwrap();
        assert!(
            hi - lo < 5_000.0,
            "the 2 ms sample must survive: {lo}..{hi}"
        );
    }

    #[test]
    fn a_contradiction_keeps_only_the_newest_sample() {
        let mut w = Window::new(500, 1);
        for t in 0..10u64 {
            assert_eq!(
                w.add(sample(t, 0, 5_000, 5_000), Instant::ZERO),
                Added::Agreed
            );
        }
        let stepped = sample(10, 1_000_000, 5_000, 5_000);
        assert_eq!(w.add(stepped, Instant::ZERO), Added::Contradicted);
        assert_eq!(w.len(), 1);
    }
}
