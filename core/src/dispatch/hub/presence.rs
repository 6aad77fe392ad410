//! Room presence: who is in a room, kept consistent across reconnects.
//!
//! A session is in a room's presence while it subscribes to at least one of
//! the room's topics, connected or within its grace: a resume is not a leave
//! and a join. Presence lists users: a user is in it while any of their
//! sessions is, so a user with two tabs joins once and leaves once.
//!
//! With several shards the hub where the room runs keeps the whole list
//! (its own sessions and the others'), and decides every join and leave;
//! the replicas apply them in its order (see `peer_room`).

use alloc::vec::Vec;

use super::frame::Frame;
use super::ids::parse_session;
use super::peer_msg::{Dest, PeerMsg};
use super::room::Remote;
use super::slab::Key;
use super::{Hub, HubError, PeerError};
use crate::proto::{
    MemberId, PRESENCE_SNAPSHOT_MAX, PhaseAnnounce, Presence, PresenceEvent, Room, ServerMsg,
};
use crate::time::Instant;

impl Hub {
    /// Ends the session's subscription to `tkey`, dropping what was queued
    /// for it; leaves the topic's room if it was the session's last topic there.
    pub(super) fn drop_sub(&mut self, key: Key, tkey: Key, now: Instant) {
        let Some(s) = self.sessions.get_mut(key) else {
            return;
        };
        let Some(at) = s.cold.subs.iter().position(|sub| sub.topic == tkey) else {
            return;
        };
        let sub = s.cold.subs.remove(at);
        s.queue.remove_topic(&mut self.store, tkey);
        let Some(topic) = self.topics.get_mut(tkey) else {
            return;
        };
        topic.remove(key, sub.slot);
        let Some(rkey) = topic.room else {
            return;
        };
        let topics = &self.topics;
        let still_in = s
            .cold
            .subs
            .iter()
            .any(|sub| topics.get(sub.topic).is_some_and(|t| t.room == Some(rkey)));
        if !still_in {
            self.leave_room(key, rkey, now);
        }
    }

    /// Adds the session to the room's presence (if not in it): the others
    /// hear `join` if the user was not there yet, and the session gets the
    /// snapshot and the current phase. In a replica, the owner is asked
    /// (see `peer_room`).
    pub(super) fn join_room(&mut self, key: Key, rkey: Key, now: Instant) {
        let Some(s) = self.sessions.get_mut(key) else {
            return;
        };
        if s.cold.rooms.contains(&rkey) {
            return;
        }
        let Some(room) = self.rooms.get_mut(rkey) else {
            return;
        };
        s.cold.rooms.push(rkey);
        let user = s.cold.caps.user.clone();
        if let Some(owner) = room.owner {
            // Always a number: the hub wrote the id.
            let Some(session) = parse_session(&s.cold.id) else {
                return;
            };
            *room.joining.entry(session).or_insert(0) += 1;
            let opening = room.opening;
            let room = room.name.clone();
            let msg = PeerMsg::Enter {
                room,
                opening,
                session,
                user,
            };
            self.send_peer(Dest::Shard(owner), msg);
            return;
        }
        self.admit(rkey, Who::Local(key), user, now);
    }

    /// Where the room runs: adds a session of this hub or of another shard
    /// to the presence, in the one order every shard hears.
    pub(super) fn admit(&mut self, rkey: Key, who: Who, user: MemberId, now: Instant) {
        let Some(room) = self.rooms.get_mut(rkey) else {
            return;
        };
        let others = room.members.clone();
        match who {
            Who::Local(key) => room.members.push(key),
            Who::Remote(session) => room.remote.push(Remote {
                session,
                user: user.clone(),
            }),
        }
        let count = room.users.entry(user.clone()).or_insert(0);
        *count += 1;
        let announce = *count == 1;
        let name = room.name.clone();
        if announce {
            let msg = presence(name.clone(), PresenceEvent::Join(user.clone()));
            self.push_shared(&others, &msg);
        }
        if self.sharded() {
            self.send_member(name, who, user.clone(), true, announce);
        }
        if announce {
            self.with_logic(rkey, now, |logic, ctx| logic.on_presence(ctx, &user, true));
            self.apply_actions(now);
        }
        if let Who::Local(key) = who {
            self.send_room_state(key, rkey, now);
        }
    }

