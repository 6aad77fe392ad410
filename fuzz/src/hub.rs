//! Drives a [`Hub`] through an arbitrary sequence of inputs decoded from fuzz
//! bytes, acting as its shell and as every client at once, and checks after
//! every step what can be checked from outside.
//!
//! The inputs: connections with arbitrary capabilities and codecs; frames that
//! are valid messages built from the bytes, valid ones with a byte flipped,
//! and raw garbage; disconnects; timeouts at arbitrary times; pulls with
//! arbitrary byte budgets; server publishes, timed or not; topics and rooms
//! opened and closed; targeted sends; inputs judged by a room logic that
//! itself publishes and sends.
//!
//! Checked:
//!
//! - nothing panics;
//! - queues stay within their bounds plus the documented control reserve
//!   (`Hub::queued`), histories within theirs (`Hub::retained`), sessions and
//!   held publishes within theirs;
//! - every pulled frame decodes in the connection's codec; nothing but
//!   errors precedes a `welcome`, and a connection is welcomed once;
//! - every `input` the hub handled on a session gets exactly one answer
//!   (`input_result`, or `error` with its request id): never two, and none
//!   missing once the session's queue is drained, unless its connection was
//!   closed or the session was resumed in the meantime (the documented
//!   losses, repaired by resending);
//! - likewise every `publish` with a request id gets one `publish_ack` or
//!   `error`: a timed one once its `at` has passed, and a resend while the
//!   first is still held none of its own (the release answers both);
//! - no frame is pulled for a connection that is gone, and no delivery for
//!   one that was replaced by a resume;
//! - a timed message is never delivered before its `at`;
//! - per session and topic, `deliver` and `gap` frames follow each other
//!   without a hole or a repeat in one epoch: from the offset a
//!   `subscribed{recovered: false}` names, or exactly from the `since` of
//!   the `subscribe` a `subscribed{recovered: true}` answers (no message
//!   missed, none repeated);
//!   inbox offsets strictly increase;
//! - once every queue is read, every connected member of a room's presence
//!   lists exactly the room's users (`Hub::presence`);
//! - once every connection is gone and the grace and every `at` have passed,
//!   no session and no held publish is left.
//!
//! `onbeat-tests` includes this file by path (with `bytes.rs`, `hub_model.rs`
//! and `hub_pick.rs`), so it depends
//! on nothing but onbeat-core and std.

use std::collections::{BTreeMap, BTreeSet};

use onbeat_core::dispatch::{Codec, ConnId, Frame, Hub, HubConfig, HubOutput, TopicConfig};
use onbeat_core::proto::codec::{
    decode_json, decode_json_limited, decode_postcard, decode_postcard_limited, encode_json,
    encode_postcard,
};
use onbeat_core::proto::{
    ClientMsg, ClockPing, DEFAULT_MAX_FRAME, Hello, Input, MemberId, PROTOCOL_VERSION, Payload,
    Position, Publish, RequestId, Room, ServerMsg, SessionId, Subscribe, Token, Unsubscribe,
};
use onbeat_core::time::{Duration, Instant};

use super::bytes::Bytes;
use super::hub_model as model;
use super::hub_pick as pick;

use model::{
    Accepted, CONTROL_BYTES, CONTROL_FRAMES, ConnModel, INBOX, Logic, ROOMS, SessionModel, TOPICS,
    USERS, observe, topic,
};

/// Operations per input: long enough for resumes, overflows and expiries.
const MAX_OPS: usize = 256;
/// Connection ids in play; a small set so that they are reused.
const CONNS: u64 = 6;

/// Whether to print every step (`ONBEAT_FUZZ_TRACE=1`), to read a failure.
fn tracing() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("ONBEAT_FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($arg:tt)*) => {
        if tracing() {
            eprintln!($($arg)*);
        }
    };
}

/// Runs the script in `data`; panics when a promise is broken.
pub fn run(data: &[u8]) {
    let mut input = Bytes(data);
    let mut world = World::new(&mut input);
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        world.step(&mut input);
    }
    world.finish();
}

struct World {
    hub: Hub,
    config: HubConfig,
    now: Instant,
    conns: BTreeMap<u64, ConnModel>,
    sessions: BTreeMap<SessionId, SessionModel>,
    /// Every resume token seen, with its session.
    tokens: Vec<(Token, SessionId)>,
    /// Open topics with their settings and their position when opened.
    topics: BTreeMap<&'static str, (TopicConfig, Position)>,
    /// Connections that have frames to pull.
    woken: BTreeSet<u64>,
    /// The latest `at` of any timed publish.
    last_at: Instant,
}

