//! Bounded queues: slow consumers, lossy gaps, bursts.

use super::*;
use crate::proto::Gap;

#[test]
fn a_slow_consumer_on_a_reliable_topic_is_closed_and_the_fast_one_is_not() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("fast"), Codec::Json, None);
    let slow = s.join(2, Shell::caps("slow"), Codec::Json, None);
    s.subscribe(1, "t/chat", None).unwrap();
    s.subscribe(2, "t/chat", None).unwrap();
    s.take(1);
    s.take(2);
    s.stalled.insert(ConnId(2));
    for i in 0..40u32 {
        s.hub
            .publish("t/chat", alloc::format!("{i}").as_bytes(), None, s.now)
            .unwrap();
        s.drain();
    }
    assert_eq!(s.closed, [(ConnId(2), CloseCode::SlowConsumer)]);
    let fast: Vec<u64> = Shell::delivered(&s.take(1), "t/chat")
        .iter()
        .map(|d| d.0)
        .collect();
    assert_eq!(fast, (0..40).collect::<Vec<_>>());
    // The slow one wrote what it had queued; on resume it catches up from history.
    let before: Vec<u64> = Shell::delivered(&s.take(2), "t/chat")
        .iter()
        .map(|d| d.0)
        .collect();
    s.join(3, Shell::caps("slow"), Codec::Json, Some(&slow.resume));
    let after: Vec<u64> = Shell::delivered(&s.take(3), "t/chat")
        .iter()
        .map(|d| d.0)
        .collect();
    let all: Vec<u64> = before.into_iter().chain(after).collect();
    assert_eq!(all, (0..40).collect::<Vec<_>>());
}

#[test]
fn a_slow_consumer_resuming_with_a_full_queue_is_not_cut_off_again() {
    let mut s = Shell::standard();
    let slow = s.join(2, Shell::caps("slow"), Codec::Json, None);
    s.subscribe(2, "t/chat", None).unwrap();
    s.take(2);
    s.stalled.insert(ConnId(2));
    s.dead.insert(ConnId(2));
    for i in 0..40u32 {
        s.hub
            .publish("t/chat", alloc::format!("{i}").as_bytes(), None, s.now)
            .unwrap();
        s.drain();
    }
    assert_eq!(s.closed, [(ConnId(2), CloseCode::SlowConsumer)]);
    assert_eq!(s.take(2), []);
    // It resumes without having written a byte of its full queue.
    s.join(3, Shell::caps("slow"), Codec::Json, Some(&slow.resume));
    assert_eq!(s.closed, [(ConnId(2), CloseCode::SlowConsumer)]);
    let got: Vec<u64> = Shell::delivered(&s.take(3), "t/chat")
        .iter()
        .map(|d| d.0)
        .collect();
    assert_eq!(got, (0..40).collect::<Vec<_>>());
}

#[test]
fn a_burst_within_the_bound_disconnects_nobody() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    s.subscribe(1, "t/chat", None).unwrap();
    s.take(1);
    s.stalled.insert(ConnId(1));
    // The queue holds 16: a burst of 16 waits in it.
    for i in 0..16u8 {
        s.hub.publish("t/chat", &[b'a' + i], None, s.now).unwrap();
        s.drain();
    }
    assert!(s.closed.is_empty());
    s.stalled.remove(&ConnId(1));
    s.pull(ConnId(1));
    assert_eq!(Shell::delivered(&s.take(1), "t/chat").len(), 16);
}

#[test]
fn a_lossy_topic_drops_the_oldest_and_signals_the_gap() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    s.subscribe(1, "t/cursor", None).unwrap();
    s.take(1);
    s.stalled.insert(ConnId(1));
    for i in 0..40u32 {
        s.hub
            .publish("t/cursor", alloc::format!("{i}").as_bytes(), None, s.now)
            .unwrap();
        s.drain();
    }
    assert!(s.closed.is_empty(), "lossy topics never disconnect");
    s.stalled.remove(&ConnId(1));
    s.pull(ConnId(1));
    let got = s.take(1);
    // Every offset is either delivered or inside a gap, in order, newest kept.
    let mut next = 0;
    for m in &got {
        match m {
            ServerMsg::Gap(Gap { from, to, .. }) => {
                assert_eq!(*from, next);
                next = *to;
            }
            ServerMsg::Deliver(d) => {
                assert_eq!(d.offset, next);
                next += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(next, 40);
    assert!(got.iter().any(|m| matches!(m, ServerMsg::Gap(_))));
    assert!(matches!(got.last(), Some(ServerMsg::Deliver(d)) if d.offset == 39));
}

#[test]
fn one_stalled_connection_does_not_hold_back_the_others() {
    let mut s = Shell::standard();
    s.subscribers(1..=3, "t/cursor");
    s.stalled.insert(ConnId(2));
    for i in 0..100u32 {
        s.hub
            .publish("t/cursor", alloc::format!("{i}").as_bytes(), None, s.now)
            .unwrap();
        s.drain();
    }
    for c in [1, 3] {
        assert_eq!(Shell::delivered(&s.take(c), "t/cursor").len(), 100);
    }
    let (messages, bytes) = s.hub.queued(ConnId(2)).unwrap();
    assert!(
        messages <= 16 && bytes <= 64 * 1024,
        "bounded: {messages} {bytes}"
    );
}

#[test]
fn a_resubscribe_whose_answer_does_not_fit_leaves_the_stream_as_announced() {
    let lossy = TopicConfig::lossy(0, Duration::from_secs(60));
    let mut s = Shell::small(2, "t/cursor", lossy);
    s.join(1, Shell::caps("bob"), Codec::Json, None);
    s.stalled.insert(ConnId(1));
    s.subscribe(1, "t/cursor", None).unwrap();
    // Errors fill the control reserve: 1 + 9 frames of 2 + 8.
    for _ in 0..9 {
        assert!(s.subscribe(1, "t/nope", None).is_err());
    }
    assert!(s.closed.is_empty());
    // Offset 0 does not fit: a gap is pending. Then the resubscribe, whose
    // answer does not fit either, and offset 1, while the socket still
    // writes what it had queued.
    s.hub.publish("t/cursor", b"0", None, s.now).unwrap();
    let again = Subscribe {
        topic: "t/cursor".try_into().unwrap(),
        since: None,
    };
    let msg = ClientMsg::Subscribe(again);
    s.hub.handle_message(ConnId(1), msg, s.now).unwrap();
    s.hub.publish("t/cursor", b"1", None, s.now).unwrap();
    let mut frames = Vec::new();
    while s.hub.pull(ConnId(1), &mut frames, 1 << 16) > 0 {}
    let msgs: Vec<ServerMsg<'_>> = frames.iter().map(|f| decode_json(f).unwrap()).collect();
    let stream: Vec<(u64, u64)> = msgs
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Subscribed(sub) => Some((sub.position.offset, sub.position.offset)),
            ServerMsg::Gap(g) => Some((g.from, g.to)),
            ServerMsg::Deliver(d) => Some((d.offset, d.offset + 1)),
            _ => None,
        })
        .collect();
    // Announced from 0: offsets 0 and 1 are each delivered or in a gap.
    assert_eq!(stream.first(), Some(&(0, 0)), "{msgs:?}");
    let covered = stream.windows(2).all(|w| w[1].0 == w[0].1);
    assert!(covered && stream.last().unwrap().1 == 2, "{msgs:?}");
    s.drain();
    assert_eq!(s.closed, [(ConnId(1), CloseCode::SlowConsumer)]);
}
