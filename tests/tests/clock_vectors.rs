//! Clock-sync test vectors shared with the JavaScript SDK.
//!
//! Drives `onbeat_core`'s `ClockSync` through seeded scenarios and compares
//! every step (pings sent, pongs judged, events, the presented clock, its
//! error bound, the next wake-up and the inverse mapping) with the committed
//! `shells/web/test/clock-vectors.json`, which `shells/web/test/clock.test.mjs`
//! replays through `onbeat.js`. Both sides must agree, so a change to either
//! implementation shows up here or there. `ONBEAT_BLESS=1` rewrites the file.

use std::path::PathBuf;

use onbeat_core::proto::{ClockId, ClockPong};
use onbeat_core::timeline::{ClockConfig, ClockError, ClockEvent, ClockSync};
use onbeat_core::{Duration, Instant};
use serde_json::{Value, json};

/// splitmix64: a seeded, dependency-free stream, enough to draw delays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Something that happens to the path or the clocks at a true time (µs).
#[derive(Clone, Copy)]
enum Fault {
    /// The server's clock jumps by this many µs.
    ServerStep(i64),
    /// The server restarts with a new clock id and a new epoch.
    Restart(u64, i64),
    /// The device sleeps this long: the local clock stands still.
    Sleep(u64),
    /// The next pong arrives twice.
    DuplicatePong,
    /// The next pong echoes a forged `t1`.
    ForgedEcho,
}

struct Scenario {
    name: &'static str,
    seed: u64,
    duration_s: u64,
    client_offset: f64,
    drift_ppm: f64,
    /// Forward and return delay of one ping.
    delays: fn(&mut Rng) -> (u64, u64),
    /// Per mille of pings lost.
    loss: u64,
    faults: &'static [(u64, Fault)],
}

fn scenarios() -> Vec<Scenario> {
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
                (28_000_000, Fault::ServerStep(-700_000)),
                (36_000_000, Fault::Restart(77, -3_000_000_000)),
                (47_000_000, Fault::Sleep(4_000_000)),
                (52_000_000, Fault::ServerStep(50_000)),
            ],
        },
    ]
}

/// Where a client and a server are, in true time.
struct World {
    client_offset: f64,
    drift: f64,
    /// Sleep taken so far, µs of true time the local clock stood still.
    slept: u64,
    server_offset: i64,
    clock: ClockId,
}

impl World {
    fn local(&self, t: u64) -> Instant {
        let awake = (t - self.slept) as f64;
        Instant::from_micros((self.client_offset + (1.0 + self.drift) * awake) as u64)
    }

    fn server(&self, t: u64) -> Instant {
        Instant::from_micros((self.server_offset + t as i64) as u64)
    }
}

fn error_name(e: ClockError) -> &'static str {
    match e {
        ClockError::UnknownPing => "unknown_ping",
        ClockError::EchoMismatch => "echo_mismatch",
        ClockError::InvalidTimestamps => "invalid_timestamps",
        ClockError::RetiredClock => "retired_clock",
        _ => "other",
    }
}

fn event_json(ev: ClockEvent) -> Value {
    match ev {
        ClockEvent::Ping(p) => json!({"ping": {"seq": p.seq, "t1": p.t1.as_micros()}}),
        ClockEvent::Stepped { by_us } => json!({"stepped": by_us}),
        ClockEvent::ServerRestarted { clock } => json!({"server_restarted": clock.0}),
        _ => json!("other"),
    }
}

/// What the machine looks like after a step at local `now`.
fn observe(sync: &mut ClockSync, now: Instant, step: &mut serde_json::Map<String, Value>) {
    let mut out = Vec::new();
    while let Some(ev) = sync.poll_output() {
        out.push(event_json(ev));
    }
    step.insert("out".into(), Value::Array(out));
    let estimate = sync.estimate(now).map(|e| {
        let bound = (e.error_bound != Duration::MAX).then(|| e.error_bound.as_micros());
        // Where the presented clock reaches half a second from now.
        let ahead = e.server_time + Duration::from_millis(500);
        let local = sync.local_time_of(ahead).map(|l| l.as_micros());
        json!({"server_time": e.server_time.as_micros(), "error_bound": bound, "local_time_of_plus_500ms": local})
    });
    step.insert("estimate".into(), estimate.unwrap_or(Value::Null));
    step.insert(
        "next".into(),
        json!(sync.poll_timeout().map(|t| t.as_micros())),
    );
}

