use super::*;

const N: u64 = 100_000;

fn config() -> LinkConfig {
    LinkConfig::ideal(Duration::from_millis(10))
}

/// Sends `N` packets 1 ms apart; returns every fate in send order.
fn run(config: &LinkConfig, seed: u64) -> Vec<Transit> {
    let mut link = Link::from_config(config);
    let mut rng = SimRng::new(seed);
    (0..N)
        .map(|i| link.send(Instant::from_millis(i), 100, &mut rng).1)
        .collect()
}

fn lost(fates: &[Transit]) -> Vec<bool> {
    fates.iter().map(|t| t.delivered.is_empty()).collect()
}

/// Mean length of runs of consecutive losses.
fn mean_burst(lost: &[bool]) -> f64 {
    let (mut bursts, mut total, mut run) = (0u64, 0u64, 0u64);
    for &l in lost.iter().chain([false].iter()) {
        if l {
            run += 1;
        } else if run > 0 {
            bursts += 1;
            total += run;
            run = 0;
        }
    }
    total as f64 / bursts.max(1) as f64
}

#[test]
fn ideal_link_delivers_everything_after_the_base_delay() {
    let fates = run(&config(), 1);
    for (i, t) in fates.iter().enumerate() {
        assert_eq!(t.delivered.len(), 1);
        assert!(t.dropped.is_empty());
        assert_eq!(t.delivered[0].at, Instant::from_millis(i as u64 + 10));
    }
}

#[test]
fn bernoulli_loss_rate_within_tolerance() {
    let c = LinkConfig {
        loss: LossModel::Bernoulli(0.07),
        ..config()
    };
    let fates = run(&c, 2);
    let rate = lost(&fates).iter().filter(|&&l| l).count() as f64 / N as f64;
    assert!((rate - 0.07).abs() < 0.005, "loss rate {rate}");
    assert!(
        fates
            .iter()
            .flat_map(|t| &t.dropped)
            .all(|(_, r)| *r == DropReason::Loss)
    );
}

#[test]
fn loss_heals_at_its_end() {
    let c = LinkConfig {
        loss: LossModel::Bernoulli(1.0),
        loss_until: Some(Instant::from_millis(50_000)),
        ..config()
    };
    let lost = lost(&run(&c, 3));
    // Packets go out 1 ms apart: the first 50,000 are all lost, the rest none.
    assert!(lost[..50_000].iter().all(|&l| l));
    assert!(lost[50_000..].iter().all(|&l| !l));
}

#[test]
fn gilbert_elliott_matches_its_mean_and_is_bursty() {
    let ge = GilbertElliott {
        p_good_to_bad: 0.02,
        p_bad_to_good: 0.25,
        loss_good: 0.0,
        loss_bad: 0.9,
    };
    let expected = ge.mean_loss();
    let fates = run(
        &LinkConfig {
            loss: LossModel::GilbertElliott(ge),
            ..config()
        },
        3,
    );
    let lost_ge = lost(&fates);
    let rate = lost_ge.iter().filter(|&&l| l).count() as f64 / N as f64;
    assert!(
        (rate - expected).abs() < 0.01,
        "loss rate {rate} vs {expected}"
    );

    let bern = run(
        &LinkConfig {
            loss: LossModel::Bernoulli(expected),
            ..config()
        },
        4,
    );
    let (burst_ge, burst_bern) = (mean_burst(&lost_ge), mean_burst(&lost(&bern)));
    // Independent losses at ~6% form runs of ~1.07; Gilbert–Elliott's Bad
    // spells of ~4 packets at 90% loss give runs several times longer.
    assert!(burst_bern < 1.1, "bernoulli bursts {burst_bern}");
    assert!(burst_ge > 2.5, "ge bursts {burst_ge}");
}

