//! The clients' half of `hub_ops` and `hub_shards`: every connection and
//! session as its client knows them, the client messages and server actions
//! built from fuzz bytes, what a hub owes for each message handed to it, and
//! the checks on what each client pulls, on queue bounds and on presence.

use std::collections::{BTreeMap, BTreeSet};

use onbeat_core::dispatch::{CloseCode, Codec, ConnId, Frame, Hub, HubConfig, TopicConfig};
use onbeat_core::proto::codec::{
    decode_json, decode_json_limited, decode_postcard, decode_postcard_limited, encode_json,
    encode_postcard,
};
use onbeat_core::proto::{
    ClientMsg, DEFAULT_MAX_FRAME, MemberId, Payload, Position, Publish, RequestId, ServerMsg,
    SessionId, Subscribe, Token,
};
use onbeat_core::time::Instant;

use super::bytes::Bytes;
use super::hub_model::{
    Accepted, CONTROL_BYTES, CONTROL_FRAMES, ConnModel, ROOMS, SessionModel, TOPICS, USERS,
    observe, topic,
};
use super::hub_pick as pick;
use super::hub_requests::Fold;

/// `msg` as a frame in `codec`.
pub(super) fn encode(codec: Codec, msg: &ClientMsg<'_>) -> Vec<u8> {
    match codec {
        Codec::Json => encode_json(msg).into_bytes(),
        _ => {
            let mut buf = vec![0u8; 4 * DEFAULT_MAX_FRAME];
            encode_postcard(msg, &mut buf)
                .expect("a built message fits")
                .to_vec()
        }
    }
}

/// `frame` as the hub will read it from a client speaking `codec`, with
/// frames past `max` bytes refused: `None` if it does not decode.
pub(super) fn decode(codec: Codec, frame: &[u8], max: usize) -> Option<ClientMsg<'_>> {
    match codec {
        Codec::Json => decode_json_limited::<ClientMsg<'_>>(frame, max).ok(),
        _ => decode_postcard_limited::<ClientMsg<'_>>(frame, max).ok(),
    }
}

/// `hub` holds `conn`'s queue, sessions and held publishes within the bounds
/// of `config` (a queue may use the control reserve).
pub(super) fn check_bounds(hub: &Hub, conns: impl Iterator<Item = u64>, config: &HubConfig) {
    for conn in conns {
        if let Some((frames, bytes)) = hub.queued(ConnId(conn)) {
            assert!(
                frames <= config.queue_messages + CONTROL_FRAMES,
                "{frames} frames queued for {conn}"
            );
            assert!(
                bytes <= config.queue_bytes + CONTROL_BYTES,
                "{bytes} bytes queued for {conn}"
            );
        }
    }
    assert!(hub.session_count() <= config.max_sessions);
    assert!(hub.timed_count() <= config.max_timed);
}

/// Once every connection is gone and every deadline passed, `hub` (`what`
/// it is) holds nothing.
pub(super) fn check_empty(hub: &Hub, what: &str) {
    assert_eq!(
        hub.session_count(),
        0,
        "sessions outlive their grace {what}"
    );
    assert_eq!(
        hub.timed_count(),
        0,
        "timed publishes held past their at {what}"
    );
}

/// Every client, as its side of the connection knows it.
pub(super) struct Clients {
    pub(super) conns: BTreeMap<u64, ConnModel>,
    pub(super) sessions: BTreeMap<SessionId, SessionModel>,
    /// Every resume token seen, with its session.
    pub(super) tokens: Vec<(Token, SessionId)>,
    /// Open topics with their settings and their position when opened.
    pub(super) topics: BTreeMap<&'static str, (TopicConfig, Position)>,
    /// Connections that have frames to pull.
    pub(super) woken: BTreeSet<u64>,
    /// The latest `at` of any timed publish.
    pub(super) last_at: Instant,
    /// Which resends one answer may serve.
    fold: Fold,
}

impl Clients {
    pub(super) fn new(now: Instant, fold: Fold) -> Self {
        Clients {
            conns: BTreeMap::new(),
            sessions: BTreeMap::new(),
            tokens: Vec::new(),
            topics: BTreeMap::new(),
            woken: BTreeSet::new(),
            last_at: now,
            fold,
        }
    }

