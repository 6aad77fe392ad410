//! Congestion-window pushback: the encoder's target shrinks while more media
//! is in flight than the path should hold.
//!
//! The rate controller acts on feedback, a report interval and a one-way
//! delay after the fact; when a cellular link's delivery dips, every packet
//! sent meanwhile joins the queue. Bytes sent and not yet reported grow at
//! once, though, so holding them to what the target fills in a round trip
//! (libwebrtc's congestion window pushback; Sprout's "send what drains
//! within the target delay") reacts a report earlier. Only the encoder's
//! target is pushed back: the controller's state, the pacing rate and the
//! probes are unchanged, so the rate returns as soon as feedback catches up.
//!
//! On a bursty (cellular) link the window is the main brake, since the
//! controller climbs there as soon as no queue stands: it leaves no room
//! for a queue, lasts the least round trip and three quarters of a feedback
//! interval, and shrinks the target all the way to nothing past a quarter
//! over it (Sprout's "send only what drains within the target").

use super::Estimator;
use crate::bitrate::rate::Bitrate;
use crate::time::Duration;

/// The window is the target's bytes over the least round trip, this many
/// feedback intervals (a packet waits up to one for its report, and the
/// report itself may come one late) and [`WINDOW_QUEUE`].
const WINDOW_INTERVALS: u64 = 2;
/// The standing queue the window leaves room for (the controller's mark).
const WINDOW_QUEUE: Duration = Duration::from_millis(20);
/// The window is taken from at most this multiple of the delivered rate: a
/// target above what the link delivers would let the queue build.
const WINDOW_DELIVERED: f64 = 1.25;
/// The window is never below this many bytes (a few packets).
const WINDOW_MIN: f64 = 3_000.0;
/// The target shrinks by this many times the share by which the bytes in
/// flight exceed the window...
const PUSHBACK_GAIN: f64 = 4.0;
/// ...to no less than this fraction: a deeper cut is the controller's job,
/// and one from a momentary excess (a keyframe) would be overshot.
const PUSHBACK_FLOOR: f64 = 0.5;

/// On a bursty link: the window's share of a feedback interval, in quarters.
const BURSTY_QUARTERS: u64 = 3;
/// On a bursty link, the delivered rate that bounds the window is measured
/// over this much of the latest arrivals. A cellular link's capacity falls
/// within tens of milliseconds; over the usual 250 ms the rate lags a fall
/// by most of that, and the window lets in what the link no longer carries
/// (100 seeds: p95 one-way 172 → 167 ms on the ATT downlink, 144 → 140 on
/// TMobile, utilization unchanged; at 100 ms utilization fell instead).
pub(super) const BURSTY_DELIVERED: Duration = Duration::from_millis(50);
/// On a bursty link: the gain on the excess share, with no floor.
const BURSTY_GAIN: f64 = 8.0;

/// Media bytes sent and reported, and the least round trip.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Flight {
    /// Media bytes sent so far (probes left out: their burst is meant to
    /// exceed the window).
    sent: u64,
    /// `sent` as of the newest packet feedback reported.
    reported: u64,
    min_rtt: Option<Duration>,
    /// The delivered rate in the latest report (over the last
    /// [`BURSTY_DELIVERED`] of arrivals on a bursty link).
    delivered: Option<Bitrate>,
}

impl Flight {
    /// A packet of `size` bytes left; returns the media bytes sent up to and
    /// including it, which its report will mark as no longer in flight.
    pub(super) fn on_sent(&mut self, size: u32, probe: bool) -> u64 {
        if !probe {
            self.sent = self.sent.saturating_add(u64::from(size));
        }
        self.sent
    }

    /// Feedback reported (received or lost) a packet sent when `sent` bytes had been.
    pub(super) fn on_reported(&mut self, sent: u64) {
        self.reported = self.reported.max(sent);
    }

    /// A round-trip sample and the delivered rate from one report.
    pub(super) fn on_report(&mut self, rtt: Duration, delivered: Option<Bitrate>) {
        self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
        self.delivered = delivered;
    }

    fn in_flight(&self) -> u64 {
        self.sent.saturating_sub(self.reported)
    }
}

