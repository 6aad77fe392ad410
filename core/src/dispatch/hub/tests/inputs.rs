//! Capabilities, rate limits and inputs judged on a room's timeline.

use super::*;
use crate::proto::{ErrorCode, Input, InputOutcome};
use crate::timeline::Schedule;

fn input(room: &str, request: u32, round: Option<u32>, data: &'static [u8]) -> ClientMsg<'static> {
    ClientMsg::Input(Input {
        room: room.try_into().unwrap(),
        request,
        round,
        data: Payload::new(data),
    })
}

fn results(msgs: &[ServerMsg<'_>]) -> Vec<(u32, InputOutcome)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::InputResult(r) => Some((r.request, r.outcome)),
            _ => None,
        })
        .collect()
}

fn errors(msgs: &[ServerMsg<'_>]) -> Vec<(ErrorCode, Option<u32>)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Error(e) => Some((e.code, e.request)),
            _ => None,
        })
        .collect()
}

#[test]
fn capabilities_forbid_what_they_do_not_allow() {
    let mut s = Shell::standard();
    s.hub
        .open_topic("u/chat", TopicConfig::reliable(1, Duration::from_secs(1)))
        .unwrap();
    s.hub.open_room("u", None, Box::new(Echo), s.now).unwrap();
    let reader = Capabilities::new("r".try_into().unwrap()).subscribe("t/chat");
    s.join(1, reader, Codec::Json, None);
    assert_eq!(s.subscribe(1, "u/chat", None), Err(HubError::Forbidden));
    assert_eq!(
        s.publish(1, "t/chat", b"1", None, Some(4)),
        Err(HubError::Forbidden)
    );
    assert_eq!(s.send(1, input("u", 5, None, b"1")), Ok(()));
    let got = s.take(1);
    assert_eq!(
        errors(&got),
        [
            (ErrorCode::Forbidden, None),
            (ErrorCode::Forbidden, Some(4))
        ]
    );
    assert_eq!(
        results(&got),
        [(5, InputOutcome::Rejected(RejectCode::Forbidden))]
    );
    assert_eq!(s.hub.retained("t/chat"), Some(0), "nothing was published");
}

#[test]
fn unknown_topics_and_rooms_are_errors_with_the_request_id() {
    let mut s = Shell::standard();
    let caps = Capabilities::new("a".try_into().unwrap())
        .subscribe("*/*")
        .publish("*/*")
        .input("*");
    s.join(1, caps, Codec::Json, None);
    assert_eq!(s.subscribe(1, "x/y", None), Err(HubError::UnknownTopic));
    assert_eq!(
        s.publish(1, "x/y", b"1", None, Some(1)),
        Err(HubError::UnknownTopic)
    );
    assert_eq!(
        s.send(1, input("x", 2, None, b"1")),
        Err(HubError::UnknownRoom)
    );
    // Resent: the same answer, once more.
    assert_eq!(
        s.send(1, input("x", 2, None, b"1")),
        Err(HubError::UnknownRoom)
    );
    assert_eq!(
        errors(&s.take(1)),
        [
            (ErrorCode::UnknownTopic, None),
            (ErrorCode::UnknownTopic, Some(1)),
            (ErrorCode::UnknownRoom, Some(2)),
            (ErrorCode::UnknownRoom, Some(2)),
        ]
    );
}

#[test]
fn inputs_are_rate_limited_per_session() {
    let mut cfg = config();
    cfg.input_rate = RateConfig {
        per_sec: 1,
        burst: 2,
    };
    let mut s = Shell::new(cfg);
    s.hub.open_room("t", None, Box::new(Echo), s.now).unwrap();
    s.hub
        .open_topic("t/moves", TopicConfig::reliable(10, Duration::from_secs(9)))
        .unwrap();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    s.join(2, Shell::caps("b"), Codec::Json, None);
    for r in 0..3 {
        s.send(1, input("t", r, None, b"1")).unwrap();
    }
    s.send(2, input("t", 0, None, b"1")).unwrap();
    use InputOutcome::*;
    assert_eq!(
        results(&s.take(1)),
        [
            (0, Accepted),
            (1, Accepted),
            (2, Rejected(RejectCode::RateLimited))
        ]
    );
    assert_eq!(
        results(&s.take(2)),
        [(0, Accepted)],
        "another session is unaffected"
    );
    s.advance(ms(1_000));
    s.send(1, input("t", 3, None, b"1")).unwrap();
    assert_eq!(results(&s.take(1)), [(3, Accepted)]);
}

