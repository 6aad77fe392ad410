//! An in-memory cluster of sharded hubs: one FIFO queue of peer messages per
//! ordered pair of shards, simulated time, and clients that connect to one
//! hub each and speak JSON frames, read back through `pull`.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use super::*;
use crate::proto::codec::encode_json;
use crate::proto::{PublishAck, Subscribed};

pub(super) struct Cluster {
    pub hubs: Vec<Hub>,
    pub now: Instant,
    /// Peer messages in flight, per (from, to), oldest first.
    pub links: BTreeMap<(u16, u16), VecDeque<PeerMsg>>,
    /// The hub each connection lives on.
    pub home: BTreeMap<u64, usize>,
    /// What each connection received, decoded, since the last take.
    pub inbox: BTreeMap<u64, Vec<ServerMsg<'static>>>,
    /// What `handle_peer` refused, per receiving shard, in order.
    pub peer_errors: Vec<(u16, HubError)>,
}

impl Cluster {
    /// `k` hubs of the tests' configuration, each its own seed, one epoch.
    pub fn new(k: u16) -> Self {
        let hubs = (0..k)
            .map(|i| {
                let config = HubConfig {
                    shard: ShardId(i),
                    shards: k,
                    ..config()
                };
                // Seeds differ by hub; the epoch is the server's, shared.
                Hub::new(config, [i as u8 + 1; 32], 1_000, ms(0))
            })
            .collect();
        Cluster {
            hubs,
            now: ms(0),
            links: BTreeMap::new(),
            home: BTreeMap::new(),
            inbox: BTreeMap::new(),
            peer_errors: Vec::new(),
        }
    }

    /// `k` hubs with a topic `<prefix>-<n>/chat` owned by shard `owner`
    /// open (see [`Cluster::open`]): the cluster, the topic and its position.
    pub fn with_topic(k: u16, prefix: &str, owner: usize) -> (Self, String, Position) {
        let mut c = Cluster::new(k);
        let topic = c.topic_owned_by(prefix, owner);
        let opened = c.open(&topic);
        (c, topic, opened)
    }

    /// The owner of `topic` among these hubs.
    pub fn owner(&self, topic: &str) -> usize {
        usize::from(owner_of(topic, self.hubs.len() as u16).0)
    }

    /// A topic `<prefix>-<n>/chat` owned by shard `owner`.
    pub fn topic_owned_by(&self, prefix: &str, owner: usize) -> String {
        (0..1000)
            .map(|n| alloc::format!("{prefix}-{n}/chat"))
            .find(|name| self.owner(name) == owner)
            .expect("some name among 1000 hashes to each shard")
    }

    /// Opens a reliable topic keeping 100 messages on its owner, and lets
    /// the replicas open.
    pub fn open(&mut self, topic: &str) -> Position {
        let owner = self.owner(topic);
        let config = TopicConfig::reliable(100, Duration::from_secs(60));
        let position = self.hubs[owner].open_topic(topic, config).unwrap();
        self.settle();
        position
    }

    /// Connects `conn` to hub `hub` as `user` (allowed every topic) and says
    /// hello, resuming `resume` if given.
    pub fn join(&mut self, conn: u64, hub: usize, user: &str, resume: Option<&Token>) -> Welcome {
        let caps = Capabilities::new(user.try_into().unwrap())
            .subscribe("*/*")
            .publish("*/*")
            .input("*");
        self.home.insert(conn, hub);
        self.hubs[hub]
            .handle_connect(ConnId(conn), caps, Codec::Json, self.now)
            .unwrap();
        self.settle();
        let hello = Hello {
            version: 1,
            resume: resume.cloned(),
            auth: None,
        };
        self.send(conn, &ClientMsg::Hello(hello)).unwrap();
        let got = self.take(conn);
        match got.first() {
            Some(ServerMsg::Welcome(w)) => {
                self.inbox.insert(conn, got[1..].to_vec());
                w.clone()
            }
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// Connects `conn` to hub `hub`, subscribes it to `topic` from the live
    /// edge, and returns its `subscribed`.
    pub fn subscriber(&mut self, conn: u64, hub: usize, topic: &str) -> Subscribed {
        self.join(conn, hub, "sub", None);
        self.subscribe(conn, topic, None);
        subscribed(&self.take(conn)).remove(0)
    }

    /// Sends `msg` as a JSON frame, then lets everything settle.
    pub fn send(&mut self, conn: u64, msg: &ClientMsg<'_>) -> Result<(), HubError> {
        let r = self.send_only(conn, msg);
        self.settle();
        r
    }

    /// Sends `msg` as a JSON frame and drains the hub's outputs, but leaves
    /// peer messages in flight.
    pub fn send_only(&mut self, conn: u64, msg: &ClientMsg<'_>) -> Result<(), HubError> {
        let hub = self.home[&conn];
        let frame = encode_json(msg);
        let r = self.hubs[hub].handle_frame(ConnId(conn), frame.as_bytes(), self.now);
        self.drain(hub);
        r
    }

    pub fn subscribe(&mut self, conn: u64, topic: &str, since: Option<Position>) {
        let sub = Subscribe {
            topic: topic.try_into().unwrap(),
            since,
        };
        self.send(conn, &ClientMsg::Subscribe(sub)).unwrap();
    }

    pub fn publish_msg<'a>(
        topic: &str,
        data: &'a [u8],
        at: Option<Instant>,
        request: Option<u32>,
    ) -> ClientMsg<'a> {
        ClientMsg::Publish(Publish {
            topic: topic.try_into().unwrap(),
            data: Payload::new(data),
            at,
            request,
        })
    }