/// How hard the window pushes back.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Push {
    /// The target shrinks by this many times the excess share...
    gain: f64,
    /// ...to no less than this fraction of it.
    floor: f64,
}

/// On a smooth link.
const SMOOTH: Push = Push {
    gain: PUSHBACK_GAIN,
    floor: PUSHBACK_FLOOR,
};
/// On a bursty link.
const BURSTY: Push = Push {
    gain: BURSTY_GAIN,
    floor: 0.0,
};

/// The factor on `target` when `in_flight` bytes are out, the window lasting
/// `window` of sending at the target (or at [`WINDOW_DELIVERED`] times the
/// delivered rate, if lower).
fn pushback(
    target: Bitrate,
    delivered: Option<Bitrate>,
    in_flight: u64,
    window: Duration,
    push: Push,
) -> f64 {
    let mut rate = target.as_f64();
    if let Some(d) = delivered {
        rate = rate.min(WINDOW_DELIVERED * d.as_f64());
    }
    let window = (rate / 8.0 * window.as_micros() as f64 / 1e6).max(WINDOW_MIN);
    let excess = (in_flight as f64 - window) / window;
    if excess <= 0.0 {
        return 1.0;
    }
    (1.0 - push.gain * excess).max(push.floor)
}

impl Estimator {
    /// The factor the congestion window puts on the target (1 when it is
    /// not exceeded). Off in competing mode: the queue, and so the bytes in
    /// flight, are mostly the competitor's.
    pub(super) fn pushback_factor(&self) -> f64 {
        let Some(min_rtt) = self.flight.min_rtt else {
            return 1.0;
        };
        if self.competing() {
            return 1.0;
        }
        let interval = self.silence.interval().as_micros();
        let (window, push) = if self.burst.bursty() {
            let window = min_rtt + Duration::from_micros(interval * BURSTY_QUARTERS / 4);
            (window, BURSTY)
        } else {
            let window =
                min_rtt + Duration::from_micros(interval * WINDOW_INTERVALS) + WINDOW_QUEUE;
            (window, SMOOTH)
        };
        pushback(
            self.control.target(),
            self.flight.delivered,
            self.flight.in_flight(),
            window,
            push,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_shrinks_with_the_excess_over_the_window_down_to_half() {
        let rate = Bitrate::from_mbps(1);
        let window = Duration::from_millis(200); // 25,000 bytes at 1 Mbit/s
        assert_eq!(pushback(rate, None, 25_000, window, SMOOTH), 1.0);
        let f = pushback(rate, None, 27_500, window, SMOOTH); // 10% over
        assert!((f - 0.6).abs() < 1e-9, "{f}");
        assert_eq!(
            pushback(rate, None, 100_000, window, SMOOTH),
            PUSHBACK_FLOOR
        );
        // Delivery at 0.4 Mbit/s makes the window 0.5 Mbit/s' worth.
        let slow = Some(Bitrate::from_kbps(400));
        assert!(pushback(rate, slow, 13_750, window, SMOOTH) < 1.0);
        assert_eq!(pushback(rate, slow, 12_500, window, SMOOTH), 1.0);
    }

    #[test]
    fn on_a_bursty_link_the_target_shrinks_twice_as_fast_and_to_nothing() {
        let rate = Bitrate::from_mbps(1);
        let window = Duration::from_millis(200);
        let f = pushback(rate, None, 26_250, window, BURSTY); // 5% over
        assert!((f - 0.6).abs() < 1e-9, "{f}");
        assert_eq!(pushback(rate, None, 100_000, window, BURSTY), 0.0);
        assert_eq!(pushback(rate, None, 25_000, window, BURSTY), 1.0);
    }

    #[test]
    fn probes_do_not_count_and_reports_take_bytes_out_of_flight() {
        let mut f = Flight::default();
        let first = f.on_sent(1_000, false);
        f.on_sent(1_000, true);
        let third = f.on_sent(1_000, false);
        assert_eq!(f.in_flight(), 2_000);
        f.on_reported(first);
        assert_eq!(f.in_flight(), 1_000);
        f.on_reported(third);
        f.on_reported(first);
        assert_eq!(f.in_flight(), 0, "an older report does not put bytes back");
    }
}