#[test]
fn publishes_are_rate_limited_per_session() {
    let mut cfg = config();
    cfg.publish_rate = RateConfig {
        per_sec: 1,
        burst: 1,
    };
    let mut s = Shell::new(cfg);
    s.hub
        .open_topic("t/chat", TopicConfig::reliable(10, Duration::from_secs(9)))
        .unwrap();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    s.publish(1, "t/chat", b"1", None, Some(1)).unwrap();
    assert_eq!(
        s.publish(1, "t/chat", b"2", None, Some(2)),
        Err(HubError::RateLimited)
    );
    assert_eq!(errors(&s.take(1)), [(ErrorCode::RateLimited, Some(2))]);
    assert_eq!(s.hub.retained("t/chat"), Some(1));
}

#[test]
fn the_timeline_judges_late_and_not_open_on_receive_time() {
    let mut s = Shell::new(config());
    // Starts at 1 s: open 2 s (inputs), closed 1 s; two rounds.
    s.advance(ms(1_000));
    let schedule = Schedule::new()
        .phase("open", Duration::from_secs(2), true)
        .unwrap()
        .phase("closed", Duration::from_secs(1), false)
        .unwrap()
        .rounds(2);
    s.hub
        .open_room("t", Some(schedule), Box::new(Echo), s.now)
        .unwrap();
    s.hub
        .open_topic("t/moves", TopicConfig::reliable(10, Duration::from_secs(9)))
        .unwrap();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    s.subscribe(1, "t/moves", None).unwrap();
    s.take(1);
    use InputOutcome::*;
    s.send(1, input("t", 1, None, b"1")).unwrap();
    s.advance(ms(2_999));
    s.send(1, input("t", 2, Some(0), b"2")).unwrap();
    s.advance(ms(3_000));
    s.send(1, input("t", 3, None, b"3")).unwrap();
    s.send(1, input("t", 4, Some(1), b"4")).unwrap();
    s.advance(ms(4_000));
    s.send(1, input("t", 5, Some(0), b"5")).unwrap();
    s.send(1, input("t", 6, Some(1), b"6")).unwrap();
    s.advance(ms(7_000));
    s.send(1, input("t", 7, None, b"7")).unwrap();
    let got = s.take(1);
    assert_eq!(
        results(&got),
        [
            (1, Accepted),
            (2, Accepted),
            (3, Rejected(RejectCode::Late)),
            (4, Rejected(RejectCode::NotOpen)),
            (5, Rejected(RejectCode::Late)),
            (6, Accepted),
            (7, Rejected(RejectCode::Late)),
        ]
    );
    // Accepted inputs reached the room's logic, which published them.
    let moves: Vec<Vec<u8>> = Shell::delivered(&got, "t/moves")
        .into_iter()
        .map(|d| d.1)
        .collect();
    assert_eq!(moves, [b"1".to_vec(), b"2".to_vec(), b"6".to_vec()]);
    // Members heard the phases ahead of time.
    let phases = got
        .iter()
        .filter(|m| matches!(m, ServerMsg::Phase(_)))
        .count();
    assert!(phases >= 3, "{phases}");
}

#[test]
fn every_input_gets_exactly_one_result_even_when_resent() {
    let mut s = Shell::standard();
    let w = s.join(1, Shell::caps("a"), Codec::Json, None);
    s.subscribe(1, "t/moves", None).unwrap();
    s.take(1);
    s.send(1, input("t", 7, None, b"\"ok\"")).unwrap();
    s.send(1, input("t", 8, None, b"\"bad\"")).unwrap();
    // The connection drops before the answers were read; the client resends.
    s.disconnect(1);
    s.join(2, Shell::caps("a"), Codec::Json, Some(&w.resume));
    s.take(2);
    s.send(2, input("t", 7, None, b"\"ok\"")).unwrap();
    s.send(2, input("t", 8, None, b"\"ok now\"")).unwrap();
    let got = s.take(2);
    use InputOutcome::*;
    assert_eq!(
        results(&got),
        [(7, Accepted), (8, Rejected(RejectCode::Invalid))]
    );
    assert!(
        Shell::delivered(&got, "t/moves").is_empty(),
        "no second judgement, no second effect"
    );
    assert_eq!(s.hub.retained("t/moves"), Some(1));
}

#[test]
fn a_resent_publish_is_acked_again_not_published_again() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    s.publish(1, "t/chat", b"1", None, Some(3)).unwrap();
    s.publish(1, "t/chat", b"1", None, Some(3)).unwrap();
    let acks = s
        .take(1)
        .iter()
        .filter(
            |m| matches!(m, ServerMsg::PublishAck(a) if a.request == 3 && a.position.offset == 0),
        )
        .count();
    assert_eq!(acks, 2);
    assert_eq!(s.hub.retained("t/chat"), Some(1));
}
