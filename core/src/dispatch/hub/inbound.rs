//! Client messages: decode, check, act, answer.

use alloc::sync::Arc;
use core::fmt::Write;

use super::fanout::close_slow;
use super::frame::Frame;
use super::queue::Tag;
use super::session::{Answer, Kind, Sub};
use super::slab::Key;
use super::timed::Ack;
use super::{CloseCode, ConnId, EARLY_MAX, Hub, HubError};
use crate::proto::codec::{decode_json_limited, decode_postcard_limited};
use crate::proto::{
    ClientMsg, ClockPing, ErrorMsg, ErrorText, Publish, PublishAck, RequestId, ServerMsg,
    Subscribe, Subscribed, Topic,
};
use crate::time::Instant;

impl Hub {
    /// A frame arrived on `conn`: decodes it in the connection's format
    /// (refusing it unparsed past `max_frame`) and handles the message.
    ///
    /// An undecodable or oversize frame is answered with an `error`
    /// (`bad_frame` or `frame_too_large`) and the connection is closed
    /// (`protocol`), as the protocol requires; nothing else changes.
    pub fn handle_frame(
        &mut self,
        conn: ConnId,
        frame: &[u8],
        now: Instant,
    ) -> Result<(), HubError> {
        let Some(c) = self.conns.get(&conn) else {
            return Err(HubError::UnknownConnection);
        };
        let max = self.config.max_frame as usize;
        let decoded = match c.codec {
            super::Codec::Json => decode_json_limited::<ClientMsg<'_>>(frame, max),
            super::Codec::Postcard => decode_postcard_limited::<ClientMsg<'_>>(frame, max),
        };
        match decoded {
            Ok(msg) => self.handle_message(conn, msg, now),
            Err(e) => {
                let err = self.reject(conn, HubError::Decode(e), None);
                self.close(conn, CloseCode::Protocol);
                Err(err)
            }
        }
    }

    /// A decoded message arrived on `conn`.
    ///
    /// A message the session may not send, or that names what does not
    /// exist, returns the error and queues an `error` frame (with the request
    /// id, if the message had one) to `conn`; nothing else changes. Inputs are
    /// always answered with one `input_result`, whatever it says; a judged
    /// input is `Ok` even when rejected. Messages from a connection being
    /// closed are ignored.
    pub fn handle_message(
        &mut self,
        conn: ConnId,
        msg: ClientMsg<'_>,
        now: Instant,
    ) -> Result<(), HubError> {
        let now = self.advance(now);
        let Some(c) = self.conns.get(&conn) else {
            return Err(HubError::UnknownConnection);
        };
        if c.closing {
            return Ok(());
        }
        let Some(key) = c.session else {
            return match msg {
                ClientMsg::Hello(hello) => self.hello(conn, &hello, now),
                _ => Err(self.reject(conn, HubError::UnexpectedMessage, None)),
            };
        };
        match msg {
            ClientMsg::Hello(_) => Err(self.reject(conn, HubError::UnexpectedMessage, None)),
            ClientMsg::Ping(ping) => {
                self.pong(key, ping, now);
                Ok(())
            }
            ClientMsg::Subscribe(sub) => self
                .subscribe(key, &sub, now)
                .map_err(|e| self.refuse(conn, e, None, Some(&sub.topic))),
            ClientMsg::Unsubscribe(unsub) => {
                if let Some(tkey) = self.topic_names.get(unsub.topic.as_str()).copied() {
                    self.drop_sub(key, tkey, now);
                }
                Ok(())
            }
            ClientMsg::Publish(publish) => self
                .client_publish(key, &publish, now)
                .map_err(|e| self.reject(conn, e, publish.request)),
            ClientMsg::Input(input) => self.input(conn, key, &input, now),
        }
    }

    /// Queues an `error` frame for `err` to `conn` and returns `err`.
    pub(super) fn reject(
        &mut self,
        conn: ConnId,
        err: HubError,
        request: Option<RequestId>,
    ) -> HubError {
        self.refuse(conn, err, request, None)
    }

    /// Queues an `error` frame for `err` to `conn`, naming the subscription
    /// it refuses or ends if any, and returns `err`.
    pub(super) fn refuse(
        &mut self,
        conn: ConnId,
        err: HubError,
        request: Option<RequestId>,
        topic: Option<&Topic>,
    ) -> HubError {
        let msg = error_msg(err, request, topic);
        let Some(c) = self.conns.get_mut(&conn) else {
            return err;
        };
        let frame = Frame::encode(&msg, c.codec);
        match c.session {
            Some(key) => {
                self.push_other(key, frame);
            }
            None if c.early.len() < EARLY_MAX => {
                if c.early.is_empty() {
                    self.outputs.push_back(super::HubOutput::Wake(conn));
                }
                c.early.push_back(frame);
                self.conns.set_early(&conn, true);
            }
            None => {}
        }
        err
    }

    fn pong(&mut self, key: Key, ping: ClockPing, now: Instant) {
        let Some(codec) = self.sessions.get(key).map(|s| s.codec) else {
            return;
        };
        let msg = ServerMsg::Pong(ping.answer(now, now, self.config.clock));
        self.push_other(key, Frame::encode(&msg, codec));
    }

