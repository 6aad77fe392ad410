//! The shell half of `hub_ops`: messages and frames in, outputs out, pulls,
//! and the checks made as queues drain and at the end.

use std::collections::BTreeSet;

use onbeat_core::dispatch::{Codec, ConnId, Frame, HubOutput};
use onbeat_core::proto::{ClientMsg, MemberId, SessionId};
use onbeat_core::time::Duration;

use super::super::hub_clients::{check_bounds, check_empty, decode, encode};
use super::super::hub_model::{Accepted, ROOMS};
use super::{Bytes, World, tracing};

impl World {
    /// Sends `msg` on `conn`: decoded by the shell, or encoded in the
    /// connection's codec and handed over as a frame.
    pub(super) fn send(&mut self, input: &mut Bytes<'_>, conn: u64, msg: ClientMsg<'_>) {
        if input.byte().is_multiple_of(4) {
            let session = self.clients.before(&self.hub, conn, Some(&msg), self.now);
            trace!("{:?} message {conn}: {msg:?}", self.now);
            let accepted = Accepted::of(&msg);
            let r = self.hub.handle_message(ConnId(conn), msg, self.now);
            trace!("  -> {r:?}");
            self.clients.after(session, accepted, r.is_ok());
            self.settle();
            return;
        }
        let frame = self.encode(conn, &msg);
        self.frame(conn, &frame);
    }

    /// `msg` in the codec of `conn` (postcard if it is gone).
    pub(super) fn encode(&self, conn: u64, msg: &ClientMsg<'_>) -> Vec<u8> {
        let codec = self.clients.conns.get(&conn).map(|c| c.codec);
        encode(codec.unwrap_or(Codec::Postcard), msg)
    }

    /// Hands `frame` to the hub, telling the model what the hub will see.
    pub(super) fn frame(&mut self, conn: u64, frame: &[u8]) {
        let max = self.config.max_frame as usize;
        let codec = self.clients.conns.get(&conn).map(|c| c.codec);
        let msg = codec.and_then(|codec| decode(codec, frame, max));
        let session = self.clients.before(&self.hub, conn, msg.as_ref(), self.now);
        trace!("{:?} frame {conn}: {msg:?}", self.now);
        let accepted = msg.as_ref().and_then(Accepted::of);
        let r = self.hub.handle_frame(ConnId(conn), frame, self.now);
        trace!("  -> {r:?}");
        self.clients.after(session, accepted, r.is_ok());
        self.settle();
    }

    /// Takes the hub's outputs and checks its bounds.
    pub(super) fn settle(&mut self) {
        while let Some(out) = self.hub.poll_output() {
            trace!("  out {out:?}");
            match out {
                HubOutput::Wake(conn) => {
                    assert!(
                        self.clients.conns.contains_key(&conn.0),
                        "wake for {conn:?}, which is not connected"
                    );
                    self.clients.woken.insert(conn.0);
                }
                HubOutput::Close { conn, code } => {
                    let session = self.hub.session_of(conn).cloned();
                    self.clients.closed(conn.0, code, session);
                }
                _ => {}
            }
        }
        let conns = self.clients.conns.keys().copied();
        check_bounds(&self.hub, conns, &self.config);
        for (name, (config, _)) in &self.clients.topics {
            let retained = self.hub.retained(name).expect("open topic");
            assert!(
                retained <= config.history.max(1),
                "{name} retains {retained}"
            );
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
        let n = self.hub.pull(ConnId(conn), &mut out, budget);
        assert_eq!(n, out.len(), "pull counts what it gives");
        if !self.clients.conns.contains_key(&conn) {
            assert_eq!(n, 0, "frames pulled for {conn}, which is gone");
            return 0;
        }
        self.clients.pulled(conn, &out, budget, self.now, |msg| {
            trace!("  pulled {conn}: {msg:?}");
        });
        self.settle();
        // Once a live connection's queue is empty, every request its session
        // sent has been answered, but for the excused and the held.
        // So has every presence change of its rooms: one hub queues them
        // for every member at once.
        if self.hub.queued(ConnId(conn)) == Some((0, 0)) {
            self.clients.check_answered(&self.hub, conn, self.now);
            if let Some(id) = self.hub.session_of(ConnId(conn)) {
                self.check_presence(Some(id));
            }
        }
        n
    }

    /// With the queues of `only` (or of every session) read: each member
    /// of a room's presence that is connected lists exactly the room's
    /// users, whatever joins, leaves, resumes and codec changes happened on
    /// the way.
    fn check_presence(&self, only: Option<&SessionId>) {
        for &room in ROOMS {
            let Some(members) = self.hub.presence(room) else {
                continue;
            };
            let members: Vec<(SessionId, MemberId)> = members
                .map(|(id, user)| (id.clone(), user.clone()))
                .collect();
            let users: BTreeSet<&MemberId> = members.iter().map(|(_, u)| u).collect();
            for (id, _) in members
                .iter()
                .filter(|(id, _)| only.is_none_or(|o| o == id))
            {
                self.clients.check_view(&self.hub, id, room, &users);
            }
        }
    }

    /// Pulls everything, then lets every connection go and every deadline
    /// pass: nothing may be left behind.
    pub(super) fn finish(&mut self) {
        let conns: Vec<u64> = self.clients.conns.keys().copied().collect();
        for &conn in &conns {
            while self.pull(conn, 1 << 16) > 0 {}
        }
        self.check_presence(None);
        for conn in conns {
            self.hub.handle_disconnect(ConnId(conn), self.now);
            self.clients.conns.remove(&conn);
        }
        self.clients.woken.clear();
        self.settle();
        let end = self.now.max(self.clients.last_at) + self.config.grace + Duration::from_secs(1);
        self.timeout(end);
        check_empty(&self.hub, "on the hub");
    }
}
