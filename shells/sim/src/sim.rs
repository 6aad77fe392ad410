//! The discrete-event loop: true time, the event queue, the links and the log.
//!
//! A scenario owns its nodes and machines and asks the [`Sim`] to carry
//! packets between them and to wake it up at given true instants. The `Sim`
//! logs every packet's fate on its own, so the event-log hash covers all
//! network activity whatever the scenario does.

use onbeat_core::Instant;

use crate::event::EventQueue;
use crate::link::Link;
use crate::log::{EventLog, Record};
use crate::rng::SimRng;

/// Identifies a link within a [`Sim`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinkId(pub u32);

/// Something that happens at an instant of true time.
#[derive(Clone, Debug, PartialEq)]
pub enum Event<P, T> {
    /// A copy of a packet arrives at the far end of `link`.
    Deliver {
        /// The link it crossed.
        link: LinkId,
        /// Its id within the link.
        packet: u64,
        /// What it carries.
        payload: P,
    },
    /// A wake-up the scenario asked for.
    Timer(T),
}

/// A run in progress: true time, randomness, pending events, links and the log.
#[derive(Debug)]
pub struct Sim<P, T> {
    now: Instant,
    rng: SimRng,
    queue: EventQueue<Event<P, T>>,
    links: Vec<Link>,
    log: EventLog,
}

impl<P: Clone, T> Sim<P, T> {
    /// A run at true time zero with the stream of `seed`.
    pub fn new(seed: u64) -> Self {
        Sim {
            now: Instant::ZERO,
            rng: SimRng::new(seed),
            queue: EventQueue::new(),
            links: Vec::new(),
            log: EventLog::new(),
        }
    }

    /// Current true time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The run's random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.rng
    }

    /// The run's event log.
    pub fn log(&mut self) -> &mut EventLog {
        &mut self.log
    }

    /// The hash of everything logged so far.
    pub fn log_hash(&self) -> u64 {
        self.log.hash()
    }

    /// Adds a link and returns its id.
    pub fn add_link(&mut self, link: Link) -> LinkId {
        self.links.push(link);
        LinkId((self.links.len() - 1) as u32)
    }

    /// Sends `payload` (`size` bytes on the wire) over `link` now. Drops are
    /// logged at once; each arriving copy becomes a [`Event::Deliver`].
    /// Returns how many copies will arrive.
    pub fn send(&mut self, link: LinkId, size: u32, payload: P) -> usize {
        let (_, delivered, dropped) =
            self.links[link.0 as usize].offer(self.now, size, &mut self.rng);
        for (pkt, reason) in dropped {
            let fields = [pkt.id, pkt.copy as u64, *reason as u64, pkt.size as u64];
            self.log
                .append(Record::Dropped, pkt.at, link.0 as u64, &fields);
        }
        for pkt in delivered {
            let event = Event::Deliver {
                link,
                packet: pkt.id,
                payload: payload.clone(),
            };
            self.queue.push(pkt.at, event);
        }
        delivered.len()
    }

    /// Asks for `timer` to come back at true time `at` (now, if `at` has passed).
    pub fn schedule(&mut self, at: Instant, timer: T) {
        self.queue.push(at.max(self.now), Event::Timer(timer));
    }

    /// When the next event is due.
    pub fn next_time(&self) -> Option<Instant> {
        self.queue.peek_time()
    }

    /// Advances true time to the next event and returns it; `None` when
    /// nothing is pending or the next event is after `until`.
    pub fn next(&mut self, until: Instant) -> Option<Event<P, T>> {
        if self.queue.peek_time()? > until {
            return None;
        }
        let (at, event) = self.queue.pop()?;
        self.now = at;
        if let Event::Deliver { link, packet, .. } = &event {
            self.log
                .append(Record::Delivered, at, link.0 as u64, &[*packet]);
        }
        Some(event)
    }

    /// Moves true time forward to `t` without an event (never backwards).
    pub fn advance_to(&mut self, t: Instant) {
        self.now = self.now.max(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{LinkConfig, LossModel};
    use onbeat_core::Duration;

    fn lossy() -> LinkConfig {
        LinkConfig {
            jitter_mean: Duration::from_millis(3),
            loss: LossModel::Bernoulli(0.2),
            duplicate: 0.1,
            ..LinkConfig::ideal(Duration::from_millis(5))
        }
    }

    /// Ping-pongs a counter over two lossy links, restarting it on a timer.
    fn run(seed: u64) -> (u64, u64, Vec<(Instant, u32)>) {
        let mut sim: Sim<u32, u32> = Sim::new(seed);
        let there = sim.add_link(Link::from_config(&lossy()));
        let back = sim.add_link(Link::from_config(&lossy()));
        let mut seen = Vec::new();
        sim.schedule(Instant::ZERO, 0);
        while let Some(ev) = sim.next(Instant::from_millis(5_000)) {
            match ev {
                Event::Timer(n) => {
                    sim.send(there, 100, n);
                    sim.schedule(sim.now() + Duration::from_millis(50), n + 1);
                }
                Event::Deliver { link, payload, .. } => {
                    seen.push((sim.now(), payload));
                    if link == there {
                        sim.send(back, 100, payload);
                    }
                }
            }
        }
        (sim.log_hash(), sim.log.records(), seen)
    }

    #[test]
    fn same_seed_same_log_and_order() {
        let a = run(1);
        assert_eq!(a, run(1));
        assert!(a.1 > 100);
        let b = run(2);
        assert_ne!(a.0, b.0);
    }

    #[test]
    fn events_come_out_in_time_order() {
        let (_, _, seen) = run(3);
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn time_never_runs_past_the_horizon() {
        let mut sim: Sim<(), u8> = Sim::new(0);
        sim.schedule(Instant::from_millis(10), 1);
        sim.schedule(Instant::from_millis(30), 2);
        assert_eq!(sim.next(Instant::from_millis(20)), Some(Event::Timer(1)));
        assert_eq!(sim.next(Instant::from_millis(20)), None);
        assert_eq!(sim.now(), Instant::from_millis(10));
        assert_eq!(sim.next_time(), Some(Instant::from_millis(30)));
    }
}
