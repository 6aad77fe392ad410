//! One message of every kind, with the values the examples in
//! `docs/protocol.md` show.

use alloc::vec;
use alloc::vec::Vec;

use crate::proto::*;
use crate::time::Instant;

pub(super) fn s<const N: usize>(text: &str) -> heapless::String<N> {
    heapless::String::try_from(text).expect("sample strings fit")
}

pub(super) fn client() -> Vec<ClientMsg<'static>> {
    vec![
        ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            resume: Some(s("r-7f3a9c")),
            auth: None,
        }),
        ClientMsg::Ping(ClockPing {
            seq: 7,
            t1: Instant::from_micros(1_000_000),
        }),
        ClientMsg::Subscribe(Subscribe {
            topic: s("table-1/chat"),
            since: Some(Position {
                epoch: 3,
                offset: 42,
            }),
        }),
        ClientMsg::Unsubscribe(Unsubscribe {
            topic: s("table-1/chat"),
        }),
        ClientMsg::Publish(Publish {
            topic: s("table-1/chat"),
            data: Payload::new(br#"{"text":"hi"}"#),
            at: None,
            request: Some(11),
        }),
        ClientMsg::Input(Input {
            room: s("table-1"),
            request: 12,
            round: Some(4),
            data: Payload::new(&[0x00, 0xff, 0x10]),
        }),
    ]
}

pub(super) fn server() -> Vec<ServerMsg<'static>> {
    let mut members = heapless::Vec::new();
    for m in ["alice", "bob"] {
        members.push(s(m)).expect("two fit");
    }
    vec![
        ServerMsg::Welcome(Welcome {
            version: PROTOCOL_VERSION,
            session: s("s-91c2"),
            resume: s("r-7f3a9c"),
            clock: ClockId(123_456_789),
            max_frame: 65_536,
        }),
        ServerMsg::Pong(ClockPong {
            seq: 7,
            t1: Instant::from_micros(1_000_000),
            t2: Instant::from_micros(5_000_250),
            t3: Instant::from_micros(5_000_300),
            clock: ClockId(123_456_789),
        }),
        ServerMsg::Subscribed(Subscribed {
            topic: s("table-1/chat"),
            position: Position {
                epoch: 4,
                offset: 0,
            },
            recovered: false,
            reason: Some(NotRecovered::EpochChanged),
        }),
        ServerMsg::Deliver(Deliver {
            topic: s("table-1/chat"),
            epoch: 4,
            offset: 0,
            at: Some(Instant::from_micros(5_250_000)),
            data: Payload::new(br#"{"text":"hi"}"#),
        }),
        ServerMsg::Gap(Gap {
            topic: s("table-1/cursor"),
            epoch: 4,
            from: 10,
            to: 13,
        }),
        ServerMsg::PublishAck(PublishAck {
            request: 11,
            position: Position {
                epoch: 4,
                offset: 0,
            },
        }),
        ServerMsg::InputResult(InputResult {
            request: 12,
            outcome: InputOutcome::Rejected(RejectCode::Late),
        }),
        ServerMsg::Phase(PhaseAnnounce {
            room: s("table-1"),
            phase: Phase {
                round: 4,
                index: 1,
                name: s("reveal"),
                starts_at: Instant::from_micros(6_000_000),
                ends_at: Instant::from_micros(9_000_000),
                accepts_input: false,
            },
        }),
        ServerMsg::Presence(Presence {
            room: s("table-1"),
            event: PresenceEvent::Snapshot {
                members,
                more: false,
            },
        }),
        ServerMsg::Error(ErrorMsg {
            code: ErrorCode::Forbidden,
            request: Some(11),
            message: s("read-only topic"),
            topic: None,
        }),
    ]
}