impl World {
    fn new(input: &mut Bytes<'_>) -> Self {
        let config = pick::config(input);
        let now = Instant::from_millis(1_000);
        let mut seed = [0u8; 32];
        seed[0] = input.byte();
        World {
            hub: Hub::new(config.clone(), seed, u64::from(input.u16()), now),
            config,
            now,
            conns: BTreeMap::new(),
            sessions: BTreeMap::new(),
            tokens: Vec::new(),
            topics: BTreeMap::new(),
            woken: BTreeSet::new(),
            last_at: now,
        }
    }

    fn step(&mut self, input: &mut Bytes<'_>) {
        let op = input.byte() % 22;
        trace!("op {op}");
        match op {
            0 => self.connect(input),
            1 => {
                let conn = input.below(CONNS as usize) as u64;
                let resume = match input.byte() % 4 {
                    0 | 1 if !self.tokens.is_empty() => {
                        let i = input.below(self.tokens.len());
                        Some(self.tokens[self.tokens.len() - 1 - i].0.clone())
                    }
                    2 => Token::try_from("bogus").ok(),
                    _ => None,
                };
                let version = if input.byte() == 0xff {
                    PROTOCOL_VERSION + 1
                } else {
                    PROTOCOL_VERSION
                };
                let hello = Hello {
                    version,
                    resume,
                    auth: None,
                };
                self.send(input, conn, ClientMsg::Hello(hello));
            }
            2 => {
                let conn = input.below(CONNS as usize) as u64;
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
                self.send(
                    input,
                    conn,
                    ClientMsg::Subscribe(Subscribe { topic, since }),
                );
            }
            3 => {
                let conn = input.below(CONNS as usize) as u64;
                let topic = topic(input.pick(TOPICS));
                self.send(input, conn, ClientMsg::Unsubscribe(Unsubscribe { topic }));
            }
            4 => {
                let conn = input.below(CONNS as usize) as u64;
                let topic = topic(input.pick(TOPICS));
                let at = self.at(input);
                // Ids 8 to 15; inputs use 0 to 7.
                let request = input.bool().then(|| RequestId::from(8 + input.byte() % 8));
                let data = input.take(48);
                let msg = ClientMsg::Publish(Publish {
                    topic,
                    data: Payload::new(data),
                    at,
                    request,
                });
                self.send(input, conn, msg);
            }
            5 => {
                let conn = input.below(CONNS as usize) as u64;
                let room = Room::try_from(input.pick(ROOMS)).expect("short name");
                let request = RequestId::from(input.byte() % 8);
                let round = input.bool().then(|| u32::from(input.byte() % 4));
                let data = input.take(16);
                let msg = ClientMsg::Input(Input {
                    room,
                    request,
                    round,
                    data: Payload::new(data),
                });
                self.send(input, conn, msg);
            }
            6 => {
                let conn = input.below(CONNS as usize) as u64;
                let ping = ClockPing {
                    seq: input.u32(),
                    t1: Instant::from_micros(input.u64()),
                };
                self.send(input, conn, ClientMsg::Ping(ping));
            }
            7 => {
                let conn = input.below(CONNS as usize) as u64;
                let frame = input.take(64).to_vec();
                self.frame(conn, &frame);
            }
            8 => self.advance(input),
            9 => {
                let conn = input.below(CONNS as usize) as u64;
                trace!("{:?} disconnect {conn}", self.now);
                self.hub.handle_disconnect(ConnId(conn), self.now);
                self.conns.remove(&conn);
                self.woken.remove(&conn);
                self.settle();
            }
            10 => {
                if let Some(at) = self.hub.poll_timeout() {
                    self.timeout(at);
                }
            }
            11 | 12 => {
                let conn = input.below(CONNS as usize) as u64;
                let budget = input.pick(&[0, 1, 60, 300, 1 << 16]);
                self.pull(conn, budget);
            }
            13 => self.pull_woken(),
            14 => {
                let topic = input.pick(TOPICS);
                let at = self.at(input);
                let data = input.take(48);
                let _ = self.hub.publish(topic, data, at, self.now);
                self.settle();
            }
            15 => {
                let name = input.pick(TOPICS);
                if name == INBOX {
                    return;
                }
                let config = pick::topic_config(input);
                if let Ok(position) = self.hub.open_topic(name, config) {
                    self.topics.insert(name, (config, position));
                }
                self.settle();
            }
            16 => {
                let name = input.pick(TOPICS);
                if self.hub.close_topic(name, self.now).is_ok() {
                    self.topics.remove(name);
                }
                self.settle();
            }
            17 => {
                let name = input.pick(ROOMS);
                let schedule = pick::schedule(input);
                let _ = self
                    .hub
                    .open_room(name, schedule, Box::new(Logic), self.now);
                self.settle();
            }
            18 => {
                let _ = self.hub.close_room(input.pick(ROOMS));
                self.settle();
            }
            19 => {
                let data = input.take(16);
                match input.byte() % 3 {
                    0 => {
                        let ids: Vec<SessionId> = self.sessions.keys().cloned().collect();
                        if !ids.is_empty() {
                            let id = &ids[input.below(ids.len())];
                            let _ = self.hub.send_to_session(id, data);
                        }
                    }
                    1 => {
                        let user = MemberId::try_from(input.pick(USERS)).expect("short id");
                        self.hub.send_to_user(&user, data);
                    }
                    _ => {
                        let _ = self.hub.send_to_room(input.pick(ROOMS), data);
                    }
                }
                self.settle();
            }
            20 => {
                // A timer that fires late, or a stale one that fires early.
                let at = Instant::from_micros(
                    self.now
                        .as_micros()
                        .saturating_add_signed(i64::from(input.u16() as i16) * 100),
                );
                self.timeout(at);
            }
            _ => {
                let conn = input.below(CONNS as usize) as u64;
                self.mutated(input, conn);
            }
        }
    }

