//! Seeded property tests: random messages round-trip, and random or mutated
//! frames never panic a decoder. Every failure message carries the seed; set
//! `ONBEAT_SEED` to replay one.

use alloc::string::String;
use alloc::vec::Vec;
use std::format;

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{assert_round_trips_client, assert_round_trips_server};
use crate::proto::codec::*;
use crate::proto::names::*;
use crate::proto::*;
use crate::time::Instant;

const CASES: usize = 100_000;

fn seed() -> u64 {
    std::env::var("ONBEAT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0b3a_7001)
}

/// Characters that stress both encodings: quotes, escapes, controls, multi-byte.
const CHARS: &[char] = &[
    'a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\u{1}', 'é', '€', '🎲', '$', '{', '[',
];

fn string<const N: usize>(rng: &mut ChaCha8Rng) -> heapless::String<N> {
    let mut s = heapless::String::new();
    let want = if rng.random_bool(0.1) {
        N
    } else {
        rng.random_range(0..=N.min(12))
    };
    while s.len() < want {
        if s.push(CHARS[rng.random_range(0..CHARS.len())]).is_err() {
            break;
        }
    }
    s
}

fn option<T>(rng: &mut ChaCha8Rng, f: impl FnOnce(&mut ChaCha8Rng) -> T) -> Option<T> {
    rng.random_bool(0.5).then(|| f(rng))
}

/// A small random JSON value, sometimes with whitespace or the reserved shape,
/// so that every branch of the payload's JSON form is taken.
fn json_text(rng: &mut ChaCha8Rng, depth: usize, out: &mut String) {
    match rng.random_range(0..if depth == 0 { 4 } else { 7 }) {
        0 => out.push_str("null"),
        1 => out.push_str(&format!("{}", rng.random::<i32>())),
        2 => out.push_str(&format!("{}.5e3", rng.random::<u8>())),
        3 => out.push_str(r#""t\"x\u00e9""#),
        4 => out.push_str(r#"{"$bytes":"AAEC"}"#),
        5 => {
            out.push('[');
            for i in 0..rng.random_range(0..3) {
                if i > 0 {
                    out.push_str(", ");
                }
                json_text(rng, depth - 1, out);
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            for i in 0..rng.random_range(0..3) {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!(r#""k{i}":"#));
                json_text(rng, depth - 1, out);
            }
            out.push('}');
        }
    }
}

fn payload(rng: &mut ChaCha8Rng) -> Payload<'static> {
    let bytes = match rng.random_range(0..4) {
        0 => {
            let mut b = alloc::vec![0u8; rng.random_range(0..40)];
            rng.fill_bytes(&mut b);
            b
        }
        1 => {
            let mut text = String::new();
            if rng.random_bool(0.2) {
                text.push(' ');
            }
            json_text(rng, 3, &mut text);
            text.into_bytes()
        }
        2 => format!("{}1{}", "[".repeat(33), "]".repeat(33)).into_bytes(),
        _ => Vec::new(),
    };
    Payload::from(bytes)
}

fn position(rng: &mut ChaCha8Rng) -> Position {
    Position {
        epoch: rng.random(),
        offset: rng.random(),
    }
}

fn instant(rng: &mut ChaCha8Rng) -> Instant {
    Instant::from_micros(rng.random())
}

fn client_msg(rng: &mut ChaCha8Rng) -> ClientMsg<'static> {
    match rng.random_range(0..6) {
        0 => ClientMsg::Hello(Hello {
            version: rng.random(),
            resume: option(rng, string),
            auth: option(rng, string),
        }),
        1 => ClientMsg::Ping(ClockPing {
            seq: rng.random(),
            t1: instant(rng),
        }),
        2 => ClientMsg::Subscribe(Subscribe {
            topic: string(rng),
            since: option(rng, position),
        }),
        3 => ClientMsg::Unsubscribe(Unsubscribe { topic: string(rng) }),
        4 => ClientMsg::Publish(Publish {
            topic: string(rng),
            data: payload(rng),
            at: option(rng, instant),
            request: option(rng, |r| r.random()),
        }),
        _ => ClientMsg::Input(Input {
            room: string(rng),
            request: rng.random(),
            round: option(rng, |r| r.random()),
            data: payload(rng),
        }),
    }
}

fn server_msg(rng: &mut ChaCha8Rng) -> ServerMsg<'static> {
    const REJECTS: [RejectCode; 5] = [
        RejectCode::Late,
        RejectCode::NotOpen,
        RejectCode::RateLimited,
        RejectCode::Forbidden,
        RejectCode::Invalid,
    ];
    const REASONS: [NotRecovered; 4] = [
        NotRecovered::EpochChanged,
        NotRecovered::TooOld,
        NotRecovered::Ahead,
        NotRecovered::NoHistory,
    ];
    match rng.random_range(0..10) {
        0 => ServerMsg::Welcome(Welcome {
            version: rng.random(),
            session: string(rng),
            resume: string(rng),
            clock: ClockId(rng.random()),
            max_frame: rng.random(),
        }),
        1 => ServerMsg::Pong(ClockPong {
            seq: rng.random(),
            t1: instant(rng),
            t2: instant(rng),
            t3: instant(rng),
            clock: ClockId(rng.random()),
        }),
        2 => ServerMsg::Subscribed(Subscribed {
            topic: string(rng),
            position: position(rng),
            recovered: rng.random(),
            reason: option(rng, |r| REASONS[r.random_range(0..REASONS.len())]),
        }),
        3 => ServerMsg::Deliver(Deliver {
            topic: string(rng),
            epoch: rng.random(),
            offset: rng.random(),
            at: option(rng, instant),
            data: payload(rng),
        }),
        4 => ServerMsg::Gap(Gap {
            topic: string(rng),
            epoch: rng.random(),
            from: rng.random(),
            to: rng.random(),
        }),
        5 => ServerMsg::PublishAck(PublishAck {
            request: rng.random(),
            position: position(rng),
        }),
        6 => ServerMsg::InputResult(InputResult {
            request: rng.random(),
            outcome: if rng.random() {
                InputOutcome::Accepted
            } else {
                InputOutcome::Rejected(REJECTS[rng.random_range(0..REJECTS.len())])
            },
        }),
        7 => ServerMsg::Phase(PhaseAnnounce {
            room: string(rng),
            phase: Phase {
                round: rng.random(),
                index: rng.random(),
                name: string(rng),
                starts_at: instant(rng),
                ends_at: instant(rng),
                accepts_input: rng.random(),
            },
        }),
        8 => ServerMsg::Presence(Presence {
            room: string(rng),
            event: match rng.random_range(0..3) {
                0 => PresenceEvent::Join(string(rng)),
                1 => PresenceEvent::Leave(string(rng)),
                _ => {
                    let mut members = heapless::Vec::new();
                    for _ in 0..rng.random_range(0..=PRESENCE_SNAPSHOT_MAX) {
                        members.push(string(rng)).expect("within capacity");
                    }
                    PresenceEvent::Snapshot {
                        members,
                        more: rng.random(),
                    }
                }
            },
        }),
        _ => {
            const CODES: [ErrorCode; 3] = [
                ErrorCode::BadFrame,
                ErrorCode::Forbidden,
                ErrorCode::Internal,
            ];
            ServerMsg::Error(ErrorMsg {
                code: CODES[rng.random_range(0..CODES.len())],
                request: option(rng, |r| r.random()),
                message: string::<ERROR_TEXT_MAX>(rng),
                topic: option(rng, string::<TOPIC_MAX>),
            })
        }
    }
}

#[test]
fn random_messages_round_trip_in_both_encodings() {
    let seed = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for case in 0..CASES / 10 {
        let (c, s) = (client_msg(&mut rng), server_msg(&mut rng));
        let ctx = format!("seed {seed}, case {case}");
        assert_round_trips_client(&c, &ctx);
        assert_round_trips_server(&s, &ctx);
    }
}

/// Decodes `frame` as both message types in both encodings; whatever decodes
/// must re-encode to a frame that decodes to the same value.
fn decode_never_panics(frame: &[u8], ctx: &dyn Fn() -> String) {
    let mut buf = [0u8; DEFAULT_MAX_FRAME];
    if let Ok(msg) = decode_postcard::<ClientMsg>(frame) {
        let again = encode_postcard(&msg, &mut buf).expect("fits");
        assert_eq!(decode_postcard::<ClientMsg>(again), Ok(msg), "{}", ctx());
    }
    if let Ok(msg) = decode_postcard::<ServerMsg>(frame) {
        let again = encode_postcard(&msg, &mut buf).expect("fits");
        assert_eq!(decode_postcard::<ServerMsg>(again), Ok(msg), "{}", ctx());
    }
    if let Ok(msg) = decode_json::<ClientMsg>(frame) {
        let again = encode_json(&msg);
        assert_eq!(
            decode_json::<ClientMsg>(again.as_bytes()),
            Ok(msg),
            "{}",
            ctx()
        );
    }
    if let Ok(msg) = decode_json::<ServerMsg>(frame) {
        let again = encode_json(&msg);
        assert_eq!(
            decode_json::<ServerMsg>(again.as_bytes()),
            Ok(msg),
            "{}",
            ctx()
        );
    }
}

#[test]
fn random_bytes_never_panic_a_decoder() {
    let seed = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 1);
    const JSONISH: &[u8] = br#"{}[]":,0123456789-.eEtrufalsn\ $bytesAB=phgiodu"#;
    for case in 0..CASES {
        let mut frame = alloc::vec![0u8; rng.random_range(0..64)];
        if case % 2 == 0 {
            rng.fill_bytes(&mut frame);
        } else {
            for b in &mut frame {
                *b = JSONISH[rng.random_range(0..JSONISH.len())];
            }
        }
        decode_never_panics(&frame, &|| {
            format!("seed {seed}, case {case}, frame {frame:?}")
        });
    }
}

#[test]
fn mutated_frames_never_panic_a_decoder() {
    let seed = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 2);
    let mut buf = [0u8; DEFAULT_MAX_FRAME];
    for case in 0..CASES {
        let mut frame = match case % 4 {
            0 => encode_postcard(&client_msg(&mut rng), &mut buf)
                .expect("fits")
                .to_vec(),
            1 => encode_postcard(&server_msg(&mut rng), &mut buf)
                .expect("fits")
                .to_vec(),
            2 => encode_json(&client_msg(&mut rng)).into_bytes(),
            _ => encode_json(&server_msg(&mut rng)).into_bytes(),
        };
        for _ in 0..rng.random_range(1..4) {
            mutate(&mut rng, &mut frame);
        }
        decode_never_panics(&frame, &|| {
            format!("seed {seed}, case {case}, frame {frame:?}")
        });
    }
}

fn mutate(rng: &mut ChaCha8Rng, frame: &mut Vec<u8>) {
    if frame.is_empty() {
        frame.push(rng.random());
        return;
    }
    let at = rng.random_range(0..frame.len());
    match rng.random_range(0..5) {
        0 => frame[at] ^= 1 << rng.random_range(0..8),
        1 => frame[at] = rng.random(),
        2 => frame.insert(at, rng.random()),
        3 => {
            frame.remove(at);
        }
        _ => frame.truncate(at),
    }
}