    pub(super) fn session(&mut self, id: &SessionId) -> &mut SessionModel {
        self.sessions.entry(id.clone()).or_default()
    }

    /// `conn` was accepted, speaking `codec`.
    pub(super) fn connected(&mut self, conn: u64, codec: Codec) {
        self.conns.insert(
            conn,
            ConnModel {
                codec,
                welcomed: None,
                closing: None,
            },
        );
    }

    /// An optional `at` (see [`pick::at`]), remembered for the end.
    pub(super) fn at(&mut self, input: &mut Bytes<'_>, now: Instant) -> Option<Instant> {
        let at = pick::at(input, now)?;
        self.last_at = self.last_at.max(at);
        Some(at)
    }

    /// A resume token seen (the later ones likelier), a bogus one, or none.
    pub(super) fn resume(&self, input: &mut Bytes<'_>) -> Option<Token> {
        match input.byte() % 4 {
            0 | 1 if !self.tokens.is_empty() => {
                let i = input.below(self.tokens.len());
                Some(self.tokens[self.tokens.len() - 1 - i].0.clone())
            }
            2 => Token::try_from("bogus").ok(),
            _ => None,
        }
    }

    /// A `subscribe` without `since`, from an arbitrary one, or from an
    /// early offset of an open topic's epoch.
    pub(super) fn subscribe(&self, input: &mut Bytes<'_>) -> Subscribe {
        let topic = topic(input.pick(TOPICS));
        let since = match input.byte() % 4 {
            0 => None,
            1 => Some(Position {
                epoch: input.u64(),
                offset: input.u64(),
            }),
            _ => self.topics.get(topic.as_str()).map(|(_, p)| Position {
                epoch: p.epoch,
                offset: u64::from(input.byte() % 16),
            }),
        };
        Subscribe { topic, since }
    }

