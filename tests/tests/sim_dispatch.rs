//! The dispatch simulation repeats exactly, passes on a small seed set, and
//! its model checker catches a deliberately broken shell.

use onbeat_sim::scenario::dispatch::checks::Check;
use onbeat_sim::scenario::dispatch::{Summary, Tamper, run_seed, run_seed_with, run_seeds};

#[test]
fn same_seed_gives_the_same_event_log() {
    let a = run_seed(3, 20);
    let b = run_seed(3, 20);
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.records, b.records);
    assert_eq!(a.n, b.n);
    assert!(a.n.deliveries > 1_000, "a room delivers: {:?}", a.n);
    assert_ne!(a.hash, run_seed(4, 20).hash);
}

#[test]
fn thread_count_does_not_change_results() {
    let seeds: Vec<u64> = (10..14).collect();
    let one = Summary::new(&run_seeds(&seeds, 10, 1), 10);
    let two = Summary::new(&run_seeds(&seeds, 10, 2), 10);
    assert_eq!(one.hash, two.hash);
    assert_eq!(one.total, two.total);
}

#[test]
fn small_seed_set_has_no_violations() {
    let seeds: Vec<u64> = (0..8).collect();
    let s = Summary::new(&run_seeds(&seeds, 30, 2), 30);
    assert_eq!(s.violations(), 0, "{:#?}", s.failures);
    assert!(s.total.resumes > 0 && s.total.timed > 0 && s.total.inputs > 0);
}

/// Runs a seed with the shell broken as `tamper` says; returns the
/// violations of `check`.
fn caught(tamper: Tamper, check: Check) -> u64 {
    let honest = run_seed(1, 20);
    assert_eq!(
        honest.violations.total(),
        0,
        "{:#?}",
        honest.violations.first
    );
    let broken = run_seed_with(1, 20, tamper);
    broken.violations.counts[check as usize]
}

#[test]
fn a_delivery_lost_on_the_way_is_caught() {
    assert!(caught(Tamper::DropDelivery, Check::Protocol) > 0);
}

#[test]
fn a_message_the_app_never_hears_is_caught() {
    assert!(caught(Tamper::DropEvent, Check::Order) > 0);
}

#[test]
fn a_timed_message_released_early_is_caught() {
    assert!(caught(Tamper::EarlyTimed, Check::Timed) > 0);
}
