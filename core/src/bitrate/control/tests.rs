use super::*;

fn report(usage: Usage, queue_ms: u64, delivered_bps: u64) -> Signals {
    Signals {
        usage,
        queue: Some(Duration::from_millis(queue_ms)),
        delivered: Some(Bitrate::from_bps(delivered_bps)),
        delivered_recent: Some(Bitrate::from_bps(delivered_bps)),
        loss: 0.0,
        rtt: Duration::from_millis(100),
        app_limited: false,
        bursty: false,
    }
}

#[test]
fn a_cut_with_the_queue_empty_keeps_the_measured_capacity() {
    let start = Bitrate::from_mbps(4);
    let mut c = RateControl::new(
        ControlTuning::default(),
        Bitrate::from_kbps(30),
        Bitrate::from_mbps(20),
        start,
        Instant::ZERO,
    );
    // A standing queue at 4 Mbit/s: the capacity is measured there.
    c.update(&report(Usage::Over, 30, 4_000_000), Instant::from_millis(0));
    // A dip to 1 Mbit/s, then the trend fires on bursty delivery with no
    // standing queue: that rate is ours, not the link's.
    c.set_target(Bitrate::from_mbps(1), Instant::from_millis(1_000));
    c.update(
        &report(Usage::Over, 0, 1_000_000),
        Instant::from_millis(1_050),
    );
    let cut = c.target().as_f64();
    assert!(cut < 1_000_000.0, "cut: {cut}");
    // A second of reports with the queue empty: the climb back to the
    // capacity measured at 4 Mbit/s runs at the fastest growth, where one
    // that took 1 Mbit/s as the capacity would creep (about 4%/s).
    let mut t = 1_100;
    while t <= 2_100 {
        let target = c.target().bps();
        c.update(&report(Usage::Normal, 0, target), Instant::from_millis(t));
        t += 50;
    }
    let climbed = c.target().as_f64() / cut;
    assert!(climbed > 1.4, "climbed by {climbed}");
}

/// A controller at 2 Mbit/s whose last cut measured the capacity there,
/// then a second of reports at `usage` with the queue empty and delivery
/// at the target; returns the target's growth factor.
fn second_after_a_cut(bursty: bool, usage: Usage) -> f64 {
    let mut c = RateControl::new(
        ControlTuning::default(),
        Bitrate::from_kbps(30),
        Bitrate::from_mbps(20),
        Bitrate::from_mbps(2),
        Instant::ZERO,
    );
    c.update(&report(Usage::Over, 30, 2_000_000), Instant::from_millis(0));
    let before = c.target().as_f64();
    let mut t = 400;
    while t <= 1_400 {
        let target = c.target().bps();
        let s = Signals {
            bursty,
            ..report(usage, 0, target)
        };
        c.update(&s, Instant::from_millis(t));
        t += 50;
    }
    c.target().as_f64() / before
}

#[test]
fn on_a_bursty_link_an_empty_queue_climbs_at_once() {
    // A smooth link creeps near the capacity measured at the last cut...
    let smooth = second_after_a_cut(false, Usage::Normal);
    assert!(smooth < 1.05, "smooth: {smooth}");
    // ...a bursty one's measure was a moment of its scheduler: it climbs.
    let bursty = second_after_a_cut(true, Usage::Normal);
    assert!(bursty > 1.6, "bursty: {bursty}");
}

#[test]
fn on_a_bursty_link_the_trend_does_not_cut() {
    // A smooth link cuts on the trend's overuse even with no queue standing...
    assert!(second_after_a_cut(false, Usage::Over) < 0.9);
    // ...a bursty one's trend follows the scheduler's clumps, and is ignored.
    assert!(second_after_a_cut(true, Usage::Over) > 1.6);
    assert!(second_after_a_cut(true, Usage::Under) > 1.6);
}

fn at_2_mbps() -> RateControl {
    RateControl::new(
        ControlTuning::default(),
        Bitrate::from_kbps(30),
        Bitrate::from_mbps(20),
        Bitrate::from_mbps(2),
        Instant::ZERO,
    )
}

