//! What the machine did at a step, as JSON the SDK's replay compares.

use onbeat_core::timeline::{ClockError, ClockEvent, ClockSync};
use onbeat_core::{Duration, Instant};
use serde_json::{Value, json};

pub(super) fn error_name(e: ClockError) -> &'static str {
    match e {
        ClockError::UnknownPing => "unknown_ping",
        ClockError::EchoMismatch => "echo_mismatch",
        ClockError::InvalidTimestamps => "invalid_timestamps",
        ClockError::RetiredClock => "retired_clock",
        _ => "other",
    }
}

pub(super) fn event_json(ev: ClockEvent) -> Value {
    match ev {
        ClockEvent::Ping(p) => json!({"ping": {"seq": p.seq, "t1": p.t1.as_micros()}}),
        ClockEvent::Stepped { by_us } => json!({"stepped": by_us}),
        ClockEvent::ServerRestarted { clock } => json!({"server_restarted": clock.0}),
        _ => json!("other"),
    }
}

/// What the machine looks like after a step at local `now`.
pub(super) fn observe(
    sync: &mut ClockSync,
    now: Instant,
    step: &mut serde_json::Map<String, Value>,
) {
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