    fn connect(&mut self, input: &mut Bytes<'_>) {
        let conn = input.below(CONNS as usize) as u64;
        let caps = pick::caps(input, self.now);
        let codec = pick::codec(input);
        let known = self.conns.contains_key(&conn);
        trace!("{:?} connect {conn} {codec:?} {caps:?}", self.now);
        let result = self.hub.handle_connect(ConnId(conn), caps, codec, self.now);
        trace!("  -> {result:?}");
        assert!(
            !known || result.is_err(),
            "a connection id in use must be refused"
        );
        if result.is_ok() {
            self.conns.insert(
                conn,
                ConnModel {
                    codec,
                    welcomed: None,
                    closing: None,
                },
            );
        }
        self.settle();
    }

    /// An optional `at`: none, in the past, now, or up to two seconds ahead.
    fn at(&mut self, input: &mut Bytes<'_>) -> Option<Instant> {
        let at = pick::at(input, self.now)?;
        self.last_at = self.last_at.max(at);
        Some(at)
    }

    fn advance(&mut self, input: &mut Bytes<'_>) {
        let step = match input.byte() % 3 {
            0 => u64::from(input.byte()),
            1 => u64::from(input.u16()) * 10,
            _ => u64::from(input.byte()) * 20_000,
        };
        let at = self.now + Duration::from_micros(step);
        self.timeout(at);
    }

    fn timeout(&mut self, at: Instant) {
        trace!("timeout {at:?}");
        self.now = self.now.max(at);
        self.hub.handle_timeout(at);
        self.settle();
    }

    /// Sends `msg` on `conn`: decoded by the shell, or encoded in the
    /// connection's codec and handed over as a frame.
    fn send(&mut self, input: &mut Bytes<'_>, conn: u64, msg: ClientMsg<'_>) {
        if input.byte().is_multiple_of(4) {
            let session = self.before(conn, Some(&msg));
            trace!("{:?} message {conn}: {msg:?}", self.now);
            let after = Accepted::of(&msg);
            let r = self.hub.handle_message(ConnId(conn), msg, self.now);
            trace!("  -> {r:?}");
            self.after(session, after, r.is_ok());
            self.settle();
            return;
        }
        let frame = self.encode(conn, &msg);
        self.frame(conn, &frame);
    }

    fn encode(&self, conn: u64, msg: &ClientMsg<'_>) -> Vec<u8> {
        match self.conns.get(&conn).map_or(Codec::Postcard, |c| c.codec) {
            Codec::Json => encode_json(msg).into_bytes(),
            _ => {
                let mut buf = vec![0u8; 4 * DEFAULT_MAX_FRAME];
                encode_postcard(msg, &mut buf)
                    .expect("a built message fits")
                    .to_vec()
            }
        }
    }