fn run(s: &Scenario) -> Value {
    let mut rng = Rng(s.seed);
    let mut w = World {
        client_offset: s.client_offset,
        drift: s.drift_ppm * 1e-6,
        slept: 0,
        server_offset: 7_000_000_000,
        clock: ClockId(1),
    };
    let start = w.local(0);
    let mut sync = ClockSync::new(ClockConfig::default(), start);
    let mut steps = Vec::new();
    // Pongs in flight: (true arrival time, pong).
    let mut flight: Vec<(u64, ClockPong)> = Vec::new();
    let mut faults = s.faults.to_vec();
    let (mut duplicate, mut forge) = (false, false);
    let mut t = 0u64;
    let until = s.duration_s * 1_000_000;
    while t < until {
        // The next thing to happen: a pong arriving, a fault, or the timer.
        let wake = sync.poll_timeout().expect("always armed").as_micros();
        let local_now = w.local(t).as_micros();
        let timer = t + wake.saturating_sub(local_now);
        let arrival = flight.iter().map(|f| f.0).min().unwrap_or(u64::MAX);
        let fault = faults.first().map_or(u64::MAX, |f| f.0);
        t = timer.min(arrival).min(fault).min(until).max(t);
        if fault <= t {
            let (_, f) = faults.remove(0);
            match f {
                Fault::ServerStep(by) => w.server_offset += by,
                Fault::Restart(clock, by) => {
                    w.clock = ClockId(clock);
                    w.server_offset += by;
                }
                Fault::Sleep(len) => {
                    // Nothing runs while asleep; pongs wait for the wake-up,
                    // which the shell hears of first.
                    t += len;
                    w.slept += len;
                    let now = w.local(t);
                    let mut step = serde_json::Map::new();
                    step.insert("op".into(), json!("discontinuity"));
                    step.insert("now".into(), json!(now.as_micros()));
                    sync.handle_discontinuity(now);
                    observe(&mut sync, now, &mut step);
                    steps.push(Value::Object(step));
                }
                Fault::DuplicatePong => duplicate = true,
                Fault::ForgedEcho => forge = true,
            }
            continue;
        }
        let now = w.local(t);
        while let Some(i) = flight.iter().position(|f| f.0 <= t) {
            let (_, pong) = flight.remove(i);
            let mut step = serde_json::Map::new();
            step.insert("op".into(), json!("pong"));
            step.insert("now".into(), json!(now.as_micros()));
            step.insert(
                "pong".into(),
                json!({"seq": pong.seq, "t1": pong.t1.as_micros(), "t2": pong.t2.as_micros(),
                       "t3": pong.t3.as_micros(), "clock": pong.clock.0}),
            );
            let result = match sync.handle_pong(&pong, now) {
                Ok(()) => "ok",
                Err(e) => error_name(e),
            };
            step.insert("result".into(), json!(result));
            observe(&mut sync, now, &mut step);
            steps.push(Value::Object(step));
        }
        if sync.poll_timeout().is_some_and(|at| at <= now) {
            let mut step = serde_json::Map::new();
            step.insert("op".into(), json!("timeout"));
            step.insert("now".into(), json!(now.as_micros()));
            sync.handle_timeout(now);
            // Read the pings before `observe` drains them.
            let mut events = Vec::new();
            while let Some(ev) = sync.poll_output() {
                events.push(ev);
            }
            for ev in &events {
                if let ClockEvent::Ping(ping) = ev {
                    if rng.below(1_000) < s.loss {
                        continue;
                    }
                    let (fwd, back) = (s.delays)(&mut rng);
                    let t2 = w.server(t + fwd);
                    let t3 = t2 + Duration::from_micros(rng.below(300));
                    let mut pong = ping.answer(t2, t3, w.clock);
                    let arrive = t + fwd + back + (t3 - t2).as_micros();
                    if std::mem::take(&mut forge) {
                        pong.t1 += Duration::from_micros(1);
                    }
                    if std::mem::take(&mut duplicate) {
                        flight.push((arrive + 5_000, pong));
                    }
                    flight.push((arrive, pong));
                }
            }
            observe(&mut sync, now, &mut step);
            let out = events.into_iter().map(event_json).collect();
            step.insert("out".into(), Value::Array(out));
            steps.push(Value::Object(step));
        }
    }
    json!({"name": s.name, "seed": s.seed, "start": start.as_micros(), "steps": steps})
}

