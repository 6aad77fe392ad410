//! The promises checked after every step: pings sent once and not stamped
//! in the future, pongs accepted only when possible, refusals that change
//! nothing, shared time that never runs backwards, the true time within the
//! bound, and `local_time_of` inverting `estimate`.

use std::ops::Bound::{Excluded, Unbounded};

use onbeat_core::proto::ClockPong;
use onbeat_core::time::{Duration, Instant};
use onbeat_core::timeline::{ClockEvent, ClockSync, Estimate};

use super::World;

impl World {
    /// Sends the machine's pings into the network and reads shared time now.
    pub(super) fn settle(&mut self) {
        while let Some(event) = self.sync.poll_output() {
            match event {
                ClockEvent::Ping(ping) => {
                    assert!(
                        self.sent.insert(ping.seq, ping).is_none(),
                        "seq {} sent twice",
                        ping.seq
                    );
                    assert!(ping.t1 <= self.last_now, "ping stamped in the future");
                    self.transmit(ping);
                }
                ClockEvent::ServerRestarted { clock } => {
                    assert_eq!(self.sync.server_clock(), Some(clock));
                }
                _ => {}
            }
        }
        // `Instant::ZERO` reads at the latest instant the machine knows.
        self.read(Instant::ZERO);
    }

    /// Hands `pong` to the machine at local `at` and checks what it did;
    /// whether it was accepted.
    pub(super) fn deliver(&mut self, pong: &ClockPong, at: Instant) -> bool {
        let before = self.sync.clone();
        self.told(at);
        let eff = self.last_now;
        match self.sync.handle_pong(pong, at) {
            Ok(()) => {
                self.check_accepted(pong, eff);
                // Readings beyond this instant were predictions made without
                // this sample; it may legitimately revise them.
                self.readings
                    .split_off(&(eff.as_micros().saturating_add(1)));
                true
            }
            Err(_) => {
                self.check_unchanged(before, eff);
                false
            }
        }
    }

    fn check_accepted(&mut self, pong: &ClockPong, at: Instant) {
        let ping = self.sent.get(&pong.seq);
        assert_eq!(
            ping.map(|p| p.t1),
            Some(pong.t1),
            "accepted {pong:?}, which answers no ping sent"
        );
        assert!(
            self.accepted.insert(pong.seq),
            "accepted a second answer to ping {}",
            pong.seq
        );
        assert!(
            pong.seq >= self.dropped_below,
            "accepted {pong:?}, sent before a discontinuity"
        );
        let hold = pong.t3.checked_duration_since(pong.t2);
        assert!(
            hold.is_some_and(|h| h <= at.saturating_duration_since(pong.t1)),
            "accepted {pong:?} at {at}: impossible timestamps"
        );
    }

    /// A refused pong must change nothing that can be observed from now on.
    fn check_unchanged(&self, before: ClockSync, at: Instant) {
        let sync = &self.sync;
        assert_eq!(sync.samples(), before.samples(), "refusal changed samples");
        assert_eq!(sync.server_clock(), before.server_clock());
        assert_eq!(sync.poll_timeout(), before.poll_timeout());
        // Events of earlier calls may still be queued (`auto` delivers
        // several pongs at once); a refusal adds none.
        let (mut after, mut before) = (sync.clone(), before);
        loop {
            let event = before.poll_output();
            assert_eq!(after.poll_output(), event, "refusal changed the events");
            if event.is_none() {
                break;
            }
        }
        for ahead in [0, 1, 1_000_000, 1 << 40] {
            let t = at.saturating_add(Duration::from_micros(ahead));
            assert_eq!(
                sync.estimate(t),
                before.estimate(t),
                "refusal changed the estimate at {t}"
            );
        }
        if let Some(e) = before.estimate(at) {
            for s in [e.server_time, e.server_time + Duration::from_secs(1)] {
                assert_eq!(sync.local_time_of(s), before.local_time_of(s));
            }
        }
    }

    /// Reads shared time at local `at` and checks it.
    pub(super) fn read(&mut self, at: Instant) {
        let clock = self.sync.server_clock();
        if clock != self.readings_clock {
            self.readings.clear();
            self.readings_clock = clock;
        }
        let Some(e) = self.sync.estimate(at) else {
            return;
        };
        assert!(
            e.error_bound >= Duration::from_micros(1),
            "zero-width bound {e:?}"
        );
        let eff = at.max(self.last_now).as_micros();
        let s = e.server_time.as_micros();
        if let Some((&t, &earlier)) = self.readings.range(..=eff).next_back() {
            assert!(
                s >= earlier,
                "shared time ran backwards: {earlier} at local {t}, then {s} at local {eff}"
            );
        }
        if let Some((&t, &later)) = self.readings.range((Excluded(eff), Unbounded)).next() {
            assert!(
                s <= later,
                "shared time ran backwards: {s} at local {eff}, but {later} predicted at {t}"
            );
        }
        self.readings.insert(eff, s);
        if self.truthful {
            self.check_truth(eff, e);
        }
        self.check_inverse(e.server_time);
    }

    /// The true server time at local `at` lies within the bound.
    fn check_truth(&self, at: u64, e: Estimate) {
        let clock = self.sync.server_clock().expect("an estimate has a clock");
        let offset = self.server_offset(clock).expect("only known clocks answer");
        // The local clock reads `at` for up to a microsecond of true time.
        let first = self.true_at(Instant::from_micros(at));
        let last = self.true_at(Instant::from_micros(at + 1)).max(first + 1) - 1;
        let (lo, hi) = (
            Self::server_at(first, offset).as_micros(),
            Self::server_at(last, offset).as_micros(),
        );
        let s = e.server_time.as_micros();
        let bound = e.error_bound.as_micros();
        assert!(
            s.saturating_add(bound) >= lo && s.saturating_sub(bound) <= hi,
            "true server time {lo}..={hi} outside {s} ± {bound} at local {at}"
        );
    }

    /// Asks when shared time reads `server` and checks the answer against
    /// `estimate`.
    pub(super) fn check_inverse(&self, server: Instant) {
        let Some(at) = self.sync.local_time_of(server) else {
            return;
        };
        let e = self
            .sync
            .estimate(at)
            .expect("an inverse implies an estimate");
        // A microsecond is allowed for the rounding of the inverse in `f64`.
        assert!(
            e.server_time + Duration::from_micros(1) >= server,
            "local_time_of({server}) = {at}, but estimate there is {e:?}"
        );
        // The earliest such instant: two microseconds before, it read less
        // (one is left for rounding).
        let before = at.saturating_sub(Duration::from_micros(2));
        if before > self.last_now {
            let e = self.sync.estimate(before).expect("estimate exists");
            assert!(
                e.server_time < server,
                "local_time_of({server}) = {at}, but {before} already reads {e:?}"
            );
        }
    }
}
