//! A topic's stream: skips, gaps, epochs, oversize messages, leaving.

use super::*;

/// A rig welcomed into `s-1` with `chat` (reliable) and `cursor` (lossy),
/// both live from (1, 0), and offsets 0..3 of `chat` seen.
fn rig() -> Rig {
    let mut rig = Rig::new();
    rig.c.subscribe("chat", rig.now).unwrap();
    rig.c.subscribe_lossy("cursor", rig.now).unwrap();
    rig.open("s-1");
    rig.feed(&subscribed("chat", pos(1, 0), false));
    rig.feed(&subscribed("cursor", pos(1, 0), false));
    for offset in 0..3 {
        rig.feed(&deliver("chat", 1, offset, b"m"));
    }
    rig
}

#[test]
fn a_skip_on_a_reliable_topic_is_refused_and_the_topic_resynced() {
    let mut rig = rig();
    let (r, outs) = rig.try_feed(&deliver("chat", 1, 5, b"x"));
    let skipped = StreamError::Skipped {
        expected: pos(1, 3),
        got: 5,
    };
    assert_eq!(r, Err(ClientError::Stream(skipped)));
    assert_eq!(outs, [subscribe_msg("chat", Some(pos(1, 3)))]);
    assert_eq!(rig.c.stats().resyncs, 1);

    // Until the server answers, only the very next message is taken.
    assert_eq!(rig.feed(&deliver("chat", 1, 6, b"x")), []);
    assert_eq!(rig.c.stats().ignored, 1);
    rig.feed(&subscribed("chat", pos(1, 7), true));
    let mut seen = Vec::new();
    for offset in 3..8 {
        seen.extend(events(&rig.feed(&deliver("chat", 1, offset, b"r"))));
    }
    let expected: Vec<Ev> = (3..8).map(|o| delivered("chat", 1, o, b"r")).collect();
    assert_eq!(seen, expected, "the replay fills the hole in order");
}

#[test]
fn a_lossy_topic_reports_what_it_dropped() {
    let mut rig = rig();
    rig.feed(&deliver("cursor", 1, 0, b"a"));
    let lost = rig.feed(&gap("cursor", 1, 1, 4));
    let announced = Ev::Gap {
        topic: "cursor".to_string(),
        from: 1,
        to: 4,
    };
    assert_eq!(events(&lost), [announced]);
    assert_eq!(rig.c.position("cursor"), Some(pos(1, 4)));
    assert_eq!(
        rig.feed(&gap("cursor", 1, 2, 3)),
        [],
        "an old gap is nothing new"
    );

    // A skip without a gap frame is still reported, before the message.
    let skipped = rig.feed(&deliver("cursor", 1, 6, b"b"));
    let unannounced = Ev::Gap {
        topic: "cursor".to_string(),
        from: 4,
        to: 6,
    };
    assert_eq!(
        events(&skipped),
        [unannounced, delivered("cursor", 1, 6, b"b")]
    );
}

#[test]
fn an_unannounced_epoch_is_refused_and_the_topic_resynced() {
    let mut rig = rig();
    let (r, outs) = rig.try_feed(&deliver("chat", 2, 0, b"x"));
    let changed = StreamError::EpochChanged {
        expected: pos(1, 3),
        got: 2,
    };
    assert_eq!(r, Err(ClientError::Stream(changed)));
    assert_eq!(outs, [subscribe_msg("chat", Some(pos(1, 3)))]);
}

#[test]
fn an_empty_gap_is_refused_and_changes_nothing() {
    let mut rig = rig();
    let (r, outs) = rig.try_feed(&gap("cursor", 1, 4, 4));
    assert_eq!(r, Err(ClientError::Stream(StreamError::InvalidGap)));
    assert_eq!(outs, []);
    assert_eq!(rig.c.position("cursor"), Some(pos(1, 0)));
}

#[test]
fn a_message_too_large_to_hold_is_reported_not_lost_silently() {
    let mut rig: Rig<2, 2, 4> = Rig {
        c: ClientSession::new(ClientConfig::default(), 3, Instant::ZERO),
        now: Instant::ZERO,
    };
    rig.c.subscribe("chat", rig.now).unwrap();
    rig.drain();
    rig.open("s-1");
    rig.feed(&subscribed("chat", pos(1, 0), false));
    let big = rig.feed(&deliver("chat", 1, 0, b"12345"));
    let passed_over = Ev::TooLarge {
        topic: "chat".to_string(),
        position: pos(1, 0),
        len: 5,
    };
    assert_eq!(events(&big), [passed_over]);
    let small = rig.feed(&deliver("chat", 1, 1, b"1234"));
    assert_eq!(events(&small), [delivered("chat", 1, 1, b"1234")]);
}

#[test]
fn deliveries_after_unsubscribe_are_dropped() {
    let mut rig = rig();
    rig.c.unsubscribe("chat", rig.now).unwrap();
    // In flight before the `unsubscribe` left: absorbed quietly.
    rig.c
        .handle_message(&deliver("chat", 1, 3, b"x"), rig.now)
        .unwrap();
    let sent = rig.drain();
    assert!(
        matches!(sent[..], [Out::Send(ClientMsg::Unsubscribe(_))]),
        "{sent:?}"
    );
    let (r, outs) = rig.try_feed(&deliver("chat", 1, 4, b"x"));
    assert_eq!(r, Err(ClientError::Stream(StreamError::NotSubscribed)));
    assert_eq!(outs, []);
    assert_eq!(rig.c.position("chat"), None);
}

#[test]
fn a_recovery_that_contradicts_since_is_refused() {
    let mut rig = rig();
    rig.disconnect();
    rig.wait();
    rig.open("s-1");
    // `chat` asked from (1, 3): a recovery in another epoch, or from before
    // that, cannot be.
    for bad in [pos(2, 9), pos(1, 2)] {
        let (r, outs) = rig.try_feed(&subscribed("chat", bad, true));
        assert_eq!(r, Err(ClientError::Stream(StreamError::InvalidRecovery)));
        assert_eq!(outs, []);
    }
    let answer = rig.feed(&subscribed("chat", pos(1, 3), true));
    assert!(matches!(events(&answer)[..], [Ev::Recovered { .. }]));
}

#[test]
fn a_replay_overtaken_by_history_is_announced_mid_stream() {
    // Unasked: the server restarts the stream when its replay falls behind.
    let mut rig = rig();
    too_old_then_live(&mut rig);
}

#[test]
fn the_inbox_is_followed_without_subscribing_and_reports_holes() {
    let mut rig = Rig::new();
    rig.open("s-1");
    assert_eq!(
        rig.c.subscribe("@inbox", rig.now),
        Err(RequestError::AlreadySubscribed)
    );
    let first = rig.feed(&deliver("@inbox", 4, 0, b"for you"));
    assert_eq!(events(&first), [delivered("@inbox", 4, 0, b"for you")]);
    let hole = rig.feed(&deliver("@inbox", 4, 3, b"later"));
    let lost = Ev::Gap {
        topic: "@inbox".to_string(),
        from: 1,
        to: 3,
    };
    assert_eq!(events(&hole), [lost, delivered("@inbox", 4, 3, b"later")]);

    // A resumed session goes on counting; a new one starts again from 0.
    rig.disconnect();
    rig.wait();
    rig.open("s-1");
    assert_eq!(rig.feed(&deliver("@inbox", 4, 3, b"later")), []);
    rig.disconnect();
    rig.wait();
    rig.open("s-2");
    let fresh = rig.feed(&deliver("@inbox", 4, 0, b"new"));
    assert_eq!(events(&fresh), [delivered("@inbox", 4, 0, b"new")]);
}
