//! What the allocator names and decides: tracks, their layers, its events
//! (and how each decision becomes one), and why a track is refused.

use core::fmt;

use super::Allocator;
use crate::bitrate::rate::Bitrate;

/// A track, as the shell names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackId(pub u64);

/// What a track gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerChoice {
    /// This layer (0 = lowest).
    Active(u8),
    /// Nothing: even the lowest layers of higher-ranked tracks fill the budget.
    Paused,
}

/// Why a track was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AllocError {
    /// The allocator already holds as many tracks as it can.
    TooManyTracks,
    /// A track with this id is already allocated.
    DuplicateTrack,
    /// A track needs at least one layer.
    NoLayers,
    /// More than [`super::MAX_LAYERS`] layers.
    TooManyLayers,
    /// Layers must be listed in strictly ascending bitrate.
    NotAscending,
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllocError::TooManyTracks => "no room for another track",
            AllocError::DuplicateTrack => "track already allocated",
            AllocError::NoLayers => "track has no layers",
            AllocError::TooManyLayers => "track has too many layers",
            AllocError::NotAscending => "layers are not in ascending bitrate",
        })
    }
}

impl core::error::Error for AllocError {}

/// A decision of the allocator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocatorEvent {
    /// The track now gets layer `to` (`from` is `None` for a new track).
    LayerChanged {
        /// The track.
        track: TrackId,
        /// Its previous layer, if it had one.
        from: Option<u8>,
        /// Its layer now.
        to: u8,
    },
    /// The track gets nothing for now.
    Paused {
        /// The track.
        track: TrackId,
    },
    /// The paused track gets `layer` again.
    Resumed {
        /// The track.
        track: TrackId,
        /// Its layer now.
        layer: u8,
    },
    /// Ask the track's sender for a keyframe (the subscriber switched up).
    KeyframeWanted {
        /// The track.
        track: TrackId,
    },
    /// Probe the path at `rate` to confirm headroom for more layers
    /// (e.g. with [`Estimator::request_probe`](crate::bitrate::Estimator::request_probe)), then pass what it
    /// proved to [`Allocator::handle_probe_result`].
    ProbeWanted {
        /// The rate to confirm.
        rate: Bitrate,
    },
    /// The most all tracks could use (every track at its top layer); tell the
    /// estimator so it need not look for more.
    Desired {
        /// The rate.
        rate: Bitrate,
    },
}

impl<const TRACKS: usize> Allocator<TRACKS> {
    /// The next decision to act on: each track's layer is compared with the
    /// one last reported, so no event is ever dropped whatever the number of
    /// tracks.
    pub fn poll_output(&mut self) -> Option<AllocatorEvent> {
        for t in self.tracks.iter_mut() {
            if t.shown == Some(t.current) {
                if t.keyframe {
                    t.keyframe = false;
                    return Some(AllocatorEvent::KeyframeWanted { track: t.id });
                }
                continue;
            }
            let event = match (t.shown, t.current) {
                (_, LayerChoice::Paused) => AllocatorEvent::Paused { track: t.id },
                (Some(LayerChoice::Paused), LayerChoice::Active(layer)) => {
                    t.keyframe = true;
                    AllocatorEvent::Resumed { track: t.id, layer }
                }
                (shown, LayerChoice::Active(to)) => {
                    let from = match shown {
                        Some(LayerChoice::Active(from)) => Some(from),
                        _ => None,
                    };
                    t.keyframe = from.is_none_or(|f| to > f);
                    AllocatorEvent::LayerChanged {
                        track: t.id,
                        from,
                        to,
                    }
                }
            };
            t.shown = Some(t.current);
            return Some(event);
        }
        if let Some(rate) = self.probe_wanted.take() {
            return Some(AllocatorEvent::ProbeWanted { rate });
        }
        let desired = self.top_total();
        if self.desired_shown != Some(desired) {
            self.desired_shown = Some(desired);
            return Some(AllocatorEvent::Desired { rate: desired });
        }
        None
    }
}
