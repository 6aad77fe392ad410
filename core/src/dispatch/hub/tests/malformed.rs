//! Bad input: an error frame to the sender, nothing else changes.

use super::*;
use crate::proto::ErrorCode;
use crate::proto::codec::encode_postcard;

fn error_codes(msgs: &[ServerMsg<'_>]) -> Vec<ErrorCode> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Error(e) => Some(e.code),
            _ => None,
        })
        .collect()
}

/// A shell where conn 1 (JSON) and conn 2 (postcard) subscribe to `t/chat`
/// and conn 3 is a bystander publishing.
fn busy() -> Shell {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    s.join(2, Shell::caps("b"), Codec::Postcard, None);
    s.join(3, Shell::caps("c"), Codec::Json, None);
    s.subscribe(1, "t/chat", None).unwrap();
    s.subscribe(2, "t/chat", None).unwrap();
    for c in 1..=3 {
        s.take(c);
    }
    s
}

#[test]
fn undecodable_frames_are_answered_and_close_only_their_connection() {
    let too_big = alloc::vec![b' '; 70_000];
    let cases: [(u64, &[u8], ErrorCode); 6] = [
        (1, b"{\"publish\":", ErrorCode::BadFrame),
        (1, b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", ErrorCode::BadFrame),
        (1, b"{\"teleport\":{}}", ErrorCode::BadFrame),
        (1, &too_big, ErrorCode::FrameTooLarge),
        (2, &[0xff, 0xff, 0xff], ErrorCode::BadFrame),
        (2, &[4, 3, b't', b'/'], ErrorCode::BadFrame),
    ];
    for (conn, frame, code) in cases {
        let mut s = busy();
        assert!(s.send_frame(conn, frame).is_err());
        assert_eq!(error_codes(&s.take(conn)), [code]);
        assert_eq!(s.closed, [(ConnId(conn), CloseCode::Protocol)]);
        // Everyone else carries on.
        s.publish(3, "t/chat", b"1", None, None).unwrap();
        let other = 3 - conn;
        assert_eq!(Shell::delivered(&s.take(other), "t/chat").len(), 1);
    }
}

#[test]
fn a_well_formed_frame_is_handled_like_the_message() {
    let mut s = busy();
    let msg = ClientMsg::Publish(Publish {
        topic: "t/chat".try_into().unwrap(),
        data: Payload::new(b"\x00\x01"),
        at: None,
        request: Some(1),
    });
    let mut buf = [0u8; 64];
    let frame = encode_postcard(&msg, &mut buf).unwrap().to_vec();
    s.send_frame(2, &frame).unwrap();
    assert_eq!(
        Shell::delivered(&s.take(1), "t/chat"),
        [(0, b"\x00\x01".to_vec())]
    );
}

#[test]
fn messages_out_of_place_are_unexpected() {
    let mut s = Shell::standard();
    s.hub
        .handle_connect(ConnId(1), Shell::caps("a"), Codec::Json, s.now)
        .unwrap();
    s.codecs.insert(ConnId(1), Codec::Json);
    assert_eq!(
        s.subscribe(1, "t/chat", None),
        Err(HubError::UnexpectedMessage)
    );
    assert_eq!(error_codes(&s.take(1)), [ErrorCode::UnexpectedMessage]);
    assert_eq!(s.hub.session_count(), 0);
    let hello = ClientMsg::Hello(Hello {
        version: 1,
        resume: None,
        auth: None,
    });
    s.send(1, hello.clone()).unwrap();
    s.take(1);
    assert_eq!(s.send(1, hello), Err(HubError::UnexpectedMessage));
    assert_eq!(error_codes(&s.take(1)), [ErrorCode::UnexpectedMessage]);
    assert_eq!(s.hub.session_count(), 1);
}

#[test]
fn an_unsupported_version_is_refused_and_closed() {
    let mut s = Shell::standard();
    s.hub
        .handle_connect(ConnId(1), Shell::caps("a"), Codec::Json, s.now)
        .unwrap();
    s.codecs.insert(ConnId(1), Codec::Json);
    let hello = ClientMsg::Hello(Hello {
        version: 2,
        resume: None,
        auth: None,
    });
    assert_eq!(s.send(1, hello), Err(HubError::UnsupportedVersion));
    assert_eq!(error_codes(&s.take(1)), [ErrorCode::UnsupportedVersion]);
    assert_eq!(s.closed, [(ConnId(1), CloseCode::Protocol)]);
    assert_eq!(s.hub.session_count(), 0);
}

#[test]
fn limits_are_typed_errors() {
    let mut cfg = config();
    cfg.max_sessions = 1;
    cfg.max_subscriptions = 1;
    let mut s = Shell::new(cfg);
    s.hub
        .open_topic("t/a", TopicConfig::reliable(1, Duration::from_secs(1)))
        .unwrap();
    s.hub
        .open_topic("t/b", TopicConfig::reliable(1, Duration::from_secs(1)))
        .unwrap();
    assert_eq!(
        s.hub
            .open_topic("t/a", TopicConfig::reliable(1, Duration::from_secs(1))),
        Err(HubError::AlreadyOpen)
    );
    s.join(1, Shell::caps("a"), Codec::Json, None);
    s.subscribe(1, "t/a", None).unwrap();
    assert_eq!(
        s.subscribe(1, "t/b", None),
        Err(HubError::TooManySubscriptions)
    );
    s.hub
        .handle_connect(ConnId(2), Shell::caps("b"), Codec::Json, s.now)
        .unwrap();
    s.codecs.insert(ConnId(2), Codec::Json);
    let hello = ClientMsg::Hello(Hello {
        version: 1,
        resume: None,
        auth: None,
    });
    assert_eq!(s.send(2, hello), Err(HubError::TooManySessions));
    assert_eq!(s.closed, [(ConnId(2), CloseCode::Full)]);
}

#[test]
fn a_silent_connection_and_an_expired_credential_are_closed() {
    let mut s = Shell::standard();
    s.hub
        .handle_connect(ConnId(1), Shell::caps("a"), Codec::Json, s.now)
        .unwrap();
    s.join(2, Shell::caps("b").expires_at(ms(5_000)), Codec::Json, None);
    s.advance(ms(4_999));
    assert!(s.closed.is_empty());
    s.advance(ms(10_000));
    assert_eq!(
        s.closed,
        [
            (ConnId(2), CloseCode::Expired),
            (ConnId(1), CloseCode::HelloTimeout)
        ]
    );
}

#[test]
fn pings_are_answered_with_the_server_clock() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("a"), Codec::Json, None);
    s.advance(ms(1_234));
    let ping = crate::proto::ClockPing { seq: 3, t1: ms(7) };
    s.send(1, ClientMsg::Ping(ping)).unwrap();
    let got = s.take(1);
    assert!(
        matches!(&got[..], [ServerMsg::Pong(p)] if p.seq == 3 && p.t2 == ms(1_234) && p.t1 == ms(7))
    );
}
