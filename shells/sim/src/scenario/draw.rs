//! Draws shared by the scenarios' fault matrices, so that "bursty loss" or
//! "duplication" means the same distributions in every scenario.

use crate::link::{GilbertElliott, LossModel};
use crate::rng::SimRng;

/// A link's loss process: none, Bernoulli U(0, 5 %), or (if `bursty`)
/// Gilbert–Elliott with `p_gb` U(0.5 %, 3 %), `p_bg` U(0.2, 0.5),
/// `loss_good` U(0, 0.5 %), `loss_bad` U(0.5, 1).
pub(crate) fn loss(enabled: bool, bursty: bool, rng: &mut SimRng) -> LossModel {
    if !enabled {
        LossModel::None
    } else if bursty {
        LossModel::GilbertElliott(GilbertElliott {
            p_good_to_bad: rng.uniform(0.005, 0.03),
            p_bad_to_good: rng.uniform(0.2, 0.5),
            loss_good: rng.uniform(0.0, 0.005),
            loss_bad: rng.uniform(0.5, 1.0),
        })
    } else {
        LossModel::Bernoulli(rng.uniform(0.0, 0.05))
    }
}

/// A link's duplication probability: U(0.5 %, 3 %) when enabled.
pub(crate) fn duplicate(enabled: bool, rng: &mut SimRng) -> f64 {
    if enabled {
        rng.uniform(0.005, 0.03)
    } else {
        0.0
    }
}
