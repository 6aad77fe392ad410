//! The capacity measured at the controller's cuts.

use super::{LINK_ALPHA, RateControl};

/// The capacity measured at recent cuts: a mean and a variance normalised
/// by the mean, both in kbit/s as in GCC's link capacity estimator (whose
/// variance bounds assume those units).
#[derive(Clone, Copy, Debug)]
pub(super) struct Link {
    pub(super) mean: f64,
    pub(super) var: f64,
}

impl Link {
    /// Whether `rate` (bit/s) is more than three deviations below the mean
    /// (compared squared, since `core` has no square root).
    pub(super) fn well_below(&self, rate: f64) -> bool {
        let r = rate / 1_000.0;
        r < self.mean && (self.mean - r) * (self.mean - r) > 9.0 * self.var * self.mean
    }

    /// Whether `rate` (bit/s) is more than three deviations above the mean.
    pub(super) fn well_above(&self, rate: f64) -> bool {
        let r = rate / 1_000.0;
        r > self.mean && (r - self.mean) * (r - self.mean) > 9.0 * self.var * self.mean
    }
}

impl RateControl {
    pub(super) fn measured_capacity(&mut self, delivered: f64) {
        let kbps = delivered / 1_000.0;
        let link = match self.link {
            Some(l) if l.well_above(delivered) || l.well_below(delivered) => Link {
                mean: kbps,
                var: 0.4,
            },
            Some(l) => {
                let mean = (1.0 - LINK_ALPHA) * l.mean + LINK_ALPHA * kbps;
                let err = mean - kbps;
                let var = (1.0 - LINK_ALPHA) * l.var + LINK_ALPHA * err * err / mean.max(1.0);
                Link {
                    mean,
                    // As in libwebrtc: bounds keep the band meaningful at any rate.
                    var: var.clamp(0.4, 2.5),
                }
            }
            None => Link {
                mean: kbps,
                var: 0.4,
            },
        };
        self.link = Some(link);
    }
}
