//! A video encoder stand-in: frames at a frame rate, sized around the target
//! bitrate, keyframes larger, split into packets of at most 1200 bytes.

use onbeat_core::{Duration, Instant};

use crate::rng::SimRng;

/// Largest packet a frame is split into, bytes on the wire.
pub const MAX_PACKET: u32 = 1200;

/// The encoder's shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SourceConfig {
    /// Frames per second.
    pub fps: u32,
    /// A keyframe this often (and whenever one is asked for).
    pub keyframe_every: Duration,
    /// A keyframe is this many times an average frame.
    pub keyframe_factor: f64,
    /// Each frame's size is scaled by a uniform draw from `[1 − noise, 1 + noise)`.
    pub noise: f64,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            fps: 30,
            keyframe_every: Duration::from_secs(10),
            keyframe_factor: 3.0,
            noise: 0.15,
        }
    }
}

/// Produces frames; the caller paces them out.
#[derive(Debug)]
pub struct Source {
    config: SourceConfig,
    rng: SimRng,
    origin: Instant,
    frames: u64,
    next_keyframe: Instant,
    keyframe_wanted: bool,
    /// Bits owed to later frames after a keyframe overshot, so that the
    /// average stays at the target.
    debt: f64,
}

impl Source {
    /// An encoder drawing its size noise from `rng`.
    pub fn new(config: SourceConfig, rng: SimRng) -> Self {
        Source {
            config,
            rng,
            origin: Instant::ZERO,
            frames: 0,
            next_keyframe: Instant::ZERO,
            keyframe_wanted: true,
            debt: 0.0,
        }
    }

    /// The same encoder capturing its first frame at `at`.
    pub fn starting(mut self, at: Instant) -> Self {
        self.origin = at;
        self.next_keyframe = at;
        self
    }

    /// When the next frame is captured.
    pub fn next_frame_at(&self) -> Instant {
        self.origin
            + Duration::from_micros(self.frames * 1_000_000 / u64::from(self.config.fps.max(1)))
    }

    /// Asks for the next frame to be a keyframe.
    pub fn want_keyframe(&mut self) {
        self.keyframe_wanted = true;
    }

    /// Encodes the frame due at [`Source::next_frame_at`] at `target_bps`;
    /// returns its packet sizes and whether it is a keyframe.
    pub fn frame(&mut self, target_bps: f64) -> (Vec<u32>, bool) {
        let now = self.next_frame_at();
        self.frames += 1;
        let key = self.keyframe_wanted || now >= self.next_keyframe;
        if key {
            self.keyframe_wanted = false;
            self.next_keyframe = now + self.config.keyframe_every;
        }
        let average = target_bps / 8.0 / f64::from(self.config.fps.max(1));
        let noise = self
            .rng
            .uniform(1.0 - self.config.noise, 1.0 + self.config.noise);
        let mut bytes = average * noise;
        if key {
            let extra = average * (self.config.keyframe_factor - 1.0);
            bytes += extra;
            self.debt += extra;
        } else {
            // Pay back over about a second of frames, never below a third of a frame.
            let pay = (self.debt / f64::from(self.config.fps.max(1))).min(bytes * 2.0 / 3.0);
            bytes -= pay;
            self.debt -= pay;
        }
        (split(bytes.max(100.0) as u32), key)
    }
}

/// Splits a frame into near-equal packets of at most [`MAX_PACKET`] bytes.
pub fn split(bytes: u32) -> Vec<u32> {
    let n = bytes.div_ceil(MAX_PACKET).max(1);
    let base = bytes / n;
    let extra = bytes % n;
    (0..n).map(|i| base + u32::from(i < extra)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_average_the_target_with_keyframes_included() {
        let mut s = Source::new(SourceConfig::default(), SimRng::new(1));
        let mut bytes = 0u64;
        let mut keys = 0;
        while s.next_frame_at() < Instant::from_millis(60_000) {
            let (packets, key) = s.frame(1_000_000.0);
            assert!(packets.iter().all(|&p| p <= MAX_PACKET && p > 0));
            bytes += packets.iter().map(|&p| u64::from(p)).sum::<u64>();
            keys += u32::from(key);
        }
        let bps = bytes as f64 * 8.0 / 60.0;
        assert!((bps - 1e6).abs() < 0.03e6, "{bps}");
        assert_eq!(keys, 6);
    }

    #[test]
    fn split_keeps_every_byte() {
        assert_eq!(split(2401), vec![801, 800, 800]);
        assert_eq!(split(1200), vec![1200]);
    }
}