    /// A valid message with one byte changed.
    fn mutated(&mut self, input: &mut Bytes<'_>, conn: u64) {
        let msg = match input.byte() % 3 {
            0 => ClientMsg::Hello(Hello {
                version: PROTOCOL_VERSION,
                resume: None,
                auth: None,
            }),
            1 => ClientMsg::Subscribe(Subscribe {
                topic: topic(input.pick(TOPICS)),
                since: None,
            }),
            _ => ClientMsg::Input(Input {
                room: Room::try_from(input.pick(ROOMS)).expect("short name"),
                request: RequestId::from(input.byte() % 8),
                round: None,
                data: Payload::new(b"\"x\""),
            }),
        };
        let mut frame = self.encode(conn, &msg);
        let i = input.below(frame.len().max(1)) % frame.len();
        frame[i] ^= input.byte() | 1;
        self.frame(conn, &frame);
    }

    /// Hands `frame` to the hub, telling the model what the hub will see.
    fn frame(&mut self, conn: u64, frame: &[u8]) {
        let max = self.config.max_frame as usize;
        let msg = match self.conns.get(&conn).map(|c| c.codec) {
            Some(Codec::Json) => decode_json_limited::<ClientMsg<'_>>(frame, max).ok(),
            Some(_) => decode_postcard_limited::<ClientMsg<'_>>(frame, max).ok(),
            None => None,
        };
        let session = self.before(conn, msg.as_ref());
        trace!("{:?} frame {conn}: {msg:?}", self.now);
        let after = msg.as_ref().and_then(Accepted::of);
        let r = self.hub.handle_frame(ConnId(conn), frame, self.now);
        trace!("  -> {r:?}");
        self.after(session, after, r.is_ok());
        self.settle();
    }

