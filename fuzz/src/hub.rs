//! Drives a [`Hub`] through an arbitrary sequence of inputs decoded from fuzz
//! bytes, acting as its shell and as every client at once, and checks after
//! every step what can be checked from outside.
//!
//! The inputs: connections with arbitrary capabilities and codecs; frames that
//! are valid messages built from the bytes, valid ones with a byte flipped,
//! and raw garbage; disconnects; timeouts at arbitrary times; pulls with
//! arbitrary byte budgets; server publishes, timed or not; topics and rooms
//! opened and closed; targeted sends; inputs judged by a room logic that
//! itself publishes and sends.
//!
//! Checked:
//!
//! - nothing panics;
//! - queues stay within their bounds plus the documented control reserve
//!   (`Hub::queued`), histories within theirs (`Hub::retained`), sessions and
//!   held publishes within theirs;
//! - every pulled frame decodes in the connection's codec; nothing but
//!   errors precedes a `welcome`, and a connection is welcomed once;
//! - every `input` the hub handled on a session gets exactly one answer
//!   (`input_result`, or `error` with its request id): never two, and none
//!   missing once the session's queue is drained, unless its connection was
//!   closed or the session was resumed in the meantime (the documented
//!   losses, repaired by resending);
//! - likewise every `publish` with a request id gets one `publish_ack` or
//!   `error`: a timed one once its `at` has passed, and a resend while the
//!   first is still held none of its own (the release answers both);
//! - no frame is pulled for a connection that is gone, and no delivery for
//!   one that was replaced by a resume;
//! - a timed message is never delivered before its `at`;
//! - per session and topic, `deliver` and `gap` frames follow each other
//!   without a hole or a repeat in one epoch: from the offset a
//!   `subscribed{recovered: false}` names, or exactly from the `since` of
//!   the `subscribe` a `subscribed{recovered: true}` answers (no message
//!   missed, none repeated);
//!   inbox offsets strictly increase;
//! - once a connected member of a room's presence has read its queue, it
//!   lists exactly the room's users (`Hub::presence`): one hub queues a
//!   presence change for every member at once;
//! - once every connection is gone and the grace and every `at` have passed,
//!   no session and no held publish is left.
//!
//! The shell's side (frames in, outputs out, pulls, the end) is in
//! `hub_shell.rs`; the clients' side, shared with `hub_shards`, in
//! `hub_clients.rs`, `hub_model.rs` and `hub_requests.rs`. `onbeat-tests`
//! includes these files by path (with `bytes.rs` and `hub_pick.rs`), so they
//! depend on nothing but onbeat-core and std.

use onbeat_core::dispatch::{ConnId, Hub, HubConfig};
use onbeat_core::proto::{
    ClientMsg, ClockPing, Hello, Input, PROTOCOL_VERSION, Payload, RequestId, Room, Subscribe,
    Unsubscribe,
};
use onbeat_core::time::{Duration, Instant};

use super::bytes::Bytes;
use super::hub_clients::Clients;
use super::hub_model::{INBOX, Logic, ROOMS, TOPICS, topic};
use super::hub_pick as pick;
use super::hub_requests::Fold;

/// Operations per input: long enough for resumes, overflows and expiries.
const MAX_OPS: usize = 256;
/// Connection ids in play; a small set so that they are reused.
const CONNS: u64 = 6;

/// Whether to print every step (`ONBEAT_FUZZ_TRACE=1`), to read a failure.
fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("ONBEAT_FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($arg:tt)*) => {
        if tracing() {
            eprintln!($($arg)*);
        }
    };
}

#[path = "hub_shell.rs"]
mod shell;

/// Runs the script in `data`; panics when a promise is broken.
pub fn run(data: &[u8]) {
    let mut input = Bytes(data);
    let mut world = World::new(&mut input);
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        world.step(&mut input);
    }
    world.finish();
}

struct World {
    hub: Hub,
    config: HubConfig,
    now: Instant,
    clients: Clients,
}

impl World {
    fn new(input: &mut Bytes<'_>) -> Self {
        let config = pick::config(input);
        let now = Instant::from_millis(1_000);
        let mut seed = [0u8; 32];
        seed[0] = input.byte();
        World {
            hub: Hub::new(config.clone(), seed, u64::from(input.u16()), now),
            config,
            now,
            clients: Clients::new(now, Fold::WhileHeld),
        }
    }

