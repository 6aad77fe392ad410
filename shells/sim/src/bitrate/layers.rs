//! One subscriber's layer allocation: onbeat's [`Allocator`] fed the
//! available bitrate of whichever estimator runs the flow, the encoder
//! following the layers it chooses, and a record of every allocation for the
//! `layers` figures.

use onbeat_core::bitrate::{
    Allocator, AllocatorConfig, AllocatorEvent, Bitrate, LayerChoice, TrackId,
};
use onbeat_core::{Duration, Instant};

/// A track the subscriber receives: priority (higher first) and its layers'
/// bitrates, ascending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackSpec {
    /// Priority; higher is more important.
    pub priority: u8,
    /// Layer bitrates, bits per second, ascending.
    pub layers: [u64; 3],
}

/// The subscriber of the `layers` scenario: a main camera, a screen share and
/// a second camera of low priority.
pub const TRACKS: [TrackSpec; 3] = [
    TrackSpec {
        priority: 2,
        layers: [150_000, 500_000, 1_500_000],
    },
    TrackSpec {
        priority: 1,
        layers: [100_000, 400_000, 1_200_000],
    },
    TrackSpec {
        priority: 0,
        layers: [150_000, 500_000, 1_500_000],
    },
];

/// What every track gets from `at` on (`None`: the track was not added yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// When the allocator decided it.
    pub at: Instant,
    /// Per track of [`TRACKS`].
    pub layers: [Option<LayerChoice>; 3],
}

impl Allocation {
    /// Bits per second the allocation sends.
    pub fn total_bps(&self) -> u64 {
        self.layers
            .iter()
            .zip(TRACKS.iter())
            .map(|(l, spec)| match l {
                Some(LayerChoice::Active(i)) => spec.layers[usize::from(*i)],
                _ => 0,
            })
            .sum()
    }
}

/// Sum of every track's top layer.
pub fn top_sum_bps() -> u64 {
    TRACKS.iter().map(|t| t.layers[2]).sum()
}

/// The allocator and what it decided, between an estimator and the encoder.
pub struct Layers {
    allocator: Allocator<3>,
    current: [Option<LayerChoice>; 3],
    /// Every allocation, in order (the first one when the tracks were added).
    pub trace: Vec<Allocation>,
    /// Keyframes asked for.
    pub keyframes: u64,
    keyframe_due: bool,
    probe: Option<Bitrate>,
    desired: Option<Bitrate>,
    /// The last wake: a timer due again at once waits [`MIN_WAKE`].
    woke: Option<Instant>,
}

/// Smallest step between two wakes of the allocator's timer.
const MIN_WAKE: Duration = Duration::from_millis(1);

fn track_id(i: usize) -> TrackId {
    TrackId(i as u64 + 1)
}

impl Layers {
    /// The allocator with the [`TRACKS`] added at `now`.
    pub fn new(now: Instant) -> Result<Self, String> {
        let mut allocator = Allocator::new(AllocatorConfig::default());
        for (i, spec) in TRACKS.iter().enumerate() {
            let layers = spec.layers.map(Bitrate::from_bps);
            allocator
                .add_track(track_id(i), spec.priority, &layers, now)
                .map_err(|e| format!("track {i}: {e}"))?;
        }
        let mut layers = Layers {
            allocator,
            current: [None; 3],
            trace: Vec::new(),
            keyframes: 0,
            keyframe_due: false,
            probe: None,
            desired: None,
            woke: None,
        };
        layers.drain(now);
        Ok(layers)
    }

    /// The estimator's available bitrate changed (or was re-read).
    pub fn estimate(&mut self, bps: f64, now: Instant) {
        self.allocator
            .handle_estimate(Bitrate::from_bps(bps.max(0.0) as u64), now);
        self.drain(now);
    }

    /// A probe the allocator asked for finished, proving `proven` (if anything).
    pub fn probe_result(&mut self, proven: Option<Bitrate>, now: Instant) {
        self.allocator.handle_probe_result(proven, now);
        self.drain(now);
    }

    /// When [`Layers::wake`] is next needed.
    pub fn wake_at(&self) -> Option<Instant> {
        let t = self.allocator.poll_timeout()?;
        Some(self.woke.map_or(t, |w| t.max(w + MIN_WAKE)))
    }

    /// Time has reached [`Layers::wake_at`].
    pub fn wake(&mut self, now: Instant) {
        self.woke = Some(now);
        self.allocator.handle_timeout(now);
        self.drain(now);
    }

    /// What the encoders produce now, bits per second.
    pub fn total_bps(&self) -> f64 {
        self.trace.last().map_or(0, Allocation::total_bps) as f64
    }

    /// A probe the allocator wants, once.
    pub fn take_probe(&mut self) -> Option<Bitrate> {
        self.probe.take()
    }

    /// The rate every top layer needs, once it changes.
    pub fn take_desired(&mut self) -> Option<Bitrate> {
        self.desired.take()
    }

    /// Whether a keyframe was asked for since the last call.
    pub fn take_keyframe(&mut self) -> bool {
        core::mem::take(&mut self.keyframe_due)
    }

    fn drain(&mut self, now: Instant) {
        let before = self.current;
        while let Some(event) = self.allocator.poll_output() {
            match event {
                AllocatorEvent::LayerChanged { track, to, .. } => {
                    self.set(track, LayerChoice::Active(to));
                }
                AllocatorEvent::Resumed { track, layer } => {
                    self.set(track, LayerChoice::Active(layer));
                }
                AllocatorEvent::Paused { track } => self.set(track, LayerChoice::Paused),
                AllocatorEvent::KeyframeWanted { .. } => {
                    self.keyframes += 1;
                    self.keyframe_due = true;
                }
                AllocatorEvent::ProbeWanted { rate } => self.probe = Some(rate),
                AllocatorEvent::Desired { rate } => self.desired = Some(rate),
            }
        }
        if self.current != before || self.trace.is_empty() {
            self.trace.push(Allocation {
                at: now,
                layers: self.current,
            });
        }
    }

    fn set(&mut self, track: TrackId, choice: LayerChoice) {
        if let Some(i) = (0..TRACKS.len()).find(|&i| track_id(i) == track) {
            self.current[i] = Some(choice);
        }
    }
}
