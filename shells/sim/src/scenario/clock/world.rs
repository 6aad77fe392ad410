//! One room in motion: the event loop that carries packets and wake-ups
//! between the server and its clients.

use onbeat_core::proto::{ClockId, ClockPing, ClockPong};
use onbeat_core::timeline::{ClockConfig, ClockError, ClockEvent, ClockSync, TimelineEvent};
use onbeat_core::{Duration, Instant};

use super::client::{Announcement, Client, Fire};
use super::params::{ClientParams, Mix, RUN_SECS, SAMPLE_EVERY, ServerParams};
use super::server::Server;
use super::stream::initial_rto;
use crate::clock::NodeClock;
use crate::link::Link;
use crate::log::Record;
use crate::sim::{Event, LinkId, Sim};

/// Bytes on the wire (UDP/IP or TCP/IP headers included).
const PING_BYTES: u32 = 60;
const PONG_BYTES: u32 = 84;
const SEGMENT_BYTES: u32 = 120;

/// Node ids in the log: the server is 0, client `i` is `i + 1`.
const SERVER: u64 = 0;

#[derive(Clone, Debug)]
pub(super) enum Msg {
    Ping(ClockPing),
    Pong(ClockPong),
    Segment(u64, Announcement),
}

#[derive(Clone, Debug)]
pub(super) enum Timer {
    Join(usize),
    Sync(usize, u64),
    Fire(usize, u64),
    Suspend(usize),
    Resume(usize),
    Reply(usize, ClockPing, Instant, usize),
    Retransmit(usize, u64, Duration, Announcement),
    Timeline(u64),
    ServerDown,
    ServerUp(i64),
    Sample,
}

/// A room: the simulator, the server and its clients.
pub(super) struct World {
    pub sim: Sim<Msg, Timer>,
    pub mix: Mix,
    pub server: Server,
    pub clients: Vec<Client>,
    /// True fire times, `(key, at, counts)`.
    pub fires: Vec<Fire>,
    pub stepped: u64,
}

impl World {
    /// Draws the room for `seed` and schedules its first events.
    pub fn new(seed: u64, clients: u32) -> Self {
        let mut sim = Sim::new(seed);
        let mix = Mix::draw(sim.rng());
        let sp = ServerParams::draw(&mix, sim.rng());
        let id = ClockId(sim.rng().next_u64());
        let server = Server::new(id, sp.clock);
        let mut cs = Vec::new();
        for i in 0..clients as usize {
            let params = ClientParams::draw(&mix, sim.rng());
            // Links 2i (up) and 2i + 1 (down), so a link id names its client.
            sim.add_link(Link::from_config(&params.up));
            sim.add_link(Link::from_config(&params.down));
            sim.schedule(params.joins_at, Timer::Join(i));
            if let Some((start, pause)) = params.suspend {
                sim.schedule(start, Timer::Suspend(i));
                sim.schedule(start + pause, Timer::Resume(i));
            }
            cs.push(Client::new(params));
        }
        if let Some((down, up, offset)) = sp.restart {
            sim.schedule(down, Timer::ServerDown);
            sim.schedule(up, Timer::ServerUp(offset));
        }
        sim.schedule(Instant::ZERO, Timer::Timeline(0));
        sim.schedule(Instant::ZERO, Timer::Sample);
        World {
            sim,
            mix,
            server,
            clients: cs,
            fires: Vec::new(),
            stepped: 0,
        }
    }

    /// Runs the room to its end, calling `sample` at every sampling tick.
    pub fn run(&mut self, mut sample: impl FnMut(&mut World)) {
        let end = Instant::from_micros(RUN_SECS * 1_000_000);
        while let Some(event) = self.sim.next(end) {
            match event {
                Event::Deliver { link, payload, .. } => self.deliver(link, payload),
                Event::Timer(Timer::Sample) => {
                    sample(self);
                    let next = self.sim.now() + SAMPLE_EVERY;
                    self.sim.schedule(next, Timer::Sample);
                }
                Event::Timer(t) => self.timer(t),
            }
        }
    }

    fn output(&mut self, node: u64, fields: &[u64]) {
        let now = self.sim.now();
        self.sim.log().append(Record::Output, now, node, fields);
    }

