//! A session: what outlives a connection for the grace period.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::ConnId;
use super::HubError;
use super::caps::Capabilities;
use super::config::HubConfig;
use super::frame::Codec;
use super::queue::Queue;
use super::rate::Bucket;
use super::slab::Key;
use crate::proto::{InputOutcome, Position, RequestId, SessionId};
use crate::time::Instant;

/// One subscription, as its session sees it. How far its deliveries have
/// been queued is kept by the topic, in its dense list of subscribers
/// ([`Subscriber`](super::topic::Subscriber)), which the fan-out walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sub {
    pub(crate) topic: Key,
    /// Where this session was last seen in the topic's list of
    /// subscribers; only ever too high, by the removals since.
    pub(crate) slot: u32,
    /// Offsets dropped on a lossy topic whose `gap` frame is not queued yet.
    pub(crate) gap: Option<(u64, u64)>,
}

/// The remembered answer to a request id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Input(InputOutcome),
    /// Could not be judged (unknown room): answered with an `error`.
    InputError(HubError),
    Published(Position),
    /// A publish answered later: a timed one waiting for its `at` (acked on
    /// release), or one forwarded to its topic's owner shard (acked when
    /// the owner answers).
    Held,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Input,
    Publish,
}

/// The most recent request ids and their answers, oldest first.
#[derive(Debug)]
pub(crate) struct Requests {
    recent: VecDeque<(Kind, RequestId, Answer)>,
    capacity: usize,
}

impl Requests {
    /// Allocates nothing until the first request is remembered; then grows
    /// as requests come, up to `capacity`.
    fn new(capacity: usize) -> Self {
        Requests {
            recent: VecDeque::new(),
            capacity,
        }
    }

    pub(crate) fn get(&self, kind: Kind, id: RequestId) -> Option<Answer> {
        self.recent
            .iter()
            .rev()
            .find(|(k, i, _)| *k == kind && *i == id)
            .map(|(_, _, a)| *a)
    }

    /// Forgets the answer to `id`, if remembered.
    pub(crate) fn forget(&mut self, kind: Kind, id: RequestId) {
        self.recent.retain(|(k, i, _)| !(*k == kind && *i == id));
    }

    /// Remembers (or updates) the answer to `id`, forgetting the oldest when full.
    pub(crate) fn put(&mut self, kind: Kind, id: RequestId, answer: Answer) {
        if let Some(slot) = self
            .recent
            .iter_mut()
            .find(|(k, i, _)| *k == kind && *i == id)
        {
            slot.2 = answer;
            return;
        }
        if self.capacity == 0 {
            return;
        }
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back((kind, id, answer));
    }
}

/// What every delivery and pull touches: one cache line of the sessions'
/// slab, its first queued entries included. Everything else lives behind
/// one pointer ([`Cold`]), so that fanning out to thousands of sessions
/// touches one line of each.
#[derive(Debug)]
pub(crate) struct Session {
    /// The connection, when `attached` (an `Option<ConnId>` takes 16 bytes
    /// the line has no room for).
    conn: ConnId,
    attached: bool,
    pub(crate) queue: Queue,
    pub(crate) codec: Codec,
    /// Whether some subscription may be behind its topic's head or hold a
    /// pending gap: only then has the pump work to do after a pull.
    pub(crate) catching_up: bool,
    pub(crate) cold: Box<Cold>,
}

/// The part of a session that deliveries do not touch.
#[derive(Debug)]
pub(crate) struct Cold {
    pub(crate) id: SessionId,
    /// The resume token's 128 bits (see [`ids`](super::ids)).
    pub(crate) token: u128,
    pub(crate) caps: Capabilities,
    pub(crate) subs: Vec<Sub>,
    /// Rooms whose presence this session is part of.
    pub(crate) rooms: Vec<Key>,
    pub(crate) requests: Requests,
    pub(crate) inputs: Bucket,
    pub(crate) publishes: Bucket,
    /// When the session expires, while it has no connection.
    pub(crate) expires: Option<Instant>,
    /// The offset of the next targeted delivery.
    pub(crate) inbox_next: u64,
}

impl Session {
    pub(crate) fn new(
        id: SessionId,
        token: u128,
        caps: Capabilities,
        conn: ConnId,
        codec: Codec,
        config: &HubConfig,
        now: Instant,
    ) -> Self {
        Session {
            conn,
            attached: true,
            queue: Queue::new(),
            codec,
            catching_up: false,
            cold: Box::new(Cold {
                id,
                token,
                caps,
                subs: Vec::new(),
                rooms: Vec::new(),
                requests: Requests::new(config.request_memory),
                inputs: Bucket::new(config.input_rate, now),
                publishes: Bucket::new(config.publish_rate, now),
                expires: None,
                inbox_next: 0,
            }),
        }
    }

    /// The connection, if attached to one.
    #[inline]
    pub(crate) fn conn(&self) -> Option<ConnId> {
        self.attached.then_some(self.conn)
    }

    /// Attaches it to `conn` (or detaches it); returns the previous one.
    pub(crate) fn set_conn(&mut self, conn: Option<ConnId>) -> Option<ConnId> {
        let old = self.conn();
        self.attached = conn.is_some();
        if let Some(conn) = conn {
            self.conn = conn;
        }
        old
    }

    pub(crate) fn sub(&self, topic: Key) -> Option<&Sub> {
        self.cold.subs.iter().find(|s| s.topic == topic)
    }

    pub(crate) fn sub_mut(&mut self, topic: Key) -> Option<&mut Sub> {
        self.cold.subs.iter_mut().find(|s| s.topic == topic)
    }
}

#[cfg(test)]
mod tests {
    use super::super::slab::Slot;
    use super::Session;

    /// A session's slot is one cache line: the fan-out and the pull each
    /// read one line per session.
    #[test]
    fn a_session_slot_is_one_cache_line() {
        assert_eq!(core::mem::size_of::<Slot<Session>>(), 64);
        assert_eq!(core::mem::align_of::<Slot<Session>>(), 64);
    }
}
