//! One room in motion: the hub, its clients, their connections, and the
//! event loop that carries segments and wake-ups between them.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use onbeat_core::dispatch::{Capabilities, ClientConfig, ClientSession, Codec, ConnId, Frame, Hub};
use onbeat_core::proto::{MemberId, Position};
use onbeat_core::{Duration, Instant};

use super::Tamper;
use super::checks::Violations;
use super::logic::{Game, Ledger};
use super::model::Model;
use super::params::{ClientParams, Mix, ROOM, RUN_SECS, TOPICS, hub_config, schedule};
use super::pipe::Pipe;
use super::report::Counters;
use super::witness::Witness;
use crate::clock::NodeClock;
use crate::link::Link;
use crate::sim::{Event, Sim};

/// A segment on the wire: which connection, which direction, which number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seg {
    pub conn: u32,
    pub down: bool,
    pub seq: u64,
}

/// Wake-ups of the room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    Join(usize),
    /// The client session's deadline, armed with this generation.
    Client(usize, u64),
    /// The app does something.
    Act(usize),
    /// Connection attempt `n` completes its handshake.
    Connected(usize, u64),
    /// Connection attempt `n` fails.
    ConnectFailed(usize, u64),
    /// The hub's deadline, armed with this generation.
    Hub(u64),
    Retransmit {
        seg: Seg,
        size: u32,
        rto_us: u64,
    },
    /// A partition has lasted the keepalive timeout: the connection dies.
    Cut(usize),
    Stall(usize),
    Unstall(usize),
    /// Memory bounds are sampled.
    Sample,
}

/// A frame from a client, with what the checker needs to know of it.
#[derive(Debug)]
pub struct Up {
    pub bytes: Vec<u8>,
    /// A `subscribe`: the topic's index and its `since`.
    pub subscribe: Option<(usize, Option<Position>)>,
}

/// A frame from the hub and the server time it was pulled.
#[derive(Debug)]
pub struct Down {
    pub frame: Frame,
    pub pulled_at: Instant,
}

/// One connection (one WebSocket).
#[derive(Debug)]
pub struct Conn {
    pub client: usize,
    pub up: Pipe<Up>,
    pub down: Pipe<Down>,
    /// Whether the hub still has it.
    pub hub_open: bool,
    /// Whether the hub's shell stopped pulling because the socket was full.
    pub blocked: bool,
}

/// The hub's name for connection `k`; 0 is the witness.
pub fn conn_id(k: u32) -> ConnId {
    ConnId(u64::from(k) + 1)
}

/// The session type every client runs.
pub type Session = ClientSession;

/// One client: its path, its session, its app's state and its model.
pub struct Client {
    pub params: ClientParams,
    pub session: Option<Session>,
    pub conn: Option<u32>,
    pub timer_gen: u64,
    pub armed: Option<Instant>,
    pub attempt: u64,
    pub stalled: bool,
    pub model: Model,
    /// The app's next payload sequence.
    pub seq: u32,
    /// Topics the app follows.
    pub subs: [bool; 4],
}

/// A room: the simulator, the hub, the clients, their connections.
pub struct World {
    pub sim: Sim<Seg, Timer>,
    pub seed: u64,
    pub mix: Mix,
    pub server: NodeClock,
    pub hub: Hub,
    pub hub_gen: u64,
    pub hub_armed: Option<Instant>,
    /// The server clock's last reading, `(true time, reading)`: a fan-out
    /// writes to every connection at one instant, and each write reads
    /// the clock (in 128-bit arithmetic).
    pub hub_clock: Cell<(Instant, Instant)>,
    /// The hub's last deadline and the true instant it was placed at: the
    /// earliest instant from then on at which the server clock reaches it,
    /// so still the answer while it has not passed.
    pub hub_placed: Option<(Instant, Instant)>,
    pub clients: Vec<Client>,
    pub conns: Vec<Conn>,
    pub witness: Witness,
    pub ledger: Rc<RefCell<Ledger>>,
    pub v: Violations,
    pub n: Counters,
    /// Reused by every pull, so that writing allocates nothing.
    pub batch: Vec<Frame>,
    /// Frames the clients decoded, shared by those that read the same one.
    pub decoded: super::decoded::Decoded,
    pub tamper: Tamper,
    pub tampered: bool,
}

/// The witness's connection.
pub const WITNESS: ConnId = ConnId(0);

