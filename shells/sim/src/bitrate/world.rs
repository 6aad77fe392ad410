//! The run: flows sharing one bottleneck, an uncongested reverse path, and a
//! discrete-event loop over both, sampling every flow's rates for the report.

use onbeat_core::{Duration, Instant};

use super::link::{Bottleneck, BottleneckConfig, Fate};
use crate::event::EventQueue;

/// What travels from a sender to its receiver.
#[derive(Clone, Debug)]
pub enum Forward {
    /// A media or probe packet with its transport-wide sequence number.
    Media {
        /// Transport-wide sequence number.
        id: u64,
    },
    /// A TCP-like segment.
    Segment {
        /// Segment number.
        seq: u64,
    },
    /// A datagram between two str0m peers.
    Datagram(Vec<u8>),
}

/// What travels back from a receiver to its sender.
#[derive(Clone, Debug)]
pub enum Backward {
    /// Results for earlier media packets: id and arrival (receiver clock), or lost.
    Feedback(Vec<(u64, Option<Instant>)>),
    /// A cumulative acknowledgement: every segment before `next` arrived.
    Ack {
        /// The next segment the receiver expects.
        next: u64,
    },
    /// A datagram between two str0m peers.
    Datagram(Vec<u8>),
}

/// What a flow wants sent, collected during one call.
#[derive(Debug, Default)]
pub struct Out {
    /// Onto the bottleneck: bytes on the wire and the packet.
    pub forward: Vec<(u32, Forward)>,
    /// Onto the reverse path.
    pub backward: Vec<Backward>,
}

/// A sender and its receiver, driven by the run.
pub trait Flow: Send {
    /// When the flow next needs [`Flow::wake`].
    fn wake_at(&self) -> Option<Instant>;
    /// Time has reached [`Flow::wake_at`].
    fn wake(&mut self, now: Instant, out: &mut Out);
    /// A packet reached the receiver.
    fn at_receiver(&mut self, packet: Forward, now: Instant, out: &mut Out);
    /// A message reached the sender.
    fn at_sender(&mut self, message: Backward, now: Instant, out: &mut Out);
    /// The rate the sender's controller currently targets, bits per second
    /// (`None` for flows without one, such as TCP).
    fn target_bps(&self) -> Option<f64>;
    /// Errors the flow's machines reported (zero in a sound run).
    fn errors(&self) -> u64 {
        0
    }
}

/// One sample of a flow's controller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// When it was taken.
    pub at: Instant,
    /// The controller's target, bits per second.
    pub target_bps: f64,
}

enum Event {
    AtReceiver(usize, Forward),
    AtSender(usize, Backward),
}

/// How often targets are sampled for the report.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Flows over one bottleneck, run to a horizon.
pub struct World {
    link: Bottleneck,
    reverse_delay: Duration,
    flows: Vec<Box<dyn Flow>>,
    events: EventQueue<Event>,
    samples: Vec<Vec<Sample>>,
    /// Flows start at these instants (a flow is not woken before).
    starts: Vec<Instant>,
}

impl World {
    /// A run over `link` (seeded by `seed`), with feedback delayed by the
    /// link's propagation delay on the way back.
    pub fn new(link: BottleneckConfig, seed: u64) -> Self {
        let reverse_delay = link.delay;
        World {
            link: Bottleneck::new(link, seed, 0),
            reverse_delay,
            flows: Vec::new(),
            events: EventQueue::new(),
            samples: Vec::new(),
            starts: Vec::new(),
        }
    }

    /// Adds a flow that starts at `start`; returns its index.
    pub fn add(&mut self, flow: Box<dyn Flow>, start: Instant) -> usize {
        self.flows.push(flow);
        self.samples.push(Vec::new());
        self.starts.push(start);
        self.flows.len() - 1
    }

    /// The bottleneck and its ground truth.
    pub fn link(&self) -> &Bottleneck {
        &self.link
    }

    /// Every flow's sampled targets.
    pub fn samples(&self) -> &[Vec<Sample>] {
        &self.samples
    }

    /// Errors every flow reported.
    pub fn errors(&self) -> u64 {
        self.flows.iter().map(|f| f.errors()).sum()
    }

    fn wake_of(&self, i: usize) -> Option<Instant> {
        self.flows[i].wake_at().map(|t| t.max(self.starts[i]))
    }

    /// Runs every event up to `until`.
    pub fn run(&mut self, until: Instant) {
        let mut next_sample = Instant::ZERO;
        let mut out = Out::default();
        loop {
            let flow_due = (0..self.flows.len())
                .filter_map(|i| self.wake_of(i).map(|t| (t, i)))
                .min();
            let event_due = self.events.peek_time();
            let now = [flow_due.map(|f| f.0), event_due, Some(next_sample)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(until);
            if now > until {
                break;
            }
            if now == next_sample {
                for (i, flow) in self.flows.iter().enumerate() {
                    if let Some(target_bps) = flow.target_bps().filter(|_| now >= self.starts[i]) {
                        self.samples[i].push(Sample {
                            at: now,
                            target_bps,
                        });
                    }
                }
                next_sample += SAMPLE_EVERY;
                continue;
            }
            let i = if event_due == Some(now) {
                let Some((_, event)) = self.events.pop() else {
                    break;
                };
                match event {
                    Event::AtReceiver(i, p) => {
                        self.flows[i].at_receiver(p, now, &mut out);
                        i
                    }
                    Event::AtSender(i, m) => {
                        self.flows[i].at_sender(m, now, &mut out);
                        i
                    }
                }
            } else {
                let i = flow_due.map_or(0, |f| f.1);
                self.flows[i].wake(now, &mut out);
                i
            };
            self.dispatch(i, now, &mut out);
        }
    }

    fn dispatch(&mut self, flow: usize, now: Instant, out: &mut Out) {
        for (size, packet) in out.forward.drain(..) {
            if let Fate::Delivered { at } = self.link.send(flow as u8, size, now) {
                self.events.push(at, Event::AtReceiver(flow, packet));
            }
        }
        for message in out.backward.drain(..) {
            self.events
                .push(now + self.reverse_delay, Event::AtSender(flow, message));
        }
    }
}
