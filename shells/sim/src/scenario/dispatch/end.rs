//! Checks of the whole room: memory bounds every second, and at the end,
//! after the faults have healed, liveness.

use std::collections::BTreeSet;

use onbeat_core::Duration;
use onbeat_core::proto::{MemberId, Position};

use super::checks::Check;
use super::params::{TOPICS, hub_config};
use super::world::{World, conn_id};

/// The `welcome` of a resumed session is put first whatever the bounds:
/// one frame of at most this many bytes over them.
const WELCOME_MAX: usize = 512;

/// At the end every client must hold every message published this long
/// before: the bound on catching up once the faults have healed.
pub const CATCH_UP: Duration = Duration::from_secs(5);

impl World {
    /// Memory bounds: every queue, history, the held publishes and sessions.
    pub(super) fn sample(&mut self) {
        let now = self.sim.now();
        // The configured bounds, the hub's reserve for control frames, and a
        // resumed session's `welcome`, which goes first whatever the bounds.
        let (limit_frames, limit_bytes) = self.hub.queue_limit();
        let config = hub_config(self.clients.len() as u32);
        let (seed, v) = (self.seed, &mut self.v);
        for (k, c) in self.conns.iter().enumerate().filter(|(_, c)| c.hub_open) {
            let Some((frames, bytes)) = self.hub.queued(conn_id(k as u32)) else {
                continue;
            };
            if frames > limit_frames + 1 || bytes > limit_bytes + WELCOME_MAX {
                v.add(Check::Memory, seed, Some(c.client), now, || {
                    format!("hub queue holds {frames} frames, {bytes} bytes")
                });
            }
        }
        for (name, topic) in TOPICS {
            let kept = self.hub.retained(name).unwrap_or(0);
            if kept > topic.history.max(1) {
                v.add(Check::Memory, seed, None, now, || {
                    format!("{name} keeps {kept} messages")
                });
            }
        }
        let (timed, sessions) = (self.hub.timed_count(), self.hub.session_count());
        if timed > config.max_timed || sessions > config.max_sessions {
            v.add(Check::Memory, seed, None, now, || {
                format!("{timed} timed publishes held, {sessions} sessions")
            });
        }
        if let Some(why) = &self.witness.broken {
            let why = why.clone();
            self.witness.broken = Some(String::new());
            if !why.is_empty() {
                v.add(Check::Protocol, seed, None, now, || {
                    format!("the witness lost track: {why}")
                });
            }
        }
    }

    /// Liveness, once the faults have healed and the apps gone quiet: every
    /// client connected, answered, caught up, and agreeing on presence.
    pub(super) fn final_checks(&mut self) {
        let now = self.sim.now();
        let mut members: BTreeSet<MemberId> = (0..self.clients.len())
            .map(|i| World::caps(i).0.user)
            .collect();
        members.insert(MemberId::try_from("witness").expect("short name"));
        let judged_twice = self
            .ledger
            .borrow()
            .judged
            .values()
            .filter(|n| **n > 1)
            .count();
        if judged_twice > 0 {
            self.v.add(Check::Requests, self.seed, None, now, || {
                format!("{judged_twice} inputs judged more than once")
            });
        }
        let cutoff = self.server.local(now.saturating_sub(CATCH_UP));
        let (seed, v) = (self.seed, &mut self.v);
        for (i, c) in self.clients.iter().enumerate() {
            let Some(s) = &c.session else { continue };
            let mut fail = |what: String| v.add(Check::Liveness, seed, Some(i), now, || what);
            if !s.is_open() {
                fail("not connected at the end".into());
            }
            if !c.model.outstanding.is_empty() {
                fail(format!(
                    "{} requests never answered",
                    c.model.outstanding.len()
                ));
            }
            for t in (0..TOPICS.len()).filter(|&t| c.subs[t]) {
                let head = self.witness.position(t);
                let due = self.witness.head_at(t, cutoff);
                let (at, seen) = (s.position(TOPICS[t].0), c.model.cursor(t));
                let behind = |p: Option<Position>| {
                    p.is_none_or(|p| Some(p.epoch) != head.map(|h| h.epoch) || p.offset < due)
                };
                if behind(at) || behind(seen) {
                    fail(format!(
                        "{}: session at {at:?}, app at {seen:?}, {due} due by {CATCH_UP:?} before the end",
                        TOPICS[t].0
                    ));
                }
            }
            let unanswered: usize = c.model.expect.iter().map(|q| q.len()).sum();
            if unanswered > 0 {
                v.add(Check::Recovery, seed, Some(i), now, || {
                    format!("{unanswered} subscribes the hub took were never answered as the history says")
                });
            }
            let mut fail = |what: String| v.add(Check::Liveness, seed, Some(i), now, || what);
            if c.model.presence != members {
                let (have, want) = (c.model.presence.len(), members.len());
                fail(format!(
                    "presence lists {have} members, the room has {want} (open {})",
                    s.is_open()
                ));
            }
        }
    }
}
