//! Surviving a jump of either clock: a server restart, a step of the local
//! clock, and a device sleep with a pong in flight across it.

use super::*;

#[test]
fn server_restart_is_noticed_and_followed() {
    let mut b = Bench::new(0.0, 0.0, |_| (10_000, 10_000));
    b.run(5_000_000);
    b.server_clock = ClockId(2);
    b.server_offset = 42;
    // Shared time may jump at a restart; `run` would flag that, so step by hand.
    let mut sync_events = std::vec::Vec::new();
    let until = b.now + 5_000_000;
    while b.now < until {
        b.now += 1_000;
        let local = b.local(b.now);
        if let Some(i) = b.pending.iter().position(|p| p.0 <= b.now) {
            let (_, mut pong) = b.pending.remove(i);
            pong.clock = b.server_clock;
            pong.t2 = b.server(b.now - 10_000);
            pong.t3 = pong.t2;
            let _ = b.sync.handle_pong(&pong, local);
        }
        b.sync.handle_timeout(local);
        while let Some(ev) = b.sync.poll_output() {
            if let ClockEvent::Ping(ping) = ev {
                b.pending.push((
                    b.now + 20_000,
                    ping.answer(Instant::ZERO, Instant::ZERO, ClockId(0)),
                ));
            }
            sync_events.push(ev);
        }
    }
    assert!(sync_events.contains(&ClockEvent::ServerRestarted { clock: ClockId(2) }));
    assert_eq!(b.sync.server_clock(), Some(ClockId(2)));
    let (err, bound) = b.error_now();
    assert!(err <= bound && err <= 100, "error {err} bound {bound}");
}

#[test]
fn local_clock_step_forward_steps_without_running_backwards() {
    let mut b = Bench::new(0.0, 0.0, |_| (15_000, 15_000));
    b.run(10_000_000);
    // The client's clock jumps 1.5 s ahead: shared time must hold, not rewind.
    b.client_offset += 1_500_000.0;
    // The step is only known once a sample taken after it arrives.
    b.blind_until = 11_100_000;
    b.run(20_000_000);
    assert!(
        b.events
            .iter()
            .any(|e| matches!(e, ClockEvent::Stepped { by_us } if *by_us < -1_000_000))
    );
    let (err, _) = b.error_now();
    assert!(err <= 100, "error {err} µs");
}

#[test]
fn a_suspend_is_survived_even_with_a_pong_in_flight_across_it() {
    // The device sleeps for 60 ms, just after sending a ping: its monotonic
    // clock stops, so afterwards it reads 60 ms behind. The ping is answered
    // during the sleep: that sample straddles the step, and is consistent
    // both with the samples before and with the first one after — but
    // their intersection is not with the truth. The shell reports the sleep.
    let mut b = Bench::new(0.0, 20.0, |_| (40_000, 40_000));
    b.run(9_000_000);
    let next_ping = b.true_of_local(b.sync.poll_timeout().unwrap());
    let (start, end) = (next_ping + 10_000, next_ping + 70_000);
    b.sleep = Some((start, end));
    // The first clean sample comes within one interval and a round trip of waking.
    b.blind_until = end + 1_100_000;
    b.run(30_000_000);
    let (err, _) = b.error_now();
    assert!(err <= 100, "error {err} µs");
}