impl World {
    /// Draws the room for `seed` and schedules its first events.
    pub fn new(seed: u64, clients: u32, tamper: Tamper) -> Self {
        let mut sim = Sim::new(seed);
        let mix = Mix::draw(sim.rng());
        let server = NodeClock::new(
            sim.rng().range_u64(1_000_000_000, 2_000_000_000_000) as i64,
            sim.rng().uniform(-50.0, 50.0),
        );
        let mut hub_seed = [0u8; 32];
        for chunk in hub_seed.chunks_mut(8) {
            chunk.copy_from_slice(&sim.rng().next_u64().to_le_bytes());
        }
        let start = server.local(Instant::ZERO);
        let mut hub = Hub::new(hub_config(clients), hub_seed, start.as_micros(), start);
        let mut opened = Vec::new();
        for (name, config) in TOPICS {
            // Distinct short names under the hub's limits: opening cannot fail.
            opened.push(hub.open_topic(name, config).expect("topic opens"));
        }
        let ledger = Rc::new(RefCell::new(Ledger::default()));
        let game = Game {
            ledger: ledger.clone(),
            seq: 0,
        };
        hub.open_room(ROOM, Some(schedule()), Box::new(game), start)
            .expect("room opens");
        let mut cs = Vec::new();
        for i in 0..clients as usize {
            let params = ClientParams::draw(&mix, sim.rng());
            // Links 2i (up) and 2i + 1 (down), so a link id names its client.
            sim.add_link(Link::from_config(&params.up));
            sim.add_link(Link::from_config(&params.down));
            sim.schedule(params.joins_at, Timer::Join(i));
            for &(start, _) in &params.partitions {
                sim.schedule(start + super::params::KEEPALIVE_TIMEOUT, Timer::Cut(i));
            }
            for &(start, end) in &params.stalls {
                sim.schedule(start, Timer::Stall(i));
                sim.schedule(end, Timer::Unstall(i));
            }
            cs.push(Client {
                params,
                session: None,
                conn: None,
                timer_gen: 0,
                armed: None,
                attempt: 0,
                stalled: false,
                model: Model::default(),
                seq: 0,
                subs: [false; 4],
            });
        }
        sim.schedule(Instant::ZERO, Timer::Sample);
        let mut world = World {
            sim,
            seed,
            mix,
            server,
            hub,
            hub_gen: 0,
            hub_armed: None,
            hub_clock: Cell::new((Instant::ZERO, start)),
            hub_placed: None,
            clients: cs,
            conns: Vec::new(),
            witness: Witness::default(),
            ledger,
            v: Violations::default(),
            n: Counters::default(),
            batch: Vec::with_capacity(64),
            decoded: Default::default(),
            tamper,
            tampered: false,
        };
        world.open_witness(&opened);
        world
    }

    /// Runs the room to its end, then checks its final state.
    pub fn run(&mut self) {
        let end = Instant::from_micros(RUN_SECS * 1_000_000);
        while let Some(event) = self.sim.next(end) {
            match event {
                Event::Deliver { payload, .. } => self.arrive(payload),
                Event::Timer(t) => self.timer(t),
            }
        }
        self.sim.advance_to(end);
        self.sample();
        self.final_checks();
    }

    fn timer(&mut self, timer: Timer) {
        match timer {
            Timer::Join(i) => self.join(i),
            Timer::Client(i, g) if g == self.clients[i].timer_gen => {
                self.clients[i].armed = None;
                let local = self.local(i);
                if let Some(s) = self.clients[i].session.as_mut() {
                    s.handle_timeout(local);
                }
                self.drain_client(i);
            }
            Timer::Act(i) => self.act(i),
            Timer::Connected(i, n) if n == self.clients[i].attempt => self.connected(i),
            Timer::ConnectFailed(i, n) if n == self.clients[i].attempt => self.connect_failed(i),
            Timer::Hub(g) if g == self.hub_gen => {
                self.hub_armed = None;
                let mut now = self.hub_now();
                if self.tamper == Tamper::EarlyTimed {
                    now += Duration::from_millis(300);
                }
                self.hub.handle_timeout(now);
                self.drain_hub();
            }
            Timer::Retransmit { seg, size, rto_us } => self.retransmit(seg, size, rto_us),
            Timer::Cut(i) => self.cut(i),
            Timer::Stall(i) => self.clients[i].stalled = true,
            Timer::Unstall(i) => {
                self.clients[i].stalled = false;
                self.read_down(i);
            }
            Timer::Sample => {
                self.sample();
                let next = self.sim.now() + Duration::from_secs(1);
                self.sim.schedule(next, Timer::Sample);
            }
            // A superseded wake-up.
            _ => {}
        }
    }

    /// The server clock's reading now: the hub's time.
    pub fn hub_now(&self) -> Instant {
        let now = self.sim.now();
        let (at, reading) = self.hub_clock.get();
        if at == now {
            return reading;
        }
        let reading = self.server.local(now);
        self.hub_clock.set((now, reading));
        reading
    }

    /// Client `i`'s clock's reading now.
    pub fn local(&self, i: usize) -> Instant {
        self.clients[i].params.clock.local(self.sim.now())
    }

    /// A fresh session for client `i`, with its own backoff seed.
    pub fn new_session(&mut self, i: usize) -> Session {
        let config = ClientConfig {
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(4),
            ..ClientConfig::default()
        };
        let seed = self.sim.rng().next_u64();
        Session::new(config, seed, self.local(i))
    }

    /// What client `i`'s credential grants.
    pub fn caps(i: usize) -> (Capabilities, Codec) {
        // "u" and a number fit any member id.
        let user = MemberId::try_from(format!("u{i}").as_str()).expect("short user name");
        let caps = Capabilities::new(user)
            .subscribe("r/*")
            .publish("r/*")
            .input(ROOM);
        (caps, Codec::Postcard)
    }
}
