//! What the `hub_ops` and `hub_shards` models know of connections, sessions
//! and their streams (their requests are in `hub_requests.rs`), and the
//! checks on each pulled frame's offsets and answers, with the names and
//! room logic both targets use.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use onbeat_core::dispatch::{CloseCode, Codec, RoomCtx, RoomInput, RoomLogic};
use onbeat_core::proto::{
    ClientMsg, MemberId, Position, PresenceEvent, RejectCode, Room, ServerMsg, SessionId,
    Subscribed, Token, Topic,
};
use onbeat_core::time::{Duration, Instant};

use super::hub_requests::Requests;

/// The room logic's timed publishes are this much ahead per unit of the
/// input's first byte: at most [`LOGIC_AHEAD`].
const LOGIC_STEP: Duration = Duration::from_millis(10);
/// How far ahead of an input's judging the room logic may publish.
pub(super) const LOGIC_AHEAD: Duration = Duration::from_millis(10 * 255);

/// The control reserve a queue may use beyond its bounds (`docs/dispatch.md`,
/// "Frames and queues"), plus one `welcome`, which is put first regardless.
pub(super) const CONTROL_FRAMES: usize = 8 + 1;
pub(super) const CONTROL_BYTES: usize = 16 * 1024 + 1024;

/// Names in play: few, so that they collide.
pub(super) const TOPICS: &[&str] = &["a", "b", "r/x", "r/y", "s/z", "@inbox", "q/"];
pub(super) const ROOMS: &[&str] = &["r", "s", "q"];
pub(super) const USERS: &[&str] = &["u0", "u1", "u2"];
pub(super) const PATTERNS: &[&str] = &["*", "*/*", "r/*", "a", "r", "s", "b", "s/*"];
pub(super) const INBOX: &str = "@inbox";

/// A room logic that decides by the first byte of each input, and acts
/// through its context as an application would.
pub(super) struct Logic;

impl RoomLogic for Logic {
    fn on_input(&mut self, ctx: &mut RoomCtx<'_>, input: &RoomInput<'_>) -> Result<(), RejectCode> {
        let Some(&first) = input.data.first() else {
            return Ok(());
        };
        let mut topic = Topic::new();
        // Room names are short enough for `<room>/x` to fit a topic.
        let _ = topic.push_str(ctx.room());
        let _ = topic.push_str("/x");
        let now = ctx.now();
        match first % 6 {
            0 => return Err(RejectCode::Invalid),
            1 => ctx.publish(topic, input.data, None),
            2 => ctx.publish(
                topic,
                input.data,
                Some(now + Duration::from_micros(LOGIC_STEP.as_micros() * u64::from(first))),
            ),
            3 => ctx.send_to_room(input.data),
            4 => ctx.send_to_user(input.user.clone(), input.data),
            _ => ctx.send_to_session(input.session.clone(), input.data),
        }
        Ok(())
    }

    fn on_presence(&mut self, ctx: &mut RoomCtx<'_>, user: &MemberId, joined: bool) {
        if joined {
            ctx.send_to_user(user.clone(), b"hi");
        }
    }
}

/// What the model knows of one connection.
#[derive(Debug)]
pub(super) struct ConnModel {
    pub(super) codec: Codec,
    /// The session its `welcome` named.
    pub(super) welcomed: Option<SessionId>,
    /// The `Close` the hub asked for.
    pub(super) closing: Option<CloseCode>,
}

/// Where a stream of one topic must continue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Nothing known yet (no `subscribed` pulled in this session: it was lost
    /// with a closed connection or dropped by a codec change).
    Unknown,
    /// Exactly this offset.
    Exactly(u64),
    /// A replay from a `since` no later than this offset.
    AtMost(u64),
}

#[derive(Debug)]
pub(super) struct Stream {
    pub(super) epoch: Option<u64>,
    pub(super) next: Next,
}

