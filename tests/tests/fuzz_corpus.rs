//! Replays the checked-in fuzz corpus (`fuzz/corpus/<target>/`) through the
//! fuzz targets' own checks, so every input the fuzzer found interesting stays
//! a regression test on stable.

use std::fs;
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/bitrate.rs"]
mod bitrate;
#[path = "../../fuzz/src/bytes.rs"]
mod bytes;
#[path = "../../fuzz/src/client.rs"]
mod client;
#[path = "../../fuzz/src/clock.rs"]
mod clock;
#[path = "../../fuzz/src/decode.rs"]
mod decode;
#[path = "../../fuzz/src/hub.rs"]
mod hub;
#[path = "../../fuzz/src/hub_model.rs"]
mod hub_model;
#[path = "../../fuzz/src/hub_pick.rs"]
mod hub_pick;
#[path = "../../fuzz/src/hub_shards.rs"]
mod hub_shards;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    for path in corpus(target) {
        let frame = fs::read(&path).expect("readable corpus file");
        eprintln!("{}", path.display());
        check(&frame);
    }
}

#[test]
fn decode_postcard_corpus() {
    replay("decode_postcard", decode::postcard);
}

#[test]
fn decode_json_corpus() {
    replay("decode_json", decode::json);
}

#[test]
fn clock_sync_corpus() {
    replay("clock_sync", clock::run);
}

#[test]
fn hub_ops_corpus() {
    replay("hub_ops", hub::run);
}

#[test]
fn hub_shards_corpus() {
    replay("hub_shards", hub_shards::run);
}

#[test]
fn client_session_corpus() {
    replay("client_session", client::run);
}

#[test]
fn bitrate_feedback_corpus() {
    replay("bitrate_feedback", bitrate::run);
}

/// Known failure, left for the hub to fix: a session re-subscribes to a
/// lossy topic with `since` (replay of offsets it already pulled), then is
/// resumed on a new connection before pulling the answer. After the
/// `welcome` the replay's first delivery (offset 0) arrives with no
/// `subscribed{recovered: true}` before it, so the client sees offset 0
/// again right after offset 1: a repeat it cannot tell from a broken stream
/// (`r/x: offset 0 where 2 was due`).
#[test]
#[ignore = "hub: a resumed session gets a since-replay without its subscribed"]
fn hub_shards_resume_replay_without_subscribed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions/hub_shards/resume_replay_without_subscribed");
    hub_shards::run(&fs::read(path).expect("readable regression input"));
}