    /// Starts (or restarts) a subscription: `subscribed`, then the replay
    /// from `since` if the history still holds it, then live messages. A
    /// subscribe to a topic already subscribed restarts it from its `since`,
    /// dropping what was queued for it. If even then the `subscribed` would
    /// not fit the queue, nothing changes and the connection is closed as a
    /// slow consumer.
    fn subscribe(&mut self, key: Key, req: &Subscribe, now: Instant) -> Result<(), HubError> {
        let s = self.sessions.get_mut(key).ok_or(HubError::UnknownSession)?;
        if !s.cold.caps.may_subscribe(&req.topic) {
            return Err(HubError::Forbidden);
        }
        let tkey = *self
            .topic_names
            .get(req.topic.as_str())
            .ok_or(HubError::UnknownTopic)?;
        let known = s.sub(tkey).is_some();
        if !known && s.cold.subs.len() >= self.config.max_subscriptions {
            return Err(HubError::TooManySubscriptions);
        }
        // The slab entry exists: topic_names only holds open topics.
        let topic = self.topics.get_mut(tkey).ok_or(HubError::UnknownTopic)?;
        let (next, recovered, reason) = match req.since.map(|since| topic.recover(since, now)) {
            None => (topic.head, false, None),
            Some(Ok(from)) => (from, true, None),
            Some(Err(why)) => (topic.head, false, Some(why)),
        };
        let reply = ServerMsg::Subscribed(Subscribed {
            topic: topic.name.clone(),
            position: topic.position(),
            recovered,
            reason,
        });
        let frame = Frame::encode(&reply, s.codec);
        if !s.queue.fits_restart(&self.store, tkey, frame.len()) {
            // A session that has not read its control reserve is a slow
            // consumer. Its stream stays as its client was told (a restart
            // nobody hears of would look like a hole or a repeat); the
            // client asks again after resuming.
            close_slow(s, &mut self.conns, &mut self.outputs);
            return Ok(());
        }
        let room = topic.room;
        if known {
            s.queue.remove_topic(&mut self.store, tkey);
            if let Some(sub) = s.sub_mut(tkey) {
                sub.gap = None;
                if let Some(entry) = topic.entry(key, &mut sub.slot) {
                    entry.next = next;
                }
            }
        } else {
            let slot = topic.add(key, next);
            s.cold.subs.push(Sub {
                topic: tkey,
                slot,
                gap: None,
            });
        }
        s.catching_up = true;
        self.push_control(key, frame, Tag::Subscribed { topic: tkey });
        if let Some(rkey) = room {
            self.join_room(key, rkey, now);
        }
        self.pump(key, now);
        Ok(())
    }

    fn client_publish(
        &mut self,
        key: Key,
        req: &Publish<'_>,
        now: Instant,
    ) -> Result<(), HubError> {
        let owner = self.topic_elsewhere(&req.topic);
        let s = self.sessions.get_mut(key).ok_or(HubError::UnknownSession)?;
        if let Some(id) = req.request {
            match s.cold.requests.get(Kind::Publish, id) {
                Some(Answer::Published(position)) => {
                    self.ack(key, id, position);
                    return Ok(());
                }
                // Acked when released.
                Some(Answer::Held) => return Ok(()),
                _ => {}
            }
        }
        if !s.cold.caps.may_publish(&req.topic) {
            return Err(HubError::Forbidden);
        }
        let tkey = *self
            .topic_names
            .get(req.topic.as_str())
            .ok_or(HubError::UnknownTopic)?;
        let timed = req.at.filter(|at| *at > now);
        // The owner holds a forwarded timed publish, and counts it there.
        if timed.is_some() && owner.is_none() && self.timed.len() >= self.config.max_timed {
            return Err(HubError::TimedFull);
        }
        if !s.cold.publishes.take(now) {
            return Err(HubError::RateLimited);
        }
        let data: Arc<[u8]> = Arc::from(req.data.as_bytes());
        if let Some(owner) = owner {
            // Answered when the owner's answer comes back.
            if let Some(id) = req.request {
                s.cold.requests.put(Kind::Publish, id, Answer::Held);
            }
            self.forward_publish(owner, tkey, data, req.at, Some((key, req.request)));
            return Ok(());
        }
        if let Some(at) = timed {
            let ack = match req.request {
                Some(id) => {
                    s.cold.requests.put(Kind::Publish, id, Answer::Held);
                    Ack::Local(key, id)
                }
                None => Ack::None,
            };
            // Within the bound: checked above, before the rate token.
            return self.hold(at, tkey, data, ack);
        }
        let position = self.publish_now(tkey, data, req.at, now);
        if let Some(id) = req.request {
            if let Some(s) = self.sessions.get_mut(key) {
                s.cold
                    .requests
                    .put(Kind::Publish, id, Answer::Published(position));
            }
            self.ack(key, id, position);
        }
        Ok(())
    }

    /// Refuses a publish whose answer came later than its arrival (held
    /// until `at`, or forwarded to its topic's owner) with an `error`, and
    /// forgets the request, so that a resend is judged afresh rather than
    /// waiting for an answer that will not come.
    pub(super) fn refuse_session(&mut self, key: Key, err: HubError, request: Option<RequestId>) {
        let Some(s) = self.sessions.get_mut(key) else {
            return;
        };
        if let Some(id) = request {
            s.cold.requests.forget(Kind::Publish, id);
        }
        let msg = error_msg(err, request, None);
        let frame = Frame::encode(&msg, s.codec);
        self.push_other(key, frame);
    }

    pub(super) fn ack(&mut self, key: Key, request: RequestId, position: crate::proto::Position) {
        let Some(codec) = self.sessions.get(key).map(|s| s.codec) else {
            return;
        };
        let msg = ServerMsg::PublishAck(PublishAck { request, position });
        self.push_other(key, Frame::encode(&msg, codec));
    }
}

/// The `error` frame's message for `err`.
pub(super) fn error_msg(
    err: HubError,
    request: Option<RequestId>,
    topic: Option<&Topic>,
) -> ServerMsg<'static> {
    let mut message = ErrorText::new();
    // Longer texts are cut at the limit; the code is what programs read.
    let _ = write!(message, "{err}");
    ServerMsg::Error(ErrorMsg {
        code: err.code(),
        request,
        message,
        topic: topic.cloned(),
    })
}
