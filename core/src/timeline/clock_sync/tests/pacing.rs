//! How often the machine pings (fast until settled, longer once it is) and
//! how fast it corrects: small corrections are slewed, not stepped.

use super::*;

#[test]
fn samples_fast_at_start_then_at_the_interval_once_settled() {
    let mut b = Bench::new(0.0, 0.0, |_| (5_000, 5_000));
    b.run(10_000_000);
    let pings: std::vec::Vec<u64> = b
        .events
        .iter()
        .filter_map(|e| match e {
            ClockEvent::Ping(p) => Some(p.t1.as_micros()),
            _ => None,
        })
        .collect();
    let gaps: std::vec::Vec<u64> = pings.windows(2).map(|w| w[1] - w[0]).collect();
    // A quiet path: fast while the estimate is acquired, then settled.
    assert!(gaps[..15].iter().all(|&g| g == 125_000), "{gaps:?}");
    assert!(gaps[20..].iter().all(|&g| g == 1_000_000), "{gaps:?}");
}

/// Heavy-tailed queueing (Lomax, mean 40 ms) drawn from a hash of `n`.
fn heavy_jitter(n: u32) -> (u64, u64) {
    let draw = |salt: u32| {
        let h = (n.wrapping_mul(2_654_435_761) ^ salt).wrapping_mul(2_246_822_519);
        let u = f64::from(h >> 8) / f64::from(1u32 << 24);
        (60_000.0 * ((1.0 - u).powf(-1.0 / 2.5) - 1.0)) as u64
    };
    (30_000 + draw(0x9e37), 30_000 + draw(0x7f4a))
}

#[test]
fn a_jittery_path_keeps_sampling_fast_until_settled() {
    let mut b = Bench::new(0.0, 30.0, heavy_jitter);
    b.run(8_000_000);
    let pings = b
        .events
        .iter()
        .filter(|e| matches!(e, ClockEvent::Ping(_)))
        .count();
    assert!(pings >= 30, "only {pings} pings in 8 s");
}

#[test]
fn small_corrections_are_slewed_at_most_one_percent() {
    // The path shortens on one side after a while: a 5 ms correction.
    let mut b = Bench::new(0.0, 0.0, |n| {
        if n < 20 {
            (30_000, 40_000)
        } else {
            (20_000, 40_000)
        }
    });
    b.run(10_000_000);
    let acquired = b.events.len();
    b.run(25_000_000);
    assert!(
        !b.events[acquired..]
            .iter()
            .any(|e| matches!(e, ClockEvent::Stepped { .. }))
    );
    let mut prev = b
        .sync
        .estimate(b.local(b.now))
        .unwrap()
        .server_time
        .as_micros();
    let mut prev_now = b.now;
    for _ in 0..200 {
        b.run(b.now + 10_000);
        let cur = b
            .sync
            .estimate(b.local(b.now))
            .unwrap()
            .server_time
            .as_micros();
        let rate = (cur - prev) as f64 / (b.now - prev_now) as f64;
        prev_now = b.now;
        assert!((0.99 - 1e-3..=1.01 + 1e-3).contains(&rate), "rate {rate}");
        prev = cur;
    }
}
