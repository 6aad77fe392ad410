//! Hub behaviour as a user of the protocol notices it: an in-memory shell
//! that connects clients, pulls every woken connection (unless told to
//! stall it) and decodes what each client receives.

mod backpressure;
mod cluster;
mod delivery;
mod home;
mod inputs;
mod malformed;
mod presence;
mod room_edges;
mod room_sends;
mod rooms;
mod sessions;
mod shard_edges;
mod shards;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use super::*;
use crate::proto::codec::{decode_json, decode_postcard};
use crate::proto::{
    ClientMsg, Hello, Payload, Position, PresenceEvent, Publish, RejectCode, ServerMsg, Subscribe,
    Token, Welcome,
};
use crate::time::{Duration, Instant};

pub(super) fn ms(v: u64) -> Instant {
    Instant::from_millis(v)
}

pub(super) fn config() -> HubConfig {
    HubConfig {
        queue_messages: 16,
        queue_bytes: 64 * 1024,
        grace: Duration::from_secs(10),
        ..HubConfig::default()
    }
}

/// A room logic that accepts inputs unless their payload is `"bad"`, and
/// publishes every accepted one to `<room>/moves`.
pub(super) struct Echo;

impl RoomLogic for Echo {
    fn on_input(&mut self, ctx: &mut RoomCtx<'_>, input: &RoomInput<'_>) -> Result<(), RejectCode> {
        if input.data == b"\"bad\"" {
            return Err(RejectCode::Invalid);
        }
        let mut topic = ctx.room().clone();
        let _ = topic.push_str("/moves");
        let topic = crate::proto::Topic::try_from(topic.as_str()).unwrap();
        ctx.publish(topic, input.data, None);
        Ok(())
    }
}

/// The in-memory shell.
pub(super) struct Shell {
    pub hub: Hub,
    pub now: Instant,
    /// What each connection received, decoded.
    pub inbox: BTreeMap<ConnId, Vec<ServerMsg<'static>>>,
    /// Raw frames per connection, in order.
    pub raw: BTreeMap<ConnId, Vec<Frame>>,
    /// Connections the shell does not pull (their socket is not writable).
    pub stalled: BTreeSet<ConnId>,
    /// Connections that write nothing even when closed (a dead socket).
    pub dead: BTreeSet<ConnId>,
    /// Closes the hub asked for, in order.
    pub closed: Vec<(ConnId, CloseCode)>,
    pub codecs: BTreeMap<ConnId, Codec>,
    /// Every output and frame, in order, for determinism checks.
    pub log: Vec<(u64, Vec<u8>)>,
}

