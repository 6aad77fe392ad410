//! The shell half of `hub_shards`: frames in, outputs and peer messages out,
//! pulls, and the checks made once everything is delivered.

use onbeat_core::dispatch::{Dest, Frame, HubOutput, PeerError};
use onbeat_core::proto::{MemberId, ServerMsg};

use super::super::hub_clients::{check_bounds, check_empty, decode};
use super::super::hub_model::{Accepted, LOGIC_AHEAD};
use super::*;

/// Rounds of delivering and pulling before the cluster must be quiet.
const SETTLE_ROUNDS: usize = 1000;

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
        let Some(c) = self.clients.conns.get(&conn) else {
            return;
        };
        let frame = encode(c.codec, msg);
        self.frame(conn, &frame);
    }

    /// Hands `frame` to the shard of `conn`, telling the model what it will
    /// see.
    pub(super) fn frame(&mut self, conn: u64, frame: &[u8]) {
        let (Some(&h), Some(c)) = (self.home.get(&conn), self.clients.conns.get(&conn)) else {
            return;
        };
        let msg = decode(c.codec, frame, self.config.max_frame as usize);
        let session = self
            .clients
            .before(&self.hubs[h], conn, msg.as_ref(), self.now);
        let accepted = msg.as_ref().and_then(Accepted::of);
        let ok = self.hubs[h]
            .handle_frame(ConnId(conn), frame, self.now)
            .is_ok();
        self.clients.after(session, accepted, ok);
        self.drain(h);
    }

    /// Takes shard `h`'s outputs and peer messages, and checks its bounds.
    pub(super) fn drain(&mut self, h: usize) {
        while let Some(out) = self.hubs[h].poll_output() {
            match out {
                HubOutput::Wake(conn) => {
                    assert_eq!(self.home.get(&conn.0), Some(&h), "wake for {conn:?}");
                    self.clients.woken.insert(conn.0);
                }
                HubOutput::Close { conn, code } => {
                    assert_eq!(self.home.get(&conn.0), Some(&h), "close of {conn:?}");
                    let session = self.hubs[h].session_of(conn).cloned();
                    self.clients.closed(conn.0, code, session);
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
        let conns = self.home.iter().filter(|(_, home)| **home == h);
        check_bounds(hub, conns.map(|(&conn, _)| conn), &self.config);
        for (&name, &max) in &self.history {
            let Some(retained) = hub.retained(name) else {
                continue;
            };
            let owned = usize::from(owner_of(name, self.shards()).0) == h;
            let bound = match self.clients.topics.get(name) {
                Some((config, _)) if owned => config.history,
                _ => max,
            };
            assert!(retained <= bound.max(1), "{name} retains {retained} on {h}");
        }
    }

    pub(super) fn pull_woken(&mut self) {
        while let Some(conn) = self.clients.woken.pop_first() {
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
        let payloads = &mut self.payloads;
        self.clients.pulled(conn, &out, budget, self.now, |msg| {
            // Every subscriber on every shard gets the same message at one
            // topic, epoch and offset.
            if let ServerMsg::Deliver(d) = msg
                && d.topic != INBOX
            {
                let key = (d.topic.clone(), d.epoch, d.offset);
                let first = payloads.entry(key).or_insert(d.data.as_bytes().to_vec());
                assert_eq!(
                    first.as_slice(),
                    d.data.as_bytes(),
                    "{}:{}:{} delivered with two payloads",
                    d.topic,
                    d.epoch,
                    d.offset
                );
            }
        });
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
                self.clients.woken.clear();
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
        for (&conn, &h) in &self.home {
            self.clients.check_answered(&self.hubs[h], conn, self.now);
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
                    self.clients.check_view(hub, id, room, &users);
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
        let end = self.now.max(self.clients.last_at) + self.config.grace + Duration::from_secs(1);
        self.timeout(end);
        self.settle();
        // Inputs still on their way to a room's owner were judged just now,
        // and its logic may have published for later.
        let end = self.now + LOGIC_AHEAD;
        self.timeout(end);
        self.settle();
        for (h, hub) in self.hubs.iter().enumerate() {
            check_empty(hub, &format!("on {h}"));
        }
    }
}
