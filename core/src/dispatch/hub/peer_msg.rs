//! The messages shards exchange: plain data (names, numeric session ids,
//! positions, payloads shared by `Arc`), never a hub's slab keys, so that the
//! same messages can later cross machines.

use alloc::sync::Arc;

use super::shard::ShardId;
use super::{HubError, TopicConfig};
use crate::proto::{InputOutcome, MemberId, Phase, Position, RequestId, Room, Topic};
use crate::time::Instant;

/// Where a [`PeerMsg`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    /// One shard.
    Shard(ShardId),
    /// Every shard but the sender, each in its own FIFO order.
    Others,
}

/// The session a forwarded publish or input came from, named so that its home shard
/// finds it again: slab keys are local to a hub, session ids are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The session's id on its home shard, in its numeric form.
    pub session: u64,
    /// The request id: a publish's, acked once the owner has sequenced it,
    /// or an input's, answered with the owner's verdict.
    pub request: Option<RequestId>,
}

/// What one shard tells another: plain data (names, positions, payloads
/// shared by `Arc`), so that the same messages can later cross machines.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMsg {
    /// From the owner, to every other shard: it opened `topic`; replicas open
    /// it with the same configuration and epoch.
    Open {
        /// The topic.
        topic: Topic,
        /// Its configuration.
        config: TopicConfig,
        /// Its epoch, as the owner chose it.
        epoch: u64,
    },
    /// From the owner, to every other shard: it closed `topic`.
    Close {
        /// The topic.
        topic: Topic,
    },
    /// To the owner: sequence this publish, now or at `at`. `origin` names
    /// the client's session on the sender, or is `None` for the sender's
    /// application (then nobody is answered).
    Publish {
        /// The topic.
        topic: Topic,
        /// The payload.
        data: Arc<[u8]>,
        /// When to release it, as the client asked.
        at: Option<Instant>,
        /// Who to answer.
        origin: Option<Origin>,
    },
    /// From the owner, to the origin's shard: where a forwarded publish
    /// landed (sent only when there is a request id to ack), or why it was
    /// refused (always).
    Answer {
        /// The session and request answered.
        origin: Origin,
        /// The position, or the refusal the client is sent.
        result: Result<Position, HubError>,
    },
    /// From the owner, to every other shard: a message appended at
    /// `position`; replicas append it at exactly that offset.
    Append {
        /// The topic.
        topic: Topic,
        /// Where it was appended.
        position: Position,
        /// Its delivery time, for a timed publish.
        at: Option<Instant>,
        /// The payload (the owner's own copy, shared).
        data: Arc<[u8]>,
    },
    /// From a room's owner, to every other shard: it opened room `room`;
    /// each opens a replica of it (presence and phases, no logic).
    OpenRoom {
        /// The room.
        room: Room,
        /// Which opening of the name this is, as the owner counts.
        opening: u64,
    },
    /// From a room's owner, to every other shard: it closed room `room`.
    CloseRoom {
        /// The room.
        room: Room,
    },
    /// From a session's home, to the room's owner: the session entered the
    /// room's presence (its first subscription to one of the room's topics).
    /// The owner answers with [`PeerMsg::Member`]. One naming an opening
    /// the owner has since closed is stale and ignored: the home's replica
    /// of that opening is gone with it, and the sessions still subscribed
    /// enter the new one with an `Enter` of their own.
    Enter {
        /// The room.
        room: Room,
        /// The opening of the room the home's replica is.
        opening: u64,
        /// The session's id, in its numeric form (its home is read off it).
        session: u64,
        /// The session's user.
        user: MemberId,
    },
    /// From a session's home, to the room's owner: the session left the
    /// room's presence (its last subscription there ended, or it expired).
    /// One naming an opening the owner has since closed is ignored.
    Leave {
        /// The room.
        room: Room,
        /// The opening of the room the home's replica is.
        opening: u64,
        /// The session's id, in its numeric form.
        session: u64,
    },
    /// From a room's owner: a session entered or left the presence, in the
    /// owner's order. Sent to every other shard when the user's presence
    /// changes (`announce`: their first session in, or last out), else only
    /// to the home of a session that entered, so that it gets its snapshot.
    Member {
        /// The room.
        room: Room,
        /// The session's id, in its numeric form.
        session: u64,
        /// The session's user.
        user: MemberId,
        /// Entered (`true`) or left.
        joined: bool,
        /// Whether the room's members hear it as a `join` or `leave` of `user`.
        announce: bool,
    },
    /// From a room's owner, to every other shard: a phase its timeline
    /// announces, for the members there.
    Phase {
        /// The room.
        room: Room,
        /// The phase announced.
        phase: Phase,
    },
    /// From the sender's home, to the room's owner: an input that passed the
    /// checks of the home (capabilities, rate), to be judged with the time it
    /// arrived there. The owner answers [`PeerMsg::Verdict`].
    Input {
        /// The room.
        room: Room,
        /// The sending session and the input's request id.
        origin: Origin,
        /// The sending user.
        user: MemberId,
        /// The round the input is meant for.
        round: Option<u32>,
        /// The payload.
        data: Arc<[u8]>,
        /// When the home shard received it: what the timeline judges.
        received_at: Instant,
    },
    /// From a room's owner, to an input's home: its outcome, or why it could
    /// not be judged (answered as an `error`).
    Verdict {
        /// The session and request answered.
        origin: Origin,
        /// The outcome.
        result: Result<InputOutcome, HubError>,
    },
    /// To a session's home: deliver `data` to its inbox.
    ToSession {
        /// The session's id, in its numeric form.
        session: u64,
        /// The payload.
        data: Arc<[u8]>,
    },
    /// To every other shard: deliver `data` to the inboxes of `user`'s
    /// sessions there.
    ToUser {
        /// The user.
        user: MemberId,
        /// The payload.
        data: Arc<[u8]>,
    },
    /// To a room's owner, which sends it on to every other shard: deliver
    /// `data` to the inboxes of the room's members on each.
    ToRoom {
        /// The room.
        room: Room,
        /// The payload.
        data: Arc<[u8]>,
    },
}
