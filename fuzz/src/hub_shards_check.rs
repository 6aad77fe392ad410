//! The shell half of `hub_shards`: frames in, outputs and peer messages out,
//! pulls, and the checks made once everything is delivered.

use onbeat_core::dispatch::{Codec, Dest, Frame, HubOutput, PeerError};
use onbeat_core::proto::codec::{
    decode_json, decode_json_limited, decode_postcard, decode_postcard_limited, encode_json,
    encode_postcard,
};
use onbeat_core::proto::{DEFAULT_MAX_FRAME, ServerMsg};

use super::model::{Accepted, CONTROL_BYTES, CONTROL_FRAMES, observe};
use super::*;

/// Rounds of delivering and pulling before the cluster must be quiet.
const SETTLE_ROUNDS: usize = 1000;

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

/// On FIFO links between shards of one configuration, no peer message is
/// misrouted, stale or past the head (`docs/dispatch.md`, "Shards").
pub(super) fn allowed_peer_error(e: &HubError) {
    assert!(
        !matches!(
            e,
            HubError::Peer(
                PeerError::Misrouted
                    | PeerError::UnknownShard
                    | PeerError::Stale { .. }
                    | PeerError::Resynced { .. }
            )
        ),
        "handle_peer on FIFO links: {e:?}"
    );
}

impl Cluster {
    /// Sends `msg` on `conn` as a frame in its codec.
    pub(super) fn send(&mut self, conn: u64, msg: &ClientMsg<'_>) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let frame = encode(c.codec, msg);
        self.frame(conn, &frame);
    }

    /// Hands `frame` to the shard of `conn`, telling the model what it will
    /// see.
    pub(super) fn frame(&mut self, conn: u64, frame: &[u8]) {
        let (Some(&h), Some(c)) = (self.home.get(&conn), self.conns.get(&conn)) else {
            return;
        };
        let max = self.config.max_frame as usize;
        let msg = match c.codec {
            Codec::Json => decode_json_limited::<ClientMsg<'_>>(frame, max).ok(),
            _ => decode_postcard_limited::<ClientMsg<'_>>(frame, max).ok(),
        };
        let session = self.before(h, conn, msg.as_ref());
        let accepted = msg.as_ref().and_then(Accepted::of);
        let ok = self.hubs[h]
            .handle_frame(ConnId(conn), frame, self.now)
            .is_ok();
        if let (Some(id), Some(Accepted::Subscribe(topic, since)), true) = (session, accepted, ok) {
            let s = self.sessions.entry(id).or_default();
            s.since.entry(topic).or_default().push_back(since);
        }
        self.drain(h);
    }

    /// Records what the hub owes for `msg`, about to be handled on `conn`
    /// of shard `h`; returns the session it is handled in, if any.
    fn before(&mut self, h: usize, conn: u64, msg: Option<&ClientMsg<'_>>) -> Option<SessionId> {
        if self.conns.get(&conn)?.closing.is_some() {
            return None;
        }
        let session = self.hubs[h].session_of(ConnId(conn)).cloned();
        let now = self.now;
        match (msg, session.clone()) {
            (Some(ClientMsg::Input(input)), Some(id)) => {
                let s = self.sessions.entry(id.clone()).or_default();
                let owed = s.inputs.entry(input.request).or_default();
                if owed.answered + owed.excused < owed.sent {
                    *self.folded.entry((id, input.request)).or_default() += 1;
                }
                owed.sent += 1;
            }
            (Some(ClientMsg::Publish(p)), Some(id)) => {
                if let Some(r) = p.request {
                    let s = self.sessions.entry(id).or_default();
                    let owed = s.publishes.entry(r).or_default();
                    let held = owed.held_until.is_some_and(|until| now < until);
                    if held || owed.owed.answered + owed.owed.excused < owed.owed.sent {
                        owed.folded += 1;
                    }
                    owed.owed.sent += 1;
                    if let Some(at) = p.at.filter(|at| *at > now) {
                        owed.held_until = owed.held_until.max(Some(at));
                    }
                }
            }
            (Some(ClientMsg::Hello(hello)), None) => {
                // A resume may drop queued answers; the client resends.
                let resumed = hello
                    .resume
                    .as_ref()
                    .and_then(|t| self.tokens.iter().find(|(token, _)| token == t))
                    .map(|(_, id)| id.clone());
                if let Some(id) = resumed {
                    self.sessions.entry(id).or_default().excuse();
                }
            }
            _ => {}
        }
        session
    }

