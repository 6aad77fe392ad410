//! Drives a cluster of two or three sharded [`Hub`]s through an arbitrary
//! sequence of inputs decoded from fuzz bytes, acting as their shell (one
//! FIFO link of peer messages per ordered pair of shards) and as every
//! client, and checks what can be checked from outside.
//!
//! The inputs: the client operations of `hub_ops` (connections with
//! arbitrary capabilities and codecs, hellos that resume or not, subscribes
//! with and without `since`, publishes timed or not, inputs, garbage frames,
//! pulls, disconnects); topics and rooms opened and closed on their owners
//! (and refused elsewhere); server publishes and targeted sends from any
//! shard; time passing on every shard; and the delivery of the next peer
//! message on a chosen link, so that peer traffic interleaves with all of
//! the above in any order a shell with FIFO channels allows. A connection
//! goes to the shard its first frame names (`home_of_hello`), else to any.
//!
//! Checked:
//!
//! - nothing panics, and `handle_peer` never answers `Misrouted`, `Stale`,
//!   `Resynced` or `UnknownShard` (none happens on FIFO links); the refusals
//!   the docs allow (a replica that could not open, a session gone) are
//!   recorded;
//! - `open_topic`, `close_topic`, `open_room` and `close_room` away from
//!   the owner answer `NotOwner`;
//! - every frame checks as in `hub_ops` (decodes, welcome first and once,
//!   no hole or repeat of offsets in an epoch per session and topic, timed
//!   deliveries not early, inbox offsets increasing);
//! - every delivery of one topic, epoch and offset, on any shard, carries
//!   the same payload: with the per-session continuity above, every
//!   subscriber on every shard sees the same sequence;
//! - queues, histories (a replica's within the largest history its topic
//!   was opened with), sessions and held publishes within their bounds on
//!   every shard;
//! - once every link is delivered and every queue read: every input and
//!   publish with a request id has had exactly one answer, except those
//!   excused as in `hub_ops` and resends made while an earlier send of the
//!   id was unanswered (the hub may answer both with one); a room's users
//!   are the same on its owner and every replica, they are the users of the
//!   members of every shard, and every live member's client lists them;
//! - once every connection is gone and the grace and every `at` have
//!   passed, no session and no held publish is left on any shard.
//!
//! `onbeat-tests` includes this file by path (with `bytes.rs`,
//! `hub_clients.rs`, `hub_model.rs`, `hub_pick.rs` and `hub_requests.rs`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use onbeat_core::dispatch::{
    ConnId, Hub, HubConfig, HubError, PeerMsg, ShardId, home_of_hello, owner_of, room_owner,
};
use onbeat_core::proto::{ClientMsg, Hello, PROTOCOL_VERSION, Topic, Unsubscribe};
use onbeat_core::time::{Duration, Instant};

use super::bytes::Bytes;
use super::hub_clients::{Clients, encode};
use super::hub_pick as pick;
use super::hub_requests::Fold;

#[path = "hub_shards_admin.rs"]
mod admin;
#[path = "hub_shards_check.rs"]
mod check;

use super::hub_model::{INBOX, Logic, ROOMS, TOPICS, topic};

/// Operations per input: peer deliveries take many.
const MAX_OPS: usize = 384;
/// Connection ids in play, across all shards: few, so that they are reused.
const CONNS: u64 = 8;

/// Runs the script in `data`; panics when a promise is broken.
pub fn run(data: &[u8]) {
    let mut input = Bytes(data);
    let mut cluster = Cluster::new(&mut input);
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        cluster.step(&mut input);
    }
    cluster.finish();
}

struct Cluster {
    hubs: Vec<Hub>,
    /// The configuration every shard shares (but for its index).
    config: HubConfig,
    now: Instant,
    clients: Clients,
    /// The shard each connection was given to.
    home: BTreeMap<u64, usize>,
    /// The largest history each topic name was ever opened with: a replica
    /// may still hold an earlier opening while the close is in flight.
    history: BTreeMap<&'static str, usize>,
    /// Peer messages in flight per (from, to), oldest first.
    links: BTreeMap<(usize, usize), VecDeque<PeerMsg>>,
    /// What `handle_peer` refused, per receiving shard, in order.
    peer_errors: Vec<(usize, HubError)>,
    /// The payload of every delivery seen, per topic, epoch and offset.
    payloads: BTreeMap<(Topic, u64, u64), Vec<u8>>,
}

impl Cluster {
    fn new(input: &mut Bytes<'_>) -> Self {
        let shards = 2 + input.below(2) as u16;
        let config = HubConfig {
            shards,
            ..pick::config(input)
        };
        let now = Instant::from_millis(1_000);
        let byte = input.byte();
        let epoch = u64::from(input.u16());
        let hubs = (0..shards)
            .map(|i| {
                let config = HubConfig {
                    shard: ShardId(i),
                    ..config.clone()
                };
                // Seeds differ by shard; the epoch is the server's, shared.
                let mut seed = [i as u8; 32];
                seed[0] = byte;
                Hub::new(config, seed, epoch, now)
            })
            .collect();
        Cluster {
            hubs,
            config,
            now,
            // Across shards a resend may meet the request memory before the
            // first send's answer comes back.
            clients: Clients::new(now, Fold::WhileUnanswered),
            home: BTreeMap::new(),
            history: BTreeMap::new(),
            links: BTreeMap::new(),
            peer_errors: Vec::new(),
            payloads: BTreeMap::new(),
        }
    }