/// A client's presence list of one room, as built from what it pulled.
#[derive(Debug, Default)]
pub(super) struct PresenceView {
    pub(super) members: BTreeSet<MemberId>,
    /// A snapshot spanning several frames, until its last.
    partial: Option<BTreeSet<MemberId>>,
}

impl PresenceView {
    pub(super) fn apply(&mut self, event: &PresenceEvent) {
        match event {
            PresenceEvent::Join(user) => {
                self.members.insert(user.clone());
            }
            PresenceEvent::Leave(user) => {
                self.members.remove(user);
            }
            PresenceEvent::Snapshot { members, more } => {
                let partial = self.partial.get_or_insert_default();
                partial.extend(members.iter().cloned());
                if !more {
                    self.members = self.partial.take().unwrap_or_default();
                }
            }
            _ => {}
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct SessionModel {
    pub(super) streams: BTreeMap<Topic, Stream>,
    /// The `since` of each `subscribe` the hub accepted and has not been
    /// seen answering yet, oldest first, per topic: `subscribed` answers come
    /// in the order of their requests (an earlier one still queued is
    /// followed by no delivery of its own, which the hub drops on the
    /// resubscribe). Moved to `may_come` on a resume or a close.
    pub(super) since: BTreeMap<Topic, VecDeque<Option<Position>>>,
    /// The `since` of subscribes accepted before the latest resume (or
    /// close) and not seen answered, oldest first, per topic. Their answers
    /// may still come, ahead of any answer to a later subscribe (a resume
    /// keeps the queue, or the latest `subscribed` of a subscription that
    /// no delivery preceded), or never.
    pub(super) may_come: BTreeMap<Topic, VecDeque<Option<Position>>>,
    /// Inputs and publishes with a request id, and their answers.
    pub(super) requests: Requests,
    pub(super) inbox_last: Option<u64>,
    /// Presence lists per room.
    pub(super) presence: BTreeMap<Room, PresenceView>,
}

impl SessionModel {
    /// Answers outstanding now may never come.
    pub(super) fn excuse(&mut self) {
        for (topic, pending) in core::mem::take(&mut self.since) {
            self.may_come.entry(topic).or_default().extend(pending);
        }
        self.requests.excuse();
    }
}

/// The stream of `topic` in session `s`, checked to be in `epoch`.
pub(super) fn stream<'s>(s: &'s mut SessionModel, topic: &Topic, epoch: u64) -> &'s mut Stream {
    let stream = s.streams.entry(topic.clone()).or_insert(Stream {
        epoch: None,
        next: Next::Unknown,
    });
    let expected = *stream.epoch.get_or_insert(epoch);
    assert_eq!(
        epoch, expected,
        "{topic}: epoch changed without a subscribed"
    );
    stream
}

pub(super) fn check_next(next: Next, offset: u64, topic: &Topic) {
    match next {
        Next::Unknown => {}
        Next::Exactly(n) => assert_eq!(offset, n, "{topic}: offset {offset} where {n} was due"),
        Next::AtMost(n) => assert!(offset <= n, "{topic}: replay from {offset}, past {n}"),
    }
}

/// What the model learns when the hub accepts a message.
pub(super) enum Accepted {
    Subscribe(Topic, Option<Position>),
}

impl Accepted {
    pub(super) fn of(msg: &ClientMsg<'_>) -> Option<Accepted> {
        match msg {
            ClientMsg::Subscribe(s) => Some(Accepted::Subscribe(s.topic.clone(), s.since)),
            _ => None,
        }
    }
}

/// Checks one frame pulled by `conn`, whose model is `c`, at `now`; records
/// what it tells of its session and resume token.
pub(super) fn observe(
    c: &mut ConnModel,
    conn: u64,
    msg: &ServerMsg<'_>,
    now: Instant,
    sessions: &mut BTreeMap<SessionId, SessionModel>,
    tokens: &mut Vec<(Token, SessionId)>,
) {
    if let ServerMsg::Welcome(w) = msg {
        assert!(c.welcomed.is_none(), "second welcome on {conn}");
        c.welcomed = Some(w.session.clone());
        tokens.push((w.resume.clone(), w.session.clone()));
        sessions.entry(w.session.clone()).or_default();
        return;
    }
    let Some(id) = c.welcomed.clone() else {
        assert!(
            matches!(msg, ServerMsg::Error(_)),
            "{msg:?} before welcome on {conn}"
        );
        return;
    };
    let replaced = c.closing == Some(CloseCode::Replaced);
    let s = sessions.entry(id.clone()).or_default();
    match msg {
        ServerMsg::Deliver(d) => {
            assert!(!replaced, "delivery to {conn} after it was replaced");
            if let Some(at) = d.at {
                assert!(at <= now, "timed delivery at {at:?} pulled at {now:?}");
            }
            if d.topic == INBOX {
                assert!(
                    s.inbox_last.is_none_or(|last| d.offset > last),
                    "inbox offset {} after {:?}",
                    d.offset,
                    s.inbox_last
                );
                s.inbox_last = Some(d.offset);
                return;
            }
            let stream = stream(s, &d.topic, d.epoch);
            check_next(stream.next, d.offset, &d.topic);
            stream.next = Next::Exactly(d.offset + 1);
        }
        ServerMsg::Gap(g) => {
            assert!(g.from < g.to, "empty gap {g:?}");
            let stream = stream(s, &g.topic, g.epoch);
            check_next(stream.next, g.from, &g.topic);
            stream.next = Next::Exactly(g.to);
        }
        ServerMsg::Subscribed(sub) => {
            let since = answered_since(s, sub);
            let next = match since {
                // The replay starts exactly at `since`.
                Some(since) if sub.recovered && since.epoch == sub.position.epoch => {
                    assert!(
                        since.offset <= sub.position.offset,
                        "{}: recovered from {since:?}, ahead of {:?}",
                        sub.topic,
                        sub.position
                    );
                    Next::Exactly(since.offset)
                }
                _ if sub.recovered => Next::AtMost(sub.position.offset),
                _ => Next::Exactly(sub.position.offset),
            };
            s.streams.insert(
                sub.topic.clone(),
                Stream {
                    epoch: Some(sub.position.epoch),
                    next,
                },
            );
        }
        ServerMsg::Presence(p) => {
            s.presence
                .entry(p.room.clone())
                .or_default()
                .apply(&p.event);
        }
        ServerMsg::InputResult(r) => s.requests.input_answered(r.request, &id),
        ServerMsg::PublishAck(a) => s.requests.publish_answered(a.request, &id),
        ServerMsg::Error(e) => {
            if let Some(r) = e.request {
                s.requests.error_answered(r, &id);
            }
        }
        _ => {}
    }
}

/// The `since` of the subscribe `sub` answers: one from before a resume
/// if it fits (the earlier ones then never come), else the oldest pending.
fn answered_since(s: &mut SessionModel, sub: &Subscribed) -> Option<Position> {
    if let Some(old) = s.may_come.get_mut(&sub.topic) {
        if let Some(i) = old.iter().position(|since| answers(sub, *since)) {
            let since = old[i];
            old.drain(..=i);
            return since;
        }
        // None fits: those answers were dropped, and no later one of theirs
        // can come after this answer to a newer subscribe.
        s.may_come.remove(&sub.topic);
    }
    s.since
        .get_mut(&sub.topic)
        .and_then(|pending| pending.pop_front())
        .flatten()
}

/// Whether `sub` can be the answer to a subscribe from `since`: only one
/// from a position may be recovered, and only one without says nothing of
/// why it was not.
fn answers(sub: &Subscribed, since: Option<Position>) -> bool {
    match since {
        None => !sub.recovered && sub.reason.is_none(),
        Some(p) if sub.recovered => {
            p.epoch == sub.position.epoch && p.offset <= sub.position.offset
        }
        Some(_) => sub.reason.is_some(),
    }
}

pub(super) fn topic(name: &str) -> Topic {
    Topic::try_from(name).expect("short name")
}
