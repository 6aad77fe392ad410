//! Packet loss processes.

use crate::rng::SimRng;

/// The Gilbert–Elliott two-state loss channel.
///
/// The channel is either Good or Bad. Before each packet it moves Good→Bad with
/// probability `p_good_to_bad` and Bad→Good with `p_bad_to_good`; the packet is
/// then lost with the current state's loss probability. The stationary share of
/// time in Bad is `p_gb / (p_gb + p_bg)`, and a Bad spell lasts `1/p_bg` packets
/// on average, which is what makes losses come in bursts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GilbertElliott {
    /// Probability of moving from Good to Bad before a packet.
    pub p_good_to_bad: f64,
    /// Probability of moving from Bad to Good before a packet.
    pub p_bad_to_good: f64,
    /// Loss probability in Good.
    pub loss_good: f64,
    /// Loss probability in Bad.
    pub loss_bad: f64,
}

impl GilbertElliott {
    /// The long-run loss rate.
    pub fn mean_loss(&self) -> f64 {
        let denom = self.p_good_to_bad + self.p_bad_to_good;
        if denom <= 0.0 {
            return self.loss_good;
        }
        let bad = self.p_good_to_bad / denom;
        bad * self.loss_bad + (1.0 - bad) * self.loss_good
    }
}

/// How a link loses packets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossModel {
    /// Nothing is lost.
    None,
    /// Each packet is lost independently with this probability.
    Bernoulli(f64),
    /// Bursty loss.
    GilbertElliott(GilbertElliott),
}

impl LossModel {
    /// The long-run loss rate.
    pub fn mean_loss(&self) -> f64 {
        match self {
            LossModel::None => 0.0,
            LossModel::Bernoulli(p) => *p,
            LossModel::GilbertElliott(ge) => ge.mean_loss(),
        }
    }
}

/// A loss process with its state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LossState {
    model: LossModel,
    bad: bool,
}

impl LossState {
    pub(crate) fn new(model: LossModel) -> Self {
        LossState { model, bad: false }
    }

    /// Whether the next packet is lost.
    pub(crate) fn lose(&mut self, rng: &mut SimRng) -> bool {
        match self.model {
            LossModel::None => false,
            LossModel::Bernoulli(p) => rng.chance(p),
            LossModel::GilbertElliott(ge) => {
                let flip = if self.bad {
                    ge.p_bad_to_good
                } else {
                    ge.p_good_to_bad
                };
                if rng.chance(flip) {
                    self.bad = !self.bad;
                }
                rng.chance(if self.bad { ge.loss_bad } else { ge.loss_good })
            }
        }
    }
}
