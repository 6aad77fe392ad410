//! Inputs and targeted sends across shards.
//!
//! An input to a room another shard runs goes to the owner with its origin
//! and its arrival time at the home, and the verdict comes back to the home,
//! which answers and remembers it as for a local input. A send to a session
//! goes to its home; a send to a user goes to every shard; a send to a room
//! goes to its owner, which sends it on to every shard, so that it reaches
//! every member in the owner's order.

use alloc::sync::Arc;

use super::ids::{parse_session, session_text};
use super::peer_msg::{Dest, Origin, PeerMsg};
use super::shard::ShardId;
use super::slab::Key;
use super::{Hub, HubError, PeerError, RoomInput};
use crate::proto::{Input, InputOutcome, MemberId};
use crate::time::Instant;

impl Hub {
    /// The input and targeted-send messages of [`Hub::handle_peer`], at
    /// the time it was called with.
    pub(super) fn handle_send_peer(&mut self, from: ShardId, msg: PeerMsg) -> Result<(), HubError> {
        let now = self.now;
        match msg {
            PeerMsg::Input {
                room,
                origin,
                user,
                round,
                data,
                received_at,
            } => {
                self.check_home(from, origin.session)?;
                let request = origin.request.ok_or(HubError::Peer(PeerError::Misrouted))?;
                let rkey = match self.owned_room(&room) {
                    Ok(rkey) => rkey,
                    Err(e) => {
                        let refusal = match e {
                            HubError::Peer(_) => HubError::NotOwner,
                            other => other,
                        };
                        self.send_verdict(from, origin, Err(refusal));
                        return Err(e);
                    }
                };
                let id = session_text(origin.session);
                let input = RoomInput {
                    session: &id,
                    user: &user,
                    request,
                    verdict: None,
                    data: &data,
                    received_at,
                };
                let outcome = self.judge_in_room(rkey, round, input, now);
                self.send_verdict(from, origin, Ok(outcome));
                self.apply_actions(now);
                Ok(())
            }
            PeerMsg::Verdict { origin, result } => {
                if !self.is_home_of(u128::from(origin.session)) {
                    return Err(HubError::Peer(PeerError::Misrouted));
                }
                let key = self.local_session(origin.session)?;
                let request = origin.request.ok_or(HubError::Peer(PeerError::Misrouted))?;
                self.answer_input(key, request, result);
                Ok(())
            }
            PeerMsg::ToSession { session, data } => {
                if !self.is_home_of(u128::from(session)) {
                    return Err(HubError::Peer(PeerError::Misrouted));
                }
                let key = self.local_session(session)?;
                self.push_inbox(key, &data);
                Ok(())
            }
            PeerMsg::ToUser { user, data } => {
                self.push_to_user(&user, &data);
                Ok(())
            }
            PeerMsg::ToRoom { room, data } => {
                let rkey = *self.room_names.get(&room).ok_or(HubError::UnknownRoom)?;
                self.room_to_members(rkey, &data, Some(from)).map(drop)
            }
            // Topic messages are handled in `peer`, room presence in
            // `peer_room`: none comes this far.
            _ => Err(HubError::Peer(PeerError::Misrouted)),
        }
    }

    /// The session of this hub whose numeric id is `id`; one that expired
    /// meanwhile has nobody to tell.
    fn local_session(&self, id: u64) -> Result<Key, HubError> {
        self.by_id.get(&id).copied().ok_or(HubError::UnknownSession)
    }

    fn send_verdict(
        &mut self,
        home: ShardId,
        origin: Origin,
        result: Result<InputOutcome, HubError>,
    ) {
        self.send_peer(Dest::Shard(home), PeerMsg::Verdict { origin, result });
    }

    /// Sends an input that passed this hub's checks to the room's owner,
    /// with the time it arrived here.
    pub(super) fn forward_input(
        &mut self,
        owner: ShardId,
        key: Key,
        req: &Input<'_>,
        now: Instant,
    ) {
        let Some(s) = self.sessions.get(key) else {
            return;
        };
        // Always a number: the hub wrote the id.
        let Some(session) = parse_session(&s.cold.id) else {
            return;
        };
        let msg = PeerMsg::Input {
            room: req.room.clone(),
            origin: Origin {
                session,
                request: Some(req.request),
            },
            user: s.cold.caps.user.clone(),
            round: req.round,
            data: Arc::from(req.data.as_bytes()),
            received_at: now,
        };
        self.send_peer(Dest::Shard(owner), msg);
    }

    /// Sends `data` to the home of session `id`.
    pub(super) fn forward_to_session(&mut self, id: u64, data: &[u8]) {
        let home = self.home_of_id(id);
        let msg = PeerMsg::ToSession {
            session: id,
            data: Arc::from(data),
        };
        self.send_peer(Dest::Shard(home), msg);
    }

    /// Sends `data` for `user`'s sessions to every other shard.
    pub(super) fn forward_to_user(&mut self, user: &MemberId, data: &[u8]) {
        let msg = PeerMsg::ToUser {
            user: user.clone(),
            data: Arc::from(data),
        };
        self.send_peer(Dest::Others, msg);
    }

    /// Delivers `data` to the inboxes of `user`'s sessions on this hub;
    /// returns how many.
    pub(super) fn push_to_user(&mut self, user: &MemberId, data: &[u8]) -> usize {
        let keys = self.by_user.get(user).cloned().unwrap_or_default();
        for &key in &keys {
            self.push_inbox(key, data);
        }
        keys.len()
    }

    /// Sends `data` to room `rkey`'s members, asked by this hub (`from`
    /// `None`) or by a peer. Where the room runs: to its members here and
    /// on to every other shard; returns the members on every shard. On a
    /// replica: from the owner, to the members here; from this hub, to the
    /// owner (returns 0: it counts).
    pub(super) fn room_to_members(
        &mut self,
        rkey: Key,
        data: &[u8],
        from: Option<ShardId>,
    ) -> Result<usize, HubError> {
        let room = self.rooms.get(rkey).ok_or(HubError::UnknownRoom)?;
        let members = room.members.clone();
        let forward = match (room.owner, from) {
            (Some(owner), Some(from)) if owner == from => None,
            (Some(owner), None) => Some(Dest::Shard(owner)),
            (Some(_), Some(_)) => return Err(HubError::Peer(PeerError::Misrouted)),
            (None, _) if self.sharded() => Some(Dest::Others),
            (None, _) => None,
        };
        let size = room.size();
        let name = room.name.clone();
        if let Some(dest) = forward {
            let msg = PeerMsg::ToRoom {
                room: name,
                data: Arc::from(data),
            };
            self.send_peer(dest, msg);
            if matches!(dest, Dest::Shard(_)) {
                return Ok(0);
            }
        }
        for &key in &members {
            self.push_inbox(key, data);
        }
        Ok(if from.is_some() { members.len() } else { size })
    }
}