    pub fn disconnect(&mut self, conn: u64) {
        let hub = self.home[&conn];
        self.hubs[hub].handle_disconnect(ConnId(conn), self.now);
        self.settle();
    }

    /// Moves time to `to`, handling every hub's deadlines in order.
    pub fn advance(&mut self, to: Instant) {
        loop {
            let next = self.hubs.iter().filter_map(Hub::poll_timeout).min();
            let Some(at) = next.filter(|at| *at <= to) else {
                break;
            };
            self.now = self.now.max(at);
            for hub in &mut self.hubs {
                if hub.poll_timeout().is_some_and(|t| t <= at) {
                    hub.handle_timeout(self.now);
                }
            }
            self.settle();
        }
        self.now = to;
        for hub in &mut self.hubs {
            hub.handle_timeout(to);
        }
        self.settle();
    }

    /// Drains every hub and delivers peer messages, one link at a time in
    /// order, until nothing moves.
    pub fn settle(&mut self) {
        loop {
            for hub in 0..self.hubs.len() {
                self.drain(hub);
            }
            let Some((&(from, to), _)) = self.links.iter().find(|(_, q)| !q.is_empty()) else {
                return;
            };
            let msg = self
                .links
                .get_mut(&(from, to))
                .and_then(VecDeque::pop_front)
                .unwrap();
            let hub = &mut self.hubs[usize::from(to)];
            if let Err(e) = hub.handle_peer(ShardId(from), msg, self.now) {
                self.peer_errors.push((to, e));
            }
        }
    }

    /// Drains every hub, then hands the oldest message in flight from
    /// `from` to `to` to its hub: one link's order, the others held back.
    pub fn deliver(&mut self, from: u16, to: u16) {
        for hub in 0..self.hubs.len() {
            self.drain(hub);
        }
        let msg = self
            .links
            .get_mut(&(from, to))
            .and_then(VecDeque::pop_front)
            .expect("a message in flight on the link");
        if let Err(e) = self.hubs[usize::from(to)].handle_peer(ShardId(from), msg, self.now) {
            self.peer_errors.push((to, e));
        }
    }

    /// The str0m rule for one hub: outputs (pulling every woken
    /// connection), then peer messages into their links.
    fn drain(&mut self, i: usize) {
        while let Some(out) = self.hubs[i].poll_output() {
            match out {
                HubOutput::Wake(conn) => self.pull(i, conn),
                HubOutput::Close { conn, .. } => {
                    self.pull(i, conn);
                    self.hubs[i].handle_disconnect(conn, self.now);
                }
            }
        }
        let from = i as u16;
        while let Some((dest, msg)) = self.hubs[i].poll_peer() {
            let k = self.hubs.len() as u16;
            let to: Vec<u16> = match dest {
                Dest::Shard(ShardId(to)) => alloc::vec![to],
                Dest::Others => (0..k).filter(|&to| to != from).collect(),
            };
            for to in to {
                self.links
                    .entry((from, to))
                    .or_default()
                    .push_back(msg.clone());
            }
        }
    }

    fn pull(&mut self, hub: usize, conn: ConnId) {
        let mut frames = Vec::new();
        while self.hubs[hub].pull(conn, &mut frames, 4096) > 0 {}
        for f in frames {
            let msg: ServerMsg<'_> = decode_json(&f).unwrap();
            self.inbox.entry(conn.0).or_default().push(msg.into_owned());
        }
    }

    /// Everything `conn` received since the last take.
    pub fn take(&mut self, conn: u64) -> Vec<ServerMsg<'static>> {
        self.inbox.remove(&conn).unwrap_or_default()
    }
}

/// What `pick` finds in `msgs`, in order.
fn pick<T>(msgs: &[ServerMsg<'_>], pick: impl FnMut(&ServerMsg<'_>) -> Option<T>) -> Vec<T> {
    msgs.iter().filter_map(pick).collect()
}

/// The `(epoch, offset, payload)` of every delivery of `topic` in `msgs`.
pub(super) fn deliveries(msgs: &[ServerMsg<'_>], topic: &str) -> Vec<(u64, u64, Vec<u8>)> {
    pick(msgs, |m| match m {
        ServerMsg::Deliver(d) if d.topic == topic => {
            Some((d.epoch, d.offset, d.data.as_bytes().to_vec()))
        }
        _ => None,
    })
}

/// Every `publish_ack` in `msgs`.
pub(super) fn acks(msgs: &[ServerMsg<'_>]) -> Vec<PublishAck> {
    pick(msgs, |m| match m {
        ServerMsg::PublishAck(a) => Some(a.clone()),
        _ => None,
    })
}

/// Every `subscribed` in `msgs`.
pub(super) fn subscribed(msgs: &[ServerMsg<'_>]) -> Vec<Subscribed> {
    pick(msgs, |m| match m {
        ServerMsg::Subscribed(s) => Some(s.clone()),
        _ => None,
    })
}
