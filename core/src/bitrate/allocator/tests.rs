extern crate std;

use std::vec::Vec;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

const A: TrackId = TrackId(1);
const B: TrackId = TrackId(2);
const C: TrackId = TrackId(3);

fn kbps(k: u64) -> Bitrate {
    Bitrate::from_kbps(k)
}

fn ms(m: u64) -> Instant {
    Instant::from_millis(m)
}

/// Three tracks of 100/300/900 kbit/s, priorities A > B > C.
fn three() -> Allocator {
    let mut a = Allocator::new(AllocatorConfig::default());
    let layers = [kbps(100), kbps(300), kbps(900)];
    a.add_track(C, 1, &layers, ms(0)).unwrap();
    a.add_track(A, 3, &layers, ms(0)).unwrap();
    a.add_track(B, 2, &layers, ms(0)).unwrap();
    let events = drain(&mut a);
    assert!(
        events.contains(&AllocatorEvent::Paused { track: A }),
        "nothing is available yet"
    );
    assert!(events.contains(&AllocatorEvent::Desired { rate: kbps(2_700) }));
    a
}

fn drain<const N: usize>(a: &mut Allocator<N>) -> Vec<AllocatorEvent> {
    core::iter::from_fn(|| a.poll_output()).collect()
}

fn layers(a: &Allocator) -> [Option<LayerChoice>; 3] {
    [a.layer(A), a.layer(B), a.layer(C)]
}

use LayerChoice::{Active, Paused};

#[test]
fn every_track_gets_its_lowest_layer_before_any_gets_more() {
    let mut a = three();
    a.handle_estimate(kbps(1_000), ms(0));
    assert_eq!(layers(&a), [Some(Active(0)); 3]);
    let events = drain(&mut a);
    assert!(events.contains(&AllocatorEvent::Resumed { track: A, layer: 0 }));
    assert!(events.contains(&AllocatorEvent::KeyframeWanted { track: A }));
    // Sustained for 1.5 s, the estimate confirms the lift: 800 kbit/s of
    // budget lifts A and B (by rank) but not C.
    // A probe is wanted at what every top layer would need (2.7 / 0.8).
    assert!(events.contains(&AllocatorEvent::ProbeWanted { rate: kbps(3_375) }));
    a.handle_timeout(ms(1_499));
    assert_eq!(layers(&a), [Some(Active(0)); 3], "not yet confirmed");
    a.handle_timeout(ms(1_500));
    assert_eq!(
        layers(&a),
        [Some(Active(1)), Some(Active(1)), Some(Active(0))]
    );
    let events = drain(&mut a);
    assert!(events.contains(&AllocatorEvent::LayerChanged {
        track: A,
        from: Some(0),
        to: 1
    }));
    assert!(events.contains(&AllocatorEvent::KeyframeWanted { track: B }));
}

#[test]
fn pauses_the_lowest_priority_only_when_the_lowest_layers_do_not_fit() {
    let mut a = three();
    a.handle_estimate(kbps(300), ms(0));
    assert_eq!(
        layers(&a),
        [Some(Active(0)); 3],
        "300 kbit/s fits all three lowest layers"
    );
    drain(&mut a);
    a.handle_estimate(kbps(250), ms(100));
    assert_eq!(layers(&a), [Some(Active(0)), Some(Active(0)), Some(Paused)]);
    assert_eq!(drain(&mut a), [AllocatorEvent::Paused { track: C }]);
    a.handle_estimate(kbps(90), ms(200));
    assert_eq!(layers(&a), [Some(Paused); 3]);
    a.handle_estimate(kbps(300), ms(300));
    assert_eq!(
        layers(&a),
        [Some(Active(0)); 3],
        "resumed as soon as they fit"
    );
}

#[test]
fn steps_down_on_the_estimate_that_shows_congestion() {
    let mut a = three();
    a.handle_estimate(kbps(1_000), ms(0));
    a.handle_timeout(ms(1_500));
    drain(&mut a);
    a.handle_estimate(kbps(600), ms(2_000));
    assert_eq!(
        layers(&a),
        [Some(Active(1)), Some(Active(0)), Some(Active(0))]
    );
    assert_eq!(
        drain(&mut a),
        [AllocatorEvent::LayerChanged {
            track: B,
            from: Some(1),
            to: 0
        }],
        "a step down needs no keyframe"
    );
}

