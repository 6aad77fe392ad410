//! The server's event router: one sans-IO machine for every connection.
//!
//! The shell owns the sockets and the clock; the hub owns everything else:
//! sessions, subscriptions, topic histories, presence, rooms and their
//! timelines, timed publishes, and one bounded outbound queue per session.
//! See `docs/dispatch.md` for the semantics.
//!
//! # Driving it
//!
//! - A socket is accepted and authenticated: [`Hub::handle_connect`] with the
//!   [`Capabilities`] the credential grants and the connection's [`Codec`].
//! - A frame arrives: [`Hub::handle_frame`] (or [`Hub::handle_message`] if the
//!   shell decoded it).
//! - The socket is gone: [`Hub::handle_disconnect`].
//! - The timer from [`Hub::poll_timeout`] fires: [`Hub::handle_timeout`].
//!
//! After each of those, drain [`Hub::poll_output`] until `None` (the str0m
//! rule, see the crate docs), then re-arm the timer with `poll_timeout`. A
//! [`HubOutput::Wake`] means a connection has frames to write: when its socket
//! is writable, the shell takes them with [`Hub::pull`], as many as it wants to
//! coalesce into one write, and keeps pulling while the socket stays writable.
//! [`HubOutput::Close`] asks the shell to close a socket.
//!
//! # Shards
//!
//! Several hubs may share a server's connections and topics, one per
//! thread (see [`HubConfig::shards`] and [`owner_of`]). Each topic is opened,
//! closed and sequenced by its owner and replicated to the others through
//! [`PeerMsg`]s: drain [`Hub::poll_peer`] by the same rule as `poll_output`,
//! and hand each message to its destination's [`Hub::handle_peer`], in order
//! per pair of hubs. A room runs on its owner, which keeps its presence;
//! every other shard keeps a replica that relays presence, phases, inputs
//! and targeted sends for its own sessions. See `docs/dispatch.md`, Shards.

mod api;
mod caps;
mod config;
mod connect;
mod conns;
mod error;
mod fanout;
mod fifo;
mod frame;
mod home;
mod idmap;
mod ids;
mod inbound;
mod input;
mod logic;
mod outbound;
mod peer;
mod peer_msg;
mod peer_room;
mod peer_send;
mod presence;
mod pump;
mod queue;
mod rate;
mod room;
mod session;
mod shard;
mod slab;
mod store;
mod timed;
mod topic;

#[cfg(test)]
mod tests;

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub use caps::{Capabilities, Pattern};
pub use config::{HubConfig, RateConfig, Reliability, TopicConfig};
pub use error::{CloseCode, HubError, PeerError};
pub use frame::{Codec, Frame};
pub use home::{home_of_hello, home_of_session, home_of_token};
pub use peer_msg::{Dest, Origin, PeerMsg};
pub use room::{RoomCtx, RoomInput, RoomLogic};
pub use shard::{ShardId, owner_of, room_owner};

use crate::proto::{MemberId, Room, SessionId, Topic};
use crate::time::Instant;
use conns::Conns;
use fifo::Fifo;
use room::{Action, RoomState};
use session::Session;
use slab::{Key, Slab};
use store::Store;
use timed::Timed;
use topic::TopicState;

/// The shell's name for one transport connection (one WebSocket).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// What the hub asks of the shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubOutput {
    /// The connection's queue went from empty to non-empty: [`Hub::pull`]
    /// when its socket is writable.
    Wake(ConnId),
    /// Close the connection (after writing what [`Hub::pull`] still gives),
    /// then call [`Hub::handle_disconnect`].
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        code: CloseCode,
    },
}

/// Most frames queued for a connection before its `hello`.
const EARLY_MAX: usize = 4;

/// Something the hub must do at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Deadline {
    Hello(ConnId),
    Credentials(ConnId),
    Expire(Key),
    Room(Key),
}

/// The server's event router. See the [module docs](self).
pub struct Hub {
    config: HubConfig,
    rng: ChaCha20Rng,
    epoch: u64,
    /// Topics opened so far; each open gets the next epoch.
    opens: u64,
    /// Rooms opened here, numbering each opening (see `RoomState::opening`).
    room_opens: u64,
    now: Instant,
    conns: Conns,
    sessions: Slab<Session>,
    /// The entries the sessions' queues hold, and their bounds.
    store: Store,
    /// Sessions by resume token and by id, in their numeric forms (see `ids`).
    by_token: BTreeMap<u128, Key>,
    by_id: BTreeMap<u64, Key>,
    by_user: BTreeMap<MemberId, Vec<Key>>,
    topics: Slab<TopicState>,
    topic_names: BTreeMap<Topic, Key>,
    rooms: Slab<RoomState>,
    room_names: BTreeMap<Room, Key>,
    timed: Timed,
    deadlines: BTreeSet<(Instant, Deadline)>,
    outputs: Fifo<HubOutput>,
    /// Actions a room's logic recorded, applied after it returns.
    actions: Vec<Action>,
    /// Messages for peer shards, apart from `outputs`, which stays small,
    /// `Copy` and on the hot path.
    peers: VecDeque<(Dest, PeerMsg)>,
}