/// Reports every 50 ms from `from` ms for `ms`, each with `loss` and the
/// queue `queue_ms(t)`; delivery follows the target.
fn reports(c: &mut RateControl, from: u64, ms: u64, loss: f64, queue_ms: impl Fn(u64) -> u64) {
    let mut t = from;
    while t < from + ms {
        let target = c.target().bps();
        let s = Signals {
            loss,
            ..report(Usage::Normal, queue_ms(t), target)
        };
        c.update(&s, Instant::from_millis(t));
        t += 50;
    }
}

#[test]
fn heavy_loss_cuts_by_half_of_it_once_a_second_even_with_no_queue() {
    let mut c = at_2_mbps();
    // 30% loss: a cut of 15% at once...
    reports(&mut c, 0, 50, 0.3, |_| 0);
    assert_eq!(c.target().bps(), 1_700_000);
    // ...then none until a loss window has shown what it did...
    reports(&mut c, 50, 950, 0.3, |_| 0);
    let held = c.target().as_f64();
    assert!(held >= 1_700_000.0, "{held}");
    // ...and the next a second after the first.
    reports(&mut c, 1_000, 50, 0.3, |_| 0);
    let cut = c.target().as_f64() / held;
    assert!((cut - 0.85).abs() < 0.001, "cut by {cut}");
    // Loss under the mark (15%) is not congestion: no cut.
    let mut c = at_2_mbps();
    reports(&mut c, 0, 2_500, 0.15, |_| 0);
    assert!(c.target().bps() >= 2_000_000, "{}", c.target().bps());
}

/// A controller whose cuts leave a growing queue (a loss-based flow fills
/// it) until it takes the queue for a competitor's; and when it did, in ms.
fn competing_at() -> (RateControl, u64) {
    let mut c = at_2_mbps();
    let mut t = 0;
    while c.mode() != Mode::Competing {
        assert!(t < 10_000, "never took the queue for a competitor's");
        reports(&mut c, t, 50, 0.0, |t| 40 + t / 10);
        t += 50;
    }
    (c, t)
}

fn competing() -> RateControl {
    competing_at().0
}

#[test]
fn a_queue_that_keeps_rising_through_our_cuts_is_a_competitors() {
    // 2 Mbit/s held for 3 s; then a TCP-like flow starts: its slow start
    // overshoots to 250 ms, it backs off to 70, and from there its queue
    // rises by 25 ms a second, whatever we do.
    let mut c = at_2_mbps();
    reports(&mut c, 0, 3_000, 0.0, |_| 0);
    let tcp = |t: u64| match t {
        ..3_500 => 250,
        _ => 70 + (t - 3_500) / 40,
    };
    let mut t = 3_000;
    let mut lowest = f64::MAX;
    while c.mode() != Mode::Competing {
        assert!(t < 9_000, "still yielding at {} bit/s", c.target().bps());
        reports(&mut c, t, 50, 0.0, tcp);
        lowest = lowest.min(c.target().as_f64());
        t += 50;
    }
    // Found within four seconds, after cutting deep in vain...
    assert!(t <= 7_000, "found after {} ms", t - 3_000);
    assert!(lowest < 500_000.0, "lowest {lowest}");
    // ...it takes back half of the rate it held before.
    assert!(c.target().bps() >= 1_000_000, "{}", c.target().bps());
}

#[test]
fn our_own_queue_draining_after_a_drop_is_not_a_competitors() {
    // Capacity fell: a deep queue, which our cuts drain by 40 ms a second
    // (slowly: they are sized to the delivered rate, which lags).
    let mut c = at_2_mbps();
    reports(&mut c, 0, 1_000, 0.0, |_| 0);
    reports(&mut c, 1_000, 5_000, 0.0, |t| {
        250u64.saturating_sub((t - 1_000) / 25)
    });
    assert_eq!(c.mode(), Mode::Delay);
}

#[test]
fn a_queue_held_just_over_the_mark_is_not_a_competitors() {
    // Two delay-based flows trading rate: a queue over the 20 ms mark but
    // not twice as deep, steady for seconds while our target falls.
    let mut c = at_2_mbps();
    reports(&mut c, 0, 10_000, 0.0, |t| 35 + t / 50 % 4);
    assert!(c.target().bps() < 1_500_000, "{}", c.target().bps());
    assert_eq!(c.mode(), Mode::Delay);
}

