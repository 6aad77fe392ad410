//! What the shell and the application call: topics, rooms, publishing and
//! targeted delivery.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::caps::room_of;
use super::peer_msg::{Dest, PeerMsg};
use super::room::{RoomLogic, RoomState};
use super::slab::Key;
use super::timed::Ack;
use super::topic::TopicState;
use super::{Deadline, Hub, HubError, TopicConfig};
use crate::proto::{JSON_SAFE_MAX, MemberId, Position, Room, SessionId, Topic};
use crate::time::Instant;
use crate::timeline::{Schedule, Timeline};

impl Hub {
    /// Opens a topic. A topic named `room/…` belongs to room `room`: its
    /// subscribers are in that room's presence.
    ///
    /// With several shards, a topic is opened on its owner
    /// ([`owner_of`](super::owner_of)) only, which opens its replica on every
    /// other shard through [`PeerMsg::Open`](super::PeerMsg); elsewhere this
    /// is [`HubError::NotOwner`]. The owner chooses the epoch, as a lone hub
    /// does, and the replicas adopt it: opens by the application on each hub
    /// would interleave differently with other topics' opens, and no
    /// function of the name alone can give a reopened topic a new epoch
    /// without remembering every closed name.
    pub fn open_topic(&mut self, name: &str, config: TopicConfig) -> Result<Position, HubError> {
        let name = Topic::try_from(name).map_err(|_| HubError::UnknownTopic)?;
        if self.topic_elsewhere(&name).is_some() {
            return Err(HubError::NotOwner);
        }
        let epoch = self.epoch.wrapping_add(self.opens) & JSON_SAFE_MAX;
        let position = self.open_local(name.clone(), config, epoch)?;
        self.opens += 1;
        if self.sharded() {
            let msg = PeerMsg::Open {
                topic: name,
                config,
                epoch,
            };
            self.send_peer(Dest::Others, msg);
        }
        Ok(position)
    }

    /// Opens a topic (or a replica) with the given epoch.
    pub(super) fn open_local(
        &mut self,
        name: Topic,
        config: TopicConfig,
        epoch: u64,
    ) -> Result<Position, HubError> {
        if self.topic_names.contains_key(&name) {
            return Err(HubError::AlreadyOpen);
        }
        if self.topics.len() >= self.config.max_topics {
            return Err(HubError::TooManyTopics);
        }
        let room = room_of(&name).and_then(|r| self.room_names.get(r).copied());
        let topic = TopicState::new(name.clone(), config, epoch, room);
        let position = topic.position();
        let key = self.topics.insert(topic);
        self.topic_names.insert(name, key);
        Ok(position)
    }

    /// Closes a topic: its history and held publishes go, and its subscribers
    /// are unsubscribed (and told `unknown_topic`). With several shards, on
    /// the owner only (elsewhere [`HubError::NotOwner`]): its replicas close
    /// when its [`PeerMsg::Close`](super::PeerMsg) arrives.
    pub fn close_topic(&mut self, name: &str, now: Instant) -> Result<(), HubError> {
        if self.topic_elsewhere(name).is_some() {
            return Err(HubError::NotOwner);
        }
        self.close_local(name, now)?;
        if self.sharded() {
            // The name was open, so it is a valid topic name.
            if let Ok(topic) = Topic::try_from(name) {
                self.send_peer(Dest::Others, PeerMsg::Close { topic });
            }
        }
        Ok(())
    }

    /// Closes a topic (or a replica) here.
    pub(super) fn close_local(&mut self, name: &str, now: Instant) -> Result<(), HubError> {
        let now = self.advance(now);
        let (topic, key) = self
            .topic_names
            .remove_entry(name)
            .ok_or(HubError::UnknownTopic)?;
        let subscribers: Vec<Key> = self
            .topics
            .get(key)
            .map(|t| t.subscribers.iter().map(|sub| sub.session).collect())
            .unwrap_or_default();
        for skey in subscribers {
            self.drop_sub(skey, key, now);
            if let Some(conn) = self.sessions.get(skey).and_then(|s| s.conn()) {
                self.refuse(conn, HubError::UnknownTopic, None, Some(&topic));
            }
        }
        // A held publish that will never be released is answered now.
        for ack in self.timed.forget_topic(key) {
            self.answer_to(ack, Err(HubError::UnknownTopic));
        }
        self.topics.remove(key);
        Ok(())
    }

