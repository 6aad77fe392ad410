//! Connections and sessions: connect, hello, resume, disconnect, expire, pull.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::conns::Conn;
use super::fanout::close_conn;
use super::frame::Frame;
use super::queue::{Entry, Tag};
use super::session::Session;
use super::slab::{Key, Slab};
use super::store::Store;
use super::topic::TopicState;
use super::{Capabilities, CloseCode, Codec, ConnId, Deadline, Hub, HubError};
use crate::proto::codec::{decode_json, decode_postcard};
use crate::proto::{Hello, MemberId, PROTOCOL_VERSION, ServerMsg, Welcome};
use crate::time::Instant;

impl Hub {
    /// A connection was accepted and its credential verified into `caps`. It
    /// must say `hello` within [`HubConfig::hello_timeout`](super::HubConfig).
    pub fn handle_connect(
        &mut self,
        conn: ConnId,
        caps: Capabilities,
        codec: Codec,
        now: Instant,
    ) -> Result<(), HubError> {
        let now = self.advance(now);
        if self.conns.contains_key(&conn) {
            return Err(HubError::ConnectionExists);
        }
        if self.conns.len() >= self.config.max_sessions + self.config.max_pending {
            return Err(HubError::TooManySessions);
        }
        let hello_at = now + self.config.hello_timeout;
        let credentials_at = caps.expires_at;
        self.deadlines.insert((hello_at, Deadline::Hello(conn)));
        if let Some(at) = credentials_at {
            self.deadlines.insert((at, Deadline::Credentials(conn)));
        }
        self.conns.insert(
            conn,
            Conn {
                caps: Some(Box::new(caps)),
                codec,
                session: None,
                early: VecDeque::new(),
                closing: false,
                hello_at,
                credentials_at,
            },
        );
        Ok(())
    }

    /// The connection is gone. Its session stays resumable for the grace
    /// period, keeping its subscriptions, presence and unsent frames.
    pub fn handle_disconnect(&mut self, conn: ConnId, now: Instant) {
        let now = self.advance(now);
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.deadlines.remove(&(c.hello_at, Deadline::Hello(conn)));
        if let Some(at) = c.credentials_at {
            self.deadlines.remove(&(at, Deadline::Credentials(conn)));
        }
        let Some(key) = c.session else {
            return;
        };
        let grace = self.config.grace;
        if let Some(s) = self
            .sessions
            .get_mut(key)
            .filter(|s| s.conn() == Some(conn))
        {
            s.set_conn(None);
            let at = now + grace;
            s.cold.expires = Some(at);
            self.deadlines.insert((at, Deadline::Expire(key)));
        }
    }

    /// `hello`: opens a session, or resumes the one named by `resume`.
    pub(super) fn hello(
        &mut self,
        conn: ConnId,
        hello: &Hello,
        now: Instant,
    ) -> Result<(), HubError> {
        if hello.version != PROTOCOL_VERSION {
            let err = self.reject(conn, HubError::UnsupportedVersion, None);
            self.close(conn, CloseCode::Protocol);
            return Err(err);
        }
        let Some(c) = self.conns.get(&conn) else {
            return Err(HubError::UnknownConnection);
        };
        let resumable = hello
            .resume
            .as_ref()
            .and_then(|t| self.by_token.get(&super::ids::parse_token(t)?).copied())
            .filter(|k| {
                self.sessions.get(*k).is_some_and(|s| {
                    c.caps
                        .as_ref()
                        .is_some_and(|caps| s.cold.caps.user == caps.user)
                })
            });
        let key = match resumable {
            Some(key) => {
                self.resume(conn, key, now);
                key
            }
            None => self.open_session(conn, now)?,
        };
        self.conns.set_session(&conn, Some(key));
        self.deadlines
            .remove(&(self.conns[&conn].hello_at, Deadline::Hello(conn)));
        self.welcome(key);
        if resumable.is_some() {
            self.resync(key, now);
        }
        Ok(())
    }

