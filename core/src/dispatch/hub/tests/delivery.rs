//! Publish/subscribe, fan-out sharing, timed and targeted delivery.

use super::*;

#[test]
fn a_publish_reaches_the_other_subscriber_once_in_order() {
    let mut s = Shell::standard();
    s.pair(Codec::Json, Codec::Postcard);
    for (i, text) in ["\"a\"", "\"b\"", "\"c\""].iter().enumerate() {
        s.publish(1, "t/chat", text.as_bytes(), None, Some(i as u32))
            .unwrap();
    }
    let bob = s.take(2);
    assert_eq!(
        Shell::delivered(&bob, "t/chat"),
        [
            (0, b"\"a\"".to_vec()),
            (1, b"\"b\"".to_vec()),
            (2, b"\"c\"".to_vec())
        ]
    );
    assert_eq!(bob.len(), 3, "nothing but the three deliveries: {bob:?}");
    let alice = s.take(1);
    let acks: Vec<_> = alice
        .iter()
        .filter_map(|m| match m {
            ServerMsg::PublishAck(a) => Some((a.request, a.position.offset)),
            _ => None,
        })
        .collect();
    assert_eq!(acks, [(0, 0), (1, 1), (2, 2)]);
    assert_eq!(Shell::delivered(&alice, "t/chat").len(), 3);
}

#[test]
fn nobody_receives_a_topic_they_did_not_subscribe_to() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("alice"), Codec::Json, None);
    s.join(2, Shell::caps("bob"), Codec::Json, None);
    s.subscribe(1, "t/chat", None).unwrap();
    s.take(2);
    s.publish(1, "t/chat", b"1", None, None).unwrap();
    assert!(s.take(2).is_empty());
}

#[test]
fn a_publish_to_1000_subscribers_is_encoded_once_per_format() {
    let mut cfg = config();
    cfg.max_sessions = 2_000;
    let mut s = Shell::new(cfg);
    s.hub
        .open_topic("t/chat", TopicConfig::reliable(10, Duration::from_secs(60)))
        .unwrap();
    for conn in 0..1000u64 {
        let codec = if conn % 2 == 0 {
            Codec::Json
        } else {
            Codec::Postcard
        };
        s.join(conn, Shell::caps("u"), codec, None);
        s.subscribe(conn, "t/chat", None).unwrap();
        // Stalled: frames stay queued, so their sharing can be inspected.
        s.stalled.insert(ConnId(conn));
    }
    s.hub.publish("t/chat", b"{\"x\":1}", None, s.now).unwrap();
    s.drain();
    let mut frames: [Vec<Frame>; 2] = [Vec::new(), Vec::new()];
    for conn in 0..1000u64 {
        let mut got = Vec::new();
        s.hub.pull(ConnId(conn), &mut got, usize::MAX);
        frames[(conn % 2) as usize].push(got.pop().unwrap());
    }
    for group in &frames {
        assert!(group.iter().all(|f| Frame::ptr_eq(f, &group[0])));
        // 500 pulled copies plus the one the topic's history keeps.
        assert_eq!(group[0].share_count(), 501);
    }
    assert!(!Frame::ptr_eq(&frames[0][0], &frames[1][0]));
    assert_eq!(
        frames[0][0].as_bytes(),
        br#"{"deliver":{"topic":"t/chat","epoch":1000,"offset":0,"at":null,"data":{"x":1}}}"#
    );
}

#[test]
fn only_formats_with_recipients_are_encoded() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("a"), Codec::Postcard, None);
    s.subscribe(1, "t/chat", None).unwrap();
    s.stalled.insert(ConnId(1));
    s.hub.publish("t/chat", b"x", None, s.now).unwrap();
    let key = s.hub.topic_names["t/chat"];
    let topic = s.hub.topics.get_mut(key).unwrap();
    let msg = topic.message(0, ms(0)).unwrap();
    assert!(msg.frames.has(Codec::Postcard) && !msg.frames.has(Codec::Json));
}

#[test]
fn a_timed_publish_is_released_at_its_time_to_everyone_together() {
    let mut s = Shell::standard();
    s.subscribers(1..=3, "t/chat");
    let at = Instant::from_micros(5_000_000);
    s.publish(1, "t/chat", b"\"reveal\"", Some(at), Some(9))
        .unwrap();
    assert_eq!(s.hub.poll_timeout(), Some(at));
    s.advance(Instant::from_micros(4_999_999));
    for conn in 1..=3 {
        assert!(s.take(conn).is_empty(), "nothing before `at`");
    }
    s.advance(at);
    for conn in 2..=3 {
        let got = s.take(conn);
        assert_eq!(got.len(), 1);
        let ServerMsg::Deliver(d) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!((d.offset, d.at), (0, Some(at)));
    }
    let publisher = s.take(1);
    assert!(
        publisher
            .iter()
            .any(|m| matches!(m, ServerMsg::PublishAck(a) if a.request == 9))
    );
    assert_eq!(s.hub.timed_count(), 0);
}

