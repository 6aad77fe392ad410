//! The set of clock models consistent with every sample taken so far.
//!
//! A sample (t1, t2, t3, t4) proves, by causality alone, that the server's clock
//! was ahead of ours by at least `t3 − t4` and at most `t2 − t1` while the
//! exchange was in flight. No assumption about path symmetry is needed, which
//! is what makes the resulting error bound honest.
//!
//! Modelling the offset as a line `offset(x) = a + b·x` (x: seconds of local
//! time from a reference, b: relative drift in µs per second), every sample is a
//! strip `lo ≤ a + b·x ≤ hi` in the (a, b) plane and the rate is bounded by the
//! configured maximum drift. Their intersection is a convex polygon: every point
//! in it is a clock model that explains all samples, and the extreme values of
//! `a + b·x` over its vertices bound the offset at any instant. An empty
//! intersection means the samples cannot all be true of one clock: one side's
//! clock stepped.

use heapless::Vec;

/// Enough vertices for the start box clipped by both sides of every sample.
pub(crate) const MAX_VERTICES: usize = 4 + 2 * super::clock_sync::WINDOW;

/// One sample reduced to what the region needs: a strip around `x`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Strip {
    /// Local time of the sample relative to the region's reference, in seconds.
    pub x: f64,
    /// Lowest offset the sample allows, µs, relative to the region's base offset.
    pub lo: f64,
    /// Highest offset the sample allows, µs, relative to the region's base offset.
    pub hi: f64,
}

/// A convex polygon of (offset at reference µs, drift µs/s) pairs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Region {
    vertices: Vec<(f64, f64), MAX_VERTICES>,
}

impl Region {
    /// All models whose offset at the reference lies in `strip` (taken at x = 0)
    /// and whose drift lies within `±max_rate` µs/s.
    #[cfg(test)]
    pub(crate) fn new(reference: Strip, max_rate: f64) -> Region {
        let mut r = Region::default();
        r.reset(reference, max_rate);
        r
    }

    /// Makes this region all models whose offset lies in `reference` (taken
    /// at x = 0) and whose drift lies within `±max_rate` µs/s, in place (a
    /// region is large; moving one costs more than computing it).
    pub(crate) fn reset(&mut self, reference: Strip, max_rate: f64) {
        self.vertices.clear();
        for (a, b) in [
            (reference.lo + reference.x * max_rate, -max_rate),
            (reference.hi + reference.x * max_rate, -max_rate),
            (reference.hi - reference.x * max_rate, max_rate),
            (reference.lo - reference.x * max_rate, max_rate),
        ] {
            // Capacity is at least four; this cannot fail.
            let _ = self.vertices.push((a, b));
        }
    }

    /// Keeps only models that satisfy `strip`. Returns `false`, leaving the
    /// region as it was, when the strip contradicts what is already known.
    pub(crate) fn clip(&mut self, strip: Strip) -> bool {
        let Some((lo, hi)) = self.range_at(strip.x) else {
            return false;
        };
        if lo >= strip.lo && hi <= strip.hi {
            // Most strips in a window are wider than what the others already
            // pin down; they cannot cut, so skip the clipping work.
            return true;
        }
        if hi < strip.lo || lo > strip.hi {
            return false;
        }
        // Both sides of the strip as half-planes `na·a + nb·b ≤ c`.
        let mut upper = Vec::new();
        clip_half_plane(&self.vertices, 1.0, strip.x, strip.hi, &mut upper);
        let mut both = Vec::new();
        clip_half_plane(&upper, -1.0, -strip.x, -strip.lo, &mut both);
        if both.is_empty() {
            return false;
        }
        self.vertices.clear();
        // Same capacity; cannot fail.
        let _ = self.vertices.extend_from_slice(&both);
        true
    }

    /// The lowest and highest offset (µs, relative to the base) any model allows
    /// at `x` seconds from the reference, or `None` if the region is empty.
    pub(crate) fn range_at(&self, x: f64) -> Option<(f64, f64)> {
        let mut it = self.vertices.iter().map(|&(a, b)| a + b * x);
        let first = it.next()?;
        Some(it.fold((first, first), |(lo, hi), v| {
            (if v < lo { v } else { lo }, if v > hi { v } else { hi })
        }))
    }

    /// The lowest and highest drift (µs/s) any model allows.
    pub(crate) fn rate_range(&self) -> Option<(f64, f64)> {
        let mut it = self.vertices.iter().map(|&(_, b)| b);
        let first = it.next()?;
        Some(it.fold((first, first), |(lo, hi), v| {
            (if v < lo { v } else { lo }, if v > hi { v } else { hi })
        }))
    }
}

/// Sutherland–Hodgman against one half-plane `na·a + nb·b ≤ c`. A small
/// tolerance keeps a degenerate (zero-width) region alive despite rounding;
/// the strips are already widened by more than this, so honesty is not at stake.
fn clip_half_plane(
    vertices: &[(f64, f64)],
    na: f64,
    nb: f64,
    c: f64,
    out: &mut Vec<(f64, f64), MAX_VERTICES>,
) {
    const EPS: f64 = 1e-9;
    let n = vertices.len();
    for i in 0..n {
        let p = vertices[i];
        let q = vertices[(i + 1) % n];
        let dp = na * p.0 + nb * p.1 - c;
        let dq = na * q.0 + nb * q.1 - c;
        // A convex polygon clipped by one half-plane gains at most one
        // vertex, and MAX_VERTICES allows one per half-plane: pushes fit.
        if dp <= EPS {
            let _ = out.push(p);
        }
        if (dp <= EPS) != (dq <= EPS) {
            let t = dp / (dp - dq);
            let _ = out.push((p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(x: f64, lo: f64, hi: f64) -> Strip {
        Strip { x, lo, hi }
    }

    #[test]
    fn single_strip_bounds_grow_with_max_rate() {
        let r = Region::new(strip(0.0, -10.0, 10.0), 100.0);
        assert_eq!(r.range_at(0.0), Some((-10.0, 10.0)));
        let (lo, hi) = r.range_at(2.0).unwrap();
        assert!((lo + 210.0).abs() < 1e-9 && (hi - 210.0).abs() < 1e-9);
    }

    #[test]
    fn two_strips_pin_the_drift() {
        // A clock that runs 50 µs/s fast, observed ±5 µs at x = -10 s and x = 0.
        let mut r = Region::new(strip(0.0, -5.0, 5.0), 500.0);
        assert!(r.clip(strip(-10.0, -505.0, -495.0)));
        let (rlo, rhi) = r.rate_range().unwrap();
        assert!(rlo >= 49.0 - 1e-9 && rhi <= 51.0 + 1e-9, "{rlo} {rhi}");
        let (lo, hi) = r.range_at(10.0).unwrap();
        assert!(lo >= 485.0 - 1e-6 && hi <= 515.0 + 1e-6, "{lo} {hi}");
        assert!(lo <= 500.0 && hi >= 500.0);
    }

    #[test]
    fn contradicting_strip_empties_the_region() {
        let mut r = Region::new(strip(0.0, -5.0, 5.0), 100.0);
        assert!(!r.clip(strip(-1.0, 1000.0, 1010.0)));
        assert_eq!(
            r.range_at(0.0),
            Some((-5.0, 5.0)),
            "a refused strip changes nothing"
        );
    }
}
