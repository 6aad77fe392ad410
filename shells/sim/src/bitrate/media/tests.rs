//! The pacer and the encoder's frame skipping, driven without a link.

use super::*;
use crate::bitrate::source::SourceConfig;
use crate::rng::SimRng;

/// A packet the pacer let out, as its controller was told.
#[derive(Debug)]
struct Sent {
    at: Instant,
    size: u32,
    probe: Option<u32>,
}

/// A controller with fixed target and pacing rates that asks for `probe`
/// once, at its first wake, and logs what it is told was sent.
struct Rates {
    target: f64,
    pacing: f64,
    probe: Option<Probe>,
    woken: bool,
    sent: Vec<Sent>,
}

impl Controller for Rates {
    fn on_sent(&mut self, id: u64, size: u32, probe: Option<u32>, at: Instant) {
        assert_eq!(id, self.sent.len() as u64);
        self.sent.push(Sent { at, size, probe });
    }
    fn on_feedback(&mut self, _: &[(u64, Option<Instant>)], _: Instant) {}
    fn set_app_limited(&mut self, _: bool, _: Instant) {}
    fn wake_at(&self) -> Option<Instant> {
        (!self.woken).then_some(Instant::ZERO)
    }
    fn wake(&mut self, _: Instant) {
        self.woken = true;
    }
    fn poll_probe(&mut self) -> Option<Probe> {
        self.probe.take()
    }
    fn target_bps(&self) -> f64 {
        self.target
    }
    fn pacing_bps(&self) -> f64 {
        self.pacing
    }
}

fn flow(target: f64, pacing: f64, probe: Option<Probe>) -> MediaFlow<Rates> {
    let controller = Rates {
        target,
        pacing,
        probe,
        woken: false,
        sent: Vec::new(),
    };
    MediaFlow::new(
        controller,
        Source::new(SourceConfig::default(), SimRng::new(3)),
    )
}

/// Wakes `flow` until `end`, calling `each` after every wake; what it sent.
fn drive(
    flow: &mut MediaFlow<Rates>,
    end: Instant,
    mut each: impl FnMut(&MediaFlow<Rates>),
) -> &[Sent] {
    let mut out = Out::default();
    let mut forwarded = 0;
    while let Some(now) = flow.wake_at().filter(|&t| t < end) {
        flow.wake(now, &mut out);
        each(flow);
        forwarded += out.forward.drain(..).count();
    }
    // Whatever left the pacer went onto the link.
    assert_eq!(forwarded, flow.controller().sent.len());
    &flow.controller().sent
}

/// The gap the pacer leaves after a packet of `size` bytes at `bps`, µs.
fn gap(size: u32, bps: f64) -> u64 {
    (f64::from(size) * 8.0 / bps * 1e6).ceil() as u64
}

#[test]
fn packets_leave_spaced_at_the_pacing_rate() {
    // Frames of about 4 kB at 1 Mbit/s, paced at 2 Mbit/s: each frame's
    // packets leave back to back at 2 Mbit/s, then the pacer idles.
    let pacing = 2e6;
    let mut f = flow(1e6, pacing, None);
    let sent = drive(&mut f, Instant::from_millis(5_000), |_| {});
    let mut paced = 0;
    for w in sent.windows(2) {
        let spacing = (w[1].at - w[0].at).as_micros();
        assert!(spacing >= gap(w[0].size, pacing), "{w:?}");
        paced += usize::from(spacing == gap(w[0].size, pacing));
    }
    // Most packets follow another of their frame.
    assert!(paced > sent.len() / 2, "{paced} of {}", sent.len());
    let bytes: u64 = sent.iter().map(|s| u64::from(s.size)).sum();
    let bps = bytes as f64 * 8.0 / 5.0;
    assert!((bps - 1e6).abs() < 0.1e6, "{bps}");
    assert_eq!(f.skipped_frames, 0);
}

#[test]
fn a_probe_without_media_is_padded() {
    // Media of 100-byte frames paced at 100 kbit/s, and a 1 Mbit/s probe
    // for 100 ms.
    let probe = Probe {
        id: 7,
        rate_bps: 1e6,
        duration: Duration::from_millis(100),
        min_packets: 5,
    };
    let mut f = flow(1e4, 1e5, Some(probe));
    let sent = drive(&mut f, Instant::from_millis(1_000), |_| {});
    let probing: Vec<&Sent> = sent.iter().filter(|s| s.probe == Some(7)).collect();
    let padding = probing.iter().filter(|s| s.size == MAX_PACKET).count();
    // 100 ms at 1 Mbit/s is about ten 1200-byte packets, the first frame's
    // media among them.
    assert!((9..=12).contains(&padding), "{sent:?}");
    assert!(
        probing.len() > padding,
        "the frame's media is part of the probe"
    );
    for w in probing.windows(2) {
        let spacing = (w[1].at - w[0].at).as_micros();
        assert_eq!(spacing, gap(w[0].size, 1e6), "{w:?}");
    }
    let last = probing.last().map_or(Instant::ZERO, |p| p.at);
    // The probe ends after its 100 ms; then only media leaves, untagged.
    assert!(last < Instant::from_millis(120), "{last}");
    let after: Vec<&Sent> = sent.iter().filter(|s| s.at > last).collect();
    assert!(after.len() > 25, "{after:?}");
    assert!(
        after
            .iter()
            .all(|s| s.size < MAX_PACKET && s.probe.is_none())
    );
}

#[test]
fn frames_are_skipped_while_the_pacer_holds_over_300_ms() {
    // The encoder makes 1 Mbit/s, the pacer lets out 0.9: the backlog grows
    // by 0.1 Mbit/s until it holds 300 ms, then frames are skipped.
    let pacing = 0.9e6;
    let mut f = flow(1e6, pacing, None);
    let mut held_ms = 0.0f64;
    let mut skipped_early = None;
    drive(&mut f, Instant::from_millis(20_000), |f| {
        held_ms = held_ms.max(f.queued_bytes as f64 * 8.0 / pacing * 1e3);
        if f.source.next_frame_at() >= Instant::from_millis(1_000) && skipped_early.is_none() {
            skipped_early = Some(f.skipped_frames);
        }
    });
    assert_eq!(skipped_early, Some(0), "skipped with a short backlog");
    // Without skipping, 20 s would leave 2 s of backlog; with it the pacer
    // never holds much over 300 ms (plus the frame just queued, up to a
    // keyframe's ~110 ms at this rate).
    assert!(held_ms > 300.0 && held_ms < 450.0, "held {held_ms} ms");
    // A tenth of 600 frames must go for the rate to fit.
    assert!(
        (40..=90).contains(&f.skipped_frames),
        "{}",
        f.skipped_frames
    );
}
