//! Convex hulls of a window's bounds: the quick-path envelopes.
//!
//! The upper bounds `(x, hi)` of a window's samples lie above the offset line
//! by each forward trip; the lower hull of those points is the forward path
//! at its quickest, and only samples on it can bind the offset from above.
//! Likewise the upper hull of the lower bounds `(x, lo)` for the return path.

use heapless::Vec;

use super::super::region::Strip;
use super::window::WINDOW;

/// Which bound of each strip a hull is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// The strips' upper bounds; the hull lies under them.
    Upper,
    /// The strips' lower bounds; the hull lies over them.
    Lower,
}

/// Indices of the strips on one hull, in increasing `x`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hull {
    /// Set by [`Hull::build`]; `None` (an empty hull) reads as `Upper`.
    side: Option<Side>,
    points: Vec<u8, WINDOW>,
}

impl Hull {
    /// Rebuilds the hull over `strips`, which must come in increasing `x`
    /// (a window's samples do). Andrew's monotone chain: one pass.
    pub(crate) fn build(&mut self, strips: &[Strip], side: Side) {
        self.side = Some(side);
        self.points.clear();
        for i in 0..strips.len() {
            self.push(strips, i);
        }
    }

    /// Extends the hull with strip `i`, the one with the largest `x` so far.
    ///
    /// A window's strips move together when its reference moves: each bound
    /// shifts by the same linear function of `x` (the reference, the base and
    /// the wander allowance are all affine), and a convex hull is unchanged by
    /// that. So a hull built once is kept up to date by `push` and `remove`.
    pub(crate) fn push(&mut self, strips: &[Strip], i: usize) {
        // Flipping the lower bounds' sign turns their upper hull into a lower one.
        let side = self.side;
        let at = |k: usize| match side {
            Some(Side::Lower) => (strips[k].x, -strips[k].lo),
            _ => (strips[k].x, strips[k].hi),
        };
        let p = at(i);
        if let Some(&last) = self.points.last() {
            let last = at(usize::from(last));
            if last.0 == p.0 {
                // Same instant twice: only the tighter bound can be on the hull.
                if last.1 <= p.1 {
                    return;
                }
                self.points.pop();
            }
        }
        while let [.., a, b] = self.points[..] {
            let (a, b) = (at(usize::from(a)), at(usize::from(b)));
            // Keep `b` only if a → b → p turns left (strictly convex from below).
            if (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0) <= 0.0 {
                self.points.pop();
            } else {
                break;
            }
        }
        // One index per strip, and WINDOW ≤ 256 so it fits in a u8.
        let _ = self.points.push(i as u8);
    }

    /// Accounts for strip `k` leaving the window; `strips` still holds it
    /// (later strips then move down by one). If `k` was a vertex, only the
    /// stretch between its two neighbours on the hull can change: those
    /// neighbours stay vertices, and every point between them lay above the
    /// old edges, so the chain is rebuilt over that stretch alone.
    pub(crate) fn remove(&mut self, strips: &[Strip], k: usize) {
        if let Some(pos) = self.points.iter().position(|&i| usize::from(i) == k) {
            let from = pos
                .checked_sub(1)
                .map_or(0, |p| usize::from(self.points[p]) + 1);
            let rest: Vec<u8, WINDOW> = self.points[pos + 1..].iter().copied().collect();
            let to = rest.first().map_or(strips.len(), |&i| usize::from(i));
            self.points.truncate(pos);
            for i in (from..to).filter(|&i| i != k) {
                self.push(strips, i);
            }
            for &i in &rest {
                self.push(strips, usize::from(i));
            }
        }
        for i in self.points.iter_mut() {
            if usize::from(*i) > k {
                *i -= 1;
            }
        }
    }