    /// Opens a room with its logic and, if it has a schedule, a timeline
    /// starting at `now` whose phases are announced to the room's members.
    /// Sessions already subscribed to topics of the room enter its presence.
    ///
    /// With several shards, a room is opened on its owner
    /// ([`room_owner`](super::room_owner), the owner of its topics too)
    /// only; elsewhere this is [`HubError::NotOwner`]. The owner runs its
    /// logic and timeline; every other shard opens a replica (through
    /// [`PeerMsg::OpenRoom`]) that relays presence, phases, inputs and
    /// targeted sends for its own sessions (see `docs/dispatch.md`, Shards).
    pub fn open_room(
        &mut self,
        name: &str,
        schedule: Option<Schedule>,
        logic: Box<dyn RoomLogic>,
        now: Instant,
    ) -> Result<(), HubError> {
        let now = self.advance(now);
        let name = Room::try_from(name).map_err(|_| HubError::UnknownRoom)?;
        if self.room_elsewhere(&name).is_some() {
            return Err(HubError::NotOwner);
        }
        if self.room_names.contains_key(&name) {
            return Err(HubError::AlreadyOpen);
        }
        if self.rooms.len() >= self.config.max_rooms {
            return Err(HubError::TooManyRooms);
        }
        let timeline = schedule.map(|s| Timeline::new(s, now, self.config.timeline));
        let mut state = RoomState::new(name.clone(), None, timeline);
        state.logic = Some(logic);
        let opening = self.room_opens;
        state.opening = opening;
        self.room_opens += 1;
        let key = self.rooms.insert(state);
        self.room_names.insert(name.clone(), key);
        if self.sharded() {
            // Before the first phases and joins, which the replicas apply.
            self.send_peer(
                Dest::Others,
                PeerMsg::OpenRoom {
                    room: name,
                    opening,
                },
            );
        }
        let subscribers = self.adopt_topics(key);
        self.run_timeline(key, now);
        // Sessions already subscribed to its topics enter its presence as
        // if they had just subscribed (after the timeline's first
        // announcements, which go to the members of that moment).
        for skey in subscribers {
            self.join_room(skey, key, now);
        }
        Ok(())
    }

    /// Closes a room: its topics stay open but no longer belong to it, and
    /// its presence and timeline end. With several shards, on the owner
    /// only (elsewhere [`HubError::NotOwner`]); the replicas close when its
    /// [`PeerMsg::CloseRoom`] arrives.
    pub fn close_room(&mut self, name: &str) -> Result<(), HubError> {
        let key = *self
            .room_names
            .get(name)
            .ok_or_else(|| self.no_room(name))?;
        if self.rooms.get(key).is_some_and(|r| r.owner.is_some()) {
            return Err(HubError::NotOwner);
        }
        self.close_room_local(key);
        if self.sharded() {
            // The name was open, so it is a valid room name.
            if let Ok(room) = Room::try_from(name) {
                self.send_peer(Dest::Others, PeerMsg::CloseRoom { room });
            }
        }
        Ok(())
    }

    /// Closes a room (or a replica) here: nobody hears a leave.
    pub(super) fn close_room_local(&mut self, key: Key) {
        for tkey in self.topics_of_room(key) {
            if let Some(t) = self.topics.get_mut(tkey) {
                t.room = None;
            }
        }
        if let Some(room) = self.rooms.remove(key) {
            self.room_names.remove(&room.name);
            for skey in room.members {
                if let Some(s) = self.sessions.get_mut(skey) {
                    s.cold.rooms.retain(|r| *r != key);
                }
            }
            // Sessions still waiting for their entry are in the room too.
            for id in room.joining.keys() {
                if let Some(s) = self.by_id.get(id).and_then(|k| self.sessions.get_mut(*k)) {
                    s.cold.rooms.retain(|r| *r != key);
                }
            }
            if let Some(at) = room.deadline {
                self.deadlines.remove(&(at, Deadline::Room(key)));
            }
        }
    }

    /// Makes the open topics of room `key` its own; returns their
    /// subscribers, who enter its presence.
    pub(super) fn adopt_topics(&mut self, key: Key) -> Vec<Key> {
        let mut subscribers = Vec::new();
        for tkey in self.topics_of_room(key) {
            if let Some(t) = self.topics.get_mut(tkey) {
                t.room = Some(key);
                subscribers.extend(t.subscribers.iter().map(|sub| sub.session));
            }
        }
        subscribers
    }

    fn topics_of_room(&self, key: Key) -> Vec<Key> {
        let Some(room) = self.rooms.get(key) else {
            return Vec::new();
        };
        let prefix = room.name.as_str();
        self.topic_names
            .range::<str, _>((
                core::ops::Bound::Included(prefix),
                core::ops::Bound::Unbounded,
            ))
            .take_while(|(name, _)| name.starts_with(prefix))
            .filter(|(name, _)| room_of(name) == Some(prefix))
            .map(|(_, key)| *key)
            .collect()
    }