#[test]
fn steps_up_on_a_confirmed_probe_and_asks_for_one_when_short() {
    let mut a = three();
    a.handle_estimate(kbps(400), ms(0));
    drain(&mut a);
    // Lowest layers (300) fit, a lift (+200) does not fit in 80% of 400:
    // the allocator asks for a probe far enough to see how high the layers
    // could go (every top layer, 2.7 Mbit/s / 0.8), but at most 8 × 400.
    let probe = drain(&mut a);
    assert!(probe.is_empty());
    a.handle_timeout(ms(1_000));
    let events = drain(&mut a);
    assert_eq!(events, [AllocatorEvent::ProbeWanted { rate: kbps(3_200) }]);
    // A probe that proved less than the next layer needs (625) backs off
    // for 1.5 s.
    a.handle_probe_result(Some(kbps(500)), ms(1_200));
    assert_eq!(layers(&a)[0], Some(Active(0)));
    a.handle_timeout(ms(2_600));
    assert_eq!(drain(&mut a), []);
    a.handle_timeout(ms(2_700));
    assert!(matches!(
        drain(&mut a)[..],
        [AllocatorEvent::ProbeWanted { .. }]
    ));
    // Capacity returns: the estimate rises and a probe proves 1.6 Mbit/s:
    // the layers rise at once, as far as 80% of it allows, not one probe
    // per layer.
    a.handle_estimate(kbps(1_600), ms(3_000));
    assert_eq!(layers(&a)[0], Some(Active(0)), "not before confirmation");
    a.handle_probe_result(Some(kbps(1_600)), ms(3_200));
    assert_eq!(layers(&a), [Some(Active(1)); 3]);
    assert!(drain(&mut a).contains(&AllocatorEvent::KeyframeWanted { track: A }));
}

#[test]
fn noise_of_ten_percent_switches_at_most_once_per_ten_seconds() {
    for seed in 0..20u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut a = three();
        let base = rng.random_range(400.0..2_500.0);
        let mut switches = 0;
        let mut last_switch: Option<u64> = None;
        let mut last = layers(&a);
        for step in 0..1_200u64 {
            let now = ms(step * 100);
            let estimate = base * rng.random_range(0.9..1.1);
            a.handle_estimate(Bitrate::from_f64(estimate * 1_000.0), now);
            for ev in drain(&mut a) {
                if let AllocatorEvent::ProbeWanted { rate } = ev {
                    let proven = Bitrate::from_f64(estimate * 1_000.0).min(rate);
                    a.handle_probe_result(Some(proven), now);
                }
            }
            if a.poll_timeout().is_some_and(|t| t <= now) {
                a.handle_timeout(now);
            }
            let now_layers = layers(&a);
            // The first 10 s find the level; after that count every change.
            if step >= 100 && now_layers != last {
                switches += 1;
                if let Some(prev) = last_switch {
                    assert!(step - prev >= 100, "seed {seed}: two switches within 10 s");
                }
                last_switch = Some(step);
            }
            last = now_layers;
        }
        std::println!(
            "seed {seed}: {switches} switches around {base:.0} kbit/s, ending at {last:?}"
        );
        assert!(
            last[0] != Some(Active(0)) || base < 625.0,
            "seed {seed}: never lifted"
        );
        assert!(
            switches <= 11,
            "seed {seed}: {switches} switches in 110 s around {base:.0} kbit/s"
        );
    }
}

#[test]
fn refuses_bad_tracks_with_typed_errors() {
    let mut a: Allocator<2> = Allocator::new(AllocatorConfig::default());
    assert_eq!(a.add_track(A, 0, &[], ms(0)), Err(AllocError::NoLayers));
    assert_eq!(
        a.add_track(A, 0, &[kbps(2), kbps(1)], ms(0)),
        Err(AllocError::NotAscending)
    );
    assert_eq!(
        a.add_track(A, 0, &[kbps(1), kbps(1)], ms(0)),
        Err(AllocError::NotAscending)
    );
    assert_eq!(
        a.add_track(A, 0, &[kbps(1); 5], ms(0)),
        Err(AllocError::TooManyLayers)
    );
    a.add_track(A, 0, &[kbps(1)], ms(0)).unwrap();
    assert_eq!(
        a.add_track(A, 0, &[kbps(1)], ms(0)),
        Err(AllocError::DuplicateTrack)
    );
    a.add_track(B, 0, &[kbps(1)], ms(0)).unwrap();
    assert_eq!(
        a.add_track(C, 0, &[kbps(1)], ms(0)),
        Err(AllocError::TooManyTracks)
    );
    a.remove_track(A, ms(0));
    a.remove_track(TrackId(99), ms(0));
    assert_eq!(a.layer(A), None);
    a.add_track(C, 0, &[kbps(1)], ms(0)).unwrap();
}