    /// Indices of the strips on the hull.
    pub(crate) fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.points.iter().map(|&i| usize::from(i))
    }

    /// The slope (µs/s) of the hull at `x`: of the lines under every upper
    /// bound (over every lower bound), the one highest (lowest) at `x` — the
    /// estimator of Moon, Skelly and Towsley (1999). At a vertex, the mean of
    /// the two adjacent slopes; fewer than two points give 0.
    pub(crate) fn slope_at(&self, strips: &[Strip], x: f64) -> f64 {
        let (sign, y): (f64, fn(&Strip) -> f64) = match self.side {
            Some(Side::Lower) => (-1.0, |s| -s.lo),
            _ => (1.0, |s| s.hi),
        };
        let p = |k: usize| &strips[usize::from(self.points[k])];
        let slope = |k: usize| (y(p(k + 1)) - y(p(k))) / (p(k + 1).x - p(k).x);
        if self.points.len() < 2 {
            return 0.0;
        }
        let last = self.points.len() - 2;
        let edge = (0..=last).find(|&k| p(k + 1).x >= x).unwrap_or(last);
        let s = if p(edge + 1).x == x && edge < last {
            (slope(edge) + slope(edge + 1)) / 2.0
        } else {
            slope(edge)
        };
        sign * s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strips(points: &[(f64, f64)]) -> std::vec::Vec<Strip> {
        // Upper bounds are the given y; lower bounds the given y less 100.
        points
            .iter()
            .map(|&(x, y)| Strip {
                x,
                lo: y - 100.0,
                hi: y,
            })
            .collect()
    }

    #[test]
    fn ceiling_rests_on_the_lowest_upper_bounds() {
        // Lower hull of these: (0,0) → (4,2) → (10,8); spikes above ignored.
        let s = strips(&[
            (0.0, 0.0),
            (1.0, 5.0),
            (2.0, 9.0),
            (4.0, 2.0),
            (7.0, 30.0),
            (10.0, 8.0),
        ]);
        let mut h = Hull::default();
        h.build(&s, Side::Upper);
        assert_eq!(h.indices().collect::<std::vec::Vec<_>>(), [0, 3, 5]);
        assert_eq!(h.slope_at(&s, 2.0), 0.5);
        assert_eq!(h.slope_at(&s, 6.0), 1.0);
        // At the vertex (4, 2): the mean of both slopes.
        assert_eq!(h.slope_at(&s, 4.0), 0.75);
    }

    #[test]
    fn removing_a_vertex_repairs_the_hull_locally() {
        let pts = [
            (0.0, 0.0),
            (1.0, 5.0),
            (2.0, 9.0),
            (4.0, 2.0),
            (7.0, 30.0),
            (10.0, 8.0),
            (11.0, 20.0),
        ];
        for k in 0..pts.len() {
            let s = strips(&pts);
            let mut h = Hull::default();
            h.build(&s, Side::Upper);
            h.remove(&s, k);
            let mut rest = s.clone();
            rest.remove(k);
            let mut fresh = Hull::default();
            fresh.build(&rest, Side::Upper);
            let got: std::vec::Vec<usize> = h.indices().collect();
            let want: std::vec::Vec<usize> = fresh.indices().collect();
            assert_eq!(got, want, "removing {k}");
        }
    }

    #[test]
    fn floor_rests_on_the_highest_lower_bounds() {
        // Lower bounds y − 100; upper hull: (0,−100) → (1,−95) → (7,−70) → (10,−92).
        let s = strips(&[
            (0.0, 0.0),
            (1.0, 5.0),
            (2.0, 9.0),
            (4.0, 2.0),
            (7.0, 30.0),
            (10.0, 8.0),
        ]);
        let mut h = Hull::default();
        h.build(&s, Side::Lower);
        assert_eq!(h.indices().collect::<std::vec::Vec<_>>(), [0, 1, 4, 5]);
        assert_eq!(h.slope_at(&s, 8.0), -22.0 / 3.0);
        let one = strips(&[(1.0, 1.0)]);
        h.build(&one, Side::Lower);
        assert_eq!(h.slope_at(&one, 0.0), 0.0);
    }
}
