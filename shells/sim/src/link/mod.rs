//! One direction of a network path, as a pipeline of impairment stages.
//!
//! A packet enters a [`Link`] at its send time and passes through the stages
//! in order. Each stage may drop it, pass it on with a later timestamp, or pass
//! on several copies (duplication). What leaves the last stage arrives at the
//! far end at its timestamp. The link never sees payloads, only a packet's id
//! and its size in bytes, so the same pipeline serves every scenario, and
//! stages that care about size (a capacity-limited queue, a trace-driven
//! bottleneck) slot in without changing the others.
//!
//! The stages built from a [`LinkConfig`] run in this order, the order in
//! which a real path applies them:
//!
//! 1. [`Partition`]: drops everything sent inside a partition window.
//! 2. [`Loss`]: Bernoulli or Gilbert–Elliott loss.
//! 3. [`Duplicate`]: sometimes emits a second copy.
//! 4. [`Delay`]: base propagation delay plus heavy-tailed (Lomax) jitter. Jitter
//!    alone reorders packets sent close together.
//! 5. [`Reorder`]: sometimes holds a packet back for extra time.
//!
//! Stateful stages that need packets in send order (a drop-tail queue, a
//! capacity trace) belong before [`Delay`], which is where order is lost.

mod loss;
mod stage;

pub use loss::{GilbertElliott, LossModel};
pub use stage::{Delay, Duplicate, Loss, Partition, Reorder, Stage};

use onbeat_core::{Duration, Instant};

use crate::rng::SimRng;

/// A packet as a link sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// Identifies the packet within its link; copies share it.
    pub id: u64,
    /// Size on the wire in bytes.
    pub size: u32,
    /// Which copy this is: 0 for the original, 1.. for duplicates.
    pub copy: u8,
    /// The instant the packet leaves the current stage.
    pub at: Instant,
}

/// Why a link dropped a packet. The discriminant is logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[non_exhaustive]
pub enum DropReason {
    /// Random loss.
    Loss = 1,
    /// Sent while the path was partitioned.
    Partition = 2,
    /// A capacity-limited queue was full.
    QueueFull = 3,
}

/// The fate of one packet offered to a link: when each copy arrives, and
/// which copies were dropped and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transit {
    /// Copies that arrive, with their arrival time in [`InFlight::at`].
    pub delivered: Vec<InFlight>,
    /// Copies that were dropped.
    pub dropped: Vec<(InFlight, DropReason)>,
}

/// The impairments of one direction of a path. All probabilities are per packet.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// Fixed one-way propagation delay.
    pub base_delay: Duration,
    /// Mean of the Lomax-distributed jitter added to every packet.
    pub jitter_mean: Duration,
    /// Tail shape α of the jitter (α > 1; α ≤ 2 has infinite variance).
    pub jitter_shape: f64,
    /// Upper bound on a single jitter draw, so that one draw from the far tail
    /// cannot stall a run.
    pub jitter_cap: Duration,
    /// Loss process.
    pub loss: LossModel,
    /// Packets sent from this instant on are never lost (the fault heals).
    pub loss_until: Option<Instant>,
    /// Probability that a packet is duplicated.
    pub duplicate: f64,
    /// Probability that a packet is held back for extra delay.
    pub reorder: f64,
    /// The extra delay of a held-back packet is uniform in `[0, reorder_extra]`.
    pub reorder_extra: Duration,
    /// Windows `[start, end)` of true time during which everything sent is dropped.
    pub partitions: Vec<(Instant, Instant)>,
}

impl LinkConfig {
    /// A perfect link with a fixed delay.
    pub fn ideal(base_delay: Duration) -> Self {
        LinkConfig {
            base_delay,
            jitter_mean: Duration::ZERO,
            jitter_shape: 2.0,
            jitter_cap: Duration::from_secs(2),
            loss: LossModel::None,
            loss_until: None,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_extra: Duration::ZERO,
            partitions: Vec::new(),
        }
    }
}

/// One direction of a path: a pipeline of [`Stage`]s.
pub struct Link {
    stages: Vec<Box<dyn Stage>>,
    next_id: u64,
    current: Vec<InFlight>,
    next: Vec<InFlight>,
    dropped: Vec<(InFlight, DropReason)>,
}

impl core::fmt::Debug for Link {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names: Vec<&str> = self.stages.iter().map(|s| s.name()).collect();
        f.debug_struct("Link")
            .field("stages", &names)
            .field("next_id", &self.next_id)
            .finish()
    }
}

impl Link {
    /// A link running `stages` in order.
    pub fn new(stages: Vec<Box<dyn Stage>>) -> Self {
        Link {
            stages,
            next_id: 0,
            current: Vec::new(),
            next: Vec::new(),
            dropped: Vec::new(),
        }
    }

    /// The standard pipeline for `config` (see the module docs for the order).
    pub fn from_config(config: &LinkConfig) -> Self {
        Link::new(vec![
            Box::new(Partition::new(config.partitions.clone())),
            Box::new(Loss::until(config.loss, config.loss_until)),
            Box::new(Duplicate::new(config.duplicate)),
            Box::new(Delay::new(
                config.base_delay,
                config.jitter_mean,
                config.jitter_shape,
                config.jitter_cap,
            )),
            Box::new(Reorder::new(config.reorder, config.reorder_extra)),
        ])
    }

    /// Offers a packet of `size` bytes at `now`; returns its id and fate.
    pub fn send(&mut self, now: Instant, size: u32, rng: &mut SimRng) -> (u64, Transit) {
        let (id, delivered, dropped) = self.offer(now, size, rng);
        let transit = Transit {
            delivered: delivered.to_vec(),
            dropped: dropped.to_vec(),
        };
        (id, transit)
    }

    /// As [`Link::send`], lending the fate (copies delivered, copies dropped)
    /// from buffers the link reuses: a simulation offering millions of
    /// packets allocates nothing per packet.
    pub fn offer(
        &mut self,
        now: Instant,
        size: u32,
        rng: &mut SimRng,
    ) -> (u64, &[InFlight], &[(InFlight, DropReason)]) {
        let id = self.next_id;
        self.next_id += 1;
        self.dropped.clear();
        self.current.clear();
        self.current.push(InFlight {
            id,
            size,
            copy: 0,
            at: now,
        });
        for stage in &mut self.stages {
            self.next.clear();
            for pkt in self.current.drain(..) {
                stage.process(pkt, rng, &mut self.next, &mut self.dropped);
            }
            core::mem::swap(&mut self.current, &mut self.next);
        }
        (id, &self.current, &self.dropped)
    }
}

#[cfg(test)]
mod tests;