    fn step(&mut self, input: &mut Bytes<'_>) {
        let op = input.byte() % 22;
        trace!("op {op}");
        let conn = |input: &mut Bytes<'_>| input.below(CONNS as usize) as u64;
        match op {
            0 => self.connect(input),
            1 => {
                let conn = conn(input);
                let resume = self.clients.resume(input);
                let version = if input.byte() == 0xff {
                    PROTOCOL_VERSION + 1
                } else {
                    PROTOCOL_VERSION
                };
                let hello = Hello {
                    version,
                    resume,
                    auth: None,
                };
                self.send(input, conn, ClientMsg::Hello(hello));
            }
            2 => {
                let conn = conn(input);
                let subscribe = self.clients.subscribe(input);
                self.send(input, conn, ClientMsg::Subscribe(subscribe));
            }
            3 => {
                let conn = conn(input);
                let topic = topic(input.pick(TOPICS));
                self.send(input, conn, ClientMsg::Unsubscribe(Unsubscribe { topic }));
            }
            4 => {
                let conn = conn(input);
                let publish = self.clients.publish(input, self.now);
                self.send(input, conn, ClientMsg::Publish(publish));
            }
            5 => {
                let conn = conn(input);
                let msg = ClientMsg::Input(pick::room_input(input));
                self.send(input, conn, msg);
            }
            6 => {
                let conn = conn(input);
                let ping = ClockPing {
                    seq: input.u32(),
                    t1: Instant::from_micros(input.u64()),
                };
                self.send(input, conn, ClientMsg::Ping(ping));
            }
            7 => {
                let conn = conn(input);
                let frame = input.take(64).to_vec();
                self.frame(conn, &frame);
            }
            8 => self.advance(input),
            9 => {
                let conn = conn(input);
                trace!("{:?} disconnect {conn}", self.now);
                self.hub.handle_disconnect(ConnId(conn), self.now);
                self.clients.conns.remove(&conn);
                self.clients.woken.remove(&conn);
                self.settle();
            }
            10 => {
                if let Some(at) = self.hub.poll_timeout() {
                    self.timeout(at);
                }
            }
            11 | 12 => {
                let conn = conn(input);
                let budget = input.pick(&[0, 1, 60, 300, 1 << 16]);
                self.pull(conn, budget);
            }
            13 => self.pull_woken(),
            14 => {
                self.clients.server_publish(&mut self.hub, input, self.now);
                self.settle();
            }
            15 => {
                let name = input.pick(TOPICS);
                if name == INBOX {
                    return;
                }
                let config = pick::topic_config(input);
                if let Ok(position) = self.hub.open_topic(name, config) {
                    self.clients.topics.insert(name, (config, position));
                }
                self.settle();
            }
            16 => {
                let name = input.pick(TOPICS);
                if self.hub.close_topic(name, self.now).is_ok() {
                    self.clients.topics.remove(name);
                }
                self.settle();
            }
            17 => {
                let name = input.pick(ROOMS);
                let schedule = pick::schedule(input);
                let _ = self
                    .hub
                    .open_room(name, schedule, Box::new(Logic), self.now);
                self.settle();
            }
            18 => {
                let _ = self.hub.close_room(input.pick(ROOMS));
                self.settle();
            }
            19 => {
                self.clients.targeted(&mut self.hub, input);
                self.settle();
            }
            20 => {
                // A timer that fires late, or a stale one that fires early.
                let at = Instant::from_micros(
                    self.now
                        .as_micros()
                        .saturating_add_signed(i64::from(input.u16() as i16) * 100),
                );
                self.timeout(at);
            }
            _ => {
                let conn = conn(input);
                self.mutated(input, conn);
            }
        }
    }

    fn connect(&mut self, input: &mut Bytes<'_>) {
        let conn = input.below(CONNS as usize) as u64;
        let caps = pick::caps(input, self.now);
        let codec = pick::codec(input);
        let known = self.clients.conns.contains_key(&conn);
        trace!("{:?} connect {conn} {codec:?} {caps:?}", self.now);
        let result = self.hub.handle_connect(ConnId(conn), caps, codec, self.now);
        trace!("  -> {result:?}");
        assert!(
            !known || result.is_err(),
            "a connection id in use must be refused"
        );
        if result.is_ok() {
            self.clients.connected(conn, codec);
        }
        self.settle();
    }

    fn advance(&mut self, input: &mut Bytes<'_>) {
        let step = match input.byte() % 3 {
            0 => u64::from(input.byte()),
            1 => u64::from(input.u16()) * 10,
            _ => u64::from(input.byte()) * 20_000,
        };
        let at = self.now + Duration::from_micros(step);
        self.timeout(at);
    }

    fn timeout(&mut self, at: Instant) {
        trace!("timeout {at:?}");
        self.now = self.now.max(at);
        self.hub.handle_timeout(at);
        self.settle();
    }

    /// A valid message with one byte changed.
    fn mutated(&mut self, input: &mut Bytes<'_>, conn: u64) {
        let msg = match input.byte() % 3 {
            0 => ClientMsg::Hello(Hello {
                version: PROTOCOL_VERSION,
                resume: None,
                auth: None,
            }),
            1 => ClientMsg::Subscribe(Subscribe {
                topic: topic(input.pick(TOPICS)),
                since: None,
            }),
            _ => ClientMsg::Input(Input {
                room: Room::try_from(input.pick(ROOMS)).expect("short name"),
                request: RequestId::from(input.byte() % 8),
                round: None,
                data: Payload::new(b"\"x\""),
            }),
        };
        let mut frame = self.encode(conn, &msg);
        let i = input.below(frame.len().max(1)) % frame.len();
        frame[i] ^= input.byte() | 1;
        self.frame(conn, &frame);
    }
}