    /// Records what the hub's acceptance of a message means for the model.
    fn after(&mut self, session: Option<SessionId>, accepted: Option<Accepted>, ok: bool) {
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

    /// Records what the hub owes for `msg`, about to be handled on `conn`;
    /// returns the session it is handled in, if any.
    fn before(&mut self, conn: u64, msg: Option<&ClientMsg<'_>>) -> Option<SessionId> {
        let c = self.conns.get(&conn)?;
        if c.closing.is_some() {
            return None;
        }
        let session = self.hub.session_of(ConnId(conn)).cloned();
        let now = self.now;
        match (msg, session.clone()) {
            (Some(ClientMsg::Input(input)), Some(id)) => {
                let owed = self.session(&id).inputs.entry(input.request).or_default();
                owed.sent += 1;
            }
            (Some(ClientMsg::Publish(p)), Some(id)) => {
                if let Some(r) = p.request {
                    let owed = self.session(&id).publishes.entry(r).or_default();
                    owed.owed.sent += 1;
                    if owed.held_until.is_some_and(|until| now < until) {
                        owed.folded += 1;
                    }
                    if let Some(at) = p.at.filter(|at| *at > now) {
                        owed.held_until = owed.held_until.max(Some(at));
                    }
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

    fn session(&mut self, id: &SessionId) -> &mut SessionModel {
        self.sessions.entry(id.clone()).or_default()
    }

    /// Takes the hub's outputs and checks its bounds.
    fn settle(&mut self) {
        while let Some(out) = self.hub.poll_output() {
            trace!("  out {out:?}");
            match out {
                HubOutput::Wake(conn) => {
                    assert!(
                        self.conns.contains_key(&conn.0),
                        "wake for {conn:?}, which is not connected"
                    );
                    self.woken.insert(conn.0);
                }
                HubOutput::Close { conn, code } => {
                    let c = self
                        .conns
                        .get_mut(&conn.0)
                        .unwrap_or_else(|| panic!("close of {conn:?}, which is not connected"));
                    assert!(c.closing.is_none(), "{conn:?} closed twice");
                    c.closing = Some(code);
                    self.woken.insert(conn.0);
                    if let Some(id) = self.hub.session_of(conn).cloned() {
                        self.session(&id).excuse();
                    }
                }
                _ => {}
            }
        }
        for &conn in self.conns.keys() {
            if let Some((frames, bytes)) = self.hub.queued(ConnId(conn)) {
                assert!(
                    frames <= self.config.queue_messages + CONTROL_FRAMES,
                    "{frames} frames queued for {conn}"
                );
                assert!(
                    bytes <= self.config.queue_bytes + CONTROL_BYTES,
                    "{bytes} bytes queued for {conn}"
                );
            }
        }
        assert!(self.hub.session_count() <= self.config.max_sessions);
        assert!(self.hub.timed_count() <= self.config.max_timed);
        for (name, (config, _)) in &self.topics {
            let retained = self.hub.retained(name).expect("open topic");
            assert!(
                retained <= config.history.max(1),
                "{name} retains {retained}"
            );
        }
    }

    fn pull_woken(&mut self) {
        while let Some(conn) = self.woken.pop_first() {
            while self.pull(conn, 1 << 16) > 0 {}
        }
    }

    /// Pulls frames of `conn` within `budget` and checks each.
    fn pull(&mut self, conn: u64, budget: usize) -> usize {
        let mut out: Vec<Frame> = Vec::new();
        let n = self.hub.pull(ConnId(conn), &mut out, budget);
        assert_eq!(n, out.len(), "pull counts what it gives");
        let Some(c) = self.conns.get(&conn) else {
            assert_eq!(n, 0, "frames pulled for {conn}, which is gone");
            return 0;
        };
        if c.welcomed.is_some() && c.closing.is_none() && n > 1 {
            let total: usize = out.iter().map(|f| f.len()).sum();
            assert!(
                total - out[0].len() <= budget,
                "{n} frames of {total} bytes pulled within {budget}"
            );
        }
        let codec = c.codec;
        for frame in &out {
            let msg = match codec {
                Codec::Json => decode_json::<ServerMsg<'_>>(frame),
                _ => decode_postcard::<ServerMsg<'_>>(frame),
            };
            let msg = msg.unwrap_or_else(|e| panic!("undecodable frame {frame:?}: {e:?}"));
            trace!("  pulled {conn}: {msg:?}");
            let c = self.conns.get_mut(&conn).expect("checked above");
            observe(
                c,
                conn,
                &msg,
                self.now,
                &mut self.sessions,
                &mut self.tokens,
            );
        }
        self.settle();
        self.check_answered(conn);
        n
    }

    /// Once a live connection's queue is empty, every input its session sent
    /// has been answered, except those whose answers were excused.
    fn check_answered(&mut self, conn: u64) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let (Some(id), None) = (&c.welcomed, c.closing) else {
            return;
        };
        if self.hub.queued(ConnId(conn)) != Some((0, 0)) {
            return;
        }
        if self.hub.session_of(ConnId(conn)) != Some(id) {
            return;
        }
        let now = self.now;
        if let Some(s) = self.sessions.get(id) {
            for (request, owed) in &s.inputs {
                assert!(
                    owed.answered + owed.excused >= owed.sent,
                    "input {request} of {id} sent {} times, answered {} times",
                    owed.sent,
                    owed.answered
                );
            }
            for (request, p) in &s.publishes {
                if p.held_until.is_some_and(|until| now < until) {
                    continue;
                }
                let owed = &p.owed;
                assert!(
                    owed.answered + owed.excused + p.folded >= owed.sent,
                    "publish {request} of {id} sent {} times ({} while held), answered {} times",
                    owed.sent,
                    p.folded,
                    owed.answered
                );
            }
        }
    }

    /// With every queue read: each member of a room's presence that is
    /// connected lists exactly the room's users, whatever joins, leaves,
    /// resumes and codec changes happened on the way.
    fn check_presence(&self) {
        for &room in ROOMS {
            let Some(members) = self.hub.presence(room) else {
                continue;
            };
            let members: Vec<(SessionId, MemberId)> = members
                .map(|(id, user)| (id.clone(), user.clone()))
                .collect();
            let users: BTreeSet<&MemberId> = members.iter().map(|(_, u)| u).collect();
            for (id, _) in &members {
                let live = self.conns.iter().any(|(&conn, c)| {
                    c.welcomed.as_ref() == Some(id)
                        && c.closing.is_none()
                        && self.hub.session_of(ConnId(conn)) == Some(id)
                });
                if !live {
                    continue;
                }
                let view = self
                    .sessions
                    .get(id)
                    .and_then(|s| s.presence.get(room))
                    .map(|v| v.members.iter().collect::<BTreeSet<_>>());
                assert_eq!(
                    view.as_ref(),
                    Some(&users),
                    "{id} lists {view:?} in {room}, whose users are {users:?}"
                );
            }
        }
    }

    /// Pulls everything, then lets every connection go and every deadline
    /// pass: nothing may be left behind.
    fn finish(&mut self) {
        let conns: Vec<u64> = self.conns.keys().copied().collect();
        for &conn in &conns {
            while self.pull(conn, 1 << 16) > 0 {}
        }
        self.check_presence();
        for conn in conns {
            self.hub.handle_disconnect(ConnId(conn), self.now);
            self.conns.remove(&conn);
        }
        self.woken.clear();
        self.settle();
        let end = self.now.max(self.last_at) + self.config.grace + Duration::from_secs(1);
        self.timeout(end);
        assert_eq!(self.hub.session_count(), 0, "sessions outlive their grace");
        assert_eq!(
            self.hub.timed_count(),
            0,
            "timed publishes held past their at"
        );
    }
}
