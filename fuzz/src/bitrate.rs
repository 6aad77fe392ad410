//! Drives a bitrate [`Estimator`] and an [`Allocator`] through an operation
//! sequence decoded from arbitrary bytes, checking their promises after
//! every step.
//!
//! The bytes choose a configuration (any bounds, even crossed, any pacing
//! factor, NaN and infinities included) and then a script: packets sent
//! (ids that increase, repeat or jump; any size; probe tags real or forged),
//! feedback reports (results for recent, old, future or absurd ids, in any
//! order and repeated, arrival times that creep, jump or run backwards,
//! losses), timeouts, application-limited flips, probe requests at any rate,
//! and allocator tracks coming and going.
//!
//! Checked after every step:
//!
//! - nothing panics (fuzz builds keep debug assertions, so no overflow);
//! - the target stays within the configured `[min, max]` and the pacing rate
//!   is at least the target, in every `Target` output too;
//! - the rate available to the allocator (the controller's, before the
//!   pushback) stays within `[min, max]`, at least the target and at most
//!   the pacing rate;
//! - probe requests stay within `[min, max]`;
//! - the allocator never pauses a track while the lowest layers of all its
//!   tracks fit in the available rate, and the layers it chose fit in it
//!   whenever they are above the lowest ones.
//!
//! `onbeat-tests` includes this file by path (with `bytes.rs`), so it depends
//! on nothing but onbeat-core and std.

use onbeat_core::bitrate::{
    Allocator, AllocatorConfig, AllocatorEvent, Bitrate, Estimator, EstimatorConfig,
    EstimatorOutput, LayerChoice, PacketResult, SentPacket, TrackId,
};
use onbeat_core::time::{Duration, Instant};

use super::bytes::Bytes;

/// Operations decoded per input.
const MAX_OPS: usize = 512;
/// Results in one feedback report at most.
const MAX_RESULTS: usize = 300;

/// Runs the script in `data`; panics when a promise is broken.
pub fn run(data: &[u8]) {
    let mut input = Bytes(data);
    let config = config(&mut input);
    let mut now = Instant::from_micros(u64::from(input.u32()));
    let mut est = Estimator::new(config, now);
    let cfg = *est.config();
    let mut alloc: Allocator<4> = Allocator::new(AllocatorConfig::default());
    let mut tracks: Vec<(TrackId, Vec<Bitrate>)> = Vec::new();
    let mut available = Bitrate::ZERO;
    let mut next_id = u64::from(input.u16());
    let mut clock_skew: i64 = i64::from(input.u32() as i32) * 1_000;
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        match input.byte() % 8 {
            0 | 1 => {
                let id = match input.byte() % 8 {
                    0 => next_id.wrapping_sub(u64::from(input.byte())),
                    1 => input.u64(),
                    _ => next_id,
                };
                next_id = id.wrapping_add(1);
                let probe = input.bool().then(|| u32::from(input.byte() % 4));
                let packet = SentPacket {
                    id,
                    size: if input.bool() { 1_200 } else { input.u32() },
                    send_time: now,
                    probe,
                };
                est.handle_sent(packet, now);
            }
            2 | 3 => {
                let n = input.below(MAX_RESULTS);
                let chaos = input.byte();
                let base = now.saturating_add_signed(clock_skew);
                let results: Vec<PacketResult> = (0..n)
                    .map(|i| {
                        let id = match chaos % 4 {
                            0 => input.u64(),
                            _ => next_id.wrapping_sub(u64::from(input.u16()) % 512 + 1),
                        };
                        let arrival = match input.byte() % 8 {
                            0 => None,
                            1 => Some(Instant::from_micros(input.u64())),
                            _ => Some(base.saturating_add_signed(
                                i64::from(input.u16()) * 10 - (i as i64) * i64::from(chaos % 3),
                            )),
                        };
                        PacketResult { id, arrival }
                    })
                    .collect();
                now += Duration::from_micros(u64::from(input.u16()));
                est.handle_feedback(&results, now);
            }
            4 => {
                now = match input.byte() % 8 {
                    0 => Instant::from_micros(input.u64()),
                    1 => now.saturating_sub(Duration::from_micros(u64::from(input.u32()))),
                    _ => now + Duration::from_micros(u64::from(input.u32()) % 5_000_000),
                };
                if input.bool() {
                    clock_skew = clock_skew.wrapping_add(i64::from(input.u32() as i32));
                }
                est.handle_timeout(now);
                alloc.handle_timeout(now);
            }
            5 => est.set_app_limited(input.bool(), now),
            6 => {
                est.request_probe(Bitrate::from_bps(input.u64()), now);
            }
            _ => allocator_op(&mut input, &mut alloc, &mut tracks, now),
        }
        check_estimator(&mut est, &cfg);
        while let Some(outcome) = est.poll_probe_result() {
            alloc.handle_probe_result(outcome.measured, now);
        }
        if est.available() != available {
            available = est.available();
            alloc.handle_estimate(available, now);
        }
        // As a shell would: what the tracks could use bounds the probing.
        if let Some(desired) = check_allocator(&mut alloc, &tracks, available) {
            est.set_desired(Some(desired), now);
        }
    }
}

