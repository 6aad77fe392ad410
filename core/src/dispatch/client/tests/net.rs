//! A [`Hub`] and one client session joined by an in-memory connection of
//! postcard frames, which the tests can cut or stall.

use std::boxed::Box;
use std::vec::Vec;

use crate::dispatch::{
    Capabilities, Codec, ConnId, Hub, HubConfig, HubOutput, RoomCtx, RoomInput, RoomLogic,
    TopicConfig,
};
use crate::proto::RejectCode;
use crate::proto::codec::{decode_postcard, encode_postcard};

use super::*;

/// Accepts every input and publishes it to `room/moves`, so that each
/// judgement is visible as one message there.
pub(super) struct Moves;

impl RoomLogic for Moves {
    fn on_input(&mut self, ctx: &mut RoomCtx<'_>, input: &RoomInput<'_>) -> Result<(), RejectCode> {
        ctx.publish("room/moves".try_into().unwrap(), input.data, None);
        Ok(())
    }
}

/// A hub and one client joined by a connection the test can cut.
pub(super) struct Net {
    pub(super) hub: Hub,
    pub(super) client: Client,
    pub(super) now: Instant,
    pub(super) conn: Option<ConnId>,
    pub(super) conns: u64,
    /// Whether the server accepts connections.
    pub(super) up: bool,
    /// Whether the client's socket is stalled: nothing is read from the hub.
    pub(super) stalled: bool,
    pub(super) events: Vec<Ev>,
    pub(super) errors: Vec<ClientError>,
}

impl Net {
    pub(super) fn new() -> Net {
        let config = HubConfig {
            grace: Duration::from_secs(30),
            queue_messages: 16,
            ..HubConfig::default()
        };
        let mut hub = Hub::new(config, [7; 32], 1, Instant::ZERO);
        let history = TopicConfig::reliable(1_000, Duration::from_secs(600));
        hub.open_topic("room/chat", history).unwrap();
        hub.open_topic("room/moves", history).unwrap();
        let live_only = TopicConfig::lossy(0, Duration::ZERO);
        hub.open_topic("room/cursor", live_only).unwrap();
        hub.open_room("room", None, Box::new(Moves), Instant::ZERO)
            .unwrap();
        Net {
            hub,
            client: Client::new(ClientConfig::default(), 5, Instant::ZERO),
            now: Instant::ZERO,
            conn: None,
            conns: 0,
            up: true,
            stalled: false,
            events: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Runs both sides, jumping from deadline to deadline, until `until`.
    pub(super) fn run_until(&mut self, until: Instant) {
        loop {
            self.settle();
            let next = [self.client.poll_timeout(), self.hub.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    self.client.handle_timeout(self.now);
                    self.hub.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = until;
        self.settle();
    }

    /// Lets both sides act until neither has anything left to do.
    pub(super) fn settle(&mut self) {
        while self.drain_client() | self.drain_hub() {}
    }

    /// Follows the drain rule on the client: sends to the hub, connects,
    /// closes, records events. Returns whether there was anything.
    pub(super) fn drain_client(&mut self) -> bool {
        let (mut any, mut connect, mut close) = (false, false, false);
        while let Some(out) = self.client.poll_output() {
            any = true;
            match out {
                ClientOutput::Connect => connect = true,
                ClientOutput::Close => close = true,
                ClientOutput::Send(msg) => {
                    let mut buf = [0u8; 4_096];
                    let frame = encode_postcard(&msg, &mut buf).unwrap();
                    if let Some(conn) = self.conn {
                        let _ = self.hub.handle_frame(conn, frame, self.now);
                    }
                }
                ClientOutput::Event(e) => self.events.push(Ev::of(e)),
            }
        }
        if close {
            self.cut();
        }
        if connect && self.up {
            self.conns += 1;
            let conn = ConnId(self.conns);
            let caps = Capabilities::new("ann".try_into().unwrap())
                .subscribe("room/*")
                .input("room");
            self.hub
                .handle_connect(conn, caps, Codec::Postcard, self.now)
                .unwrap();
            self.conn = Some(conn);
            self.client.handle_connected(self.now).unwrap();
        } else if connect {
            self.client.handle_disconnected(self.now);
        }
        any
    }

    /// Carries what the hub queued for the live connection to the client.
    pub(super) fn drain_hub(&mut self) -> bool {
        let mut any = false;
        while let Some(out) = self.hub.poll_output() {
            any = true;
            match out {
                HubOutput::Wake(conn) => self.carry(conn),
                HubOutput::Close { conn, .. } if Some(conn) == self.conn => self.cut(),
                HubOutput::Close { conn, .. } => self.hub.handle_disconnect(conn, self.now),
            }
        }
        any
    }

    pub(super) fn carry(&mut self, conn: ConnId) {
        if self.stalled {
            return;
        }
        let mut frames = Vec::new();
        while Some(conn) == self.conn && self.hub.pull(conn, &mut frames, usize::MAX) > 0 {
            for frame in frames.drain(..) {
                let msg = decode_postcard::<ServerMsg<'_>>(frame.as_bytes()).unwrap();
                if let Err(e) = self.client.handle_message(&msg, self.now) {
                    self.errors.push(e);
                }
                self.drain_client();
            }
        }
    }

    /// The network drops the connection; both ends notice.
    pub(super) fn cut(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.hub.handle_disconnect(conn, self.now);
            self.client.handle_disconnected(self.now);
        }
    }

    pub(super) fn publish(&mut self, topic: &str, n: u8) {
        self.hub.publish(topic, &[n], None, self.now).unwrap();
        self.settle();
    }

    /// The socket becomes writable again: everything queued is read.
    pub(super) fn unstall(&mut self) {
        self.stalled = false;
        if let Some(conn) = self.conn {
            self.carry(conn);
        }
        self.settle();
    }

    pub(super) fn offsets(&self, topic: &str) -> Vec<u64> {
        let of = |e: &Ev| match e {
            Ev::Delivered {
                topic: t, position, ..
            } if t == topic => Some(position.offset),
            _ => None,
        };
        self.events.iter().filter_map(of).collect()
    }

    pub(super) fn later(&self, secs: u64) -> Instant {
        self.now + Duration::from_secs(secs)
    }

    /// Subscribes the client to `topic`, stalls its socket, and has the hub
    /// publish `n` messages to it.
    pub(super) fn flood(&mut self, topic: &str, kind: TopicKind, n: u8) {
        match kind {
            TopicKind::Lossy => self.client.subscribe_lossy(topic, self.now),
            _ => self.client.subscribe(topic, self.now),
        }
        .unwrap();
        self.run_until(at(100));
        self.stalled = true;
        for i in 0..n {
            self.publish(topic, i);
        }
    }
}
