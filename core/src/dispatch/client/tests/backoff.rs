//! Reconnect timing: bounds, reset, determinism, and the spread of many
//! clients that lost the server at the same instant.

use super::super::backoff::window;
use super::*;

/// Fails `n` connection attempts in a row (transport refused), returning the
/// delay before each next attempt.
fn fail(rig: &mut Rig, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let lost_at = rig.now;
            rig.disconnect();
            assert_eq!(rig.wait(), [Out::Connect]);
            rig.now - lost_at
        })
        .collect()
}

#[test]
fn delays_stay_within_a_doubling_window_up_to_the_cap() {
    let config = ClientConfig::default();
    let widths: Vec<u64> = (0..9)
        .map(|n| window(config.backoff_base, config.backoff_cap, n).as_millis())
        .collect();
    assert_eq!(
        widths,
        [
            500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000
        ]
    );
    assert_eq!(
        window(config.backoff_base, config.backoff_cap, u32::MAX),
        config.backoff_cap
    );

    for seed in 0..100 {
        let mut rig = Rig::seeded(seed);
        for (n, delay) in fail(&mut rig, 12).into_iter().enumerate() {
            let width = window(config.backoff_base, config.backoff_cap, n as u32);
            assert!(delay <= width, "seed {seed} attempt {n}: {delay} > {width}");
        }
    }
}

#[test]
fn a_stable_session_starts_the_backoff_over_and_a_short_one_does_not() {
    let config = ClientConfig::default();
    let mut rig = Rig::new();
    fail(&mut rig, 6);
    rig.open("s-1");
    rig.advance(config.stable_after);
    let delays = fail(&mut rig, 2);
    assert!(delays[0] <= config.backoff_base, "{}", delays[0]);

    // Sessions that die as soon as they open keep widening the window: over
    // many of them the delays grow to the cap's scale.
    let mut long = 0;
    for _ in 0..20 {
        rig.open("s-1");
        let lost_at = rig.now;
        rig.disconnect();
        rig.wait();
        long += usize::from(rig.now - lost_at > Duration::from_secs(4));
    }
    assert!(long >= 10, "only {long} of 20 delays exceeded 4 s");
}

#[test]
fn the_same_seed_gives_the_same_delays() {
    let a = fail(&mut Rig::seeded(42), 8);
    let b = fail(&mut Rig::seeded(42), 8);
    let c = fail(&mut Rig::seeded(43), 8);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

/// 10,000 clients, all connected for a while, lose the server at the same
/// instant. Their reconnects must spread evenly over the first window, and,
/// when that attempt fails too, over the second: no bin of the histogram
/// more than 15% above or below the mean (about 5 standard deviations).
/// Clients are independent, so they are run one after another.
#[test]
fn ten_thousand_clients_spread_their_reconnects_evenly() {
    const CLIENTS: u64 = 10_000;
    const BINS: usize = 20;
    let config = ClientConfig::default();
    let widths = [0, 1].map(|n| window(config.backoff_base, config.backoff_cap, n));
    let crash = at(60_000);
    let mut bins = [[0u32; BINS]; 2];
    for seed in 0..CLIENTS {
        let mut rig = Rig::seeded(seed);
        rig.open("s");
        rig.now = crash;
        for (attempt, width) in widths.iter().enumerate() {
            // Everyone starts each attempt at the same instant.
            let start = crash + widths[..attempt].iter().fold(Duration::ZERO, |a, &b| a + b);
            rig.now = start;
            rig.disconnect();
            rig.wait();
            let delay = (rig.now - start).as_micros();
            assert!(delay <= width.as_micros(), "seed {seed}");
            let bin = delay * BINS as u64 / (width.as_micros() + 1);
            bins[attempt][bin as usize] += 1;
        }
    }
    let mean = CLIENTS as f64 / BINS as f64;
    for (attempt, bins) in bins.iter().enumerate() {
        for (i, &n) in bins.iter().enumerate() {
            let off = (f64::from(n) - mean).abs() / mean;
            assert!(
                off < 0.15,
                "attempt {attempt}, bin {i}: {n} against {mean} ({bins:?})"
            );
        }
    }
}
