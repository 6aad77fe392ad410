//! Link outages: feedback that stops while packets are in flight.
//!
//! Cellular links stop delivering for 100 ms to seconds at a time (handovers,
//! fades; in the NSDI 2013 traces a fifth of the ATT uplink's time is in gaps
//! of 100 ms or more). Every packet sent into such a gap waits for its end, so
//! the one-way delay of a flow that keeps sending is the gap's length, however
//! low its rate. Feedback (e.g. TWCC) only comes when packets arrive, so the
//! gap shows at the sender as feedback that stops. Seeing that one and a half
//! feedback intervals late and holding back until feedback resumes keeps
//! most packets out of the gap (Sprout's lesson: on these links, do not send
//! what the link will not carry soon). An outage is not congestion: when
//! feedback resumes, the rate held before comes back.

use crate::time::{Duration, Instant};

/// Feedback this many half mean intervals late means the link went silent.
const LATE_INTERVALS: u64 = 3;
/// The silence mark is at least this long (feedback itself is bursty).
const SILENCE_MIN: Duration = Duration::from_millis(60);
/// The silence mark is at most this long: beyond it the link is silent
/// whatever the usual feedback interval.
const SILENCE_MAX: Duration = Duration::from_millis(250);
/// Mean feedback interval assumed before any has been seen.
const INTERVAL_START: Duration = Duration::from_millis(50);

/// What the silence tracker says about the feedback path.
#[derive(Clone, Debug)]
pub(crate) struct Silence {
    last_feedback: Option<Instant>,
    /// Mean interval between feedback reports, µs (EWMA, 1/8).
    interval_us: u64,
    /// Set while silent: since when.
    since: Option<Instant>,
}

impl Default for Silence {
    fn default() -> Self {
        Silence {
            last_feedback: None,
            interval_us: INTERVAL_START.as_micros(),
            since: None,
        }
    }
}

impl Silence {
    /// A feedback report arrived; returns whether it ends a silence.
    pub fn on_feedback(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last_feedback {
            let gap = now.saturating_duration_since(last);
            // Only gaps of ordinary feedback shape the mean: a silence is
            // what the mean is there to tell apart.
            if gap > Duration::ZERO && self.since.is_none() {
                let gap = gap.min(SILENCE_MAX).as_micros();
                self.interval_us = (self.interval_us * 7 + gap) / 8;
            }
        }
        self.last_feedback = Some(now);
        self.since.take().is_some()
    }

    /// When feedback counts as stopped, given the first packet sent since
    /// the last report (`waiting`) and the round trip: 1.5 mean intervals
    /// after the last report, and no earlier than that packet's own report
    /// could come.
    pub fn deadline(&self, waiting: Option<Instant>, rtt: Duration) -> Option<Instant> {
        let waiting = waiting?;
        if self.since.is_some() {
            return None;
        }
        let mark = Duration::from_micros(self.interval_us.saturating_mul(LATE_INTERVALS) / 2)
            .max(SILENCE_MIN)
            .min(SILENCE_MAX);
        Some((self.last_feedback? + mark).max(waiting + rtt))
    }

    /// The mean interval between feedback reports.
    pub fn interval(&self) -> Duration {
        Duration::from_micros(self.interval_us)
    }

    /// Time passed; returns whether the link just went silent.
    pub fn check(&mut self, waiting: Option<Instant>, rtt: Duration, now: Instant) -> bool {
        if self.deadline(waiting, rtt).is_some_and(|d| now >= d) {
            self.since = Some(now);
            return true;
        }
        false
    }

    /// Whether the link is silent now.
    #[cfg(test)]
    pub fn silent(&self) -> bool {
        self.since.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_late_by_one_and_a_half_intervals_is_silence_and_its_return_ends_it() {
        let mut s = Silence::default();
        for i in 0..20 {
            s.on_feedback(Instant::from_millis(i * 50));
        }
        let last = Instant::from_millis(19 * 50);
        let rtt = Duration::from_millis(20);
        assert_eq!(s.deadline(None, rtt), None, "nothing sent, nothing late");
        let sent = Some(last);
        let d = s.deadline(sent, rtt).unwrap();
        assert_eq!(d, last + Duration::from_millis(75));
        assert!(!s.check(sent, rtt, d.saturating_sub(Duration::from_millis(1))));
        assert!(s.check(sent, rtt, d));
        assert!(s.silent());
        assert_eq!(s.deadline(sent, rtt), None, "reported once");
        assert!(s.on_feedback(d + Duration::from_millis(300)));
        assert!(!s.silent());
        // The 400 ms gap did not stretch the mean interval.
        assert_eq!(s.deadline(sent, rtt), Some(d + Duration::from_millis(375)));
        // A packet sent long after the last report is given its round trip.
        let late = d + Duration::from_secs(1);
        assert_eq!(
            s.deadline(Some(late), rtt),
            Some(late + Duration::from_millis(20))
        );
    }
}
