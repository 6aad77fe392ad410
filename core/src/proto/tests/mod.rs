//! Tests of the wire format: samples, golden examples, errors, and seeded
//! property tests over random and mutated frames.

mod errors;
mod golden;
mod property;
mod samples;

use super::codec::{decode_json, decode_postcard, encode_json, encode_postcard};
use super::{ClientMsg, DEFAULT_MAX_FRAME, ServerMsg};

/// Encodes in both encodings and checks that each decodes to the same value.
/// `ctx` says which case failed (for property tests, the seed).
fn assert_round_trips_client(msg: &ClientMsg<'_>, ctx: &str) {
    let mut buf = [0u8; DEFAULT_MAX_FRAME];
    let frame = encode_postcard(msg, &mut buf).expect("fits");
    let back = decode_postcard::<ClientMsg>(frame);
    assert_eq!(back.as_ref(), Ok(msg), "postcard, {ctx}");
    let json = encode_json(msg);
    let back = decode_json::<ClientMsg>(json.as_bytes());
    assert_eq!(back.as_ref(), Ok(msg), "json {json}, {ctx}");
}

/// As [`assert_round_trips_client`], for the other direction.
fn assert_round_trips_server(msg: &ServerMsg<'_>, ctx: &str) {
    let mut buf = [0u8; DEFAULT_MAX_FRAME];
    let frame = encode_postcard(msg, &mut buf).expect("fits");
    let back = decode_postcard::<ServerMsg>(frame);
    assert_eq!(back.as_ref(), Ok(msg), "postcard, {ctx}");
    let json = encode_json(msg);
    let back = decode_json::<ServerMsg>(json.as_bytes());
    assert_eq!(back.as_ref(), Ok(msg), "json {json}, {ctx}");
}

#[test]
fn every_sample_round_trips_in_both_encodings() {
    for msg in samples::client() {
        assert_round_trips_client(&msg, "sample");
    }
    for msg in samples::server() {
        assert_round_trips_server(&msg, "sample");
    }
}