#[test]
fn duplication_rate_within_tolerance() {
    let fates = run(
        &LinkConfig {
            duplicate: 0.05,
            ..config()
        },
        5,
    );
    let dups = fates.iter().filter(|t| t.delivered.len() == 2).count() as f64 / N as f64;
    assert!((dups - 0.05).abs() < 0.004, "dup rate {dups}");
    for t in fates.iter().filter(|t| t.delivered.len() == 2) {
        assert_eq!(t.delivered[0].id, t.delivered[1].id);
        assert_eq!((t.delivered[0].copy, t.delivered[1].copy), (0, 1));
    }
}

#[test]
fn partition_drops_everything_inside_its_window_and_nothing_outside() {
    let window = (Instant::from_millis(20_000), Instant::from_millis(25_000));
    let c = LinkConfig {
        partitions: vec![window],
        ..config()
    };
    for (i, t) in run(&c, 6).iter().enumerate() {
        let sent = Instant::from_millis(i as u64);
        if window.0 <= sent && sent < window.1 {
            assert!(t.delivered.is_empty());
            assert_eq!(t.dropped[0].1, DropReason::Partition);
        } else {
            assert_eq!(t.delivered.len(), 1);
        }
    }
}

#[test]
fn delay_mean_is_base_plus_jitter_mean() {
    let c = LinkConfig {
        jitter_mean: Duration::from_millis(8),
        jitter_shape: 3.0,
        ..config()
    };
    let fates = run(&c, 7);
    let delays: Vec<u64> = fates
        .iter()
        .enumerate()
        .map(|(i, t)| t.delivered[0].at.as_micros() - Instant::from_millis(i as u64).as_micros())
        .collect();
    let mean = delays.iter().sum::<u64>() as f64 / N as f64;
    assert!((mean - 18_000.0).abs() < 300.0, "mean delay {mean}");
    assert!(delays.iter().all(|&d| d >= 10_000));
    // Heavy tail: the largest draw is many times the mean.
    assert!(*delays.iter().max().unwrap() > 100_000);
}

#[test]
fn jitter_cap_bounds_every_delay() {
    let c = LinkConfig {
        jitter_mean: Duration::from_millis(50),
        jitter_shape: 1.2,
        jitter_cap: Duration::from_millis(300),
        ..config()
    };
    for (i, t) in run(&c, 8).iter().enumerate() {
        assert!(t.delivered[0].at <= Instant::from_millis(i as u64 + 310));
    }
}

fn inversions(fates: &[Transit]) -> usize {
    let arrivals: Vec<Instant> = fates.iter().map(|t| t.delivered[0].at).collect();
    arrivals.windows(2).filter(|w| w[1] < w[0]).count()
}

#[test]
fn explicit_reordering_holds_back_the_expected_share() {
    let c = LinkConfig {
        reorder: 0.03,
        reorder_extra: Duration::from_millis(20),
        ..config()
    };
    let fates = run(&c, 9);
    let late = fates
        .iter()
        .enumerate()
        .filter(|(i, t)| t.delivered[0].at > Instant::from_millis(*i as u64 + 10))
        .count() as f64
        / N as f64;
    assert!((late - 0.03).abs() < 0.003, "held back {late}");
    // A packet held back by more than the 1 ms spacing lands behind its successor.
    assert!(inversions(&fates) as f64 > 0.025 * N as f64);
    assert_eq!(inversions(&run(&config(), 9)), 0);
}

#[test]
fn jitter_alone_reorders() {
    let c = LinkConfig {
        jitter_mean: Duration::from_millis(5),
        ..config()
    };
    assert!(inversions(&run(&c, 10)) > 1_000);
}

#[test]
fn same_seed_same_fates() {
    let c = LinkConfig {
        jitter_mean: Duration::from_millis(5),
        loss: LossModel::Bernoulli(0.1),
        duplicate: 0.1,
        reorder: 0.1,
        reorder_extra: Duration::from_millis(5),
        ..config()
    };
    assert_eq!(run(&c, 11), run(&c, 11));
    assert_ne!(run(&c, 11), run(&c, 12));
}
