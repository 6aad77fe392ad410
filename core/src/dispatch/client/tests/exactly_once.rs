//! Exactly one outcome per input, against a server that drops connections,
//! refuses resumes, and remembers what it judged.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::proto::RejectCode;

/// A server that remembers each session's judgements, as the hub does,
/// facing a client whose connection drops at random (sometimes after the
/// server judged an input but before its answer got out) and whose resume
/// is sometimes refused. Whatever happens, every input gets one outcome,
/// and no input is judged by two sessions.
#[test]
fn every_input_gets_exactly_one_outcome_through_random_reconnects() {
    for seed in 0..200 {
        let mut w = World::new(seed);
        for _ in 0..300 {
            w.step();
        }
        for _ in 0..1_000 {
            if w.rig.c.pending() == 0 {
                break;
            }
            w.settle();
        }
        assert_eq!(w.rig.c.pending(), 0, "seed {seed}: settles once calm");
        for id in &w.made {
            assert_eq!(w.outcomes.get(id), Some(&1), "seed {seed}: request {id}");
        }
        assert_eq!(
            w.outcomes.len(),
            w.made.len(),
            "seed {seed}: no stray outcomes"
        );
    }
}

struct World {
    rng: ChaCha8Rng,
    rig: Rig,
    session: u32,
    /// The server's memory of the current session: request → accepted.
    judged: BTreeMap<u32, bool>,
    /// The session that judged each request.
    judged_by: BTreeMap<u32, u32>,
    /// Requests on their way to the server on the current connection.
    inbox: Vec<u32>,
    made: Vec<u32>,
    outcomes: BTreeMap<u32, u32>,
}

impl World {
    fn new(seed: u64) -> World {
        World {
            rng: ChaCha8Rng::seed_from_u64(seed),
            rig: Rig::seeded(seed),
            session: 0,
            judged: BTreeMap::new(),
            judged_by: BTreeMap::new(),
            inbox: Vec::new(),
            made: Vec::new(),
            outcomes: BTreeMap::new(),
        }
    }

    fn step(&mut self) {
        match self.rng.random_range(0..5) {
            0 => {
                if let Ok(id) = self.rig.c.input("room", None, b"x", self.rig.now) {
                    self.made.push(id);
                }
            }
            1 if self.rig.c.is_open() => {
                // Some requests reach the server, whose answers are lost.
                for id in core::mem::take(&mut self.inbox) {
                    if self.rng.random_bool(0.5) {
                        self.judge(id);
                    }
                }
                self.rig.disconnect();
            }
            _ => self.settle(),
        }
    }

    /// Reconnects if away, else has the server answer one request.
    fn settle(&mut self) {
        if !self.rig.c.is_open() {
            if self.rig.wait().contains(&Out::Connect) {
                self.rig.connect();
                if self.rng.random_bool(0.5) {
                    self.session += 1;
                    self.judged.clear();
                }
                let outs = self.rig.feed(&welcome(&std::format!("s-{}", self.session)));
                self.record(&outs);
            }
            return;
        }
        let outs = self.rig.drain();
        self.record(&outs);
        let Some(id) = self.inbox.pop() else {
            return;
        };
        let outcome = if self.judge(id) {
            InputOutcome::Accepted
        } else {
            InputOutcome::Rejected(RejectCode::Invalid)
        };
        let (r, outs) = self.rig.try_feed(&input_result(id, outcome));
        assert!(r.is_ok() || r == Err(ClientError::UnknownRequest { request: id }));
        self.record(&outs);
    }

    /// The server's judgement of `id`: made once per session, then repeated.
    fn judge(&mut self, id: u32) -> bool {
        let by = *self.judged_by.entry(id).or_insert(self.session);
        assert_eq!(by, self.session, "request {id} judged by two sessions");
        let fresh = self.rng.random_bool(0.5);
        *self.judged.entry(id).or_insert(fresh)
    }

    fn record(&mut self, outs: &[Out]) {
        for o in outs {
            match o {
                Out::Event(Ev::Input { request, .. }) => {
                    *self.outcomes.entry(*request).or_default() += 1;
                }
                Out::Send(ClientMsg::Input(i)) => self.inbox.push(i.request),
                _ => {}
            }
        }
    }
}
