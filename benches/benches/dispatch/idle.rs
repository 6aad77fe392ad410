//! Memory the hub holds per idle session.

use std::sync::atomic::Ordering;

use criterion::Criterion;
use onbeat_core::dispatch::{Hub, HubConfig, TopicConfig};
use onbeat_core::{Duration, Instant};

use crate::bench::Bench;
use crate::counting::LIVE_BYTES;
use crate::steady::wanted;

/// Heap bytes the hub holds per idle session, with its default limits: a
/// connection that said `hello`, subscribed to one topic and read
/// everything. Counted as requested from the allocator (its own overhead,
/// typically 8 to 16 bytes per block, aside) and including the shell's
/// capabilities, which the hub keeps.
pub(crate) fn idle_session(_: &mut Criterion) {
    const SESSIONS: u64 = 2_000;
    let name = "idle_session";
    if !wanted(name) {
        return;
    }
    let config = HubConfig {
        max_sessions: 20_000,
        ..HubConfig::default()
    };
    let now = Instant::from_millis(1_000);
    let mut b = Bench {
        hub: Hub::new(config, [7; 32], 1, now),
        now,
        batch: Vec::new(),
        pulled: 0,
        conns: Vec::with_capacity(SESSIONS as usize),
    };
    b.hub
        .open_topic("t", TopicConfig::reliable(1024, Duration::from_secs(3600)))
        .expect("fresh topic");
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    for conn in 0..SESSIONS {
        b.connect(conn, conn, None);
        b.subscribe(conn, "t", None);
    }
    b.assert_drained();
    let bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
    println!(
        "{name}: {} heap bytes per idle session ({SESSIONS} sessions, default limits)",
        bytes / SESSIONS as i64
    );
}
