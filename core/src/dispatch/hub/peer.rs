//! Messages between the shards of one server, and what a hub does with them.
//!
//! A topic's owner opens, closes and sequences it; the other shards hold
//! replicas that follow it. A client's publish on a shard that does not own
//! the topic is checked there (capabilities, rate), forwarded to the owner
//! with its origin, and answered to the client when the owner's answer comes
//! back. Every append on the owner is sent, with its position, to every
//! other shard, which appends it at exactly that offset and fans it out to
//! its own subscribers. Rooms' messages are handled in `peer_room` and
//! `peer_send`.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::error::PeerError;
use super::ids::parse_session;
use super::peer_msg::{Dest, Origin, PeerMsg};
use super::session::{Answer, Kind};
use super::shard::ShardId;
use super::slab::Key;
use super::timed::Ack;
use super::{Hub, HubError, TopicConfig};
use crate::proto::{Position, RequestId, Topic};
use crate::time::Instant;

impl Hub {
    /// The next message for a peer shard, or `None` when there is none.
    ///
    /// The same rule as [`Hub::poll_output`]: after every call that changes
    /// the hub (each `handle_*`, opening or closing a topic, publishing,
    /// sending), drain this until `None` as well, and hand each message to
    /// [`Hub::handle_peer`] of its destination with this hub's [`ShardId`],
    /// in the order polled: messages from one shard to another must arrive
    /// in order (a FIFO channel per pair). A hub with one shard never has
    /// any.
    pub fn poll_peer(&mut self) -> Option<(Dest, PeerMsg)> {
        self.peers.pop_front()
    }

    /// A message from shard `from` arrived.
    ///
    /// Refusals of a forwarded publish or input are also answered to its
    /// origin; the returned error is for the shell's logs. A [`PeerError`] leaves the hub
    /// consistent: a stale replicated message is ignored, a gap is resynced.
    pub fn handle_peer(
        &mut self,
        from: ShardId,
        msg: PeerMsg,
        now: Instant,
    ) -> Result<(), HubError> {
        let now = self.advance(now);
        if from == self.config.shard || from.0 >= self.config.shards {
            return Err(HubError::Peer(PeerError::UnknownShard));
        }
        let from_owner = |hub: &Hub, topic: &Topic| {
            if hub.topic_elsewhere(topic) == Some(from) {
                Ok(())
            } else {
                Err(HubError::Peer(PeerError::Misrouted))
            }
        };
        match msg {
            PeerMsg::Open {
                topic,
                config,
                epoch,
            } => {
                from_owner(self, &topic)?;
                self.open_replica(topic, config, epoch, now)
            }
            PeerMsg::Close { topic } => {
                from_owner(self, &topic)?;
                self.close_local(&topic, now)
            }
            PeerMsg::Publish {
                topic,
                data,
                at,
                origin,
            } => {
                let result = self.sequence(from, &topic, data, at, origin, now);
                if let (Err(e), Some(origin)) = (result, origin) {
                    self.answer_remote(from, origin, Err(e));
                }
                match result {
                    Err(HubError::NotOwner) => Err(HubError::Peer(PeerError::Misrouted)),
                    other => other,
                }
            }
            PeerMsg::Answer { origin, result } => {
                self.answer(origin, result);
                Ok(())
            }
            PeerMsg::Append {
                topic,
                position,
                at,
                data,
            } => {
                from_owner(self, &topic)?;
                self.replicate(&topic, position, at, data, now)
            }
            room => self.handle_room_peer(from, room, now),
        }
    }

    /// Sends `msg` to the peers.
    pub(super) fn send_peer(&mut self, dest: Dest, msg: PeerMsg) {
        self.peers.push_back((dest, msg));
    }

    /// Sends what the owner appended to `tkey` at `position` to every
    /// replica. Out of line: a lone hub never comes here.
    #[cold]
    #[inline(never)]
    pub(super) fn send_append(
        &mut self,
        tkey: Key,
        position: Position,
        at: Option<Instant>,
        data: Arc<[u8]>,
    ) {
        if let Some(topic) = self.topics.get(tkey).map(|t| t.name.clone()) {
            let msg = PeerMsg::Append {
                topic,
                position,
                at,
                data,
            };
            self.send_peer(Dest::Others, msg);
        }
    }

    /// Forwards a publish to `tkey` to its owner, on behalf of a session of
    /// this hub and its request id, or of the application (`None`). Out of
    /// line: a lone hub never comes here.
    #[cold]
    #[inline(never)]
    pub(super) fn forward_publish(
        &mut self,
        owner: ShardId,
        tkey: Key,
        data: Arc<[u8]>,
        at: Option<Instant>,
        from: Option<(Key, Option<RequestId>)>,
    ) {
        let origin = from.and_then(|(key, request)| {
            let s = self.sessions.get(key)?;
            // Always a number: the hub wrote the id.
            let session = parse_session(&s.cold.id)?;
            Some(Origin { session, request })
        });
        if let Some(topic) = self.topics.get(tkey).map(|t| t.name.clone()) {
            let msg = PeerMsg::Publish {
                topic,
                data,
                at,
                origin,
            };
            self.send_peer(Dest::Shard(owner), msg);
        }
    }

