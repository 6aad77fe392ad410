//! How close the estimate comes to the server's clock, and that its bound
//! holds: symmetric and lopsided paths, drift, lost and reordered pongs,
//! and the inverse mapping back to local time.

use super::*;

#[test]
fn symmetric_path_converges_to_microseconds() {
    let mut b = Bench::new(123_456_789.0, 0.0, |_| (40_000, 40_000));
    b.run(10_000_000);
    let (err, bound) = b.error_now();
    assert!(err <= 50, "error {err} µs");
    // The bound is honest about not knowing the path's symmetry: half the RTT.
    assert!((39_000..=41_000).contains(&bound), "bound {bound} µs");
}

#[test]
fn asymmetric_path_error_is_half_the_asymmetry_and_inside_the_bound() {
    let mut b = Bench::new(5_000.0, 0.0, |_| (10_000, 90_000));
    b.run(10_000_000);
    let (err, bound) = b.error_now();
    assert!((39_000..=41_000).contains(&err), "error {err} µs");
    assert!(bound >= err);
}

#[test]
fn learns_drift_so_error_stays_small_between_pings() {
    // 100 ppm fast, with jitter that alternates which direction is slow.
    let mut b = Bench::new(0.0, 100.0, |n| match n % 4 {
        0 => (20_000, 20_000),
        1 => (35_000, 21_000),
        2 => (20_500, 60_000),
        _ => (80_000, 20_000),
    });
    b.run(40_000_000);
    let mut worst = 0;
    for _ in 0..20 {
        b.run(b.now + 97_000);
        worst = worst.max(b.error_now().0);
    }
    assert!(worst <= 300, "worst error {worst} µs");
}

#[test]
fn lost_and_reordered_pongs_are_tolerated() {
    // Every third pong lost (a huge return delay past the timeout), others
    // overtaking each other.
    let mut b = Bench::new(1_000.0, -50.0, |n| match n % 3 {
        0 => (30_000, 30_000),
        1 => (30_000, 60_000_000),
        _ => (300_000, 900_000),
    });
    b.run(30_000_000);
    let (err, _) = b.error_now();
    assert!(err <= 200, "error {err} µs");
}

#[test]
fn local_time_of_inverts_the_estimate() {
    let mut b = Bench::new(3_000_000.0, 80.0, |_| (25_000, 25_000));
    b.run(12_000_000);
    let now = b.local(b.now);
    let target =
        Instant::from_micros(b.sync.estimate(now).unwrap().server_time.as_micros() + 2_500_000);
    let fire = b.sync.local_time_of(target).unwrap();
    let at = b.sync.estimate(fire).unwrap().server_time;
    assert!(
        at >= target && at.as_micros() - target.as_micros() <= 2,
        "{at:?} vs {target:?}"
    );
}
