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