#[test]
fn a_removed_track_frees_room_for_a_paused_one() {
    let mut a = three();
    a.handle_estimate(kbps(250), ms(0));
    assert_eq!(a.layer(C), Some(Paused));
    a.remove_track(A, ms(100));
    assert_eq!(a.layer(C), Some(Active(0)));
}

#[test]
fn no_probe_right_after_the_estimate_drops() {
    let mut a = three();
    a.handle_estimate(kbps(2_000), ms(0));
    a.handle_timeout(ms(1_500));
    drain(&mut a);
    // Congestion: the estimate falls by half; the layers step down, and no
    // probe adds to the queue for 1.5 s.
    a.handle_estimate(kbps(1_000), ms(2_000));
    assert!(
        !drain(&mut a)
            .iter()
            .any(|e| matches!(e, AllocatorEvent::ProbeWanted { .. }))
    );
    assert_eq!(a.poll_timeout(), Some(ms(3_500)));
    a.handle_timeout(ms(3_500));
    assert!(
        drain(&mut a)
            .iter()
            .any(|e| matches!(e, AllocatorEvent::ProbeWanted { .. }))
    );
}

fn probe_wanted(events: &[AllocatorEvent]) -> Option<Bitrate> {
    events.iter().find_map(|e| match e {
        AllocatorEvent::ProbeWanted { rate } => Some(*rate),
        _ => None,
    })
}

#[test]
fn with_every_track_paused_it_still_probes_and_resumes_when_room_returns() {
    // Below every lowest layer nothing is sent, so the estimate can only
    // rise through a probe: the allocator must keep asking for one.
    let mut a = three();
    a.handle_estimate(kbps(80), ms(0));
    assert_eq!(layers(&a), [Some(Paused); 3]);
    let first = probe_wanted(&drain(&mut a)).expect("a probe while everything is paused");
    assert!(first >= kbps(125), "{first}");
    a.handle_probe_result(Some(kbps(80)), ms(200));
    let next = a.poll_timeout().expect("a wake-up for the next probe");
    a.handle_timeout(next);
    assert!(probe_wanted(&drain(&mut a)).is_some());
    // A probe proved room and the estimate rose: the tracks resume by rank.
    a.handle_estimate(kbps(270), next);
    assert_eq!(layers(&a), [Some(Active(0)), Some(Active(0)), Some(Paused)]);
}

#[test]
fn probes_that_keep_proving_too_little_come_half_as_often() {
    let mut a = three();
    a.handle_estimate(kbps(400), ms(0));
    drain(&mut a);
    // A lift needs 625 kbit/s of proof and each probe shows 500: the next
    // waits 1.5 s after the first, 3 s after the second, and never longer.
    let mut at = 1_000;
    for wait in [1_500, 3_000, 3_000] {
        a.handle_timeout(ms(at));
        assert!(probe_wanted(&drain(&mut a)).is_some(), "a probe at {at} ms");
        a.handle_probe_result(Some(kbps(500)), ms(at + 200));
        at += 200 + wait;
        assert_eq!(a.poll_timeout(), Some(ms(at)));
    }
    // One that proves enough lifts the layers and ends the slow-down.
    a.handle_timeout(ms(9_100));
    assert!(probe_wanted(&drain(&mut a)).is_some());
    a.handle_probe_result(Some(kbps(900)), ms(9_300));
    a.handle_estimate(kbps(810), ms(9_300));
    assert_eq!(layers(&a)[0], Some(Active(1)));
    a.handle_probe_result(Some(kbps(500)), ms(9_500));
    assert_eq!(a.poll_timeout(), Some(ms(11_000)), "1.5 s again");
}
