//! Room presence: who is in a room, kept consistent across reconnects.
//!
//! A session is in a room's presence while it subscribes to at least one of
//! the room's topics, connected or within its grace: a resume is not a leave
//! and a join. Presence lists users: a user is in it while any of their
//! sessions is, so a user with two tabs joins once and leaves once.

use alloc::vec::Vec;

use super::Hub;
use super::frame::Frame;
use super::slab::Key;
use crate::proto::{
    MemberId, PRESENCE_SNAPSHOT_MAX, PhaseAnnounce, Presence, PresenceEvent, ServerMsg,
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
    /// snapshot and the current phase.
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
        let others = room.members.clone();
        room.members.push(key);
        let count = room.users.entry(user.clone()).or_insert(0);
        *count += 1;
        if *count == 1 {
            let msg = presence(room.name.clone(), PresenceEvent::Join(user.clone()));
            self.push_shared(&others, &msg);
            self.with_logic(rkey, now, |logic, ctx| logic.on_presence(ctx, &user, true));
            self.apply_actions(now);
        }
        self.send_room_state(key, rkey, now);
    }

    /// Removes the session from the room's presence; the others hear `leave`
    /// if it was the user's last session there.
    pub(super) fn leave_room(&mut self, key: Key, rkey: Key, now: Instant) {
        let Some(s) = self.sessions.get_mut(key) else {
            return;
        };
        s.cold.rooms.retain(|r| *r != rkey);
        let user = s.cold.caps.user.clone();
        let Some(room) = self.rooms.get_mut(rkey) else {
            return;
        };
        room.members.retain(|k| *k != key);
        let Some(count) = room.users.get_mut(&user) else {
            return;
        };
        *count -= 1;
        if *count > 0 {
            return;
        }
        room.users.remove(&user);
        let msg = presence(room.name.clone(), PresenceEvent::Leave(user.clone()));
        let members = room.members.clone();
        self.push_shared(&members, &msg);
        self.with_logic(rkey, now, |logic, ctx| logic.on_presence(ctx, &user, false));
        self.apply_actions(now);
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
        if let Some(phase) = room.timeline.as_ref().and_then(|t| t.phase_during(now)) {
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

fn presence(room: crate::proto::Room, event: PresenceEvent) -> ServerMsg<'static> {
    ServerMsg::Presence(Presence { room, event })
}
