//! Rooms across shards: replicas, presence and phases.
//!
//! A room runs (logic, timeline, the full presence list) on its owner, the
//! owner of its topics. Every other shard keeps a **replica**: the users in
//! presence, the phases announced and not ended, and its own sessions that
//! are members. A session entering or leaving a room on a replica is told
//! to the owner (`Enter`, `Leave`), which decides every join and leave and
//! sends them back (`Member`) in one order; each replica applies them to its
//! copy and tells its own members, so every member hears the same events in
//! the same order as on a lone hub. A session entering a replica becomes a
//! member when the owner's answer comes, and gets its snapshot then, from
//! the replica, which is up to date at that point of the owner's order. The
//! owner's phase announcements are relayed the same way (`Phase`).
//!
//! The replica, rather than asking the owner for each snapshot, is what
//! makes a resume on the session's home resynchronise exactly as on a lone
//! hub: the snapshot comes right after the `welcome` and what was queued,
//! before the subscriptions continue, with no round trip.

use super::peer_msg::PeerMsg;
use super::presence::{Who, presence};
use super::room::RoomState;
use super::shard::ShardId;
use super::slab::Key;
use super::{Hub, HubError, PeerError};
use crate::proto::{MemberId, Phase, PhaseAnnounce, PresenceEvent, Room, ServerMsg};
use crate::time::Instant;

/// Most announced phases a replica keeps: the timeline announces a phase a
/// bounded time ahead, so only a few are ever pending; more is a peer
/// sending nonsense, and the oldest go.
const ANNOUNCED_MAX: usize = 8;

impl Hub {
    /// The room messages of [`Hub::handle_peer`]; the others are in
    /// `peer_send`.
    pub(super) fn handle_room_peer(
        &mut self,
        from: ShardId,
        msg: PeerMsg,
        now: Instant,
    ) -> Result<(), HubError> {
        match msg {
            PeerMsg::OpenRoom { room, opening } => {
                self.check_room_owner(from, &room)?;
                self.open_replica_room(from, room, opening, now)
            }
            PeerMsg::CloseRoom { room } => {
                let rkey = self.replica_room(from, &room)?;
                self.close_room_local(rkey);
                Ok(())
            }
            PeerMsg::Enter {
                room,
                opening,
                session,
                user,
            } => {
                let rkey = self.owned_room(&room)?;
                self.check_home(from, session)?;
                if self.is_current(rkey, opening) {
                    self.enter(rkey, session, user, now);
                }
                Ok(())
            }
            PeerMsg::Leave {
                room,
                opening,
                session,
            } => {
                let rkey = self.owned_room(&room)?;
                self.check_home(from, session)?;
                if !self.is_current(rkey, opening) {
                    return Ok(());
                }
                let user = self
                    .rooms
                    .get(rkey)
                    .and_then(|r| r.remote.iter().find(|m| m.session == session))
                    .map(|m| m.user.clone())
                    .ok_or(HubError::Peer(PeerError::UnknownMember))?;
                self.release(rkey, Who::Remote(session), user, now)
            }
            PeerMsg::Member {
                room,
                session,
                user,
                joined,
                announce,
            } => {
                let rkey = self.replica_room(from, &room)?;
                self.on_member(rkey, session, user, joined, announce, now);
                Ok(())
            }
            PeerMsg::Phase { room, phase } => {
                let rkey = self.replica_room(from, &room)?;
                self.on_phase(rkey, phase, now);
                Ok(())
            }
            other => self.handle_send_peer(from, other),
        }
    }

    /// Where the room runs: `Ok` if `from` is its owner.
    fn check_room_owner(&self, from: ShardId, room: &str) -> Result<(), HubError> {
        if self.room_elsewhere(room) == Some(from) {
            Ok(())
        } else {
            Err(HubError::Peer(PeerError::Misrouted))
        }
    }

    /// Whether `opening` is the opening of room `rkey` that runs here; an
    /// `Enter` or `Leave` for an earlier one is stale, not an error: its
    /// home sent it before it heard of the close.
    fn is_current(&self, rkey: Key, opening: u64) -> bool {
        self.rooms.get(rkey).is_some_and(|r| r.opening == opening)
    }

    /// `Ok` if `from` is the home of session `id`.
    pub(super) fn check_home(&self, from: ShardId, id: u64) -> Result<(), HubError> {
        if self.home_of_id(id) == from {
            Ok(())
        } else {
            Err(HubError::Peer(PeerError::Misrouted))
        }
    }

