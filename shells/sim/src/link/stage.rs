//! The stages a link's pipeline is built from.

use onbeat_core::{Duration, Instant};

use super::loss::LossState;
use super::{DropReason, InFlight, LossModel};
use crate::rng::SimRng;

/// One step of a link's pipeline.
///
/// `process` receives each packet when it reaches the stage (at `pkt.at`) and
/// pushes zero or more packets to `pass` (with the time they leave the stage)
/// and any dropped ones to `dropped`. Stages see a link's packets in send order
/// up to the first stage that reorders, so stateful stages (queues, capacity
/// traces) must come before [`Delay`].
pub trait Stage {
    /// Processes one packet.
    fn process(
        &mut self,
        pkt: InFlight,
        rng: &mut SimRng,
        pass: &mut Vec<InFlight>,
        dropped: &mut Vec<(InFlight, DropReason)>,
    );

    /// A short name, for debugging output.
    fn name(&self) -> &'static str;
}

/// Drops every packet that reaches it inside one of its `[start, end)` windows.
///
/// Placed first, it models a cut at the sender's side: a packet sent during the
/// window is lost, one already in flight when the window opens still arrives.
#[derive(Clone, Debug)]
pub struct Partition {
    windows: Vec<(Instant, Instant)>,
}

impl Partition {
    /// A stage with these windows of true time.
    pub fn new(windows: Vec<(Instant, Instant)>) -> Self {
        Partition { windows }
    }
}

impl Stage for Partition {
    fn process(
        &mut self,
        pkt: InFlight,
        _: &mut SimRng,
        pass: &mut Vec<InFlight>,
        dropped: &mut Vec<(InFlight, DropReason)>,
    ) {
        if self
            .windows
            .iter()
            .any(|&(start, end)| start <= pkt.at && pkt.at < end)
        {
            dropped.push((pkt, DropReason::Partition));
        } else {
            pass.push(pkt);
        }
    }

    fn name(&self) -> &'static str {
        "partition"
    }
}

/// Random loss, memoryless or bursty.
#[derive(Clone, Debug)]
pub struct Loss {
    state: LossState,
    until: Option<Instant>,
}

impl Loss {
    /// A stage losing packets according to `model`.
    pub fn new(model: LossModel) -> Self {
        Loss::until(model, None)
    }

    /// A stage losing packets sent before `until` (all, if `None`) according
    /// to `model`: the fault heals then.
    pub fn until(model: LossModel, until: Option<Instant>) -> Self {
        Loss {
            state: LossState::new(model),
            until,
        }
    }
}

impl Stage for Loss {
    fn process(
        &mut self,
        pkt: InFlight,
        rng: &mut SimRng,
        pass: &mut Vec<InFlight>,
        dropped: &mut Vec<(InFlight, DropReason)>,
    ) {
        let healed = self.until.is_some_and(|until| pkt.at >= until);
        if !healed && self.state.lose(rng) {
            dropped.push((pkt, DropReason::Loss));
        } else {
            pass.push(pkt);
        }
    }

    fn name(&self) -> &'static str {
        "loss"
    }
}

/// With probability `p`, emits a second copy of the packet. The copies go on
/// through the later stages independently, so they get their own jitter.
#[derive(Clone, Debug)]
pub struct Duplicate {
    p: f64,
}

impl Duplicate {
    /// A stage duplicating with probability `p`.
    pub fn new(p: f64) -> Self {
        Duplicate { p }
    }
}

impl Stage for Duplicate {
    fn process(
        &mut self,
        pkt: InFlight,
        rng: &mut SimRng,
        pass: &mut Vec<InFlight>,
        _: &mut Vec<(InFlight, DropReason)>,
    ) {
        let twice = rng.chance(self.p);
        pass.push(pkt);
        if twice {
            pass.push(InFlight {
                copy: pkt.copy.saturating_add(1),
                ..pkt
            });
        }
    }

    fn name(&self) -> &'static str {
        "duplicate"
    }
}

/// Adds the propagation delay and a Lomax-distributed jitter, truncated at `cap`.
#[derive(Clone, Debug)]
pub struct Delay {
    base: Duration,
    jitter_mean_us: f64,
    shape: f64,
    cap_us: f64,
}

impl Delay {
    /// A stage adding `base` plus Lomax(`jitter_mean`, `shape`) jitter capped at `cap`.
    pub fn new(base: Duration, jitter_mean: Duration, shape: f64, cap: Duration) -> Self {
        Delay {
            base,
            jitter_mean_us: jitter_mean.as_micros() as f64,
            shape,
            cap_us: cap.as_micros() as f64,
        }
    }
}

impl Stage for Delay {
    fn process(
        &mut self,
        pkt: InFlight,
        rng: &mut SimRng,
        pass: &mut Vec<InFlight>,
        _: &mut Vec<(InFlight, DropReason)>,
    ) {
        let jitter = rng.lomax(self.jitter_mean_us, self.shape).min(self.cap_us);
        let at = pkt.at + self.base + Duration::from_micros(jitter as u64);
        pass.push(InFlight { at, ..pkt });
    }

    fn name(&self) -> &'static str {
        "delay"
    }
}

/// With probability `p`, holds a packet back for an extra delay uniform in
/// `[0, extra]`, so that it overtakes nothing and is overtaken by what follows.
#[derive(Clone, Debug)]
pub struct Reorder {
    p: f64,
    extra_us: f64,
}

impl Reorder {
    /// A stage holding back packets with probability `p` by up to `extra`.
    pub fn new(p: f64, extra: Duration) -> Self {
        Reorder {
            p,
            extra_us: extra.as_micros() as f64,
        }
    }
}

impl Stage for Reorder {
    fn process(
        &mut self,
        pkt: InFlight,
        rng: &mut SimRng,
        pass: &mut Vec<InFlight>,
        _: &mut Vec<(InFlight, DropReason)>,
    ) {
        let held = rng.chance(self.p);
        let extra = rng.uniform(0.0, self.extra_us);
        let at = if held {
            pkt.at + Duration::from_micros(extra as u64)
        } else {
            pkt.at
        };
        pass.push(InFlight { at, ..pkt });
    }

    fn name(&self) -> &'static str {
        "reorder"
    }
}
