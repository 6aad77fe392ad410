//! Per-seed results, their merge over a run, and how they are printed.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::checks::{Check, Violations};
use super::params::{Mix, RUN_SECS};
use crate::log::Fnv64;

/// What happened in one seed's room, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages the apps heard (topics and inboxes).
    pub deliveries: u64,
    /// Gaps the apps heard (lossy topics and inboxes).
    pub gaps: u64,
    /// Resubscriptions that recovered.
    pub recovered: u64,
    /// Resubscriptions that could not recover.
    pub not_recovered: u64,
    /// Sessions opened, resumed ones included.
    pub sessions: u64,
    /// Sessions resumed.
    pub resumes: u64,
    /// Requests whose outcome was `Lost`.
    pub lost: u64,
    /// Inputs made.
    pub inputs: u64,
    /// Publishes made (timed ones included).
    pub publishes: u64,
    /// Timed publishes made.
    pub timed: u64,
    /// Connections the hub closed as `slow_consumer`.
    pub slow_consumer: u64,
    /// Connections the hub closed for other reasons.
    pub other_closes: u64,
    /// Connections opened.
    pub connections: u64,
    /// Connections killed by a cut path.
    pub cut: u64,
    /// Frames written on the wire, both directions.
    pub frames: u64,
    /// Segments sent again.
    pub retransmits: u64,
}

impl Counters {
    fn merge(&mut self, o: &Counters) {
        let pairs = [
            (&mut self.deliveries, o.deliveries),
            (&mut self.gaps, o.gaps),
            (&mut self.recovered, o.recovered),
            (&mut self.not_recovered, o.not_recovered),
            (&mut self.sessions, o.sessions),
            (&mut self.resumes, o.resumes),
            (&mut self.lost, o.lost),
            (&mut self.inputs, o.inputs),
            (&mut self.publishes, o.publishes),
            (&mut self.timed, o.timed),
            (&mut self.slow_consumer, o.slow_consumer),
            (&mut self.other_closes, o.other_closes),
            (&mut self.connections, o.connections),
            (&mut self.cut, o.cut),
            (&mut self.frames, o.frames),
            (&mut self.retransmits, o.retransmits),
        ];
        for (a, b) in pairs {
            *a += b;
        }
    }
}

/// What one seed's room did and which checks it broke.
#[derive(Clone, Debug, Default)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// The faults it drew.
    pub mix: Mix,
    /// The event-log hash.
    pub hash: u64,
    /// Records in the event log.
    pub records: u64,
    /// What happened.
    pub n: Counters,
    /// What went wrong.
    pub violations: Violations,
}

/// A run's results merged in seed order.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Seeds run.
    pub seeds: u64,
    /// Clients per room.
    pub clients: u32,
    /// Everything, summed.
    pub total: Counters,
    /// Per fault of [`Mix::NAMES`]: seeds with it and their counters.
    pub by_fault: Vec<(u64, Counters, u64)>,
    /// Violations per check, summed.
    pub checks: [u64; 8],
    /// Failing seeds with their first descriptions.
    pub failures: Vec<(u64, Vec<String>)>,
    /// FNV-1a of the seeds' hashes, in seed order.
    pub hash: u64,
}

impl Summary {
    /// Merges `results` (in seed order).
    pub fn new(results: &[SeedResult], clients: u32) -> Self {
        let mut s = Summary {
            seeds: results.len() as u64,
            clients,
            by_fault: vec![(0, Counters::default(), 0); Mix::NAMES.len()],
            ..Summary::default()
        };
        let mut hash = Fnv64::new();
        for r in results {
            hash.write_u64(r.hash);
            s.total.merge(&r.n);
            for (k, on) in r.mix.flags().into_iter().enumerate() {
                if on {
                    let f = &mut s.by_fault[k];
                    f.0 += 1;
                    f.1.merge(&r.n);
                    f.2 += r.violations.total();
                }
            }
            for (a, b) in s.checks.iter_mut().zip(r.violations.counts) {
                *a += b;
            }
            if r.violations.total() > 0 {
                s.failures.push((r.seed, r.violations.first.clone()));
            }
        }
        s.hash = hash.finish();
        s
    }

    /// All violations.
    pub fn violations(&self) -> u64 {
        self.checks.iter().sum()
    }

    /// One row per fault over the seeds that have it.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<15} {:>6} {:>11} {:>7} {:>8} {:>8} {:>6} {:>6} {:>10}",
            "fault",
            "seeds",
            "deliveries",
            "gaps",
            "resumes",
            "recov",
            "unrec",
            "slow",
            "violations"
        );
        let all = std::iter::once(("all", self.seeds, &self.total, self.violations()));
        let rows = Mix::NAMES
            .iter()
            .zip(&self.by_fault)
            .map(|(name, (n, c, v))| (*name, *n, c, *v));
        for (name, seeds, c, v) in all.chain(rows) {
            let _ = writeln!(
                out,
                "{name:<15} {seeds:>6} {:>11} {:>7} {:>8} {:>8} {:>6} {:>6} {v:>10}",
                c.deliveries, c.gaps, c.resumes, c.recovered, c.not_recovered, c.slow_consumer
            );
        }
        let checks: Vec<String> = Check::ALL
            .iter()
            .zip(self.checks)
            .map(|(c, n)| format!("{} {n}", c.name()))
            .collect();
        let _ = writeln!(out, "violations by check: {}", checks.join(", "));
        out
    }

    /// The run as one JSON object (the output's last line).
    pub fn json(&self, wall_ms: u64) -> Value {
        let t = &self.total;
        let checks: serde_json::Map<String, Value> = Check::ALL
            .iter()
            .zip(self.checks)
            .map(|(c, n)| (c.name().to_string(), json!(n)))
            .collect();
        json!({
            "seeds": self.seeds,
            "clients": self.clients,
            "violations": self.violations(),
            "failing_seeds": self.failures.len(),
            "first_failing_seed": self.failures.first().map(|f| f.0),
            "sim_seconds": self.seeds * RUN_SECS,
            "wall_ms": wall_ms,
            "deliveries": t.deliveries,
            "gaps": t.gaps,
            "inputs": t.inputs,
            "publishes": t.publishes,
            "timed": t.timed,
            "sessions": t.sessions,
            "resumes": t.resumes,
            "recovered": t.recovered,
            "not_recovered": t.not_recovered,
            "lost_requests": t.lost,
            "slow_consumer_closes": t.slow_consumer,
            "other_closes": t.other_closes,
            "connections": t.connections,
            "cut_connections": t.cut,
            "frames": t.frames,
            "retransmits": t.retransmits,
            "violations_by_check": checks,
            "event_log_hash": format!("{:016x}", self.hash),
        })
    }
}
