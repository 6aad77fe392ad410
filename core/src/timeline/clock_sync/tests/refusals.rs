//! Pongs that must change nothing: duplicated, forged, impossible, from a
//! server clock since replaced, or with timestamps too far apart to compare.

use super::*;

#[test]
fn refuses_duplicate_forged_and_impossible_pongs() {
    let mut sync = ClockSync::new(ClockConfig::default(), Instant::from_micros(1_000));
    sync.handle_timeout(Instant::from_micros(1_000));
    let Some(ClockEvent::Ping(ping)) = sync.poll_output() else {
        panic!("no ping")
    };
    let t2 = Instant::from_micros(50_000);
    let good = ping.answer(t2, t2, ClockId(9));
    let now = Instant::from_micros(3_000);

    let forged = ClockPong {
        t1: Instant::from_micros(999),
        ..good
    };
    assert_eq!(
        sync.handle_pong(&forged, now),
        Err(ClockError::EchoMismatch)
    );
    let reversed = ClockPong {
        t3: Instant::from_micros(49_999),
        ..good
    };
    assert_eq!(
        sync.handle_pong(&reversed, now),
        Err(ClockError::InvalidTimestamps)
    );
    let held = ClockPong {
        t3: Instant::from_micros(60_000),
        ..good
    };
    assert_eq!(
        sync.handle_pong(&held, now),
        Err(ClockError::InvalidTimestamps)
    );
    assert_eq!(
        sync.estimate(now),
        None,
        "refused pongs must change nothing"
    );

    assert_eq!(sync.handle_pong(&good, now), Ok(()));
    assert_eq!(sync.handle_pong(&good, now), Err(ClockError::UnknownPing));
    assert_eq!(sync.samples(), 1);
}

#[test]
fn a_late_pong_from_before_a_restart_is_refused() {
    let mut sync = ClockSync::new(ClockConfig::default(), Instant::from_micros(1_000));
    let mut pings = std::vec::Vec::new();
    for t in [1_000u64, 300_000, 600_000] {
        sync.handle_timeout(Instant::from_micros(t));
        while let Some(ev) = sync.poll_output() {
            if let ClockEvent::Ping(p) = ev {
                pings.push(p);
            }
        }
    }
    let at = |us: u64| Instant::from_micros(us);
    assert_eq!(
        sync.handle_pong(
            &pings[0].answer(at(9_000), at(9_000), ClockId(1)),
            at(20_000)
        ),
        Ok(())
    );
    // The server restarts: the next answer comes from a new clock.
    assert_eq!(
        sync.handle_pong(&pings[2].answer(at(50), at(50), ClockId(2)), at(620_000)),
        Ok(())
    );
    assert!(
        core::iter::from_fn(|| sync.poll_output())
            .any(|e| e == ClockEvent::ServerRestarted { clock: ClockId(2) })
    );
    // An answer the old server sent before dying, delayed past the new one.
    let late = pings[1].answer(at(310_000), at(310_000), ClockId(1));
    assert_eq!(
        sync.handle_pong(&late, at(640_000)),
        Err(ClockError::RetiredClock)
    );
    assert_eq!(sync.server_clock(), Some(ClockId(2)));
}

#[test]
fn absurd_timestamps_are_refused_without_overflow() {
    // A pong whose round trip spans centuries: refused as lost, nothing breaks.
    let mut sync = ClockSync::new(ClockConfig::default(), Instant::ZERO);
    sync.handle_timeout(Instant::ZERO);
    let Some(ClockEvent::Ping(ping)) = sync.poll_output() else {
        panic!("no ping")
    };
    let t = Instant::from_micros(1 << 62);
    let late = Instant::from_micros((1 << 63) + (1 << 62));
    assert_eq!(
        sync.handle_pong(&ping.answer(t, t, ClockId(1)), late),
        Err(ClockError::UnknownPing)
    );
    sync.handle_timeout(late);
    assert_eq!(sync.estimate(late), None);
    sync.handle_timeout(late + Duration::from_secs(10));
    let last = core::iter::from_fn(|| sync.poll_output())
        .filter_map(|e| match e {
            ClockEvent::Ping(p) => Some(p),
            _ => None,
        })
        .last()
        .unwrap();
    // Clocks 2^63 µs or more apart cannot be compared: refused, not misread.
    let at = last.t1 + Duration::from_millis(20);
    let t2 = Instant::from_micros(7);
    let pong = last.answer(t2, t2, ClockId(1));
    assert_eq!(
        sync.handle_pong(&pong, at),
        Err(ClockError::InvalidTimestamps)
    );
    // 2^62 µs apart is fine.
    let t2 = Instant::from_micros(last.t1.as_micros() - (1 << 62));
    let pong = last.answer(t2, t2, ClockId(1));
    assert_eq!(sync.handle_pong(&pong, at), Ok(()));
    let e = sync.estimate(at).unwrap();
    let truth = t2.as_micros() + 10_000;
    assert!(e.server_time.as_micros().abs_diff(truth) <= 1, "{e:?}");
    assert!(e.error_bound.as_micros() <= 10_030, "{e:?}");
}
