//! Untrusted and untimely input: typed errors, nothing changed, no panic.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::proto::{ClockPong, ErrorCode, ErrorMsg, Presence, PresenceEvent};

#[test]
fn messages_out_of_turn_are_refused_and_change_nothing() {
    let mut rig = Rig::new();
    rig.c.subscribe("chat", rig.now).unwrap();
    let (r, _) = rig.try_feed(&welcome("s-1"));
    assert_eq!(
        r,
        Err(ClientError::NotConnected),
        "nothing before a connection"
    );
    rig.connect();
    for early in [
        deliver("chat", 1, 0, b"x"),
        subscribed("chat", pos(1, 0), false),
    ] {
        let (r, outs) = rig.try_feed(&early);
        assert_eq!(r, Err(ClientError::UnexpectedMessage));
        assert_eq!(outs, []);
    }
    let mut wrong_version = welcome("s-1");
    if let ServerMsg::Welcome(w) = &mut wrong_version {
        w.version = 2;
    }
    let (r, _) = rig.try_feed(&wrong_version);
    assert_eq!(r, Err(ClientError::UnsupportedVersion { version: 2 }));
    assert!(!rig.c.is_open());

    // The handshake is intact: the real welcome still opens the session.
    let after = rig.feed(&welcome("s-1"));
    assert_eq!(
        sends(&after),
        [ClientMsg::Subscribe(Subscribe {
            topic: "chat".try_into().unwrap(),
            since: None,
        })]
    );
    let (r, outs) = rig.try_feed(&welcome("s-9"));
    assert_eq!(r, Err(ClientError::UnexpectedMessage));
    assert_eq!(outs, []);
    assert_eq!(rig.c.session_id(), Some("s-1"));
    assert_eq!(
        rig.c.handle_connected(rig.now),
        Err(ClientError::AlreadyConnected)
    );
}

#[test]
fn answers_nobody_asked_for_are_refused() {
    let mut rig = Rig::new();
    rig.c.subscribe("chat", rig.now).unwrap();
    rig.open("s-1");
    rig.feed(&subscribed("chat", pos(1, 0), false));
    let cases = [
        (
            subscribed("news", pos(1, 0), false),
            ClientError::UnexpectedMessage,
        ),
        (
            input_result(7, InputOutcome::Accepted),
            ClientError::UnknownRequest { request: 7 },
        ),
        (
            publish_ack(7, pos(1, 0)),
            ClientError::UnknownRequest { request: 7 },
        ),
        (
            gap("news", 1, 0, 1),
            ClientError::Stream(StreamError::NotSubscribed),
        ),
    ];
    for (msg, error) in cases {
        let (r, outs) = rig.try_feed(&msg);
        assert_eq!(r, Err(error), "{msg:?}");
        assert_eq!(outs, []);
    }
    // An input's answer cannot settle a publish with the same id.
    let p = rig.c.publish("chat", b"x", None, rig.now).unwrap();
    rig.drain();
    let (r, _) = rig.try_feed(&input_result(p, InputOutcome::Accepted));
    assert_eq!(r, Err(ClientError::UnknownRequest { request: p }));
    assert_eq!(rig.c.pending(), 1);
    assert_eq!(rig.c.position("chat"), Some(pos(1, 0)));
}

#[test]
fn a_message_fed_before_draining_is_refused() {
    let mut rig = Rig::new();
    rig.c.subscribe("chat", rig.now).unwrap();
    rig.open("s-1");
    rig.feed(&subscribed("chat", pos(1, 0), false));
    rig.c
        .handle_message(&deliver("chat", 1, 0, b"a"), rig.now)
        .unwrap();
    let r = rig.c.handle_message(&deliver("chat", 1, 1, b"b"), rig.now);
    assert_eq!(r, Err(ClientError::Undrained));
    assert_eq!(events(&rig.drain()), [delivered("chat", 1, 0, b"a")]);
    let again = rig.feed(&deliver("chat", 1, 1, b"b"));
    assert_eq!(events(&again), [delivered("chat", 1, 1, b"b")]);
}

#[test]
fn pass_through_messages_reach_the_app() {
    let mut rig = Rig::new();
    rig.open("s-1");
    let pong = ClockPong {
        seq: 1,
        t1: at(1),
        t2: at(2),
        t3: at(3),
        clock: ClockId(9),
    };
    let presence = Presence {
        room: "table".try_into().unwrap(),
        event: PresenceEvent::Join("ann".try_into().unwrap()),
    };
    let error = ErrorMsg {
        code: ErrorCode::ShuttingDown,
        request: None,
        message: "bye".try_into().unwrap(),
        topic: None,
    };
    let mut seen = Vec::new();
    for msg in [
        ServerMsg::Pong(pong),
        ServerMsg::Presence(presence.clone()),
        ServerMsg::Error(error),
    ] {
        seen.extend(events(&rig.feed(&msg)));
    }
    let expected = [
        ClientEvent::Pong(pong),
        ClientEvent::Presence(&presence),
        ClientEvent::ServerError {
            code: ErrorCode::ShuttingDown,
            message: "bye",
        },
    ];
    assert_eq!(seen, expected.map(Ev::of));
}

/// Random server messages, random transport events: no panic, outputs run
/// dry, and memory stays within the session's fixed size by construction.
#[test]
fn random_input_never_panics() {
    for seed in 0..300 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut rig: Rig<2, 2, 8> = Rig {
            c: ClientSession::new(ClientConfig::default(), seed, Instant::ZERO),
            now: Instant::ZERO,
        };
        let topics = ["a", "b", "c"];
        for _ in 0..400 {
            rig.now += Duration::from_millis(rng.random_range(0..3_000));
            let topic = topics[rng.random_range(0..3)];
            let (epoch, n) = (rng.random_range(0..3), rng.random_range(0..6));
            let request = rng.random_range(0..4);
            let msg = match rng.random_range(0..14) {
                0 => welcome(["s-1", "s-2"][rng.random_range(0..2)]),
                1 => subscribed(topic, pos(epoch, n), rng.random_bool(0.5)),
                2 => not_recovered(topic, pos(epoch, n), NotRecovered::Ahead),
                3 | 4 => deliver(topic, epoch, n, &b"0123456789"[..rng.random_range(0..10)]),
                5 => gap(topic, epoch, n, rng.random_range(0..6)),
                6 => input_result(request, InputOutcome::Accepted),
                7 => publish_ack(request, pos(epoch, n)),
                8 => {
                    rig.c.handle_disconnected(rig.now);
                    rig.drain();
                    continue;
                }
                9 => {
                    let _ = rig.c.handle_connected(rig.now);
                    rig.c.handle_timeout(rig.now);
                    rig.drain();
                    continue;
                }
                10 => {
                    let _ = rig.c.subscribe(topic, rig.now);
                    let _ = rig.c.input("r", None, b"xy", rig.now);
                    continue;
                }
                11 => {
                    let _ = rig.c.unsubscribe(topic, rig.now);
                    let _ = rig.c.publish(topic, b"z", None, rig.now);
                    continue;
                }
                _ => {
                    rig.c.handle_timeout(rig.now);
                    rig.drain();
                    continue;
                }
            };
            let _ = rig.c.handle_message(&msg, rig.now);
            rig.drain();
            assert!(rig.c.subscriptions() <= 2 && rig.c.pending() <= 2);
        }
    }
}