impl Shell {
    pub fn new(config: HubConfig) -> Self {
        Shell {
            hub: Hub::new(config, [7; 32], 1_000, ms(0)),
            now: ms(0),
            inbox: BTreeMap::new(),
            raw: BTreeMap::new(),
            stalled: BTreeSet::new(),
            dead: BTreeSet::new(),
            closed: Vec::new(),
            codecs: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    /// A shell whose queues hold `messages` frames, with topic `name`.
    pub fn small(messages: usize, name: &str, topic: TopicConfig) -> Self {
        let mut s = Shell::new(HubConfig {
            queue_messages: messages,
            ..config()
        });
        s.hub.open_topic(name, topic).unwrap();
        s
    }

    /// A shell with a reliable topic `t/chat` (history 100), a lossy topic
    /// `t/cursor` and an open room `t` without a schedule.
    pub fn standard() -> Self {
        let mut s = Shell::roomless();
        s.hub.open_room("t", None, Box::new(Echo), ms(0)).unwrap();
        s
    }

    /// The topics of [`Shell::standard`] without their room.
    pub fn roomless() -> Self {
        let mut s = Shell::new(config());
        s.hub
            .open_topic(
                "t/chat",
                TopicConfig::reliable(100, Duration::from_secs(60)),
            )
            .unwrap();
        s.hub
            .open_topic("t/cursor", TopicConfig::lossy(0, Duration::from_secs(60)))
            .unwrap();
        s.hub
            .open_topic(
                "t/moves",
                TopicConfig::reliable(100, Duration::from_secs(60)),
            )
            .unwrap();
        s
    }

    /// Alice (connection 1) and Bob (2) subscribed to `t/chat`, with what
    /// they were sent so far taken.
    pub fn pair(&mut self, alice: Codec, bob: Codec) {
        self.join(1, Shell::caps("alice"), alice, None);
        self.join(2, Shell::caps("bob"), bob, None);
        self.subscribe(1, "t/chat", None).unwrap();
        self.subscribe(2, "t/chat", None).unwrap();
        self.take(1);
        self.take(2);
    }

    pub fn caps(user: &str) -> Capabilities {
        Capabilities::new(user.try_into().unwrap())
            .subscribe("t/*")
            .publish("t/chat")
            .publish("t/cursor")
            .input("t")
    }

    /// Connects each of `conns` as user `u` (JSON), subscribes it to
    /// `topic` and drops what that queued.
    pub fn subscribers(&mut self, conns: core::ops::RangeInclusive<u64>, topic: &str) {
        for conn in conns {
            self.join(conn, Shell::caps("u"), Codec::Json, None);
            self.subscribe(conn, topic, None).unwrap();
            self.take(conn);
        }
    }

    /// Connects `conn` as `user` and says hello (resuming `resume` if given).
    pub fn join(
        &mut self,
        conn: u64,
        caps: Capabilities,
        codec: Codec,
        resume: Option<&Token>,
    ) -> Welcome {
        let conn = ConnId(conn);
        self.codecs.insert(conn, codec);
        self.hub
            .handle_connect(conn, caps, codec, self.now)
            .unwrap();
        self.drain();
        let hello = Hello {
            version: 1,
            resume: resume.cloned(),
            auth: None,
        };
        self.send(conn.0, ClientMsg::Hello(hello)).unwrap();
        let got = self.take(conn.0);
        match got.first() {
            Some(ServerMsg::Welcome(w)) => {
                // Keep what followed the welcome for the test to read.
                self.inbox.insert(conn, got[1..].to_vec());
                w.clone()
            }
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    pub fn send(&mut self, conn: u64, msg: ClientMsg<'_>) -> Result<(), HubError> {
        let r = self.hub.handle_message(ConnId(conn), msg, self.now);
        self.drain();
        r
    }

    /// Sends `msg` as a frame in the connection's encoding.
    pub fn send_frame(&mut self, conn: u64, frame: &[u8]) -> Result<(), HubError> {
        let r = self.hub.handle_frame(ConnId(conn), frame, self.now);
        self.drain();
        r
    }

    pub fn subscribe(
        &mut self,
        conn: u64,
        topic: &str,
        since: Option<Position>,
    ) -> Result<(), HubError> {
        let sub = Subscribe {
            topic: topic.try_into().unwrap(),
            since,
        };
        self.send(conn, ClientMsg::Subscribe(sub))
    }

    pub fn publish(
        &mut self,
        conn: u64,
        topic: &str,
        data: &[u8],
        at: Option<Instant>,
        request: Option<u32>,
    ) -> Result<(), HubError> {
        let p = Publish {
            topic: topic.try_into().unwrap(),
            data: Payload::new(data),
            at,
            request,
        };
        self.send(conn, ClientMsg::Publish(p))
    }

    pub fn disconnect(&mut self, conn: u64) {
        self.hub.handle_disconnect(ConnId(conn), self.now);
        self.drain();
    }

    /// Moves time to `to`, handling every deadline on the way in order.
    pub fn advance(&mut self, to: Instant) {
        while let Some(at) = self.hub.poll_timeout().filter(|at| *at <= to) {
            self.now = self.now.max(at);
            self.hub.handle_timeout(self.now);
            self.drain();
        }
        self.now = to;
        self.hub.handle_timeout(to);
        self.drain();
    }

    /// The str0m rule: drain every output, acting on each.
    pub fn drain(&mut self) {
        while let Some(out) = self.hub.poll_output() {
            match out {
                HubOutput::Wake(conn) => {
                    self.log.push((conn.0, b"wake".to_vec()));
                    if !self.stalled.contains(&conn) {
                        self.pull(conn);
                    }
                }
                HubOutput::Close { conn, code } => {
                    self.log.push((conn.0, code.as_str().as_bytes().to_vec()));
                    self.closed.push((conn, code));
                    // What was queued before the close is still written,
                    // unless the socket is dead.
                    if !self.dead.contains(&conn) {
                        self.pull(conn);
                    }
                    self.hub.handle_disconnect(conn, self.now);
                }
            }
        }
    }

    /// Pulls everything the connection has, as a writable socket would.
    pub fn pull(&mut self, conn: ConnId) {
        let mut frames = Vec::new();
        while self.hub.pull(conn, &mut frames, 4096) > 0 {}
        let codec = self.codecs.get(&conn).copied().unwrap_or(Codec::Json);
        for f in frames {
            self.log.push((conn.0, f.to_vec()));
            let msg: ServerMsg<'_> = match codec {
                Codec::Json => decode_json(&f).unwrap(),
                Codec::Postcard => decode_postcard(&f).unwrap(),
            };
            self.inbox.entry(conn).or_default().push(msg.into_owned());
            self.raw.entry(conn).or_default().push(f);
        }
    }

    /// Everything `conn` received since the last take.
    pub fn take(&mut self, conn: u64) -> Vec<ServerMsg<'static>> {
        self.inbox.remove(&ConnId(conn)).unwrap_or_default()
    }

    /// The offsets and payloads of `deliver`s of `topic` in `msgs`.
    pub fn delivered(msgs: &[ServerMsg<'_>], topic: &str) -> Vec<(u64, Vec<u8>)> {
        msgs.iter()
            .filter_map(|m| match m {
                ServerMsg::Deliver(d) if d.topic == topic => {
                    Some((d.offset, d.data.as_bytes().to_vec()))
                }
                _ => None,
            })
            .collect()
    }
}

pub(super) fn presence_events(msgs: &[ServerMsg<'_>]) -> Vec<PresenceEvent> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Presence(p) => Some(p.event.clone()),
            _ => None,
        })
        .collect()
}