    /// Takes shard `h`'s outputs and peer messages, and checks its bounds.
    pub(super) fn drain(&mut self, h: usize) {
        while let Some(out) = self.hubs[h].poll_output() {
            match out {
                HubOutput::Wake(conn) => {
                    assert_eq!(self.home.get(&conn.0), Some(&h), "wake for {conn:?}");
                    self.woken.insert(conn.0);
                }
                HubOutput::Close { conn, code } => {
                    assert_eq!(self.home.get(&conn.0), Some(&h), "close of {conn:?}");
                    let c = self
                        .conns
                        .get_mut(&conn.0)
                        .expect("a connection has a model");
                    assert!(c.closing.is_none(), "{conn:?} closed twice");
                    c.closing = Some(code);
                    self.woken.insert(conn.0);
                    if let Some(id) = self.hubs[h].session_of(conn).cloned() {
                        self.sessions.entry(id).or_default().excuse();
                    }
                }
                _ => {}
            }
        }
        while let Some((dest, msg)) = self.hubs[h].poll_peer() {
            let to: Vec<usize> = match dest {
                Dest::Shard(s) => vec![usize::from(s.0)],
                Dest::Others => (0..self.hubs.len()).filter(|&o| o != h).collect(),
            };
            for o in to {
                assert!(
                    o != h && o < self.hubs.len(),
                    "peer message from {h} to {o}"
                );
                self.links.entry((h, o)).or_default().push_back(msg.clone());
            }
        }
        self.bounds(h);
    }

    fn bounds(&self, h: usize) {
        let hub = &self.hubs[h];
        for (&conn, _) in self.home.iter().filter(|(_, home)| **home == h) {
            if let Some((frames, bytes)) = hub.queued(ConnId(conn)) {
                let (max_frames, max_bytes) = (self.config.queue_messages, self.config.queue_bytes);
                assert!(
                    frames <= max_frames + CONTROL_FRAMES,
                    "{frames} frames for {conn}"
                );
                assert!(
                    bytes <= max_bytes + CONTROL_BYTES,
                    "{bytes} bytes for {conn}"
                );
            }
        }
        assert!(hub.session_count() <= self.config.max_sessions);
        assert!(hub.timed_count() <= self.config.max_timed);
        for (&name, &max) in &self.history {
            let Some(retained) = hub.retained(name) else {
                continue;
            };
            let owned = usize::from(owner_of(name, self.shards()).0) == h;
            let bound = match self.topics.get(name) {
                Some((config, _)) if owned => config.history,
                _ => max,
            };
            assert!(retained <= bound.max(1), "{name} retains {retained} on {h}");
        }
    }

    pub(super) fn pull_woken(&mut self) {
        while let Some(conn) = self.woken.pop_first() {
            while self.pull(conn, 1 << 16) > 0 {}
        }
    }

    /// Pulls frames of `conn` within `budget` and checks each.
    pub(super) fn pull(&mut self, conn: u64, budget: usize) -> usize {
        let mut out: Vec<Frame> = Vec::new();
        let Some(&h) = self.home.get(&conn) else {
            for hub in &mut self.hubs {
                assert_eq!(
                    hub.pull(ConnId(conn), &mut out, budget),
                    0,
                    "{conn} is gone"
                );
            }
            return 0;
        };
        let n = self.hubs[h].pull(ConnId(conn), &mut out, budget);
        assert_eq!(n, out.len(), "pull counts what it gives");
        let c = self.conns.get_mut(&conn).expect("a connection has a model");
        if c.welcomed.is_some() && c.closing.is_none() && n > 1 {
            let total: usize = out.iter().map(|f| f.len()).sum();
            assert!(total - out[0].len() <= budget, "{n} frames over {budget}");
        }
        for frame in &out {
            let msg = match c.codec {
                Codec::Json => decode_json::<ServerMsg<'_>>(frame),
                _ => decode_postcard::<ServerMsg<'_>>(frame),
            };
            let msg = msg.unwrap_or_else(|e| panic!("undecodable frame {frame:?}: {e:?}"));
            if let ServerMsg::Deliver(d) = &msg
                && d.topic != INBOX
            {
                let key = (d.topic.clone(), d.epoch, d.offset);
                let first = self
                    .payloads
                    .entry(key)
                    .or_insert(d.data.as_bytes().to_vec());
                assert_eq!(
                    first.as_slice(),
                    d.data.as_bytes(),
                    "{}:{}:{} delivered with two payloads",
                    d.topic,
                    d.epoch,
                    d.offset
                );
            }
            observe(
                c,
                conn,
                &msg,
                self.now,
                &mut self.sessions,
                &mut self.tokens,
            );
        }
        self.drain(h);
        n
    }

