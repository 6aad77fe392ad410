//! The estimator against the bottleneck model: the design goals, with margins.

extern crate std;

use super::{Link, estimator};

#[test]
fn holds_a_constant_link_nearly_full_with_a_short_queue_and_a_steady_target() {
    let link = Link::constant(1_000_000);
    let run = link.run(&mut estimator(), 40);
    let util = run.utilization(10.0, 40.0);
    let p95 = run.p95_queue_ms(10.0, 40.0);
    let var = run.variation(10.0, 40.0);
    std::println!(
        "constant 1 Mbit/s: utilization {util:.3}, p95 queue {p95:.1} ms, variation {var:.3}"
    );
    assert!(util >= 0.9, "utilization {util}");
    assert!(p95 <= 40.0, "p95 queue {p95} ms");
    assert!(var <= 0.15, "variation {var}");
}

fn rfc8867_steps() -> Link {
    Link {
        steps: std::vec![
            (0, 1_000_000),
            (40_000_000, 2_500_000),
            (60_000_000, 600_000),
            (80_000_000, 1_000_000)
        ],
        ..Link::constant(0)
    }
}

#[test]
fn follows_capacity_steps_down_and_up() {
    let link = rfc8867_steps();
    let run = link.run(&mut estimator(), 100);
    let up = run
        .first_after(40.0, |s| s.target as f64 >= 0.9 * 2_500_000.0)
        .unwrap();
    let down = run.first_after(60.5, |s| s.queue < 50_000).unwrap() + 0.5;
    let util = run.utilization(0.0, 100.0);
    let p95 = run.p95_queue_ms(0.0, 100.0);
    std::println!(
        "rfc8867 5.1 steps: reach up {up:.1} s, drain down {down:.1} s, utilization {util:.3}, p95 queue {p95:.1} ms, dropped {}/{}",
        run.dropped,
        run.sent
    );
    // The 3 s goal is judged in onbeat-sim over 100 seeds (its median is
    // 3.0 s); this single smooth run, growing by creep until delivery
    // proves new room, gets half a second of margin.
    assert!(up <= 3.5, "reached 90% of 2.5 Mbit/s after {up} s");
    assert!(
        down <= 1.5,
        "queue under 50 ms {down} s after the step down"
    );
    assert!(util >= 0.85, "utilization {util}");
    assert!(p95 <= 60.0, "p95 queue {p95} ms");
}

#[test]
fn follows_a_deep_drop_to_a_low_rate_within_half_a_second() {
    // 2.5 to 0.3 Mbit/s: at the new rate a shorter delivery window holds
    // too few packets to measure, and the fall must be followed anyway.
    let link = Link {
        steps: std::vec![(0, 2_500_000), (20_000_000, 300_000)],
        ..Link::constant(0)
    };
    let run = link.run(&mut estimator(), 25);
    let down = run
        .first_after(20.0, |s| s.target <= 300_000)
        .unwrap_or(f64::MAX);
    std::println!("2.5 to 0.3 Mbit/s: target under the new capacity after {down:.2} s");
    assert!(down <= 0.45, "target under 0.3 Mbit/s after {down} s");
}

#[test]
fn random_loss_without_a_queue_keeps_most_of_the_capacity() {
    let link = Link {
        loss: 0.05,
        seed: 7,
        ..Link::constant(1_000_000)
    };
    let run = link.run(&mut estimator(), 30);
    let mean = run.mean_target(10.0, 30.0);
    std::println!("5% random loss: mean target {mean:.0} bit/s of 1 Mbit/s");
    assert!(mean >= 750_000.0, "mean target {mean}");
}

#[test]
fn two_flows_share_a_link_fairly() {
    let link = Link::constant(2_000_000);
    let (mut a, mut b) = (estimator(), estimator());
    let run = link.run_with(&mut a, Some(&mut b), false, 60);
    let (x, y) = (
        run.mean_delivered(Some(0), 20.0, 60.0),
        run.mean_delivered(Some(1), 20.0, 60.0),
    );
    let jain = (x + y) * (x + y) / (2.0 * (x * x + y * y));
    let util = run.utilization(20.0, 60.0);
    std::println!(
        "two flows on 2 Mbit/s: {x:.0} and {y:.0} bit/s, Jain {jain:.3}, utilization {util:.3}"
    );
    assert!(jain >= 0.95, "Jain {jain}");
    assert!(util >= 0.85, "utilization {util}");
}

#[test]
fn keeps_a_share_against_a_tcp_like_flow() {
    let link = Link::constant(2_000_000);
    let mut a = estimator();
    let run = link.run_with(&mut a, None, true, 60);
    let ours = run.mean_delivered(Some(0), 10.0, 60.0);
    let tcp = run.mean_delivered(None, 10.0, 60.0);
    let share = ours / (ours + tcp);
    // Never starved: the least it gets in any second from 10 s on (samples
    // are 100 ms apart).
    let worst = run.samples[100..]
        .windows(10)
        .map(|w| w.iter().map(|s| s.delivered[0]).sum::<u64>() / 10)
        .min()
        .unwrap_or(0);
    std::println!(
        "against TCP on 2 Mbit/s: {ours:.0} vs {tcp:.0} bit/s, share {share:.3}, worst second {worst} bit/s, competing {}",
        a.competing()
    );
    assert!(share >= 0.25, "share {share}");
    assert!(worst >= 200_000, "worst second {worst} bit/s");
}

#[test]
#[ignore = "prints a timeline for tuning"]
fn print_timeline() {
    let link = Link::constant(2_000_000);
    let mut a = estimator();
    let run = link.run_with(&mut a, None, true, 60);
    for s in run.samples.iter().step_by(2) {
        std::println!(
            "{:6.1} target {:8} cap {:8} queue {:4} ms ours {:8} tcp {:8}",
            s.t as f64 / 1e6,
            s.target,
            s.capacity,
            s.queue / 1000,
            s.delivered[0],
            s.tcp
        );
    }
}
