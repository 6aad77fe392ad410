//! The simulator is deterministic, and `ClockSync` meets its goals in it.

use onbeat_sim::scenario::clock::{Summary, run_seed, run_seeds};

#[test]
fn same_seed_gives_the_same_event_log() {
    let a = run_seed(7, 20, false);
    let b = run_seed(7, 20, false);
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.records, b.records);
    assert!(a.records > 2_000, "a room logs every packet and output");
    assert_eq!(a.error, b.error);
    assert_eq!(a.spreads, b.spreads);
}

#[test]
fn different_seeds_give_different_logs() {
    let hashes: Vec<u64> = (0..8).map(|s| run_seed(s, 10, false).hash).collect();
    for (i, a) in hashes.iter().enumerate() {
        for b in &hashes[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn thread_count_does_not_change_results() {
    let seeds: Vec<u64> = (100..106).collect();
    let one = run_seeds(&seeds, 10, 1);
    let two = run_seeds(&seeds, 10, 2);
    let hashes = |rs: &[onbeat_sim::scenario::clock::SeedResult]| {
        rs.iter().map(|r| (r.seed, r.hash)).collect::<Vec<_>>()
    };
    assert_eq!(hashes(&one), hashes(&two));
    assert_eq!(Summary::new(&one, 10).hash, Summary::new(&two, 10).hash);
}

#[test]
fn small_clock_run_meets_the_goals() {
    let seeds: Vec<u64> = (0..20).collect();
    let results = run_seeds(&seeds, 20, 2);
    let s = Summary::new(&results, 20);
    let t = &s.total;
    let failures: Vec<&str> = s.failures.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(t.bound_violations, 0, "{failures:#?}");
    assert_eq!(t.backwards, 0, "{failures:#?}");
    let p99 = t.error.quantile(0.99).expect("symmetric seeds were run");
    let cristian = t.cristian.quantile(0.99).expect("baseline measured");
    let ntp = t.ntp.quantile(0.99).expect("baseline measured");
    assert!(p99 <= 2_000, "p99 error {p99} µs");
    assert!(
        p99 < cristian && p99 < ntp,
        "p99 {p99} µs vs Cristian {cristian} µs, NTP filter {ntp} µs"
    );
    let excess = t.asym_excess.quantile(0.99).unwrap_or(0);
    assert!(excess <= 2_000, "asymmetric excess p99 {excess} µs");
}
