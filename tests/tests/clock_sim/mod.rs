//! The client and server the clock vectors are recorded from: seeded paths
//! and faults in true time, and the steps a `ClockSync` takes through them.

mod observe;
mod scenarios;

use onbeat_core::proto::{ClockId, ClockPong};
use onbeat_core::timeline::{ClockConfig, ClockEvent, ClockSync};
use onbeat_core::{Duration, Instant};
use serde_json::{Value, json};

use observe::{error_name, event_json, observe};
pub use scenarios::scenarios;

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
    /// The next pong claims it was sent before it was received.
    BadHold,
    /// The next pong takes this much longer (µs) to come back.
    SlowPong(u64),
}

pub struct Scenario {
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

pub fn run(s: &Scenario) -> Value {
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
    let (mut duplicate, mut forge, mut bad_hold) = (false, false, false);
    let mut slow = 0;
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
                Fault::BadHold => bad_hold = true,
                Fault::SlowPong(extra) => slow = extra,
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
                    let arrive = t + fwd + back + (t3 - t2).as_micros() + std::mem::take(&mut slow);
                    if std::mem::take(&mut forge) {
                        pong.t1 += Duration::from_micros(1);
                    }
                    if std::mem::take(&mut bad_hold) {
                        pong.t3 = t2.saturating_sub(Duration::from_micros(1));
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
