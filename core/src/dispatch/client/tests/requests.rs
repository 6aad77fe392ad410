//! Inputs and publishes: one outcome each, whatever the connection does.

use super::*;
use crate::proto::{ErrorCode, ErrorMsg, RejectCode};

fn open_rig() -> Rig {
    let mut rig = Rig::new();
    rig.open("s-1");
    rig
}

fn input_msg(
    room: &str,
    request: u32,
    round: Option<u32>,
    data: &'static [u8],
) -> ClientMsg<'static> {
    ClientMsg::Input(Input {
        room: room.try_into().unwrap(),
        request,
        round,
        data: Payload::new(data),
    })
}

#[test]
fn inputs_and_publishes_get_their_outcomes() {
    let mut rig = open_rig();
    let a = rig.c.input("table", Some(4), b"bid", rig.now).unwrap();
    let b = rig.c.input("table", None, b"fold", rig.now).unwrap();
    let p = rig.c.publish("chat", b"hi", Some(at(9)), rig.now).unwrap();
    let sent = sends(&rig.drain());
    let publish = ClientMsg::Publish(Publish {
        topic: "chat".try_into().unwrap(),
        data: Payload::new(b"hi"),
        at: Some(at(9)),
        request: Some(p),
    });
    assert_eq!(
        sent,
        [
            input_msg("table", a, Some(4), b"bid"),
            input_msg("table", b, None, b"fold"),
            publish
        ]
    );
    assert_eq!(rig.c.pending(), 3);

    let accepted = rig.feed(&input_result(a, InputOutcome::Accepted));
    let late = rig.feed(&input_result(b, InputOutcome::Rejected(RejectCode::Late)));
    let acked = rig.feed(&publish_ack(p, pos(1, 8)));
    let outcomes: Vec<Ev> = [accepted, late, acked]
        .iter()
        .flat_map(|o| events(o))
        .collect();
    assert_eq!(
        outcomes,
        [
            Ev::Input {
                request: a,
                outcome: InputStatus::Accepted
            },
            Ev::Input {
                request: b,
                outcome: InputStatus::Rejected(RejectCode::Late)
            },
            Ev::Published {
                request: p,
                outcome: PublishStatus::Acked(pos(1, 8))
            },
        ]
    );
    assert_eq!(rig.c.pending(), 0);
}

#[test]
fn a_refused_request_fails_with_the_server_code() {
    let mut rig = open_rig();
    let p = rig.c.publish("news", b"x", None, rig.now).unwrap();
    rig.drain();
    let refusal = ServerMsg::Error(ErrorMsg {
        code: ErrorCode::Forbidden,
        request: Some(p),
        message: "read-only topic".try_into().unwrap(),
        topic: None,
    });
    let outcome = Ev::Published {
        request: p,
        outcome: PublishStatus::Failed(ErrorCode::Forbidden),
    };
    assert_eq!(events(&rig.feed(&refusal)), [outcome]);
}

#[test]
fn a_pending_input_is_resent_with_its_id_after_a_resume_and_resolved_once() {
    let mut rig = open_rig();
    let id = rig.c.input("table", Some(1), b"move", rig.now).unwrap();
    rig.drain();
    rig.disconnect();
    rig.wait();
    let after = rig.open("s-1");
    assert_eq!(sends(&after), [input_msg("table", id, Some(1), b"move")]);

    let result = input_result(id, InputOutcome::Accepted);
    let once = rig.feed(&result);
    assert_eq!(
        events(&once),
        [Ev::Input {
            request: id,
            outcome: InputStatus::Accepted
        }]
    );
    // The answer to the first send, arriving as well, is not a second outcome.
    let (again, outs) = rig.try_feed(&result);
    assert_eq!(again, Err(ClientError::UnknownRequest { request: id }));
    assert_eq!(outs, []);
}

#[test]
fn a_refused_resume_resolves_what_was_sent_as_lost_exactly_once() {
    let mut rig = open_rig();
    let input = rig.c.input("table", None, b"move", rig.now).unwrap();
    let publish = rig.c.publish("chat", b"hi", None, rig.now).unwrap();
    rig.drain();
    rig.disconnect();
    // Made while away: no server saw it, so the new session can take it.
    let later = rig.c.input("table", None, b"next", rig.now).unwrap();
    rig.wait();
    let after = rig.open("s-2");
    assert_eq!(
        after,
        [
            Out::Event(Ev::Opened {
                session: "s-2".to_string(),
                resumed: false
            }),
            Out::Event(Ev::Input {
                request: input,
                outcome: InputStatus::Lost
            }),
            Out::Event(Ev::Published {
                request: publish,
                outcome: PublishStatus::Lost
            }),
            Out::Send(input_msg("table", later, None, b"next")),
        ]
    );
    let (r, _) = rig.try_feed(&input_result(input, InputOutcome::Accepted));
    assert_eq!(r, Err(ClientError::UnknownRequest { request: input }));
    rig.disconnect();
    rig.wait();
    let again = rig.open("s-3");
    let lost = Ev::Input {
        request: later,
        outcome: InputStatus::Lost,
    };
    assert_eq!(events(&again)[1..], [lost], "each loss is told once");
}

#[test]
fn requests_the_session_cannot_hold_are_refused_up_front() {
    let mut rig: Rig<1, 2, 4> = Rig {
        c: ClientSession::new(ClientConfig::default(), 3, Instant::ZERO),
        now: Instant::ZERO,
    };
    let too_big = RequestError::PayloadTooLarge { len: 5, max: 4 };
    assert_eq!(rig.c.input("r", None, b"12345", rig.now), Err(too_big));
    let long = "x".repeat(200);
    assert_eq!(
        rig.c.input(&long, None, b"", rig.now),
        Err(RequestError::NameTooLong)
    );
    assert_eq!(
        rig.c.publish(&long, b"", None, rig.now),
        Err(RequestError::NameTooLong)
    );
    assert_eq!(
        rig.c.subscribe(&long, rig.now),
        Err(RequestError::NameTooLong)
    );
    rig.c.input("r", None, b"1234", rig.now).unwrap();
    rig.c.publish("t", b"", None, rig.now).unwrap();
    assert_eq!(
        rig.c.input("r", None, b"", rig.now),
        Err(RequestError::TooManyPending)
    );
    rig.c.subscribe("a", rig.now).unwrap();
    assert_eq!(
        rig.c.subscribe("a", rig.now),
        Err(RequestError::AlreadySubscribed)
    );
    assert_eq!(
        rig.c.subscribe("b", rig.now),
        Err(RequestError::TooManySubscriptions)
    );
    assert_eq!(
        rig.c.unsubscribe("b", rig.now),
        Err(RequestError::NotSubscribed)
    );
    assert_eq!(rig.c.pending(), 2);
    assert_eq!(rig.c.subscriptions(), 1);
}