#[test]
fn releasing_one_timed_publish_does_not_release_the_next_early() {
    let mut s = Shell::standard();
    s.subscribers(1..=2, "t/chat");
    let first = Instant::from_micros(5_000_000);
    let second = Instant::from_micros(5_000_500);
    s.publish(1, "t/chat", b"\"a\"", Some(first), None).unwrap();
    s.publish(1, "t/chat", b"\"b\"", Some(second), None)
        .unwrap();
    s.advance(first);
    let ats = |got: Vec<ServerMsg<'static>>| -> Vec<Option<Instant>> {
        got.iter()
            .filter_map(|m| match m {
                ServerMsg::Deliver(d) => Some(d.at),
                _ => None,
            })
            .collect()
    };
    assert_eq!(ats(s.take(2)), [Some(first)], "only what is due");
    s.advance(second);
    assert_eq!(ats(s.take(2)), [Some(second)]);
}

#[test]
fn a_held_publish_whose_topic_closes_is_answered_and_can_be_resent() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("u"), Codec::Json, None);
    s.subscribe(1, "t/chat", None).unwrap();
    s.take(1);
    s.publish(1, "t/chat", b"\"later\"", Some(ms(5_000)), Some(4))
        .unwrap();
    s.hub.close_topic("t/chat", s.now).unwrap();
    s.drain();
    let got = s.take(1);
    let answers: Vec<_> = got
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Error(e) if e.request == Some(4) => Some(e.code),
            _ => None,
        })
        .collect();
    assert_eq!(answers, [crate::proto::ErrorCode::UnknownTopic]);
    assert_eq!(s.hub.timed_count(), 0);
    // The resend is judged afresh, not folded into a release that never comes.
    s.hub
        .open_topic("t/chat", TopicConfig::reliable(10, Duration::from_secs(1)))
        .unwrap();
    s.publish(1, "t/chat", b"\"now\"", None, Some(4)).unwrap();
    let got = s.take(1);
    assert!(
        got.iter()
            .any(|m| matches!(m, ServerMsg::PublishAck(a) if a.request == 4)),
        "{got:?}"
    );
}

#[test]
fn timed_publishes_are_bounded() {
    let mut cfg = config();
    cfg.max_timed = 2;
    let mut s = Shell::new(cfg);
    s.hub
        .open_topic("t/chat", TopicConfig::reliable(10, Duration::from_secs(1)))
        .unwrap();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    let at = Some(ms(1_000));
    s.publish(1, "t/chat", b"1", at, None).unwrap();
    s.publish(1, "t/chat", b"2", at, None).unwrap();
    assert_eq!(
        s.publish(1, "t/chat", b"3", at, Some(3)),
        Err(HubError::TimedFull)
    );
    let got = s.take(1);
    assert!(
        matches!(&got[..], [ServerMsg::Error(e)] if e.request == Some(3) && e.code == crate::proto::ErrorCode::RateLimited)
    );
    assert_eq!(
        s.hub.publish("t/chat", b"4", at, s.now),
        Err(HubError::TimedFull)
    );
}

#[test]
fn targeted_sends_reach_exactly_their_targets() {
    let mut s = Shell::standard();
    let a1 = s.join(1, Shell::caps("alice"), Codec::Json, None);
    s.join(2, Shell::caps("alice"), Codec::Postcard, None);
    s.join(3, Shell::caps("bob"), Codec::Json, None);
    s.join(4, Shell::caps("carol"), Codec::Json, None);
    s.subscribe(3, "t/chat", None).unwrap();
    for c in 1..=4 {
        s.take(c);
    }
    s.hub.send_to_session(&a1.session, b"1").unwrap();
    s.drain();
    assert_eq!(Shell::delivered(&s.take(1), "@inbox"), [(0, b"1".to_vec())]);
    assert!(s.take(2).is_empty() && s.take(3).is_empty());
    assert_eq!(s.hub.send_to_user(&"alice".try_into().unwrap(), b"2"), 2);
    s.drain();
    assert_eq!(Shell::delivered(&s.take(1), "@inbox"), [(1, b"2".to_vec())]);
    assert_eq!(Shell::delivered(&s.take(2), "@inbox"), [(0, b"2".to_vec())]);
    assert!(s.take(3).is_empty());
    assert_eq!(s.hub.send_to_room("t", b"3"), Ok(1));
    s.drain();
    assert_eq!(Shell::delivered(&s.take(3), "@inbox"), [(0, b"3".to_vec())]);
    assert!(s.take(1).is_empty() && s.take(4).is_empty());
}

#[test]
fn two_identical_runs_give_identical_outputs() {
    fn run() -> Vec<(u64, Vec<u8>)> {
        let mut s = Shell::standard();
        let w = s.join(1, Shell::caps("alice"), Codec::Json, None);
        s.join(2, Shell::caps("bob"), Codec::Postcard, None);
        s.subscribe(1, "t/chat", None).unwrap();
        s.subscribe(2, "t/cursor", None).unwrap();
        s.publish(1, "t/chat", b"1", Some(ms(30)), Some(1)).unwrap();
        s.publish(1, "t/cursor", b"2", None, None).unwrap();
        s.advance(ms(40));
        s.disconnect(1);
        s.advance(ms(100));
        s.join(3, Shell::caps("alice"), Codec::Json, Some(&w.resume));
        s.advance(ms(20_000));
        s.log
    }
    let a = run();
    assert!(a.len() > 10);
    assert_eq!(a, run());
}
