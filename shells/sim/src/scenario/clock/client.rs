//! A client node: its clock, its `ClockSync`, the baselines fed the same
//! samples, its end of the announcement stream and the phases it will fire.

use std::collections::VecDeque;

use onbeat_core::Instant;
use onbeat_core::proto::{ClockId, Phase};
use onbeat_core::timeline::ClockSync;

use super::baseline::Baselines;
use super::params::ClientParams;
use super::stream::Receiver;
use super::world::Msg;
use crate::sim::LinkId;

/// A phase announcement as carried on the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Announcement {
    /// The server clock `phase.starts_at` is read on.
    pub clock: ClockId,
    /// Identifies the phase across the room and across restarts.
    pub key: u32,
    /// The phase.
    pub phase: Phase,
}

/// An announced phase the client has not fired yet.
#[derive(Clone, Debug)]
pub struct Pending {
    /// What was announced.
    pub ann: Announcement,
    /// It arrived when its start had already passed on the client's clock (or
    /// before the client had any estimate), so its firing says nothing about
    /// synchronisation.
    pub late: bool,
}

/// A phase the client fired.
#[derive(Clone, Copy, Debug)]
pub struct Fire {
    /// The announcement's key.
    pub key: u32,
    /// True time of firing.
    pub at: Instant,
    /// Counts toward the spread: on time, and not in a blind window.
    pub counts: bool,
}

/// One client's state in the room.
#[derive(Debug)]
pub struct Client {
    /// Its clock and paths.
    pub params: ClientParams,
    /// Present once joined.
    pub sync: Option<ClockSync>,
    /// Generation of the armed `ClockSync` wake-up.
    pub sync_gen: u64,
    /// Generation of the armed fire wake-up.
    pub fire_gen: u64,
    /// Textbook estimators fed the same accepted samples.
    pub baselines: Baselines,
    /// The receiving end of the announcement stream.
    pub rx: Receiver<Announcement>,
    /// Next segment number the server will use toward this client.
    pub tx_next: u64,
    /// Phases announced and not yet fired.
    pub pending: Vec<Pending>,
    /// `(seq, true send time)` of recent pings.
    pub sent: VecDeque<(u32, Instant)>,
    /// Set when the client's device suspends (its clock stops): until a
    /// sample whose ping was sent after that is accepted, no estimator can
    /// know how long it slept.
    pub blind_since: Option<Instant>,
    /// Last shared time read, with the clock it was read on.
    pub last_shared: Option<(ClockId, Instant)>,
    /// The device is asleep: nothing runs, arriving packets wait.
    pub suspended: bool,
    /// Packets that arrived while suspended, in arrival order.
    pub deferred: Vec<(LinkId, Msg)>,
}

impl Client {
    /// A client that has not joined yet.
    pub fn new(params: ClientParams) -> Self {
        Client {
            params,
            sync: None,
            sync_gen: 0,
            fire_gen: 0,
            baselines: Baselines::default(),
            rx: Receiver::default(),
            tx_next: 0,
            pending: Vec::new(),
            sent: VecDeque::new(),
            blind_since: None,
            last_shared: None,
            suspended: false,
            deferred: Vec::new(),
        }
    }

    /// Its local clock at true time `t`.
    pub fn local(&self, t: Instant) -> Instant {
        self.params.clock.local(t)
    }

    /// Remembers when ping `seq` left, for the blind-window bookkeeping.
    pub fn note_ping(&mut self, seq: u32, now: Instant) {
        if self.sent.len() == 16 {
            self.sent.pop_front();
        }
        self.sent.push_back((seq, now));
    }

    /// A pong for `seq` was accepted: ends the blind window if its ping left
    /// after the step.
    pub fn note_accepted(&mut self, seq: u32) {
        let sent = self.sent.iter().find(|(s, _)| *s == seq).map(|(_, t)| *t);
        if let (Some(since), Some(sent)) = (self.blind_since, sent)
            && sent > since
        {
            self.blind_since = None;
        }
    }

    /// Fires every pending phase whose start the shared clock has reached at
    /// true `now`; returns the fires and the earliest local instant at which
    /// another one is due.
    pub fn due_fires(&mut self, now: Instant) -> (Vec<Fire>, Option<Instant>) {
        let local = self.local(now);
        let blind = self.blind_since.is_some();
        let mut fired = Vec::new();
        let mut next: Option<Instant> = None;
        let Some(sync) = &self.sync else {
            return (fired, None);
        };
        let current = sync.server_clock();
        self.pending.retain(|p| {
            if Some(p.ann.clock) != current {
                return true;
            }
            match sync.local_time_of(p.ann.phase.starts_at) {
                Some(at) if at <= local => {
                    fired.push(Fire {
                        key: p.ann.key,
                        at: now,
                        counts: !p.late && !blind,
                    });
                    false
                }
                Some(at) => {
                    next = Some(next.map_or(at, |n| n.min(at)));
                    true
                }
                None => true,
            }
        });
        (fired, next)
    }

    /// Queues an announcement handed over by the stream at true `now`.
    pub fn announce(&mut self, ann: Announcement, now: Instant) {
        let local = self.local(now);
        // While blind the client cannot tell whether the phase is still ahead.
        let late = self.blind_since.is_some()
            || match &self.sync {
                Some(sync) if sync.server_clock() == Some(ann.clock) => sync
                    .local_time_of(ann.phase.starts_at)
                    .is_none_or(|at| at <= local),
                _ => true,
            };
        self.pending.push(Pending { ann, late });
    }
}