    fn timer(&mut self, timer: Timer) {
        let now = self.sim.now();
        match timer {
            Timer::Join(i) => {
                let local = self.clients[i].local(now);
                self.clients[i].sync = Some(ClockSync::new(ClockConfig::default(), local));
                self.drive_sync(i, true);
            }
            // A suspended process runs no timers; it re-arms them on resume.
            Timer::Sync(i, _) | Timer::Fire(i, _) if self.clients[i].suspended => {}
            Timer::Sync(i, g) if g == self.clients[i].sync_gen => self.drive_sync(i, true),
            Timer::Fire(i, g) if g == self.clients[i].fire_gen => self.refresh_fires(i),
            Timer::Suspend(i) => {
                self.clients[i].blind_since = Some(now);
                self.clients[i].suspended = true;
            }
            Timer::Resume(i) => {
                self.clients[i].suspended = false;
                // The shell hears of the wake-up (a resume event) and tells
                // its `ClockSync` that its clock stood still.
                let local = self.clients[i].local(now);
                if let Some(sync) = self.clients[i].sync.as_mut() {
                    sync.handle_discontinuity(local);
                }
                // The OS hands over what arrived meanwhile before any timer runs.
                for (link, msg) in std::mem::take(&mut self.clients[i].deferred) {
                    self.deliver(link, msg);
                }
                // Phases due while it slept fire late by the length of the
                // sleep: they measure the suspend, not synchronisation.
                for p in &mut self.clients[i].pending {
                    p.late = true;
                }
                self.drive_sync(i, true);
                self.refresh_fires(i);
            }
            Timer::Reply(i, ping, t2, life) if self.server.up && self.server.life() == life => {
                let t3 = self.server.clock().local(now);
                let pong = ping.answer(t2, t3, self.server.clock_id());
                self.output(
                    SERVER,
                    &[1, i as u64, pong.seq as u64, t2.as_micros(), t3.as_micros()],
                );
                self.sim
                    .send(LinkId(2 * i as u32 + 1), PONG_BYTES, Msg::Pong(pong));
            }
            Timer::Retransmit(i, seq, rto, ann) => {
                self.send_segment(i, seq, rto.saturating_mul(2), ann)
            }
            Timer::Timeline(g) if g == self.server.timeline_gen && self.server.up => {
                self.drive_timeline()
            }
            Timer::ServerDown => {
                self.server.up = false;
                self.output(SERVER, &[2]);
            }
            Timer::ServerUp(offset) => {
                let id = ClockId(self.sim.rng().next_u64());
                let drift = self.server.clock().drift_ppm();
                self.server.restart(now, id, NodeClock::new(offset, drift));
                self.output(SERVER, &[3, id.0]);
                self.drive_timeline();
            }
            // A superseded wake-up, or a reply from a process that has died.
            _ => {}
        }
    }

    fn deliver(&mut self, link: LinkId, msg: Msg) {
        let i = (link.0 / 2) as usize;
        let now = self.sim.now();
        if link.0 % 2 == 1 && self.clients[i].suspended {
            self.clients[i].deferred.push((link, msg));
            return;
        }
        match msg {
            Msg::Ping(ping) if self.server.up => {
                let t2 = self.server.clock().local(now);
                let hold = Duration::from_micros(self.sim.rng().range_u64(20, 300));
                let life = self.server.life();
                self.sim
                    .schedule(now + hold, Timer::Reply(i, ping, t2, life));
            }
            Msg::Ping(_) => {}
            Msg::Pong(pong) => {
                let local = self.clients[i].local(now);
                let Some(sync) = self.clients[i].sync.as_mut() else {
                    return;
                };
                let result = sync.handle_pong(&pong, local);
                let code = match result {
                    Ok(()) => 0,
                    Err(ClockError::UnknownPing) => 1,
                    Err(ClockError::EchoMismatch) => 2,
                    Err(ClockError::InvalidTimestamps) => 3,
                    Err(_) => 4,
                };
                self.output(i as u64 + 1, &[4, pong.seq as u64, code]);
                if result.is_ok() {
                    let c = &mut self.clients[i];
                    c.baselines
                        .add(pong.clock, pong.t1, pong.t2, pong.t3, local);
                    c.note_accepted(pong.seq);
                }
                self.drive_sync(i, false);
                self.refresh_fires(i);
            }
            Msg::Segment(seq, ann) => {
                for ann in self.clients[i].rx.receive(seq, ann) {
                    self.output(i as u64 + 1, &[5, ann.key as u64]);
                    self.clients[i].announce(ann, now);
                }
                self.refresh_fires(i);
            }
        }
    }

