//! Sessions, resume, recovery from history and presence.

use super::*;
use crate::proto::NotRecovered;

fn subscribed(msgs: &[ServerMsg<'_>]) -> Vec<crate::proto::Subscribed> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Subscribed(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn resume_within_grace_recovers_exactly() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("alice"), Codec::Json, None);
    let bob = s.join(2, Shell::caps("bob"), Codec::Json, None);
    s.subscribe(2, "t/chat", None).unwrap();
    s.publish(1, "t/chat", b"0", None, None).unwrap();
    // Bob's socket stops taking frames: offset 1 stays queued in the hub.
    s.stalled.insert(ConnId(2));
    s.publish(1, "t/chat", b"1", None, None).unwrap();
    s.disconnect(2);
    s.publish(1, "t/chat", b"2", None, None).unwrap();
    s.publish(1, "t/chat", b"3", None, None).unwrap();
    let before = s.take(2);
    assert_eq!(Shell::delivered(&before, "t/chat"), [(0, b"0".to_vec())]);
    s.advance(ms(9_000));
    let back = s.join(3, Shell::caps("bob"), Codec::Json, Some(&bob.resume));
    assert_eq!(back.session, bob.session, "same session");
    assert_ne!(back.resume, bob.resume, "a fresh resume token");
    let after = s.take(3);
    assert_eq!(
        Shell::delivered(&after, "t/chat"),
        [(1, b"1".to_vec()), (2, b"2".to_vec()), (3, b"3".to_vec())]
    );
    // Live again: the next one follows without a hole or a repeat.
    s.publish(1, "t/chat", b"4", None, None).unwrap();
    assert_eq!(Shell::delivered(&s.take(3), "t/chat"), [(4, b"4".to_vec())]);
}

#[test]
fn a_resubscribe_with_since_after_resume_replays_exactly_from_there() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("alice"), Codec::Json, None);
    let bob = s.join(2, Shell::caps("bob"), Codec::Json, None);
    s.subscribe(2, "t/chat", None).unwrap();
    for i in 0..3u8 {
        s.publish(1, "t/chat", &[b'0' + i], None, None).unwrap();
    }
    // Offsets 1 and 2 were written but lost in flight; bob saw only 0.
    s.disconnect(2);
    s.publish(1, "t/chat", b"3", None, None).unwrap();
    s.join(3, Shell::caps("bob"), Codec::Json, Some(&bob.resume));
    // The kept subscription continues from what the hub handed out.
    assert_eq!(Shell::delivered(&s.take(3), "t/chat"), [(3, b"3".to_vec())]);
    // The client knows better: it restarts the subscription from its own position.
    let since = Position {
        epoch: 1000,
        offset: 1,
    };
    s.subscribe(3, "t/chat", Some(since)).unwrap();
    let got = s.take(3);
    let subs = subscribed(&got);
    assert_eq!(subs.len(), 1);
    assert!(subs[0].recovered && subs[0].reason.is_none());
    assert_eq!(subs[0].position.offset, 4);
    assert_eq!(
        Shell::delivered(&got, "t/chat"),
        [(1, b"1".to_vec()), (2, b"2".to_vec()), (3, b"3".to_vec())]
    );
}

#[test]
fn after_the_grace_a_resume_gets_a_fresh_session() {
    let mut s = Shell::standard();
    let first = s.join(1, Shell::caps("alice"), Codec::Json, None);
    s.subscribe(1, "t/chat", None).unwrap();
    s.disconnect(1);
    s.advance(ms(10_001));
    assert_eq!(s.hub.session_count(), 0, "expired and freed");
    let second = s.join(2, Shell::caps("alice"), Codec::Json, Some(&first.resume));
    assert_ne!(second.session, first.session);
    s.hub.publish("t/chat", b"x", None, s.now).unwrap();
    s.drain();
    assert!(
        Shell::delivered(&s.take(2), "t/chat").is_empty(),
        "subscriptions did not survive"
    );
}

#[test]
fn a_resume_token_of_another_user_opens_a_fresh_session() {
    let mut s = Shell::standard();
    let alice = s.join(1, Shell::caps("alice"), Codec::Json, None);
    s.disconnect(1);
    let mallory = s.join(2, Shell::caps("mallory"), Codec::Json, Some(&alice.resume));
    assert_ne!(mallory.session, alice.session);
}

