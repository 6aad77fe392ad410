//! What the `hub_ops` model knows of connections, sessions and their
//! streams and requests, and the checks on each pulled frame's offsets and
//! answers.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use onbeat_core::dispatch::{CloseCode, Codec};
use onbeat_core::proto::{
    ClientMsg, MemberId, Position, PresenceEvent, RequestId, Room, SessionId, Topic,
};
use onbeat_core::time::Instant;

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

/// Answers owed for one input request id of one session.
#[derive(Debug, Default)]
pub(super) struct Owed {
    pub(super) sent: u32,
    pub(super) answered: u32,
    /// Answers that may have been lost (closed connection, resume).
    pub(super) excused: u32,
}

/// Answers owed for one publish request id of one session.
#[derive(Debug, Default)]
pub(super) struct PublishOwed {
    pub(super) owed: Owed,
    /// Sends made while an earlier timed send of the id may still be held:
    /// the hub answers them with the held one's release.
    pub(super) folded: u32,
    /// The latest `at` of a timed send: until then an answer may be held.
    pub(super) held_until: Option<Instant>,
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
    /// resubscribe). Emptied on a resume, which may drop queued answers.
    pub(super) since: BTreeMap<Topic, VecDeque<Option<Position>>>,
    pub(super) inputs: BTreeMap<RequestId, Owed>,
    /// Publishes with a request id (ids apart from those of inputs, so that
    /// an `error` names one or the other).
    pub(super) publishes: BTreeMap<RequestId, PublishOwed>,
    pub(super) inbox_last: Option<u64>,
    /// Presence lists per room.
    pub(super) presence: BTreeMap<Room, PresenceView>,
}

impl SessionModel {
    /// Answers outstanding now may never come.
    pub(super) fn excuse(&mut self) {
        self.since.clear();
        let publishes = self.publishes.values_mut().map(|p| &mut p.owed);
        for owed in self.inputs.values_mut().chain(publishes) {
            owed.excused = owed.sent - owed.answered;
        }
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

pub(super) fn answer(s: &mut SessionModel, request: RequestId, id: &SessionId) {
    let owed = s
        .inputs
        .get_mut(&request)
        .unwrap_or_else(|| panic!("answer to input {request}, never sent by {id}"));
    count_answer(owed, "input", request, id);
}

pub(super) fn answer_publish(s: &mut SessionModel, request: RequestId, id: &SessionId) {
    let owed = s
        .publishes
        .get_mut(&request)
        .unwrap_or_else(|| panic!("answer to publish {request}, never sent by {id}"));
    count_answer(&mut owed.owed, "publish", request, id);
}

/// Counts one answer to a `kind` request: never more than it was sent.
pub(super) fn count_answer(owed: &mut Owed, kind: &str, request: RequestId, id: &SessionId) {
    owed.answered += 1;
    assert!(
        owed.answered <= owed.sent,
        "{kind} {request} of {id} sent {} times, answered {} times",
        owed.sent,
        owed.answered
    );
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