    fn shards(&self) -> u16 {
        self.hubs.len() as u16
    }

    fn step(&mut self, input: &mut Bytes<'_>) {
        let conn = |input: &mut Bytes<'_>| input.below(CONNS as usize) as u64;
        match input.byte() % 24 {
            0 => self.arrive(input),
            1 => {
                let c = conn(input);
                let hello = self.hello(input);
                self.send(c, &ClientMsg::Hello(hello));
            }
            2 => {
                let c = conn(input);
                let subscribe = self.clients.subscribe(input);
                self.send(c, &ClientMsg::Subscribe(subscribe));
            }
            3 => {
                let c = conn(input);
                let topic = topic(input.pick(TOPICS));
                self.send(c, &ClientMsg::Unsubscribe(Unsubscribe { topic }));
            }
            4 => {
                let c = conn(input);
                let publish = self.clients.publish(input, self.now);
                self.send(c, &ClientMsg::Publish(publish));
            }
            5 => {
                let c = conn(input);
                self.send(c, &ClientMsg::Input(pick::room_input(input)));
            }
            6 => {
                let c = conn(input);
                let frame = input.take(64).to_vec();
                self.frame(c, &frame);
            }
            7 => {
                let c = conn(input);
                self.disconnect(c);
            }
            8 => {
                let step = match input.byte() % 3 {
                    0 => u64::from(input.byte()) * 100,
                    1 => u64::from(input.u16()) * 10,
                    _ => u64::from(input.byte()) * 20_000,
                };
                self.timeout(self.now + Duration::from_micros(step));
            }
            9 | 10 => {
                let c = conn(input);
                let budget = input.pick(&[0, 1, 60, 300, 1 << 16]);
                self.pull(c, budget);
            }
            11 => self.pull_woken(),
            12 => {
                let h = input.below(self.hubs.len());
                self.clients
                    .server_publish(&mut self.hubs[h], input, self.now);
                self.drain(h);
            }
            13 => self.open_topic(input),
            14 => self.close_topic(input),
            15 => self.open_room(input),
            16 => self.close_room(input),
            17 => self.targeted(input),
            18..=21 => {
                let link = input.byte();
                self.deliver_one(usize::from(link));
            }
            22 => self.settle(),
            _ => {
                let c = conn(input);
                let budget = input.pick(&[60, 1 << 16]);
                while self.pull(c, budget) > 0 {}
            }
        }
    }

    /// A new connection: its capabilities, codec and (usually) first frame,
    /// a `hello`, which names the shard it goes to if it resumes.
    fn arrive(&mut self, input: &mut Bytes<'_>) {
        let conn = input.below(CONNS as usize) as u64;
        let any = input.below(self.hubs.len());
        let caps = pick::caps(input, self.now);
        let codec = pick::codec(input);
        let hello = (!input.byte().is_multiple_of(5)).then(|| self.hello(input));
        let frame = hello.map(|h| encode(codec, &ClientMsg::Hello(h)));
        let routed = frame.as_ref().and_then(|f| {
            home_of_hello(f, codec, self.config.max_frame, self.shards()).map(|s| usize::from(s.0))
        });
        if let Some(&h) = self.home.get(&conn) {
            let r = self.hubs[h].handle_connect(ConnId(conn), caps, codec, self.now);
            assert!(r.is_err(), "a connection id in use must be refused");
            self.drain(h);
            return;
        }
        let h = routed.unwrap_or(any);
        if self.hubs[h]
            .handle_connect(ConnId(conn), caps, codec, self.now)
            .is_err()
        {
            self.drain(h);
            return;
        }
        self.home.insert(conn, h);
        self.clients.connected(conn, codec);
        self.drain(h);
        if let Some(frame) = frame {
            self.frame(conn, &frame);
        }
    }

    /// A `hello` resuming a token seen (or a bogus one), or not.
    fn hello(&self, input: &mut Bytes<'_>) -> Hello {
        Hello {
            version: PROTOCOL_VERSION,
            resume: self.clients.resume(input),
            auth: None,
        }
    }

    /// Time passes on every shard.
    fn timeout(&mut self, at: Instant) {
        self.now = self.now.max(at);
        for h in 0..self.hubs.len() {
            self.hubs[h].handle_timeout(self.now);
            self.drain(h);
        }
    }

    fn disconnect(&mut self, conn: u64) {
        let Some(h) = self.home.remove(&conn) else {
            return;
        };
        self.hubs[h].handle_disconnect(ConnId(conn), self.now);
        self.clients.conns.remove(&conn);
        self.clients.woken.remove(&conn);
        self.drain(h);
    }

    /// Delivers the next message of the `i`-th link that has one (modulo
    /// their number), if any.
    fn deliver_one(&mut self, i: usize) {
        let busy: Vec<(usize, usize)> = self
            .links
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(&k, _)| k)
            .collect();
        if busy.is_empty() {
            return;
        }
        let (from, to) = busy[i % busy.len()];
        let msg = self
            .links
            .get_mut(&(from, to))
            .and_then(VecDeque::pop_front)
            .expect("a busy link");
        let r = self.hubs[to].handle_peer(ShardId(from as u16), msg, self.now);
        if let Err(e) = r {
            check::allowed_peer_error(&e);
            self.peer_errors.push((to, e));
        }
        self.drain(to);
    }

    /// Whether any peer message is in flight.
    fn in_flight(&self) -> bool {
        self.links.values().any(|q| !q.is_empty())
    }
}