#[test]
fn resuming_on_a_new_connection_closes_the_old_one_as_replaced() {
    let mut s = Shell::standard();
    let w = s.join(1, Shell::caps("alice"), Codec::Json, None);
    s.join(2, Shell::caps("alice"), Codec::Json, Some(&w.resume));
    assert_eq!(s.closed, [(ConnId(1), CloseCode::Replaced)]);
    assert_eq!(s.hub.session_count(), 1);
}

#[test]
fn since_outside_the_history_is_not_recovered_with_the_reason() {
    let mut s = Shell::new(config());
    s.hub
        .open_topic("t/chat", TopicConfig::reliable(3, Duration::from_secs(5)))
        .unwrap();
    s.hub
        .open_topic("t/live", TopicConfig::lossy(0, Duration::from_secs(5)))
        .unwrap();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    for i in 0..5u8 {
        s.hub.publish("t/chat", &[b'0' + i], None, s.now).unwrap();
        s.hub.publish("t/live", &[b'0' + i], None, s.now).unwrap();
    }
    let cases = [
        (
            "t/chat",
            Position {
                epoch: 1000,
                offset: 1,
            },
            Some(NotRecovered::TooOld),
            5,
        ),
        (
            "t/chat",
            Position {
                epoch: 1000,
                offset: 2,
            },
            None,
            5,
        ),
        (
            "t/chat",
            Position {
                epoch: 1000,
                offset: 9,
            },
            Some(NotRecovered::Ahead),
            5,
        ),
        (
            "t/chat",
            Position {
                epoch: 7,
                offset: 2,
            },
            Some(NotRecovered::EpochChanged),
            5,
        ),
        (
            "t/live",
            Position {
                epoch: 1001,
                offset: 3,
            },
            Some(NotRecovered::NoHistory),
            5,
        ),
        (
            "t/live",
            Position {
                epoch: 1001,
                offset: 5,
            },
            None,
            5,
        ),
    ];
    for (topic, since, reason, head) in cases {
        s.subscribe(1, topic, Some(since)).unwrap();
        let got = s.take(1);
        let sub = &subscribed(&got)[0];
        assert_eq!(
            (sub.recovered, sub.reason),
            (reason.is_none(), reason),
            "{topic} {since:?}"
        );
        assert_eq!(sub.position.offset, head);
        let replayed: Vec<u64> = Shell::delivered(&got, topic).iter().map(|d| d.0).collect();
        let expected: Vec<u64> = if reason.is_none() {
            (since.offset..head).collect()
        } else {
            Vec::new()
        };
        assert_eq!(replayed, expected);
    }
    // Age: after 5 s the history is gone.
    s.advance(ms(5_001));
    s.subscribe(
        1,
        "t/chat",
        Some(Position {
            epoch: 1000,
            offset: 3,
        }),
    )
    .unwrap();
    assert_eq!(subscribed(&s.take(1))[0].reason, Some(NotRecovered::TooOld));
}

#[test]
fn a_reopened_topic_has_a_new_epoch() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    s.hub.publish("t/chat", b"x", None, s.now).unwrap();
    s.hub.close_topic("t/chat", s.now).unwrap();
    s.hub
        .open_topic("t/chat", TopicConfig::reliable(10, Duration::from_secs(9)))
        .unwrap();
    s.subscribe(
        1,
        "t/chat",
        Some(Position {
            epoch: 1000,
            offset: 1,
        }),
    )
    .unwrap();
    let sub = &subscribed(&s.take(1))[0];
    assert_eq!(sub.reason, Some(NotRecovered::EpochChanged));
    assert_ne!(sub.position.epoch, 1000);
}

#[test]
fn a_long_replay_is_paced_by_the_queue_and_arrives_whole() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    for i in 0..60u32 {
        s.hub
            .publish("t/chat", alloc::format!("{i}").as_bytes(), None, s.now)
            .unwrap();
    }
    s.subscribe(
        1,
        "t/chat",
        Some(Position {
            epoch: 1000,
            offset: 0,
        }),
    )
    .unwrap();
    let got = s.take(1);
    let offsets: Vec<u64> = Shell::delivered(&got, "t/chat")
        .iter()
        .map(|d| d.0)
        .collect();
    assert_eq!(offsets, (0..60).collect::<Vec<_>>());
    assert!(
        s.closed.is_empty(),
        "a replay larger than the queue never disconnects"
    );
}