    /// Opens the replica of a topic the owner opened, with the owner's
    /// epoch. A topic of that name still open here under another epoch is a
    /// previous life whose `Close` never came: it ends first.
    fn open_replica(
        &mut self,
        topic: Topic,
        config: TopicConfig,
        epoch: u64,
        now: Instant,
    ) -> Result<(), HubError> {
        if let Some(&key) = self.topic_names.get(&topic) {
            if self.topics.get(key).is_some_and(|t| t.epoch == epoch) {
                return Ok(());
            }
            self.close_local(&topic, now)?;
        }
        self.open_local(topic, config, epoch).map(drop)
    }

    /// The owner sequences a publish another shard forwarded: now, or held
    /// until `at` (answered on release).
    fn sequence(
        &mut self,
        from: ShardId,
        topic: &Topic,
        data: Arc<[u8]>,
        at: Option<Instant>,
        origin: Option<Origin>,
        now: Instant,
    ) -> Result<(), HubError> {
        if self.topic_elsewhere(topic).is_some() {
            return Err(HubError::NotOwner);
        }
        let tkey = *self
            .topic_names
            .get(topic.as_str())
            .ok_or(HubError::UnknownTopic)?;
        let ack = origin.map_or(Ack::None, |o| Ack::Remote(from, o));
        if let Some(at) = at.filter(|at| *at > now) {
            return self.hold(at, tkey, data, ack);
        }
        let position = self.publish_now(tkey, data, at, now);
        self.answer_to(ack, Ok(position));
        Ok(())
    }

    /// Answers whoever a publish owes an answer: a session of this hub
    /// (ack, or `error` with the request forgotten so that a resend is
    /// judged afresh), or the origin's shard.
    pub(super) fn answer_to(&mut self, ack: Ack, result: Result<Position, HubError>) {
        match ack {
            Ack::None => {}
            Ack::Local(key, id) => self.answer_local(key, Some(id), result),
            Ack::Remote(shard, origin) => self.answer_remote(shard, origin, result),
        }
    }

    fn answer_remote(
        &mut self,
        shard: ShardId,
        origin: Origin,
        result: Result<Position, HubError>,
    ) {
        // A success with no request id to ack would tell the origin nothing.
        if result.is_ok() && origin.request.is_none() {
            return;
        }
        self.send_peer(Dest::Shard(shard), PeerMsg::Answer { origin, result });
    }

    /// The owner answered a publish a session of this hub made: the client
    /// is acked (or refused) exactly as for a publish sequenced here. A
    /// session that expired meanwhile has nobody to tell.
    fn answer(&mut self, origin: Origin, result: Result<Position, HubError>) {
        if let Some(key) = self.by_id.get(&origin.session).copied() {
            self.answer_local(key, origin.request, result);
        }
    }

    fn answer_local(
        &mut self,
        key: Key,
        request: Option<RequestId>,
        result: Result<Position, HubError>,
    ) {
        match (result, request) {
            (Ok(position), Some(id)) => {
                if let Some(s) = self.sessions.get_mut(key) {
                    s.cold
                        .requests
                        .put(Kind::Publish, id, Answer::Published(position));
                }
                self.ack(key, id, position);
            }
            (Ok(_), None) => {}
            (Err(e), request) => self.refuse_session(key, e, request),
        }
    }

    /// A replica appends what its owner appended, at the same offset, and
    /// fans it out to its own subscribers.
    fn replicate(
        &mut self,
        topic: &Topic,
        got: Position,
        at: Option<Instant>,
        data: Arc<[u8]>,
        now: Instant,
    ) -> Result<(), HubError> {
        let tkey = *self
            .topic_names
            .get(topic.as_str())
            .ok_or(HubError::UnknownTopic)?;
        let t = self.topics.get_mut(tkey).ok_or(HubError::UnknownTopic)?;
        let head = t.position();
        if got.epoch != head.epoch || got.offset < head.offset {
            return Err(HubError::Peer(PeerError::Stale { head, got }));
        }
        let gap = got.offset > head.offset;
        if gap {
            self.resync_replica(tkey, got.offset, now);
        }
        // At the head, which is now `got.offset`.
        self.append(tkey, data, at, now);
        if gap {
            return Err(HubError::Peer(PeerError::Resynced { head, got }));
        }
        Ok(())
    }

    /// Moves a replica's head to `offset` past messages it never got. Its
    /// history goes (exact recovery needs it contiguous), and each
    /// subscriber behind the new head is told `subscribed{recovered: false,
    /// too_old}` and continues live: what a subscriber hears when a replay
    /// is overtaken by the history's bounds, never a silent hole.
    fn resync_replica(&mut self, tkey: Key, offset: u64, now: Instant) {
        let Some(t) = self.topics.get_mut(tkey) else {
            return;
        };
        t.jump(offset);
        let behind: Vec<Key> = t
            .subscribers
            .iter()
            .filter(|sub| sub.next < offset)
            .map(|sub| sub.session)
            .collect();
        for key in behind {
            if let Some(s) = self.sessions.get_mut(key) {
                s.catching_up = true;
            }
            self.pump(key, now);
        }
    }
}