    /// Publishes `data` to a topic's subscribers from the server side: now,
    /// or at `at` if that is later (held, then released to everyone at once).
    /// Returns where it landed, or `None` if held, or if another shard owns
    /// the topic: it is then forwarded to the owner, which sequences (or
    /// holds) it, and nobody is answered; the owner's refusals (the topic
    /// closed meanwhile, too many held) are dropped.
    pub fn publish(
        &mut self,
        topic: &str,
        data: &[u8],
        at: Option<Instant>,
        now: Instant,
    ) -> Result<Option<Position>, HubError> {
        let now = self.advance(now);
        let tkey = *self.topic_names.get(topic).ok_or(HubError::UnknownTopic)?;
        let data: Arc<[u8]> = Arc::from(data);
        if let Some(owner) = self.topic_elsewhere(topic) {
            self.forward_publish(owner, tkey, data, at, None);
            return Ok(None);
        }
        if let Some(at) = at.filter(|at| *at > now) {
            return self.hold(at, tkey, data, Ack::None).map(|()| None);
        }
        Ok(Some(self.publish_now(tkey, data, at, now)))
    }

    /// Sends `data` to one session's inbox (see [`HubConfig::inbox`](super::HubConfig)).
    /// With several shards, a session homed elsewhere
    /// ([`home_of_session`](super::home_of_session)) is reached through its
    /// home: `Ok` then means forwarded, and the home drops it if the session
    /// is gone.
    pub fn send_to_session(&mut self, session: &SessionId, data: &[u8]) -> Result<(), HubError> {
        let id = super::ids::parse_session(session).ok_or(HubError::UnknownSession)?;
        if self.sharded() && !self.is_home_of(u128::from(id)) {
            self.forward_to_session(id, data);
            return Ok(());
        }
        let key = self
            .by_id
            .get(&id)
            .copied()
            .ok_or(HubError::UnknownSession)?;
        self.push_inbox(key, data);
        Ok(())
    }

    /// Sends `data` to the inbox of every session of `user`; returns how
    /// many. With several shards it is also sent to every other shard, each
    /// reaching the user's sessions there; the count is of this hub's.
    pub fn send_to_user(&mut self, user: &MemberId, data: &[u8]) -> usize {
        if self.sharded() {
            self.forward_to_user(user, data);
        }
        self.push_to_user(user, data)
    }

    /// Sends `data` to the inbox of every session in a room's presence;
    /// returns how many. With several shards, the owner sends it to its
    /// members and on to every other shard for theirs, and counts the
    /// members on every shard; another shard forwards it to the owner
    /// (which sends it to everyone, in its order) and returns `Ok(0)`.
    pub fn send_to_room(&mut self, room: &str, data: &[u8]) -> Result<usize, HubError> {
        let rkey = *self
            .room_names
            .get(room)
            .ok_or_else(|| self.no_room(room))?;
        self.room_to_members(rkey, data, None)
    }

    /// Appends to the topic and fans out to its live subscribers; with
    /// several shards, also sends it to the replicas (only an owner calls
    /// this).
    #[inline]
    pub(super) fn publish_now(
        &mut self,
        tkey: Key,
        data: Arc<[u8]>,
        at: Option<Instant>,
        now: Instant,
    ) -> Position {
        if self.config.shards > 1 {
            let copy = data.clone();
            let position = self.append(tkey, data, at, now);
            self.send_append(tkey, position, at, copy);
            return position;
        }
        self.append(tkey, data, at, now)
    }

    /// Appends at the topic's head and fans out: the one caller of the
    /// fan-out, which stays inlined here, and all a lone hub does.
    pub(super) fn append(
        &mut self,
        tkey: Key,
        data: Arc<[u8]>,
        at: Option<Instant>,
        now: Instant,
    ) -> Position {
        let Some(topic) = self.topics.get_mut(tkey) else {
            return Position {
                epoch: 0,
                offset: 0,
            };
        };
        let offset = topic.head;
        let position = Position {
            epoch: topic.epoch,
            offset,
        };
        topic.append(data, at, now);
        self.fan_out(tkey, offset, now);
        position
    }

    /// Releases every timed publish due by `now`, acking each to its publisher.
    pub(super) fn release_timed(&mut self, now: Instant) {
        while let Some((at, held)) = self.timed.pop_due(now) {
            let position = self.publish_now(held.topic, held.data, Some(at), now);
            self.answer_to(held.ack, Ok(position));
        }
    }
}
