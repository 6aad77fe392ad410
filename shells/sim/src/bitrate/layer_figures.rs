//! The `layers` figures: how the allocator's choices met the link's true
//! capacity (switches under noise, pauses while the lowest layers fit, how
//! fast it stepped down and up, keyframes per switch up).

use onbeat_core::bitrate::LayerChoice;
use onbeat_core::{Duration, Instant};

use super::capacity::Capacity;
use super::figures::median;
use super::layers::{Allocation, TRACKS, top_sum_bps};

/// Time after a phase starts before its switches count as noise-driven, and
/// from which its settled allocation is measured.
pub const LAYERS_SETTLE: Duration = Duration::from_secs(10);
/// The window the switches of noise are held to.
pub const SWITCH_WINDOW: Duration = Duration::from_secs(10);
/// How often the settled allocation is sampled.
const SAMPLE: Duration = Duration::from_millis(100);

/// A nominal capacity phase (the link adds its noise on top).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    /// When it starts.
    pub from: Instant,
    /// When it ends.
    pub to: Instant,
    /// Its nominal capacity, bits per second.
    pub bps: u64,
}

/// What the allocator's choices measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LayerFigures {
    /// Layer changes (all tracks, pauses and resumes included) per minute,
    /// counted from [`LAYERS_SETTLE`] after each phase starts to its end.
    pub switches_per_min: f64,
    /// The most of those switches in any [`SWITCH_WINDOW`] (the goal under
    /// ±10% noise is one).
    pub most_switches_10s: f64,
    /// Pauses decided while the true capacity carried every lowest layer.
    pub pauses_while_fitting: f64,
    /// Pauses of a track decided while the true capacity carried its lowest
    /// layer and those of every track ranked above it (the main camera paused
    /// on a link that carries it counts, though the lowest layers of all do
    /// not fit).
    pub track_pauses_while_fitting: f64,
    /// Worst time, over steps down that left the allocation above the new
    /// capacity, until it fitted again (`None` if no step needed one).
    pub down_ms: Option<f64>,
    /// Worst time, over steps up, until the allocation reached the level it
    /// settled at in the new phase (`None` if no step up had room to rise).
    pub up_ms: Option<f64>,
    /// Keyframes asked for per track switch up (first layers and resumes included).
    pub keyframes_per_up: Option<f64>,
}

fn rank(l: Option<LayerChoice>) -> i16 {
    match l {
        None => -2,
        Some(LayerChoice::Paused) => -1,
        Some(LayerChoice::Active(i)) => i16::from(i),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1e3
}

/// The allocation in force at `t` (the last decided at or before it).
fn at(trace: &[Allocation], t: Instant) -> Option<&Allocation> {
    trace.iter().take_while(|a| a.at <= t).last()
}

fn total_at(trace: &[Allocation], t: Instant) -> u64 {
    at(trace, t).map_or(0, Allocation::total_bps)
}

/// Per-track changes between consecutive allocations: (when, track,
/// before, after).
fn changes(
    trace: &[Allocation],
) -> impl Iterator<Item = (Instant, usize, Option<LayerChoice>, LayerChoice)> + '_ {
    trace.windows(2).flat_map(|w| {
        (0..TRACKS.len()).filter_map(move |i| {
            let (a, b) = (w[0].layers[i], w[1].layers[i]);
            match b {
                Some(b) if a != Some(b) => Some((w[1].at, i, a, b)),
                _ => None,
            }
        })
    })
}

/// What track `i`'s lowest layer needs to be kept: it and the lowest layer
/// of every track ranked above it (higher priority, or as high and added
/// earlier).
fn keep_bps(i: usize) -> u64 {
    let p = TRACKS[i].priority;
    TRACKS
        .iter()
        .enumerate()
        .filter(|&(j, t)| t.priority > p || (t.priority == p && j <= i))
        .map(|(_, t)| t.layers[0])
        .sum()
}

/// Measures `trace` (the allocator's choices, in order) against the link's
/// true `capacity` and its nominal `phases`.
pub fn layer_figures(
    trace: &[Allocation],
    keyframes: u64,
    capacity: &Capacity,
    phases: &[Phase],
) -> LayerFigures {
    let initial = trace.first().map_or(0, |a| {
        a.layers
            .iter()
            .filter(|l| matches!(l, Some(LayerChoice::Active(_))))
            .count()
    });
    let (mut switched, mut judged, mut ups) = (Vec::new(), 0u64, initial as u64);
    let (mut pauses, mut track_pauses) = (0u64, 0u64);
    let every_lowest: u64 = TRACKS.iter().map(|t| t.layers[0]).sum();
    for (t, track, before, after) in changes(trace) {
        let counted = before.is_some()
            && phases
                .iter()
                .any(|p| t >= p.from + LAYERS_SETTLE && t < p.to);
        if counted {
            switched.push(t);
        }
        if after == LayerChoice::Paused {
            let carried = capacity.rate_at(t);
            pauses += u64::from(carried >= every_lowest as f64);
            track_pauses += u64::from(carried >= keep_bps(track) as f64);
        }
        if rank(Some(after)) > rank(before) {
            ups += 1;
        }
    }
    for p in phases {
        judged += (p.to - p.from).saturating_sub(LAYERS_SETTLE).as_micros();
    }
    let minutes = judged as f64 / 60e6;
    LayerFigures {
        switches_per_min: if minutes > 0.0 {
            switched.len() as f64 / minutes
        } else {
            0.0
        },
        most_switches_10s: most_within(&switched, SWITCH_WINDOW) as f64,
        pauses_while_fitting: pauses as f64,
        track_pauses_while_fitting: track_pauses as f64,
        down_ms: worst_down(trace, phases),
        up_ms: worst_up(trace, phases),
        keyframes_per_up: (ups > 0).then(|| keyframes as f64 / ups as f64),
    }
}

/// The most of `times` (in order) that fall in any window of `span`.
fn most_within(times: &[Instant], span: Duration) -> usize {
    let mut first = 0;
    let mut most = 0;
    for (i, &t) in times.iter().enumerate() {
        while t - times[first] >= span {
            first += 1;
        }
        most = most.max(i + 1 - first);
    }
    most
}

fn worst_down(trace: &[Allocation], phases: &[Phase]) -> Option<f64> {
    phases
        .windows(2)
        .filter(|w| w[1].bps < w[0].bps && total_at(trace, w[1].from) > w[1].bps)
        .map(|w| {
            let p = w[1];
            let fit = trace
                .iter()
                .filter(|a| a.at >= p.from && a.at < p.to)
                .find(|a| a.total_bps() <= p.bps);
            ms(fit.map_or(p.to, |a| a.at) - p.from)
        })
        .reduce(f64::max)
}

fn worst_up(trace: &[Allocation], phases: &[Phase]) -> Option<f64> {
    phases
        .windows(2)
        .filter(|w| w[1].bps > w[0].bps && total_at(trace, w[1].from) < top_sum_bps())
        .map(|w| {
            let p = w[1];
            let start = total_at(trace, p.from);
            let mut samples = Vec::new();
            let mut t = p.from + LAYERS_SETTLE;
            while t < p.to {
                samples.push(total_at(trace, t) as f64);
                t += SAMPLE;
            }
            let settled = median(samples).unwrap_or(0.0);
            if settled <= start as f64 {
                return ms(p.to - p.from);
            }
            let reached = trace
                .iter()
                .filter(|a| a.at >= p.from && a.at < p.to)
                .find(|a| a.total_bps() as f64 >= settled);
            ms(reached.map_or(p.to, |a| a.at) - p.from)
        })
        .reduce(f64::max)
}