    fn open_session(&mut self, conn: ConnId, now: Instant) -> Result<Key, HubError> {
        if self.sessions.len() >= self.config.max_sessions {
            let err = self.reject(conn, HubError::TooManySessions, None);
            self.close(conn, CloseCode::Full);
            return Err(err);
        }
        let (id, token) = self.fresh_ids();
        let (caps, codec) = self.take_caps(conn);
        let user = caps.user.clone();
        let session = Session::new(
            super::ids::session_text(id),
            token,
            caps,
            conn,
            codec,
            &self.config,
            now,
        );
        let key = self.sessions.insert(session);
        self.by_id.insert(id, key);
        self.by_token.insert(token, key);
        self.by_user.entry(user).or_default().push(key);
        Ok(key)
    }

    /// Moves session `key` onto `conn`, with the connection's (fresher)
    /// capabilities; subscriptions they no longer allow are dropped.
    fn resume(&mut self, conn: ConnId, key: Key, now: Instant) {
        let (caps, codec) = self.take_caps(conn);
        let Some(s) = self.sessions.get_mut(key) else {
            return;
        };
        if let Some(old) = s.set_conn(Some(conn)) {
            close_conn(&mut self.conns, &mut self.outputs, old, CloseCode::Replaced);
            self.conns.set_session(&old, None);
        }
        if let Some(at) = s.cold.expires.take() {
            self.deadlines.remove(&(at, Deadline::Expire(key)));
        }
        if s.codec != codec {
            rewind(key, s, codec, &mut self.topics, &mut self.store);
            s.codec = codec;
        }
        let denied: Vec<Key> = {
            let topics = &self.topics;
            s.cold
                .subs
                .iter()
                .filter(|sub| {
                    topics
                        .get(sub.topic)
                        .is_none_or(|t| !caps.may_subscribe(&t.name))
                })
                .map(|sub| sub.topic)
                .collect()
        };
        s.cold.caps = caps;
        for tkey in denied {
            self.drop_sub(key, tkey, now);
        }
    }

    /// The capabilities and codec `conn` was accepted with, moved out for its
    /// session (the connection needs them no more once it has one).
    fn take_caps(&mut self, conn: ConnId) -> (Capabilities, Codec) {
        let c = self
            .conns
            .get_mut(&conn)
            .expect("a connection the caller knows is present");
        // `hello` is accepted once per connection, so the credential is
        // still there; a connection without one may do nothing.
        let caps = c
            .caps
            .take()
            .map_or_else(|| Capabilities::new(MemberId::new()), |b| *b);
        (caps, c.codec)
    }

    /// Queues `welcome` first, with a fresh resume token (the old one stops
    /// working, so a leaked token is good for one resume at most).
    fn welcome(&mut self, key: Key) {
        let token = self.fresh_token();
        let (clock, max_frame) = (self.config.clock, self.config.max_frame);
        let Some(s) = self.sessions.get_mut(key) else {
            return;
        };
        let old = core::mem::replace(&mut s.cold.token, token);
        self.by_token.remove(&old);
        self.by_token.insert(token, key);
        let msg = ServerMsg::Welcome(Welcome {
            version: PROTOCOL_VERSION,
            session: s.cold.id.clone(),
            resume: super::ids::token_text(token),
            clock,
            max_frame,
        });
        let frame = Frame::encode(&msg, s.codec);
        s.queue.push_front(
            &mut self.store,
            Entry::Frame {
                frame,
                tag: Tag::Other,
            },
        );
        if let Some(conn) = s.conn() {
            self.outputs.push_back(super::HubOutput::Wake(conn));
        }
    }

    /// After a resume: a presence snapshot and the current phase of every
    /// room the session is in (events may have been lost with the old
    /// connection), then catch-up from history.
    fn resync(&mut self, key: Key, now: Instant) {
        let rooms = self
            .sessions
            .get(key)
            .map(|s| s.cold.rooms.clone())
            .unwrap_or_default();
        for rkey in rooms {
            self.send_room_state(key, rkey, now);
        }
        self.pump(key, now);
    }

