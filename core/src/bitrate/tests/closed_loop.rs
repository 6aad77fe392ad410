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
        .first_after(40.0, |s| s.1 as f64 >= 0.9 * 2_500_000.0)
        .unwrap();
    let down = run.first_after(60.5, |s| s.3 < 50_000).unwrap() + 0.5;
    let util = run.utilization(0.0, 100.0);
    let p95 = run.p95_queue_ms(0.0, 100.0);
    std::println!(
        "rfc8867 5.1 steps: reach up {up:.1} s, drain down {down:.1} s, utilization {util:.3}, p95 queue {p95:.1} ms, dropped {}/{}",
        run.dropped,
        run.sent
    );
    assert!(up <= 4.0, "reached 90% of 2.5 Mbit/s after {up} s");
    assert!(
        down <= 1.5,
        "queue under 50 ms {down} s after the step down"
    );
    assert!(util >= 0.85, "utilization {util}");
    assert!(p95 <= 60.0, "p95 queue {p95} ms");
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
#[ignore = "prints a timeline for tuning"]
fn print_timeline() {
    let run = rfc8867_steps().run(&mut estimator(), 100);
    for s in run.samples.iter().step_by(2) {
        std::println!(
            "{:6.1} target {:8} cap {:8} queue {:4} ms delivered {:8}",
            s.0 as f64 / 1e6,
            s.1,
            s.2,
            s.3 / 1000,
            s.4
        );
    }
}