fn config(input: &mut Bytes<'_>) -> EstimatorConfig {
    let mut c = EstimatorConfig::default();
    if input.bool() {
        c.min = Bitrate::from_bps(input.u64() >> input.below(64));
        c.max = Bitrate::from_bps(input.u64() >> input.below(64));
        c.start = Bitrate::from_bps(input.u64() >> input.below(64));
        c.pacing_factor = f64::from_bits(input.u64());
        c.initial_probes = input.bool();
        c.feedback_timeout = Duration::from_micros(u64::from(input.u32()));
        c.delivered_window = Duration::from_micros(u64::from(input.u32()));
    }
    c
}

fn allocator_op(
    input: &mut Bytes<'_>,
    alloc: &mut Allocator<4>,
    tracks: &mut Vec<(TrackId, Vec<Bitrate>)>,
    now: Instant,
) {
    let id = TrackId(u64::from(input.byte() % 6));
    if input.bool() {
        let n = input.below(6);
        let mut rate = 0u64;
        let layers: Vec<Bitrate> = (0..n)
            .map(|_| {
                // Mostly ascending, sometimes not.
                rate = if input.byte() < 16 {
                    u64::from(input.u16())
                } else {
                    rate + u64::from(input.u16()) * 100
                };
                Bitrate::from_bps(rate)
            })
            .collect();
        if alloc.add_track(id, input.byte(), &layers, now).is_ok() {
            tracks.push((id, layers));
        }
    } else {
        alloc.remove_track(id, now);
        tracks.retain(|(t, _)| *t != id);
    }
}

fn check_estimator(est: &mut Estimator, cfg: &EstimatorConfig) {
    let within = |r: Bitrate| r >= cfg.min && r <= cfg.max;
    assert!(
        within(est.target()),
        "target {} outside bounds",
        est.target()
    );
    assert!(est.pacing_rate() >= est.target());
    assert!(
        within(est.available()),
        "available {} outside bounds",
        est.available()
    );
    assert!(est.target() <= est.available() && est.pacing_rate() >= est.available());
    while let Some(out) = est.poll_output() {
        match out {
            EstimatorOutput::Target { target, pacing } => {
                assert!(within(target), "reported target {target} outside bounds");
                assert!(pacing >= target);
            }
            EstimatorOutput::Probe(p) => {
                assert!(within(p.rate), "probe {} outside bounds", p.rate);
            }
        }
    }
}

/// Checks the allocator's choices; returns the newest desired rate it told.
fn check_allocator(
    alloc: &mut Allocator<4>,
    tracks: &[(TrackId, Vec<Bitrate>)],
    available: Bitrate,
) -> Option<Bitrate> {
    let mut desired = None;
    while let Some(ev) = alloc.poll_output() {
        match ev {
            AllocatorEvent::ProbeWanted { rate } => assert!(rate > Bitrate::ZERO),
            AllocatorEvent::Desired { rate } => desired = Some(rate),
            _ => {}
        }
    }
    let lowest: u64 = tracks.iter().map(|(_, l)| l[0].bps()).sum();
    let mut chosen = 0u64;
    let mut above_lowest = false;
    for (id, layers) in tracks {
        match alloc.layer(*id).expect("an added track is known") {
            LayerChoice::Paused => assert!(
                lowest > available.bps(),
                "{id:?} paused while all lowest layers ({lowest}) fit in {available}"
            ),
            LayerChoice::Active(l) => {
                chosen += layers[usize::from(l)].bps();
                above_lowest |= l > 0;
            }
        }
    }
    if above_lowest {
        assert!(
            chosen <= available.bps(),
            "layers {chosen} exceed {available}"
        );
    }
    desired
}