impl Hub {
    /// A hub with no connections, topics or rooms.
    ///
    /// `seed` drives the session ids and resume tokens: pass fresh OS
    /// randomness in production (tokens are then unguessable) and a fixed
    /// value in simulations (runs then repeat exactly). `epoch` numbers the
    /// topics' histories: topic `n` opened by this hub (from 0) gets epoch
    /// `epoch + n`, so pass a value past the previous run's last (the boot
    /// time in microseconds does), at most [`JSON_SAFE_MAX`](crate::proto::JSON_SAFE_MAX).
    /// With several shards, topics are numbered by their owner, whose
    /// replicas adopt its epochs, so each shard needs only this property
    /// for itself; giving them all the boot time does. Each shard needs
    /// its own `seed`.
    pub fn new(config: HubConfig, seed: [u8; 32], epoch: u64, now: Instant) -> Self {
        Hub {
            store: Store::new(&config),
            config,
            rng: ChaCha20Rng::from_seed(seed),
            epoch,
            opens: 0,
            room_opens: 0,
            now,
            conns: Conns::new(),
            sessions: Slab::new(),
            by_token: BTreeMap::new(),
            by_id: BTreeMap::new(),
            by_user: BTreeMap::new(),
            topics: Slab::new(),
            topic_names: BTreeMap::new(),
            rooms: Slab::new(),
            room_names: BTreeMap::new(),
            timed: Timed::default(),
            deadlines: BTreeSet::new(),
            outputs: Fifo::new(),
            actions: Vec::new(),
            peers: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// The next thing for the shell to do, or `None` when there is nothing.
    #[inline]
    pub fn poll_output(&mut self) -> Option<HubOutput> {
        self.outputs.pop_front()
    }

    /// When [`Hub::handle_timeout`] is next needed: the earliest of session
    /// expiries, `hello` and credential deadlines, room timelines and timed
    /// publishes.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let deadline = self.deadlines.first().map(|(at, _)| *at);
        [deadline, self.timed.next_at()].into_iter().flatten().min()
    }

    /// Acts on the passage of time: releases timed publishes whose `at` has
    /// come, runs room timelines, expires sessions and closes connections
    /// whose `hello` or credentials are overdue.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        loop {
            let timed = self.timed.next_at().filter(|at| *at <= now);
            let due = self.deadlines.first().copied().filter(|(at, _)| *at <= now);
            match (timed, due) {
                (Some(t), d) if d.is_none_or(|(at, _)| t <= at) => self.release_timed(now),
                (_, Some((at, what))) => {
                    self.deadlines.remove(&(at, what));
                    self.on_deadline(what, now);
                }
                _ => break,
            }
        }
    }

    fn on_deadline(&mut self, what: Deadline, now: Instant) {
        match what {
            Deadline::Hello(conn) => {
                if self.conns.get(&conn).is_some_and(|c| c.session.is_none()) {
                    self.close(conn, CloseCode::HelloTimeout);
                }
            }
            Deadline::Credentials(conn) => self.close(conn, CloseCode::Expired),
            Deadline::Expire(key) => self.expire(key),
            Deadline::Room(key) => self.run_timeline(key, now),
        }
    }

    /// Clamps time so that it never goes backwards.
    fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    /// Asks the shell to close `conn`; from now on its input is ignored.
    fn close(&mut self, conn: ConnId, code: CloseCode) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.closing {
            c.closing = true;
            self.outputs.push_back(HubOutput::Close { conn, code });
        }
    }

    /// Sessions alive (connected or within their grace).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Timed publishes waiting for their `at`.
    pub fn timed_count(&self) -> usize {
        self.timed.len()
    }

    /// Frames and bytes queued for `conn`'s session, if it has one.
    pub fn queued(&self, conn: ConnId) -> Option<(usize, usize)> {
        let key = self.conns.get(&conn)?.session?;
        let s = self.sessions.get(key)?;
        Some((s.queue.len(), s.queue.bytes()))
    }

    /// The most frames and bytes one session's queue can ever hold: the
    /// configured bounds plus the reserve kept for control frames.
    pub fn queue_limit(&self) -> (usize, usize) {
        (
            self.config.queue_messages + queue::CONTROL_FRAMES,
            self.config.queue_bytes + queue::CONTROL_BYTES,
        )
    }

    /// The session id of `conn`, once it has said `hello`.
    pub fn session_of(&self, conn: ConnId) -> Option<&SessionId> {
        let key = self.conns.get(&conn)?.session?;
        Some(&self.sessions.get(key)?.cold.id)
    }

    /// The sessions of this hub in a room's presence, in join order, with
    /// their users; `None` if the room is not open here. With several
    /// shards, the members homed on other shards are not listed (see
    /// [`Hub::room_users`]).
    pub fn presence(&self, room: &str) -> Option<impl Iterator<Item = (&SessionId, &MemberId)>> {
        let room = self.rooms.get(*self.room_names.get(room)?)?;
        let sessions = &self.sessions;
        Some(
            room.members
                .iter()
                .filter_map(move |key| sessions.get(*key).map(|s| (&s.cold.id, &s.cold.caps.user))),
        )
    }

    /// The users in a room's presence, in name order: what every member's
    /// client should list once it has read what is queued for it. `None` if
    /// the room is not open here. With several shards, the owner's list and
    /// every replica's are the same once their peer messages are delivered.
    pub fn room_users(&self, room: &str) -> Option<impl Iterator<Item = &MemberId>> {
        let room = self.rooms.get(*self.room_names.get(room)?)?;
        Some(room.users.keys())
    }

    /// Messages `topic` keeps for recovery right now.
    pub fn retained(&self, topic: &str) -> Option<usize> {
        let key = self.topic_names.get(topic)?;
        Some(self.topics.get(*key)?.retained())
    }
}
