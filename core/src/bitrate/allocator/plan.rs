//! Allocations as values: one optional layer per track, in the tracks' order.

use heapless::Vec;

use super::{LayerChoice, Track};

/// Track indices from the highest rank to the lowest: priority first, then
/// the older track.
pub(crate) fn rank<const N: usize>(tracks: &Vec<Track, N>) -> Vec<usize, N> {
    let mut order: Vec<usize, N> = (0..tracks.len()).collect();
    order.sort_unstable_by_key(|&i| (u8::MAX - tracks[i].priority, tracks[i].age));
    order
}

/// A layer (or `None`, paused) for each track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan<const N: usize>(Vec<Option<u8>, N>);

impl<const N: usize> Plan<N> {
    /// What the tracks have now.
    pub fn current(tracks: &Vec<Track, N>) -> Self {
        Plan(
            tracks
                .iter()
                .map(|t| match t.current {
                    LayerChoice::Active(l) => Some(l),
                    LayerChoice::Paused => None,
                })
                .collect(),
        )
    }

    /// Lowest layers, in rank order, while their sum fits in `budget`;
    /// the first track that does not fit and every track after it are paused.
    pub fn lowest_that_fit(tracks: &Vec<Track, N>, order: &[usize], budget: u64) -> Self {
        let mut plan = Plan(tracks.iter().map(|_| None).collect());
        let mut used = 0u64;
        for &i in order {
            let lowest = tracks[i].layers[0].bps();
            if used.saturating_add(lowest) > budget {
                break;
            }
            used += lowest;
            plan.0[i] = Some(0);
        }
        plan
    }

    /// `self` lifted one layer at a time, round after round in rank order,
    /// while the total stays within `budget`.
    pub fn fill(&self, tracks: &Vec<Track, N>, order: &[usize], budget: u64) -> Self {
        let mut plan = self.clone();
        let mut used = plan.total(tracks);
        loop {
            let mut lifted = false;
            for &i in order {
                let Some(step) = plan.step_cost(tracks, i) else {
                    continue;
                };
                if used.saturating_add(step) <= budget {
                    used += step;
                    plan.0[i] = plan.0[i].map(|l| l + 1);
                    lifted = true;
                }
            }
            if !lifted {
                return plan;
            }
        }
    }

    /// The total after the next step up, if there is one: resuming the
    /// highest-ranked paused track at its lowest layer (every track gets
    /// that before any gets more), else the first single lift in rank order.
    pub fn next_step(&self, tracks: &Vec<Track, N>, order: &[usize]) -> Option<u64> {
        let resume = order
            .iter()
            .find(|&&i| self.0[i].is_none())
            .map(|&i| tracks[i].layers[0].bps());
        let step = resume.or_else(|| order.iter().find_map(|&i| self.step_cost(tracks, i)))?;
        Some(self.total(tracks).saturating_add(step))
    }

    /// `self`, with tracks paused where `fitting` pauses them and resumed at
    /// their lowest layer where it does not.
    pub fn paused_like(mut self, fitting: &Self) -> Self {
        for (mine, fit) in self.0.iter_mut().zip(fitting.0.iter()) {
            *mine = match (*mine, *fit) {
                (_, None) => None,
                (None, Some(_)) => Some(0),
                (Some(l), Some(_)) => Some(l),
            };
        }
        self
    }

    /// Per track, the lower of the two (paused is lowest).
    pub fn at_most(mut self, other: &Self) -> Self {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            *mine = (*mine).min(*theirs);
        }
        self
    }

    /// Per track, the higher of the two.
    pub fn at_least(&self, other: &Self) -> Self {
        let mut plan = self.clone();
        for (mine, theirs) in plan.0.iter_mut().zip(other.0.iter()) {
            *mine = (*mine).max(*theirs);
        }
        plan
    }

    /// Bit/s this allocation needs.
    pub fn total(&self, tracks: &Vec<Track, N>) -> u64 {
        self.0
            .iter()
            .zip(tracks.iter())
            .filter_map(|(l, t)| l.and_then(|l| t.layers.get(usize::from(l))))
            .fold(0u64, |sum, r| sum.saturating_add(r.bps()))
    }

    /// Writes the allocation into the tracks.
    pub fn apply(&self, tracks: &mut Vec<Track, N>) {
        for (l, t) in self.0.iter().zip(tracks.iter_mut()) {
            t.current = l.map_or(LayerChoice::Paused, LayerChoice::Active);
        }
    }

    /// Extra bit/s for track `i` to rise one layer, if it is active and can.
    fn step_cost(&self, tracks: &Vec<Track, N>, i: usize) -> Option<u64> {
        let l = usize::from(self.0[i]?);
        let layers = &tracks[i].layers;
        let next = layers.get(l + 1)?;
        Some(next.bps().saturating_sub(layers[l].bps()))
    }
}
