//! Clock-sync test vectors shared with the JavaScript SDK.
//!
//! Drives `onbeat_core`'s `ClockSync` through seeded scenarios and compares
//! every step (pings sent, pongs judged, events, the presented clock, its
//! error bound, the next wake-up and the inverse mapping) with the committed
//! `shells/web/test/clock-vectors.json`, which `shells/web/test/clock.test.mjs`
//! replays through `onbeat.js`. Both sides must agree, so a change to either
//! implementation shows up here or there. `ONBEAT_BLESS=1` rewrites the file.
mod clock_sim;

use std::path::PathBuf;

use clock_sim::{run, scenarios};
use onbeat_core::timeline::ClockConfig;
use serde_json::{Value, json};

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
    for result in [
        "ok",
        "unknown_ping",
        "echo_mismatch",
        "invalid_timestamps",
        "retired_clock",
    ] {
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