    /// The replica of `room`, which `from` must own.
    pub(super) fn replica_room(&self, from: ShardId, room: &str) -> Result<Key, HubError> {
        self.check_room_owner(from, room)?;
        self.room_names
            .get(room)
            .copied()
            .ok_or(HubError::UnknownRoom)
    }

    /// Room `room`, which must run here.
    pub(super) fn owned_room(&self, room: &str) -> Result<Key, HubError> {
        if self.room_elsewhere(room).is_some() {
            return Err(HubError::Peer(PeerError::Misrouted));
        }
        self.room_names
            .get(room)
            .copied()
            .ok_or(HubError::UnknownRoom)
    }

    /// Opens the replica of a room `owner` opened; the sessions of this hub
    /// already subscribed to its topics enter it. A replica of that name
    /// still open is a previous life whose `CloseRoom` never came: it ends
    /// first.
    fn open_replica_room(
        &mut self,
        owner: ShardId,
        room: Room,
        opening: u64,
        now: Instant,
    ) -> Result<(), HubError> {
        if let Some(&old) = self.room_names.get(&room) {
            self.close_room_local(old);
        }
        if self.rooms.len() >= self.config.max_rooms {
            return Err(HubError::TooManyRooms);
        }
        let mut state = RoomState::new(room.clone(), Some(owner), None);
        state.opening = opening;
        let key = self.rooms.insert(state);
        self.room_names.insert(room, key);
        for skey in self.adopt_topics(key) {
            self.join_room(skey, key, now);
        }
        Ok(())
    }

    /// The owner: a session of another shard entered. A second `Enter` of a
    /// session already in is answered all the same (its home counts the
    /// answers) and changes nothing.
    fn enter(&mut self, rkey: Key, session: u64, user: MemberId, now: Instant) {
        let known = self
            .rooms
            .get(rkey)
            .is_some_and(|r| r.remote.iter().any(|m| m.session == session));
        if !known {
            self.admit(rkey, Who::Remote(session), user, now);
            return;
        }
        let Some(room) = self.rooms.get(rkey).map(|r| r.name.clone()) else {
            return;
        };
        let msg = PeerMsg::Member {
            room,
            session,
            user,
            joined: true,
            announce: false,
        };
        let home = self.home_of_id(session);
        self.send_peer(super::Dest::Shard(home), msg);
    }

    /// A replica applies a presence change its owner decided: the members
    /// here hear it if it changes the users, and a session of this hub
    /// that entered becomes a member and gets its snapshot, once the owner
    /// has answered each of its `Enter`s and if it still is in the room.
    fn on_member(
        &mut self,
        rkey: Key,
        session: u64,
        user: MemberId,
        joined: bool,
        announce: bool,
        now: Instant,
    ) {
        let Some(room) = self.rooms.get_mut(rkey) else {
            return;
        };
        if announce {
            let event = if joined {
                room.users.insert(user.clone(), 1);
                PresenceEvent::Join(user)
            } else {
                room.users.remove(&user);
                PresenceEvent::Leave(user)
            };
            let msg = presence(room.name.clone(), event);
            let members = room.members.clone();
            self.push_shared(&members, &msg);
        }
        if !joined || !self.is_home_of(u128::from(session)) {
            return;
        }
        let Some(room) = self.rooms.get_mut(rkey) else {
            return;
        };
        match room.joining.get_mut(&session) {
            Some(n) if *n > 1 => {
                *n -= 1;
                return;
            }
            Some(_) => {
                room.joining.remove(&session);
            }
            None => return,
        }
        let Some(key) = self.by_id.get(&session).copied() else {
            return;
        };
        let wanted = self
            .sessions
            .get(key)
            .is_some_and(|s| s.cold.rooms.contains(&rkey));
        if wanted && !room.members.contains(&key) {
            room.members.push(key);
            self.send_room_state(key, rkey, now);
        }
    }

    /// A replica relays a phase its owner announced to the members here,
    /// and keeps it for the snapshots until it ends.
    fn on_phase(&mut self, rkey: Key, phase: Phase, now: Instant) {
        let Some(room) = self.rooms.get_mut(rkey) else {
            return;
        };
        room.announced.retain(|p| p.ends_at > now);
        if room.announced.len() >= ANNOUNCED_MAX {
            room.announced.remove(0);
        }
        room.announced.push(phase.clone());
        let msg = ServerMsg::Phase(PhaseAnnounce {
            room: room.name.clone(),
            phase,
        });
        let members = room.members.clone();
        self.push_shared(&members, &msg);
    }
}