    /// Feeds a due wake-up (if `timeout`), drains outputs and re-arms.
    fn drive_sync(&mut self, i: usize, timeout: bool) {
        let now = self.sim.now();
        let c = &mut self.clients[i];
        let local = c.local(now);
        let Some(sync) = c.sync.as_mut() else { return };
        if timeout {
            sync.handle_timeout(local);
        }
        let mut out = Vec::new();
        while let Some(ev) = sync.poll_output() {
            out.push(ev);
        }
        let deadline = sync.poll_timeout();
        for ev in out {
            match ev {
                ClockEvent::Ping(ping) => {
                    self.clients[i].note_ping(ping.seq, now);
                    self.output(i as u64 + 1, &[6, ping.seq as u64, ping.t1.as_micros()]);
                    self.sim
                        .send(LinkId(2 * i as u32), PING_BYTES, Msg::Ping(ping));
                }
                ClockEvent::Stepped { by_us } => {
                    self.stepped += 1;
                    self.output(i as u64 + 1, &[7, by_us as u64]);
                }
                ClockEvent::ServerRestarted { clock } => self.output(i as u64 + 1, &[8, clock.0]),
                _ => self.output(i as u64 + 1, &[9]),
            }
        }
        let c = &mut self.clients[i];
        c.sync_gen += 1;
        if let Some(at) = deadline.and_then(|d| c.params.clock.true_at(d, now)) {
            self.sim.schedule(at, Timer::Sync(i, c.sync_gen));
        }
    }

    /// Fires what is due and arms a wake-up for the next pending phase.
    fn refresh_fires(&mut self, i: usize) {
        let now = self.sim.now();
        let (fired, next) = self.clients[i].due_fires(now);
        for f in fired {
            self.output(i as u64 + 1, &[10, f.key as u64, f.counts as u64]);
            self.fires.push(f);
        }
        let c = &mut self.clients[i];
        c.fire_gen += 1;
        if let Some(at) = next.and_then(|l| c.params.clock.true_at(l, now)) {
            self.sim.schedule(at, Timer::Fire(i, c.fire_gen));
        }
    }

    fn drive_timeline(&mut self) {
        let now = self.sim.now();
        let local = self.server.clock().local(now);
        self.server.timeline.handle_timeout(local);
        while let Some(ev) = self.server.timeline.poll_output() {
            match ev {
                TimelineEvent::Upcoming(phase) => {
                    let ann = Announcement {
                        clock: self.server.clock_id(),
                        key: self.server.next_key,
                        phase,
                    };
                    self.server.next_key += 1;
                    self.output(
                        SERVER,
                        &[11, ann.key as u64, ann.phase.starts_at.as_micros()],
                    );
                    for i in 0..self.clients.len() {
                        let seq = self.clients[i].tx_next;
                        self.clients[i].tx_next += 1;
                        let p = &self.clients[i].params;
                        let rto = initial_rto(p.base_rtt, p.down.jitter_mean);
                        self.send_segment(i, seq, rto, ann.clone());
                    }
                }
                TimelineEvent::Began(phase) => {
                    self.output(SERVER, &[12, phase.round as u64, phase.index as u64])
                }
                _ => self.output(SERVER, &[13]),
            }
        }
        let g = self.server.timeline_gen;
        let deadline = self.server.timeline.poll_timeout();
        if let Some(at) = deadline.and_then(|d| self.server.clock().true_at(d, now)) {
            self.sim.schedule(at, Timer::Timeline(g));
        }
    }

    /// Sends one segment; if no copy gets through, tries again after `rto`.
    fn send_segment(&mut self, i: usize, seq: u64, rto: Duration, ann: Announcement) {
        let now = self.sim.now();
        let link = LinkId(2 * i as u32 + 1);
        if self
            .sim
            .send(link, SEGMENT_BYTES, Msg::Segment(seq, ann.clone()))
            == 0
        {
            self.sim
                .schedule(now + rto, Timer::Retransmit(i, seq, rto, ann));
        }
    }
}