    /// A client's `publish`, perhaps timed, perhaps with a request id.
    pub(super) fn publish<'a>(&mut self, input: &mut Bytes<'a>, now: Instant) -> Publish<'a> {
        let topic = topic(input.pick(TOPICS));
        let at = self.at(input, now);
        // Ids 8 to 15; inputs use 0 to 7.
        let request = input.bool().then(|| RequestId::from(8 + input.byte() % 8));
        let data = input.take(48);
        Publish {
            topic,
            data: Payload::new(data),
            at,
            request,
        }
    }

    /// A server's publish through `hub`, perhaps timed.
    pub(super) fn server_publish(&mut self, hub: &mut Hub, input: &mut Bytes<'_>, now: Instant) {
        let name = input.pick(TOPICS);
        let at = self.at(input, now);
        let data = input.take(48);
        let _ = hub.publish(name, data, at, now);
    }

    /// A server's targeted send through `hub`: to a session seen, to a
    /// user, or to a room.
    pub(super) fn targeted(&self, hub: &mut Hub, input: &mut Bytes<'_>) {
        let data = input.take(16);
        match input.byte() % 3 {
            0 => {
                let ids: Vec<&SessionId> = self.sessions.keys().collect();
                if !ids.is_empty() {
                    let id = ids[input.below(ids.len())];
                    let _ = hub.send_to_session(id, data);
                }
            }
            1 => {
                let user = MemberId::try_from(input.pick(USERS)).expect("short id");
                hub.send_to_user(&user, data);
            }
            _ => {
                let _ = hub.send_to_room(input.pick(ROOMS), data);
            }
        }
    }

    /// Records what `hub` owes for `msg`, about to be handled on `conn` at
    /// `now`; returns the session it is handled in, if any.
    pub(super) fn before(
        &mut self,
        hub: &Hub,
        conn: u64,
        msg: Option<&ClientMsg<'_>>,
        now: Instant,
    ) -> Option<SessionId> {
        if self.conns.get(&conn)?.closing.is_some() {
            return None;
        }
        let session = hub.session_of(ConnId(conn)).cloned();
        let fold = self.fold;
        match (msg, session.clone()) {
            (Some(ClientMsg::Input(input)), Some(id)) => {
                self.session(&id).requests.input_sent(input.request, fold);
            }
            (Some(ClientMsg::Publish(p)), Some(id)) => {
                if let Some(r) = p.request {
                    let requests = &mut self.session(&id).requests;
                    requests.publish_sent(r, p.at, now, fold);
                }
            }
            (Some(ClientMsg::Hello(h)), None) => {
                // A resume may drop queued answers (a new codec empties the
                // queue); the client resends those requests.
                let resumed = h
                    .resume
                    .as_ref()
                    .and_then(|t| self.tokens.iter().find(|(token, _)| token == t))
                    .map(|(_, id)| id.clone());
                if let Some(id) = resumed {
                    self.session(&id).excuse();
                }
            }
            _ => {}
        }
        session
    }

    /// Records what the hub's acceptance (`ok`) of a message `accepted`
    /// from it in `session` means for the model.
    pub(super) fn after(
        &mut self,
        session: Option<SessionId>,
        accepted: Option<Accepted>,
        ok: bool,
    ) {
        let (Some(id), Some(Accepted::Subscribe(topic, since)), true) = (session, accepted, ok)
        else {
            return;
        };
        self.session(&id)
            .since
            .entry(topic)
            .or_default()
            .push_back(since);
    }

    /// The hub asked for `conn`, of `session`, to be closed with `code`:
    /// answers queued for it may be lost.
    pub(super) fn closed(&mut self, conn: u64, code: CloseCode, session: Option<SessionId>) {
        let c = self
            .conns
            .get_mut(&conn)
            .unwrap_or_else(|| panic!("close of {conn}, which is not connected"));
        assert!(c.closing.is_none(), "{conn} closed twice");
        c.closing = Some(code);
        self.woken.insert(conn);
        if let Some(id) = session {
            self.session(&id).excuse();
        }
    }

    /// Checks the frames `conn` pulled within `budget` at `now`, handing each
    /// to `also` first.
    pub(super) fn pulled(
        &mut self,
        conn: u64,
        out: &[Frame],
        budget: usize,
        now: Instant,
        mut also: impl FnMut(&ServerMsg<'_>),
    ) {
        let c = self.conns.get_mut(&conn).expect("a connection has a model");
        if c.welcomed.is_some() && c.closing.is_none() && out.len() > 1 {
            let total: usize = out.iter().map(|f| f.len()).sum();
            assert!(
                total - out[0].len() <= budget,
                "{} frames of {total} bytes pulled within {budget}",
                out.len()
            );
        }
        for frame in out {
            let msg = match c.codec {
                Codec::Json => decode_json::<ServerMsg<'_>>(frame),
                _ => decode_postcard::<ServerMsg<'_>>(frame),
            };
            let msg = msg.unwrap_or_else(|e| panic!("undecodable frame {frame:?}: {e:?}"));
            also(&msg);
            observe(c, conn, &msg, now, &mut self.sessions, &mut self.tokens);
        }
    }

    /// With `conn`'s queue read at `now`: if the connection is live and its
    /// session still on `hub`, every request of the session was answered,
    /// but for those excused, folded or held.
    pub(super) fn check_answered(&self, hub: &Hub, conn: u64, now: Instant) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let (Some(id), None) = (&c.welcomed, c.closing) else {
            return;
        };
        if hub.session_of(ConnId(conn)) != Some(id) {
            return;
        }
        if let Some(s) = self.sessions.get(id) {
            s.requests.check_answered(id, now);
        }
    }

    /// With every queue read: if session `id` is a member of `room` on `hub`
    /// with a live connection there, its client lists exactly `users`.
    pub(super) fn check_view(
        &self,
        hub: &Hub,
        id: &SessionId,
        room: &str,
        users: &BTreeSet<&MemberId>,
    ) {
        let live = self.conns.iter().any(|(&conn, c)| {
            c.welcomed.as_ref() == Some(id)
                && c.closing.is_none()
                && hub.session_of(ConnId(conn)) == Some(id)
        });
        if !live {
            return;
        }
        let view = self
            .sessions
            .get(id)
            .and_then(|s| s.presence.get(room))
            .map(|v| v.members.iter().collect::<BTreeSet<_>>());
        assert_eq!(
            view.as_ref(),
            Some(users),
            "{id} lists {view:?} in {room}, whose users are {users:?}"
        );
    }
}
