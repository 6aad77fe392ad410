//! Per-seed results, their merge over a run, and how they are printed.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::params::Mix;
use crate::log::Fnv64;
use crate::metrics::Histogram;

/// One traced reading for the plot: true time (µs), signed error (µs), bound (µs).
pub type TracePoint = (u64, i64, u64);

/// What one seed's room measured.
#[derive(Clone, Debug, Default)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// The impairments it drew.
    pub mix: Mix,
    /// The event-log hash.
    pub hash: u64,
    /// Records in the event log.
    pub records: u64,
    /// |error| on symmetric paths, µs.
    pub error: Histogram,
    /// |error| − |asymmetry|/2 (floored at zero) on asymmetric paths, µs.
    pub asym_excess: Histogram,
    /// Cristian's |error| on symmetric paths, µs.
    pub cristian: Histogram,
    /// The NTP filter's |error| on symmetric paths, µs.
    pub ntp: Histogram,
    /// Readings whose true server time lay outside estimate ± bound.
    pub bound_violations: u64,
    /// Readings where shared time went backwards on one server clock.
    pub backwards: u64,
    /// Readings skipped because the client's own clock had just stepped.
    pub blind_samples: u64,
    /// Per phase, max − min true fire time across clients, µs.
    pub spreads: Histogram,
    /// Fires that do not count toward the spread (late announcement or blind).
    pub fires_excluded: u64,
    /// Fires that count.
    pub fires: u64,
    /// `Stepped` events from the clients' `ClockSync`s.
    pub stepped: u64,
    /// The first bound violation, described.
    pub first_violation: Option<String>,
    /// The first backwards step of shared time, described.
    pub first_backwards: Option<String>,
    /// Per client, the readings, when tracing.
    pub trace: Vec<Vec<TracePoint>>,
}

impl SeedResult {
    /// Whether the seed broke a hard guarantee.
    pub fn failed(&self) -> bool {
        self.bound_violations > 0 || self.backwards > 0
    }

    /// `seed S failed: ...` with the first of each kind of failure, if any.
    pub fn failure(&self) -> Option<String> {
        let parts: Vec<&str> = [&self.first_violation, &self.first_backwards]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        (!parts.is_empty()).then(|| {
            format!(
                "seed {} failed (event log {:016x}): {}",
                self.seed,
                self.hash,
                parts.join("; ")
            )
        })
    }
}

/// A whole run, merged in seed order.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Seeds run.
    pub seeds: u64,
    /// Clients per room.
    pub clients: u32,
    /// Merged over all seeds.
    pub total: SeedResult,
    /// Spreads over all seeds, symmetric or not.
    pub spreads_all: Histogram,
    /// Per impairment, merged over the seeds that have it.
    pub by_feature: Vec<(&'static str, u64, SeedResult)>,
    /// Seeds that failed, in order, with why.
    pub failures: Vec<(u64, String)>,
    /// Hash of all seeds' hashes in seed order.
    pub hash: u64,
}

fn features(mix: &Mix) -> [(&'static str, bool); 11] {
    [
        ("all", true),
        ("symmetric", !mix.asymmetric),
        ("asymmetric", mix.asymmetric),
        ("no steps", !mix.client_steps),
        ("heavy jitter", mix.heavy_jitter),
        ("bursty loss", mix.loss && mix.bursty),
        ("duplication", mix.duplication),
        ("reordering", mix.reordering),
        ("partitions", mix.partitions),
        ("client steps", mix.client_steps),
        ("server restart", mix.server_restart),
    ]
}

fn merge_into(into: &mut SeedResult, r: &SeedResult) {
    into.error.merge(&r.error);
    into.asym_excess.merge(&r.asym_excess);
    into.cristian.merge(&r.cristian);
    into.ntp.merge(&r.ntp);
    into.bound_violations += r.bound_violations;
    into.backwards += r.backwards;
    into.blind_samples += r.blind_samples;
    if !r.mix.asymmetric {
        into.spreads.merge(&r.spreads);
    }
    into.fires_excluded += r.fires_excluded;
    into.fires += r.fires;
    into.stepped += r.stepped;
    into.records += r.records;
}

impl Summary {
    /// Merges `results`, which must be in seed order.
    pub fn new(results: &[SeedResult], clients: u32) -> Self {
        let mut s = Summary {
            seeds: results.len() as u64,
            clients,
            ..Summary::default()
        };
        s.by_feature = features(&Mix::default())
            .iter()
            .map(|(name, _)| (*name, 0, SeedResult::default()))
            .collect();
        let mut hash = Fnv64::new();
        for r in results {
            merge_into(&mut s.total, r);
            s.spreads_all.merge(&r.spreads);
            for (i, (_, on)) in features(&r.mix).iter().enumerate() {
                if *on {
                    s.by_feature[i].1 += 1;
                    merge_into(&mut s.by_feature[i].2, r);
                }
            }
            if let Some(why) = r.failure() {
                s.failures.push((r.seed, why));
            }
            hash.write_u64(r.hash);
        }
        s.hash = hash.finish();
        s
    }

    /// The readable table, one row per impairment.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let q = |h: &Histogram, p: f64| h.quantile(p).map_or("-".to_string(), |v| v.to_string());
        let _ = writeln!(
            out,
            "{:<15} {:>6} {:>9} {:>9} {:>11} {:>10} {:>10} {:>6} {:>5} {:>11} {:>10}",
            "scenario",
            "seeds",
            "p50_us",
            "p99_us",
            "asym_ex_p99",
            "cristian99",
            "ntp99",
            "viol",
            "back",
            "spread_p99",
            "excl_fires"
        );
        for (name, seeds, r) in &self.by_feature {
            let _ = writeln!(
                out,
                "{:<15} {:>6} {:>9} {:>9} {:>11} {:>10} {:>10} {:>6} {:>5} {:>11} {:>10}",
                name,
                seeds,
                q(&r.error, 0.5),
                q(&r.error, 0.99),
                q(&r.asym_excess, 0.99),
                q(&r.cristian, 0.99),
                q(&r.ntp, 0.99),
                r.bound_violations,
                r.backwards,
                q(&r.spreads, 0.99),
                r.fires_excluded,
            );
        }
        out
    }

    /// The machine-readable summary; `wall_ms` is the only field that varies
    /// between runs of the same seeds.
    pub fn json(&self, wall_ms: u64) -> Value {
        let t = &self.total;
        let steady = &self.by_feature[3].2;
        json!({
            "seeds": self.seeds,
            "clients": self.clients,
            "p50_error_us": t.error.quantile(0.5),
            "p99_error_us": t.error.quantile(0.99),
            "asym_excess_p99_us": t.asym_excess.quantile(0.99),
            "bound_violations": t.bound_violations,
            "backwards": t.backwards,
            "fire_spread_p99_us": t.spreads.quantile(0.99),
            "fire_spread_p99_us_all": self.spreads_all.quantile(0.99),
            "cristian_p99_error_us": t.cristian.quantile(0.99),
            "ntp_filter_p99_error_us": t.ntp.quantile(0.99),
            "error_samples": t.error.count(),
            "blind_samples": t.blind_samples,
            "fires": t.fires,
            "fires_excluded": t.fires_excluded,
            "stepped": t.stepped,
            "failing_seeds": self.failures.len(),
            "first_failing_seed": self.failures.first().map(|f| f.0),
            "no_steps_p99_error_us": steady.error.quantile(0.99),
            "no_steps_bound_violations": steady.bound_violations,
            "no_steps_backwards": steady.backwards,
            "event_log_hash": format!("{:016x}", self.hash),
            "wall_ms": wall_ms,
        })
    }
}