    /// The grace period of a disconnected session ended: it leaves presence
    /// and everything it held is freed.
    pub(super) fn expire(&mut self, key: Key) {
        let now = self.now;
        let Some(s) = self.sessions.get(key) else {
            return;
        };
        if s.conn().is_some() {
            return;
        }
        let topics: Vec<Key> = s.cold.subs.iter().map(|sub| sub.topic).collect();
        for tkey in topics {
            self.drop_sub(key, tkey, now);
        }
        let Some(mut s) = self.sessions.remove(key) else {
            return;
        };
        // What is still queued (answers, presence) is let go of.
        s.queue.drain(&mut self.store, |_| {});
        if let Some(id) = super::ids::parse_session(&s.cold.id) {
            self.by_id.remove(&id);
        }
        self.by_token.remove(&s.cold.token);
        if let Some(keys) = self.by_user.get_mut(&s.cold.caps.user) {
            keys.retain(|k| *k != key);
            if keys.is_empty() {
                self.by_user.remove(&s.cold.caps.user);
            }
        }
    }
}

/// Empties the queue (its frames are in the old connection's format) and
/// rewinds each subscription to the first delivery it had not handed out, so
/// that the pump re-sends them from history in the new format (`codec`).
///
/// A `subscribed` queued ahead of every delivery of its subscription is kept,
/// re-encoded, for it says where that re-sent stream starts: without it a
/// replay from `since` would look like a repeat, and a `too_old` restart like
/// a hole. Only the latest per subscription is kept: a later `subscribe`
/// restarted the stream, so an earlier answer announces nothing that
/// follows. Other frames are lost: answers come back by resending, presence
/// and phases by resync.
fn rewind(
    key: Key,
    s: &mut Session,
    codec: Codec,
    topics: &mut Slab<TopicState>,
    store: &mut Store,
) {
    s.catching_up = true;
    let old = s.codec;
    let subs = &mut s.cold.subs;
    // Topics a delivery or gap was met of, in queue order, and the
    // `subscribed` kept: both empty, unallocated, for most sessions.
    let mut streamed: Vec<Key> = Vec::new();
    let mut kept: Vec<(Key, Frame)> = Vec::new();
    s.queue.drain(store, |entry| {
        if let Entry::Frame {
            frame,
            tag: Tag::Subscribed { topic },
        } = entry
        {
            let topic = *topic;
            if subs.iter().any(|sub| sub.topic == topic)
                && !streamed.contains(&topic)
                && let Some(frame) = reencode(frame, old, codec)
            {
                kept.retain(|(t, _)| *t != topic);
                kept.push((topic, frame));
            }
            return;
        }
        let Some((topic, offset)) = entry.topic_offset() else {
            return;
        };
        if !streamed.contains(&topic) {
            streamed.push(topic);
        }
        let Some(sub) = subs.iter_mut().find(|sub| sub.topic == topic) else {
            return;
        };
        let Some(entry) = topics
            .get_mut(topic)
            .and_then(|t| t.entry(key, &mut sub.slot))
        else {
            return;
        };
        entry.next = entry.next.min(offset);
        // A pending gap the rewind goes back before will be re-sent as
        // messages (or reported lost) by the pump.
        if sub.gap.is_some_and(|(from, _)| entry.next <= from) {
            sub.gap = None;
        }
    });
    // Behind the `welcome`, which goes first, and before the pump's replay.
    for (topic, frame) in kept.into_iter().rev() {
        let tag = Tag::Subscribed { topic };
        s.queue.push_front(store, Entry::Frame { frame, tag });
    }
}

/// `frame`, a server message the hub encoded in `from`, encoded in `to`.
fn reencode(frame: &Frame, from: Codec, to: Codec) -> Option<Frame> {
    let msg = match from {
        Codec::Json => decode_json::<ServerMsg<'_>>(frame),
        Codec::Postcard => decode_postcard::<ServerMsg<'_>>(frame),
    };
    // The hub's own frames decode; were one not to, it is lost like any
    // other answer.
    msg.ok().map(|msg| Frame::encode(&msg, to))
}