    /// Delivers every peer message and reads every queue until nothing
    /// moves, then checks answers and presence.
    pub(super) fn settle(&mut self) {
        for _ in 0..SETTLE_ROUNDS {
            while self.in_flight() {
                self.deliver_one(0);
            }
            let conns: Vec<u64> = self.home.keys().copied().collect();
            let mut pulled = 0;
            for conn in conns {
                loop {
                    let n = self.pull(conn, 1 << 16);
                    pulled += n;
                    if n == 0 {
                        break;
                    }
                }
            }
            if pulled == 0 && !self.in_flight() {
                self.woken.clear();
                self.check_answered();
                self.check_presence();
                return;
            }
        }
        panic!("still busy after {SETTLE_ROUNDS} rounds of delivery");
    }

    /// With every link delivered and every queue read, every request of a
    /// live session has been answered, but for the excused and the folded.
    fn check_answered(&self) {
        for (&conn, c) in &self.conns {
            let (Some(id), None) = (&c.welcomed, c.closing) else {
                continue;
            };
            if self.hubs[self.home[&conn]].session_of(ConnId(conn)) != Some(id) {
                continue;
            }
            let Some(s) = self.sessions.get(id) else {
                continue;
            };
            for (request, owed) in &s.inputs {
                let folded = self.folded.get(&(id.clone(), *request)).copied();
                assert!(
                    owed.answered + owed.excused + folded.unwrap_or(0) >= owed.sent,
                    "input {request} of {id} sent {} times, answered {}",
                    owed.sent,
                    owed.answered
                );
            }
            for (request, p) in &s.publishes {
                if p.held_until.is_some_and(|until| self.now < until) {
                    continue;
                }
                let owed = &p.owed;
                assert!(
                    owed.answered + owed.excused + p.folded >= owed.sent,
                    "publish {request} of {id} sent {} times, answered {}",
                    owed.sent,
                    owed.answered
                );
            }
        }
    }

    /// A room's users are the same on its owner and every replica, are the
    /// users of every shard's members, and every live member lists them.
    fn check_presence(&self) {
        for &room in ROOMS {
            let owner = usize::from(room_owner(room, self.shards()).0);
            let Some(users) = self.hubs[owner].room_users(room) else {
                continue;
            };
            let users: BTreeSet<&MemberId> = users.collect();
            let mut members_users = BTreeSet::new();
            for (h, hub) in self.hubs.iter().enumerate() {
                if let Some(replica) = hub.room_users(room) {
                    let replica: BTreeSet<&MemberId> = replica.collect();
                    assert_eq!(replica, users, "{room} on {h} and on its owner {owner}");
                }
                let Some(members) = hub.presence(room) else {
                    continue;
                };
                for (id, user) in members {
                    members_users.insert(user);
                    let live = self.conns.iter().any(|(&conn, c)| {
                        c.welcomed.as_ref() == Some(id)
                            && c.closing.is_none()
                            && hub.session_of(ConnId(conn)) == Some(id)
                    });
                    if !live {
                        continue;
                    }
                    let view = self
                        .sessions
                        .get(id)
                        .and_then(|s| s.presence.get(room))
                        .map(|v| v.members.iter().collect::<BTreeSet<_>>());
                    assert_eq!(view.as_ref(), Some(&users), "{id} in {room} on {h}");
                }
            }
            assert_eq!(members_users, users, "{room}: members' users and users");
        }
    }

    /// Settles, then lets every connection go and every deadline pass:
    /// nothing may be left behind on any shard.
    pub(super) fn finish(&mut self) {
        self.settle();
        let conns: Vec<u64> = self.home.keys().copied().collect();
        for conn in conns {
            self.disconnect(conn);
        }
        self.settle();
        let end = self.now.max(self.last_at) + self.config.grace + Duration::from_secs(1);
        self.timeout(end);
        self.settle();
        for (h, hub) in self.hubs.iter().enumerate() {
            assert_eq!(
                hub.session_count(),
                0,
                "sessions outlive their grace on {h}"
            );
            assert_eq!(hub.timed_count(), 0, "held publishes past their at on {h}");
        }
    }
}
