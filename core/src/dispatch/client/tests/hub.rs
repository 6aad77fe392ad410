//! The session against the real [`Hub`], over postcard frames in memory:
//! resume, recovery and request memory as the two halves meet.

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
struct Moves;

impl RoomLogic for Moves {
    fn on_input(&mut self, ctx: &mut RoomCtx<'_>, input: &RoomInput<'_>) -> Result<(), RejectCode> {
        ctx.publish("room/moves".try_into().unwrap(), input.data, None);
        Ok(())
    }
}

/// A hub and one client joined by a connection the test can cut.
struct Net {
    hub: Hub,
    client: Client,
    now: Instant,
    conn: Option<ConnId>,
    conns: u64,
    /// Whether the server accepts connections.
    up: bool,
    /// Whether the client's socket is stalled: nothing is read from the hub.
    stalled: bool,
    events: Vec<Ev>,
    errors: Vec<ClientError>,
}

impl Net {
    fn new() -> Net {
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
    fn run_until(&mut self, until: Instant) {
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
    fn settle(&mut self) {
        while self.drain_client() | self.drain_hub() {}
    }

    /// Follows the drain rule on the client: sends to the hub, connects,
    /// closes, records events. Returns whether there was anything.
    fn drain_client(&mut self) -> bool {
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
    fn drain_hub(&mut self) -> bool {
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

    fn carry(&mut self, conn: ConnId) {
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
    fn cut(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.hub.handle_disconnect(conn, self.now);
            self.client.handle_disconnected(self.now);
        }
    }

    fn publish(&mut self, topic: &str, n: u8) {
        self.hub.publish(topic, &[n], None, self.now).unwrap();
        self.settle();
    }

    /// The socket becomes writable again: everything queued is read.
    fn unstall(&mut self) {
        self.stalled = false;
        if let Some(conn) = self.conn {
            self.carry(conn);
        }
        self.settle();
    }

    fn offsets(&self, topic: &str) -> Vec<u64> {
        let of = |e: &Ev| match e {
            Ev::Delivered {
                topic: t, position, ..
            } if t == topic => Some(position.offset),
            _ => None,
        };
        self.events.iter().filter_map(of).collect()
    }

    fn later(&self, secs: u64) -> Instant {
        self.now + Duration::from_secs(secs)
    }
}

#[test]
fn a_resumed_session_sees_every_message_once_in_order() {
    let mut net = Net::new();
    net.client.subscribe("room/chat", net.now).unwrap();
    net.run_until(at(100));
    for n in 0..3 {
        net.publish("room/chat", n);
    }
    net.cut();
    for n in 3..6 {
        net.publish("room/chat", n);
    }
    net.run_until(net.later(5));
    for n in 6..8 {
        net.publish("room/chat", n);
    }
    assert_eq!(net.offsets("room/chat"), (0..8).collect::<Vec<_>>());
    let opened = |e: &&Ev| matches!(e, Ev::Opened { resumed: true, .. });
    assert_eq!(net.events.iter().filter(opened).count(), 1);
    assert_eq!(net.errors, []);
}

#[test]
fn an_input_judged_before_a_drop_is_answered_once_and_judged_once() {
    let mut net = Net::new();
    net.client.subscribe("room/moves", net.now).unwrap();
    net.run_until(at(100));
    let id = net.client.input("room", None, b"go", net.now).unwrap();
    // The input reaches the hub; the connection drops before the answer leaves.
    net.drain_client();
    net.cut();
    net.run_until(net.later(5));

    let outcomes: Vec<&Ev> = net
        .events
        .iter()
        .filter(|e| matches!(e, Ev::Input { .. }))
        .collect();
    let accepted = Ev::Input {
        request: id,
        outcome: InputStatus::Accepted,
    };
    assert_eq!(outcomes, [&accepted]);
    assert_eq!(net.offsets("room/moves"), [0], "judged once");
    let resent_answer = ClientError::UnknownRequest { request: id };
    assert!(
        net.errors.iter().all(|e| *e == resent_answer),
        "{:?}",
        net.errors
    );
}

#[test]
fn after_the_grace_a_new_session_reports_the_input_lost_once() {
    let mut net = Net::new();
    net.run_until(at(100));
    let id = net.client.input("room", None, b"go", net.now).unwrap();
    net.drain_client();
    net.cut();
    net.up = false;
    net.run_until(net.later(60));
    net.up = true;
    net.run_until(net.later(60));

    let lost = Ev::Input {
        request: id,
        outcome: InputStatus::Lost,
    };
    let outcomes: Vec<&Ev> = net
        .events
        .iter()
        .filter(|e| matches!(e, Ev::Input { .. }))
        .collect();
    assert_eq!(outcomes, [&lost]);
    assert!(net.client.is_open());
    assert_eq!(net.client.stats().resumes, 0);
}

#[test]
fn a_slow_consumer_of_a_reliable_topic_is_cut_off_and_misses_nothing() {
    let mut net = Net::new();
    net.client.subscribe("room/chat", net.now).unwrap();
    net.run_until(at(100));
    net.stalled = true;
    for n in 0..40 {
        net.publish("room/chat", n);
    }
    assert!(net.conn.is_none(), "the hub closed the lagging connection");
    net.unstall();
    net.run_until(net.later(5));
    assert_eq!(net.offsets("room/chat"), (0..40).collect::<Vec<_>>());
    assert!(net.client.stats().resumes >= 1);
    assert_eq!(net.client.stats().sessions, 1 + net.client.stats().resumes);
    assert_eq!(net.errors, []);
}

#[test]
fn a_slow_consumer_of_a_lossy_topic_sees_each_offset_delivered_or_in_a_gap() {
    let mut net = Net::new();
    net.client.subscribe_lossy("room/cursor", net.now).unwrap();
    net.run_until(at(100));
    net.stalled = true;
    for n in 0..40 {
        net.publish("room/cursor", n);
    }
    net.unstall();
    let mut covered = Vec::new();
    for e in &net.events {
        match e {
            Ev::Delivered { position, .. } => covered.push(position.offset),
            Ev::Gap { from, to, .. } => covered.extend(*from..*to),
            _ => {}
        }
    }
    assert_eq!(covered, (0..40).collect::<Vec<_>>());
    assert!(net.events.iter().any(|e| matches!(e, Ev::Gap { .. })));
    assert_eq!(net.offsets("room/cursor").last(), Some(&39));
    assert!(net.client.is_open(), "lossy topics never disconnect");
    assert_eq!(net.errors, []);
}