#[test]
fn what_an_expired_or_closed_session_held_queued_is_freed() {
    let mut s = Shell::standard();
    s.pair(Codec::Json, Codec::Postcard);
    // Bob stops reading; both formats of each publish stay kept for him.
    s.stalled.insert(ConnId(2));
    for _ in 0..5 {
        s.hub.publish("t/chat", b"1", None, s.now).unwrap();
        s.drain();
    }
    s.take(1);
    assert_eq!(s.hub.store.len(), 5, "one entry per publish, Bob's format");
    s.disconnect(2);
    s.advance(ms(10_001));
    assert_eq!(s.hub.session_count(), 1);
    assert_eq!(
        s.hub.store.len(),
        0,
        "the expired session's entries are gone"
    );
    // A closed topic takes what was queued for it along.
    s.stalled.insert(ConnId(1));
    s.hub.publish("t/chat", b"2", None, s.now).unwrap();
    s.drain();
    assert_eq!(s.hub.store.len(), 1);
    s.hub.close_topic("t/chat", s.now).unwrap();
    assert_eq!(s.hub.store.len(), 1, "only the `unknown_topic` is left");
    s.stalled.remove(&ConnId(1));
    s.pull(ConnId(1));
    assert!(Shell::delivered(&s.take(1), "t/chat").is_empty());
    assert_eq!(s.hub.store.len(), 0);
}

#[test]
fn a_resume_in_the_other_format_keeps_the_subscribed_before_its_replay() {
    for (first, then) in [
        (Codec::Postcard, Codec::Json),
        (Codec::Json, Codec::Postcard),
    ] {
        let mut s = Shell::standard();
        s.join(1, Shell::caps("alice"), Codec::Json, None);
        let bob = s.join(2, Shell::caps("bob"), first, None);
        s.subscribe(2, "t/chat", None).unwrap();
        s.publish(1, "t/chat", b"0", None, None).unwrap();
        s.publish(1, "t/chat", b"1", None, None).unwrap();
        assert_eq!(Shell::delivered(&s.take(2), "t/chat").len(), 2);
        // Bob asks again from 0, and is gone before reading the answer.
        s.stalled.insert(ConnId(2));
        let since = Position {
            epoch: 1000,
            offset: 0,
        };
        s.subscribe(2, "t/chat", Some(since)).unwrap();
        s.disconnect(2);
        assert!(s.take(2).is_empty());
        s.join(3, Shell::caps("bob"), then, Some(&bob.resume));
        let got = s.take(3);
        // `join` took the `welcome`: the answer comes next, then its replay.
        let Some(ServerMsg::Subscribed(sub)) = got.first() else {
            panic!("{first:?} to {then:?}: {got:?}");
        };
        assert!(sub.recovered && sub.reason.is_none());
        assert_eq!(sub.position.offset, 2);
        assert_eq!(subscribed(&got).len(), 1);
        assert_eq!(
            Shell::delivered(&got, "t/chat"),
            [(0, b"0".to_vec()), (1, b"1".to_vec())]
        );
    }
}

#[test]
fn a_resume_in_the_other_format_keeps_a_queued_too_old_restart() {
    let reliable = TopicConfig::reliable(5, Duration::from_secs(60));
    let mut s = Shell::small(2, "t/chat", reliable);
    let bob = s.join(2, Shell::caps("bob"), Codec::Postcard, None);
    for _ in 0..5 {
        s.hub.publish("t/chat", b"x", None, s.now).unwrap();
    }
    s.stalled.insert(ConnId(2));
    let since = Position {
        epoch: 1000,
        offset: 0,
    };
    s.subscribe(2, "t/chat", Some(since)).unwrap();
    // The replay is paced by the queue; the history moves past it meanwhile.
    for _ in 0..3 {
        s.hub.publish("t/chat", b"y", None, s.now).unwrap();
    }
    s.drain();
    let mut frames = Vec::new();
    assert_eq!(s.hub.pull(ConnId(2), &mut frames, 1 << 16), 2);
    // Taken: `subscribed` and offset 0. Queued by the refill: `too_old`.
    assert_eq!(s.hub.queued(ConnId(2)).map(|q| q.0), Some(1));
    s.disconnect(2);
    s.join(3, Shell::caps("bob"), Codec::Json, Some(&bob.resume));
    let got = s.take(3);
    let Some(ServerMsg::Subscribed(sub)) = got.first() else {
        panic!("{got:?}");
    };
    assert_eq!(
        (sub.recovered, sub.reason, sub.position.offset),
        (false, Some(NotRecovered::TooOld), 8)
    );
    s.hub.publish("t/chat", b"z", None, s.now).unwrap();
    s.drain();
    assert_eq!(Shell::delivered(&s.take(3), "t/chat"), [(8, b"z".to_vec())]);
}