#[test]
fn a_queue_our_small_cuts_do_not_drain_is_not_yet_a_competitors() {
    // Another delay-based flow grows into a deep queue while ours, already
    // under what it delivers, hardly cuts: seconds of that are two flows
    // trading rate, not a loss-based one filling the queue.
    let mut c = at_2_mbps();
    let mut t = 0;
    while t < 4_000 {
        let target = c.target().bps();
        let s = report(Usage::Normal, 60 + t / 400, target + target / 8);
        c.update(&s, Instant::from_millis(t));
        t += 50;
    }
    assert!(c.target().bps() > 1_500_000, "{}", c.target().bps());
    assert_eq!(c.mode(), Mode::Delay);
}

/// Reports from `from` ms until a drain test has stepped aside (the target
/// falls to half of what is delivered), with a 200 ms queue; returns when.
fn until_stepped_aside(c: &mut RateControl, from: u64) -> u64 {
    let mut t = from;
    loop {
        let before = c.target().as_f64();
        reports(c, t, 50, 0.0, |_| 200);
        t += 50;
        if c.target().as_f64() < 0.6 * before {
            return t;
        }
        assert!(t < from + 10_000, "no drain test");
    }
}

#[test]
fn a_drain_test_leaves_competing_mode_only_if_our_stepping_aside_emptied_the_queue() {
    // The queue empties a round trip into the step aside and stays empty:
    // it was ours.
    let (mut c, t) = competing_at();
    let t = until_stepped_aside(&mut c, t);
    reports(&mut c, t, 100, 0.0, |_| 150);
    reports(&mut c, t + 100, 300, 0.0, |_| 2);
    assert_eq!(c.mode(), Mode::Delay);
    // The competitor backs off (TCP halving) just as we step aside: the
    // queue empties before a round trip has passed, then fills again.
    // (Reports come every 50 ms; a round trip is 100 ms.)
    let (mut c, t) = competing_at();
    let t = until_stepped_aside(&mut c, t);
    reports(&mut c, t, 50, 0.0, |_| 2);
    reports(&mut c, t + 50, 2_000, 0.0, |_| 100);
    assert_eq!(c.mode(), Mode::Competing);
}

#[test]
fn no_drain_test_starts_while_the_competitor_has_just_emptied_the_queue() {
    // The test is due 8 s after competing mode began; from then the queue
    // is empty for a second (TCP backed off), then fills again.
    // (`competing_at` returns the time of the report after the one that
    // began it.)
    let (mut c, t) = competing_at();
    let due = t - 50 + 8_000;
    reports(&mut c, t, due - 100 - t, 0.0, |_| 200);
    let held = c.target().bps();
    reports(&mut c, due - 100, 1_000, 0.0, |_| 2);
    // No step aside, and the empty queue did not end competing mode.
    assert!(c.target().bps() >= held, "{} < {held}", c.target().bps());
    assert_eq!(c.mode(), Mode::Competing);
}

#[test]
fn a_competing_flow_is_followed_by_loss_not_by_the_queue() {
    // Over 10% loss cuts by half of it, once a second.
    let mut c = competing();
    let before = c.target().as_f64();
    reports(&mut c, 20_000, 1_500, 0.16, |_| 200);
    let cut = c.target().as_f64() / before;
    assert!((cut - 0.92 * 0.92).abs() < 0.001, "cut by {cut}");
    // Between 2% and 10% it holds, a deep queue notwithstanding.
    let mut c = competing();
    let before = c.target().bps();
    reports(&mut c, 20_000, 1_500, 0.05, |_| 200);
    assert_eq!(c.target().bps(), before);
    // Under 2% it grows like the competitor would.
    let mut c = competing();
    let before = c.target().bps();
    reports(&mut c, 20_000, 1_500, 0.01, |_| 200);
    assert!(
        c.target().bps() > before,
        "{} <= {before}",
        c.target().bps()
    );
}
