//! The run's single source of randomness.
//!
//! Every random decision in a run (scenario parameters, jitter, loss, clock ids)
//! is drawn from one [`SimRng`] seeded from the run's `u64` seed, in the order the
//! discrete-event loop makes them. Since that order is itself a function of the
//! seed, the whole run is. ChaCha8 is specified bit-for-bit, so the same seed
//! gives the same stream on every platform and every release of `rand_chacha`
//! 0.9.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A seeded, platform-independent random number generator with the
/// distributions the simulator needs.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// A generator for the run identified by `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng {
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A uniform draw from `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.inner.random::<f64>()
    }

    /// A raw 64-bit draw.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.random::<u64>()
    }

    /// `true` with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        // Always draw, even for p = 0 or 1, so that switching an impairment on
        // or off does not shift every later draw of the run.
        self.unit() < p
    }

    /// A uniform draw from `[lo, hi)`; `lo` when the range is empty.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo).max(0.0) * self.unit()
    }

    /// A uniform integer from `[lo, hi]`; `lo` when `hi < lo`.
    pub fn range_u64(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        self.inner.random_range(lo..=hi)
    }

    /// A log-uniform draw from `[lo, hi)`: every decade is equally likely.
    /// Both bounds must be positive.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.unit()).exp()
    }

    /// A Lomax (Pareto type II) draw with the given `mean` and tail `shape` α > 1.
    ///
    /// The density `α/λ · (1 + x/λ)^-(α+1)` is highest at zero and falls off as a
    /// power law, so most draws are small and a few are very large; for α ≤ 2 the
    /// variance is infinite. The scale is `λ = mean·(α − 1)`, drawn by inverting
    /// the CDF: `λ·((1 − u)^(-1/α) − 1)`.
    pub fn lomax(&mut self, mean: f64, shape: f64) -> f64 {
        if mean <= 0.0 || shape <= 1.0 {
            return 0.0;
        }
        let scale = mean * (shape - 1.0);
        let u = self.unit();
        scale * ((1.0 - u).powf(-1.0 / shape) - 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = SimRng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..8)
            .map({
                let mut r = SimRng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..8)
            .map({
                let mut r = SimRng::new(8);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn chacha8_stream_is_pinned() {
        // Guards against a silent change of algorithm or seeding: every recorded
        // event-log hash depends on this exact stream.
        let mut r = SimRng::new(0);
        let first = r.next_u64();
        let mut again = SimRng::new(0);
        assert_eq!(first, again.next_u64());
        assert_eq!(first, PINNED_FIRST_DRAW_SEED0);
    }

    const PINNED_FIRST_DRAW_SEED0: u64 = 13_080_132_717_333_068_652;

    #[test]
    fn lomax_mean_matches_within_tolerance() {
        let mut r = SimRng::new(1);
        let n = 400_000;
        // Shape 3 has finite variance, so the sample mean settles quickly.
        let mean: f64 = (0..n).map(|_| r.lomax(10.0, 3.0)).sum::<f64>() / n as f64;
        assert!((mean - 10.0).abs() < 0.3, "mean {mean}");
    }

    #[test]
    fn lomax_median_matches_closed_form() {
        let mut r = SimRng::new(2);
        let mut v: Vec<f64> = (0..100_001).map(|_| r.lomax(20.0, 1.5)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[50_000];
        // λ(2^(1/α) − 1) with λ = 20·0.5.
        let expected = 10.0 * (2f64.powf(1.0 / 1.5) - 1.0);
        assert!(
            (median - expected).abs() / expected < 0.03,
            "median {median} vs {expected}"
        );
    }

    #[test]
    fn uniform_and_range_stay_in_bounds() {
        let mut r = SimRng::new(3);
        for _ in 0..10_000 {
            let x = r.uniform(2.0, 5.0);
            assert!((2.0..5.0).contains(&x));
            let k = r.range_u64(3, 9);
            assert!((3..=9).contains(&k));
            let l = r.log_uniform(0.5, 50.0);
            assert!((0.5..50.0).contains(&l));
        }
        assert_eq!(r.range_u64(4, 4), 4);
    }
}
