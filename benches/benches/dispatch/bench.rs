//! An in-process shell around one hub, and the hubs the cases start from.

use std::hint::black_box;

use onbeat_core::dispatch::{
    Capabilities, Codec, ConnId, Frame, Hub, HubConfig, HubOutput, TopicConfig,
};
use onbeat_core::proto::codec::decode_postcard;
use onbeat_core::proto::{
    ClientMsg, Hello, MemberId, PROTOCOL_VERSION, Position, ServerMsg, Subscribe, Token, Topic,
};
use onbeat_core::{Duration, Instant};

/// A 64-byte payload, the size of a typical game move or chat line.
pub(crate) const PAYLOAD: &[u8] = &[b'x'; 64];
/// The shell's write size: everything queued goes in one pull.
pub(crate) const PULL_BYTES: usize = 64 * 1024;
/// More than any frame of these benchmarks takes (deliveries of `PAYLOAD`,
/// answers, `welcome`).
pub(crate) const FRAME_MAX: usize = 1024;

/// An in-process shell around one hub: answers every `Wake` by pulling.
pub(crate) struct Bench {
    pub(crate) hub: Hub,
    pub(crate) now: Instant,
    /// Reused between pulls, as a shell reuses its write buffer.
    pub(crate) batch: Vec<Frame>,
    /// Frames pulled so far.
    pub(crate) pulled: u64,
    /// Connections opened, to check that nothing is left queued.
    pub(crate) conns: Vec<ConnId>,
}

impl Bench {
    pub(crate) fn new(queue_messages: usize) -> Self {
        let config = HubConfig {
            max_sessions: 20_000,
            max_pending: 20_000,
            queue_messages,
            queue_bytes: 1 << 20,
            ..HubConfig::default()
        };
        let now = Instant::from_millis(1_000);
        Bench {
            hub: Hub::new(config, [7; 32], 1, now),
            now,
            batch: Vec::with_capacity(queue_messages),
            pulled: 0,
            conns: Vec::new(),
        }
    }

    /// Connects `conn` as user `u<user>`, allowed every topic, and says
    /// `hello` (resuming `resume` if given); returns the resume token of its
    /// session.
    pub(crate) fn connect(&mut self, conn: u64, user: u64, resume: Option<Token>) -> Token {
        let user = MemberId::try_from(format!("u{user}").as_str()).expect("short id");
        let caps = Capabilities::new(user).subscribe("*").subscribe("*/*");
        let c = ConnId(conn);
        self.hub
            .handle_connect(c, caps, Codec::Postcard, self.now)
            .expect("room for the connection");
        self.conns.push(c);
        let hello = Hello {
            version: PROTOCOL_VERSION,
            resume,
            auth: None,
        };
        self.hub
            .handle_message(c, ClientMsg::Hello(hello), self.now)
            .expect("hello accepted");
        let mut token = None;
        let mut batch = Vec::new();
        self.pulled += self.hub.pull(c, &mut batch, PULL_BYTES) as u64;
        for frame in &batch {
            if let Ok(ServerMsg::Welcome(w)) = decode_postcard::<ServerMsg<'_>>(frame) {
                token = Some(w.resume);
            }
        }
        self.drain();
        token.expect("a welcome answers hello")
    }

    pub(crate) fn subscribe(&mut self, conn: u64, topic: &str, since: Option<Position>) {
        let topic = Topic::try_from(topic).expect("short name");
        self.hub
            .handle_message(
                ConnId(conn),
                ClientMsg::Subscribe(Subscribe { topic, since }),
                self.now,
            )
            .expect("subscription allowed");
        self.drain();
    }

    /// Answers every output as the server's driver does: one pull per
    /// `Wake`, and another after each batch that may have filled the write
    /// (a batch with room for one more frame of this benchmark left nothing
    /// behind; frames are at most `FRAME_MAX` bytes).
    pub(crate) fn drain(&mut self) {
        while let Some(out) = self.hub.poll_output() {
            if let HubOutput::Wake(conn) = out {
                loop {
                    let n = self.hub.pull(conn, &mut self.batch, PULL_BYTES);
                    self.pulled += n as u64;
                    black_box(&self.batch);
                    self.batch.clear();
                    if (n + 1) * FRAME_MAX <= PULL_BYTES {
                        break;
                    }
                }
            }
        }
    }

    /// Panics if any connection still has frames queued.
    pub(crate) fn assert_drained(&self) {
        for &conn in &self.conns {
            let queued = self.hub.queued(conn).unwrap_or((0, 0));
            assert_eq!(queued, (0, 0), "{conn:?} was left with frames queued");
        }
    }

    /// Publishes one message to `topic` and delivers it (pulls included).
    /// Never inlined, so that callgrind can count its calls and costs.
    #[inline(never)]
    pub(crate) fn publish(&mut self, topic: &str) {
        self.now += Duration::from_micros(1);
        self.hub
            .publish(topic, PAYLOAD, None, self.now)
            .expect("open topic");
        self.drain();
    }
}

/// A hub with `subscribers` sessions on one topic keeping 1,024 messages.
pub(crate) fn fanout_setup(subscribers: u64) -> Bench {
    let mut b = Bench::new(64);
    b.hub
        .open_topic("t", TopicConfig::reliable(1024, Duration::from_secs(3600)))
        .expect("fresh topic");
    for conn in 0..subscribers {
        b.connect(conn, conn, None);
        b.subscribe(conn, "t", None);
    }
    b
}

/// A hub with `topics` topics of `per_topic` subscribers each.
pub(crate) fn many_topics_setup(topics: u64, per_topic: u64) -> (Bench, Vec<String>) {
    let mut b = Bench::new(64);
    let names: Vec<String> = (0..topics).map(|t| format!("t{t}")).collect();
    for (t, name) in names.iter().enumerate() {
        b.hub
            .open_topic(name, TopicConfig::reliable(64, Duration::from_secs(3600)))
            .expect("fresh topic");
        for i in 0..per_topic {
            let conn = t as u64 * per_topic + i;
            b.connect(conn, conn, None);
            b.subscribe(conn, name, None);
        }
    }
    (b, names)
}