fn vectors() -> Value {
    let c = ClockConfig::default();
    json!({
        "about": "ClockSync steps from onbeat-core (tests/tests/clock_vectors.rs); replayed by shells/web/test/clock.test.mjs. ONBEAT_BLESS=1 cargo test -p onbeat-tests --test clock_vectors rewrites this file.",
        "config": {
            "interval": c.interval.as_micros(),
            "fastInterval": c.fast_interval.as_micros(),
            "fastSamples": c.fast_samples,
            "settled": c.settled.as_micros(),
            "pingTimeout": c.ping_timeout.as_micros(),
            "maxDriftPpm": c.max_drift_ppm,
            "wanderPpm": c.wander_ppm,
            "stepThreshold": c.step_threshold.as_micros(),
            "maxSlewPpm": c.max_slew_ppm,
        },
        "scenarios": scenarios().iter().map(run).collect::<Vec<_>>(),
    })
}

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shells/web/test/clock-vectors.json")
}

#[test]
fn clock_sync_matches_the_committed_vectors() {
    let got = vectors();
    let path = path();
    if std::env::var_os("ONBEAT_BLESS").is_some() {
        let text = serde_json::to_string(&got).expect("serialisable");
        std::fs::write(&path, text + "\n").expect("write vectors");
        return;
    }
    let text =
        std::fs::read_to_string(&path).expect("committed vectors (ONBEAT_BLESS=1 writes them)");
    let want: Value = serde_json::from_str(&text).expect("vectors are JSON");
    assert_eq!(
        got["config"], want["config"],
        "ClockConfig defaults changed"
    );
    let (got, want) = (&got["scenarios"], &want["scenarios"]);
    assert_eq!(got.as_array().map(Vec::len), want.as_array().map(Vec::len));
    for (g, w) in got
        .as_array()
        .into_iter()
        .flatten()
        .zip(want.as_array().into_iter().flatten())
    {
        let name = &w["name"];
        let (gs, ws) = (
            g["steps"].as_array().unwrap(),
            w["steps"].as_array().unwrap(),
        );
        for (i, (a, b)) in gs.iter().zip(ws).enumerate() {
            assert_eq!(a, b, "{name}: step {i} differs (ONBEAT_BLESS=1 to accept)");
        }
        assert_eq!(gs.len(), ws.len(), "{name}: step count differs");
    }
}

#[test]
fn vectors_cover_every_path_the_sdk_must_port() {
    let v = vectors();
    let steps: Vec<&Value> = v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["steps"].as_array().unwrap())
        .collect();
    let has = |f: &dyn Fn(&Value) -> bool| steps.iter().any(|s| f(s));
    let out_has = |key: &str| {
        has(&|s| {
            s["out"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o.get(key).is_some())
        })
    };
    assert!(out_has("ping") && out_has("stepped") && out_has("server_restarted"));
    for result in ["ok", "unknown_ping", "echo_mismatch"] {
        assert!(has(&|s| s["result"] == result), "no pong judged {result}");
    }
    assert!(has(&|s| s["op"] == "discontinuity"));
    assert!(has(
        &|s| s["estimate"]["error_bound"].is_null() && !s["estimate"].is_null()
    ));
    // The drift scenario outlives the window, so eviction is exercised.
    let drift_pongs = v["scenarios"][2]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["result"] == "ok")
        .count();
    assert!(
        drift_pongs > 64,
        "{drift_pongs} samples do not fill the window"
    );
}
