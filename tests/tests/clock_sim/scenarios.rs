//! The seeded scenarios: their paths, losses, drifts and faults.

use super::{Fault, Scenario};

pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "symmetric_jitter",
            seed: 1,
            duration_s: 25,
            client_offset: 123_456_789.0,
            drift_ppm: 0.0,
            delays: |r| (20_000 + r.below(5_000), 20_000 + r.below(5_000)),
            loss: 30,
            faults: &[],
        },
        Scenario {
            name: "asymmetric_path",
            seed: 2,
            duration_s: 20,
            client_offset: 5_000.0,
            drift_ppm: 0.0,
            delays: |r| (8_000 + r.below(2_000), 70_000 + r.below(2_000)),
            loss: 0,
            faults: &[],
        },
        Scenario {
            name: "drift_and_spikes",
            seed: 3,
            duration_s: 90,
            client_offset: 42.0,
            drift_ppm: 150.0,
            delays: |r| {
                let spike = if r.below(4) == 0 { 30_000 } else { 0 };
                if r.below(2) == 0 {
                    (15_000 + r.below(3_000) + spike, 15_000 + r.below(3_000))
                } else {
                    (15_000 + r.below(3_000), 15_000 + r.below(3_000) + spike)
                }
            },
            loss: 50,
            faults: &[],
        },
        Scenario {
            name: "steps_restart_sleep",
            seed: 4,
            duration_s: 60,
            client_offset: 9_000_000.0,
            drift_ppm: -40.0,
            delays: |r| (12_000 + r.below(4_000), 12_000 + r.below(4_000)),
            loss: 20,
            faults: &[
                (6_000_000, Fault::DuplicatePong),
                (9_000_000, Fault::ForgedEcho),
                (15_000_000, Fault::ServerStep(1_500_000)),
                (12_000_000, Fault::BadHold),
                (28_000_000, Fault::ServerStep(-700_000)),
                (34_500_000, Fault::SlowPong(2_500_000)),
                (35_600_000, Fault::Restart(77, -3_000_000_000)),
                (47_000_000, Fault::Sleep(4_000_000)),
                (52_000_000, Fault::ServerStep(50_000)),
            ],
        },
    ]
}
