//! Rooms: a timeline, the application's logic, and presence.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::shard::ShardId;
use super::slab::Key;
use crate::proto::{MemberId, Phase, RejectCode, RequestId, Room, SessionId, Topic};
use crate::time::Instant;
use crate::timeline::{Timeline, Verdict};

/// An application's rules for one room: deterministic, no I/O.
///
/// The hub calls it with every input that passed the capability check, the
/// rate limit and the timeline, and with phase and presence changes. It acts
/// only through the [`RoomCtx`] it is handed; its actions take effect when it
/// returns, in the order it made them.
pub trait RoomLogic {
    /// Judges one input. `Err` rejects it with that code (usually
    /// [`RejectCode::Invalid`]); the sender gets it in its `input_result`.
    fn on_input(&mut self, ctx: &mut RoomCtx<'_>, input: &RoomInput<'_>) -> Result<(), RejectCode>;

    /// A phase of the room's timeline has begun on the server clock.
    fn on_phase(&mut self, ctx: &mut RoomCtx<'_>, phase: &Phase) {
        let _ = (ctx, phase);
    }

    /// A user joined (`true`) or left (`false`) the room's presence.
    fn on_presence(&mut self, ctx: &mut RoomCtx<'_>, user: &MemberId, joined: bool) {
        let _ = (ctx, user, joined);
    }
}

/// One input, as the room's logic sees it.
#[derive(Clone, Copy, Debug)]
pub struct RoomInput<'a> {
    /// The sending session.
    pub session: &'a SessionId,
    /// The sending user.
    pub user: &'a MemberId,
    /// The input's request id.
    pub request: RequestId,
    /// The round and phase the timeline counted it for (rooms with a schedule).
    pub verdict: Option<Verdict>,
    /// The input's payload.
    pub data: &'a [u8],
    /// Server time at which the hub received it.
    pub received_at: Instant,
}

/// What a room's logic may do: deliver messages. Each call records an action
/// that the hub carries out after the logic returns.
pub struct RoomCtx<'a> {
    pub(crate) room: &'a Room,
    pub(crate) now: Instant,
    pub(crate) actions: &'a mut Vec<Action>,
}

impl RoomCtx<'_> {
    /// The room.
    pub fn room(&self) -> &Room {
        self.room
    }

    /// The current server time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Publishes to a topic's subscribers, at `at` if given (timed delivery).
    pub fn publish(&mut self, topic: Topic, data: &[u8], at: Option<Instant>) {
        self.actions.push(Action::Publish {
            topic,
            data: data.into(),
            at,
        });
    }

    /// Sends to one session's inbox, on whichever shard it lives.
    pub fn send_to_session(&mut self, session: SessionId, data: &[u8]) {
        self.actions.push(Action::ToSession {
            session,
            data: data.into(),
        });
    }

    /// Sends to the inbox of every session of `user`, on every shard.
    pub fn send_to_user(&mut self, user: MemberId, data: &[u8]) {
        self.actions.push(Action::ToUser {
            user,
            data: data.into(),
        });
    }

    /// Sends to the inbox of every session in this room's presence, on every
    /// shard.
    pub fn send_to_room(&mut self, data: &[u8]) {
        self.actions.push(Action::ToRoom {
            room: self.room.clone(),
            data: data.into(),
        });
    }
}

/// An action recorded by a [`RoomCtx`].
#[derive(Debug)]
pub(crate) enum Action {
    Publish {
        topic: Topic,
        data: Vec<u8>,
        at: Option<Instant>,
    },
    ToSession {
        session: SessionId,
        data: Vec<u8>,
    },
    ToUser {
        user: MemberId,
        data: Vec<u8>,
    },
    ToRoom {
        room: Room,
        data: Vec<u8>,
    },
}

/// A session on another shard in the presence of a room this hub owns.
#[derive(Clone, Debug)]
pub(crate) struct Remote {
    /// Its id, in its numeric form (its home is read off it).
    pub(crate) session: u64,
    pub(crate) user: MemberId,
}

pub(crate) struct RoomState {
    pub(crate) name: Room,
    /// `None` where the room runs (its logic and timeline); on the other
    /// shards, the owner whose replica this is.
    pub(crate) owner: Option<ShardId>,
    pub(crate) timeline: Option<Timeline>,
    /// Taken out while it runs, so that it can be handed a context.
    pub(crate) logic: Option<Box<dyn RoomLogic>>,
    /// Sessions of this hub in the room's presence, in join order.
    pub(crate) members: Vec<Key>,
    /// Users in presence and how many of their sessions are in it (on a
    /// replica, 1 each: the owner counts).
    pub(crate) users: BTreeMap<MemberId, u32>,
    /// On the owner: sessions of other shards in the presence, in join order.
    pub(crate) remote: Vec<Remote>,
    /// On a replica: the phases the owner announced that have not ended,
    /// oldest first (what a snapshot reads the phase in progress from).
    pub(crate) announced: Vec<Phase>,
    /// On a replica: sessions of this hub whose `Enter`s the owner has not
    /// answered yet, and how many; they become members on the last answer.
    pub(crate) joining: BTreeMap<u64, u32>,
    /// The timeline deadline registered with the hub.
    pub(crate) deadline: Option<Instant>,
    /// Which opening of the name this is, as its owner counts them: a
    /// replica's `Enter` or `Leave` names it, so that one sent to a room the
    /// owner has since closed and reopened is not taken for the new one.
    pub(crate) opening: u64,
}

impl RoomState {
    /// A room with nobody in it; `owner` as for [`RoomState::owner`].
    pub(crate) fn new(name: Room, owner: Option<ShardId>, timeline: Option<Timeline>) -> Self {
        RoomState {
            name,
            owner,
            timeline,
            logic: None,
            members: Vec::new(),
            users: BTreeMap::new(),
            remote: Vec::new(),
            announced: Vec::new(),
            joining: BTreeMap::new(),
            deadline: None,
            opening: 0,
        }
    }

    /// The phase in progress at `now`: from the timeline where the room
    /// runs, from the owner's announcements on a replica.
    pub(crate) fn phase_during(&self, now: Instant) -> Option<Phase> {
        match &self.timeline {
            Some(t) => t.phase_during(now),
            None => self
                .announced
                .iter()
                .rev()
                .find(|p| p.starts_at <= now && now < p.ends_at)
                .cloned(),
        }
    }

    /// Sessions in the presence on every shard (as far as this hub knows:
    /// only the owner knows the others').
    pub(crate) fn size(&self) -> usize {
        self.members.len() + self.remote.len()
    }
}