    /// Removes the session from the room's presence; the others hear `leave`
    /// if it was the user's last session there. In a replica, the owner is
    /// told.
    pub(super) fn leave_room(&mut self, key: Key, rkey: Key, now: Instant) {
        let Some(s) = self.sessions.get_mut(key) else {
            return;
        };
        let was_in = s.cold.rooms.contains(&rkey);
        s.cold.rooms.retain(|r| *r != rkey);
        let user = s.cold.caps.user.clone();
        let Some(room) = self.rooms.get_mut(rkey) else {
            return;
        };
        if let Some(owner) = room.owner {
            room.members.retain(|k| *k != key);
            if let Some(session) = parse_session(&s.cold.id).filter(|_| was_in) {
                let (room, opening) = (room.name.clone(), room.opening);
                let msg = PeerMsg::Leave {
                    room,
                    opening,
                    session,
                };
                self.send_peer(Dest::Shard(owner), msg);
            }
            return;
        }
        // The room is open: only another shard's session can be unknown.
        let _ = self.release(rkey, Who::Local(key), user, now);
    }

    /// Where the room runs: removes a session from the presence. A session
    /// of another shard that is not in it is [`PeerError::UnknownMember`].
    pub(super) fn release(
        &mut self,
        rkey: Key,
        who: Who,
        user: MemberId,
        now: Instant,
    ) -> Result<(), HubError> {
        let room = self.rooms.get_mut(rkey).ok_or(HubError::UnknownRoom)?;
        match who {
            Who::Local(key) => room.members.retain(|k| *k != key),
            Who::Remote(session) => {
                let at = room.remote.iter().position(|r| r.session == session);
                let at = at.ok_or(HubError::Peer(PeerError::UnknownMember))?;
                room.remote.remove(at);
            }
        }
        let Some(count) = room.users.get_mut(&user) else {
            return Ok(());
        };
        *count -= 1;
        if *count > 0 {
            return Ok(());
        }
        room.users.remove(&user);
        let name = room.name.clone();
        let msg = presence(name.clone(), PresenceEvent::Leave(user.clone()));
        let members = room.members.clone();
        self.push_shared(&members, &msg);
        if self.sharded() {
            self.send_member(name, who, user.clone(), false, true);
        }
        self.with_logic(rkey, now, |logic, ctx| logic.on_presence(ctx, &user, false));
        self.apply_actions(now);
        Ok(())
    }

    /// Tells the replicas of a presence change where the room runs: all of
    /// them if the members hear it, else the home of a session that entered
    /// (for its snapshot), if another shard.
    fn send_member(&mut self, room: Room, who: Who, user: MemberId, joined: bool, announce: bool) {
        let session = match who {
            // Always a number: the hub wrote the id.
            Who::Local(key) => match self
                .sessions
                .get(key)
                .and_then(|s| parse_session(&s.cold.id))
            {
                Some(id) => id,
                None => return,
            },
            Who::Remote(id) => id,
        };
        let dest = match who {
            _ if announce => Dest::Others,
            Who::Remote(id) if joined => Dest::Shard(self.home_of_id(id)),
            _ => return,
        };
        let msg = PeerMsg::Member {
            room,
            session,
            user,
            joined,
            announce,
        };
        self.send_peer(dest, msg);
    }

    /// Sends the session the room's member list (as many snapshot frames as
    /// it takes) and the phase in progress, if the room has a timeline.
    pub(super) fn send_room_state(&mut self, key: Key, rkey: Key, now: Instant) {
        let Some(room) = self.rooms.get(rkey) else {
            return;
        };
        let Some(codec) = self.sessions.get(key).map(|s| s.codec) else {
            return;
        };
        let users: Vec<&MemberId> = room.users.keys().collect();
        let mut frames = Vec::new();
        let mut chunks = users.chunks(PRESENCE_SNAPSHOT_MAX).peekable();
        if chunks.peek().is_none() {
            let event = PresenceEvent::Snapshot {
                members: heapless::Vec::new(),
                more: false,
            };
            frames.push(Frame::encode(&presence(room.name.clone(), event), codec));
        }
        while let Some(chunk) = chunks.next() {
            // A chunk holds at most PRESENCE_SNAPSHOT_MAX members.
            let members = chunk.iter().map(|m| (*m).clone()).collect();
            let more = chunks.peek().is_some();
            let event = PresenceEvent::Snapshot { members, more };
            frames.push(Frame::encode(&presence(room.name.clone(), event), codec));
        }
        if let Some(phase) = room.phase_during(now) {
            let msg = ServerMsg::Phase(PhaseAnnounce {
                room: room.name.clone(),
                phase,
            });
            frames.push(Frame::encode(&msg, codec));
        }
        for frame in frames {
            self.push_other(key, frame);
        }
    }
}

/// A session in a room's presence, as the hub where the room runs knows it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Who {
    /// A session of this hub.
    Local(Key),
    /// A session of another shard, by its numeric id.
    Remote(u64),
}

pub(super) fn presence(room: Room, event: PresenceEvent) -> ServerMsg<'static> {
    ServerMsg::Presence(Presence { room, event })
}
