//! Each kind of defect gives its own error, the same in both encodings.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::samples;
use crate::proto::codec::*;
use crate::proto::names::TOPIC_MAX;
use crate::proto::*;

fn postcard_frame(msg: &ClientMsg<'_>) -> Vec<u8> {
    let mut buf = [0u8; 1024];
    encode_postcard(msg, &mut buf).expect("fits").to_vec()
}

/// A `subscribe` whose topic is `len` bytes, in both encodings; built by hand
/// because a `Topic` cannot hold an oversize string.
fn subscribe_with_topic(len: usize) -> (Vec<u8>, String) {
    let topic = "t".repeat(len);
    let mut postcard = Vec::from([2u8]); // `subscribe` is variant 2.
    // Lengths are LEB128 varints: 7 bits a byte, low bits first.
    let (low, high) = (
        u8::try_from(len % 128).expect("< 128"),
        u8::try_from(len / 128).expect("len < 16384"),
    );
    if high == 0 {
        postcard.push(low);
    } else {
        postcard.extend_from_slice(&[low | 0x80, high]);
    }
    postcard.extend_from_slice(topic.as_bytes());
    postcard.push(0); // since: None
    (
        postcard,
        format!(r#"{{"subscribe":{{"topic":"{topic}","since":null}}}}"#),
    )
}

#[test]
fn frame_over_the_limit_is_refused_before_parsing() {
    let frame = [0u8; 100];
    let err = DecodeError::FrameTooLarge { len: 100, max: 99 };
    assert_eq!(decode_postcard_limited::<ClientMsg>(&frame, 99), Err(err));
    assert_eq!(decode_json_limited::<ClientMsg>(&frame, 99), Err(err));
    let big = alloc::vec![b' '; DEFAULT_MAX_FRAME + 1];
    assert!(matches!(
        decode_json::<ServerMsg>(&big),
        Err(DecodeError::FrameTooLarge { .. })
    ));
}

#[test]
fn string_over_its_limit_is_too_long_not_truncated() {
    let (postcard, json) = subscribe_with_topic(TOPIC_MAX);
    assert!(decode_postcard::<ClientMsg>(&postcard).is_ok());
    assert!(decode_json::<ClientMsg>(json.as_bytes()).is_ok());
    let (postcard, json) = subscribe_with_topic(TOPIC_MAX + 1);
    assert_eq!(
        decode_postcard::<ClientMsg>(&postcard),
        Err(DecodeError::TooLong)
    );
    assert_eq!(
        decode_json::<ClientMsg>(json.as_bytes()),
        Err(DecodeError::TooLong)
    );
}

#[test]
fn list_over_its_limit_is_too_long() {
    let members: Vec<String> = (0..=PRESENCE_SNAPSHOT_MAX)
        .map(|i| format!(r#""m{i}""#))
        .collect();
    let json = format!(
        r#"{{"presence":{{"room":"r","event":{{"snapshot":{{"members":[{}],"more":false}}}}}}}}"#,
        members.join(",")
    );
    assert_eq!(
        decode_json::<ServerMsg>(json.as_bytes()),
        Err(DecodeError::TooLong)
    );
}

#[test]
fn every_proper_prefix_is_truncated() {
    for msg in samples::client() {
        let frame = postcard_frame(&msg);
        for end in 0..frame.len() {
            assert_eq!(
                decode_postcard::<ClientMsg>(&frame[..end]),
                Err(DecodeError::Truncated),
                "postcard {msg:?} cut at {end}"
            );
        }
        let json = encode_json(&msg);
        // Cutting a JSON number short can leave a shorter valid number, so
        // cut only where the frame cannot be complete: before its last brace.
        for end in 0..json.len() - 1 {
            let got = decode_json::<ClientMsg>(&json.as_bytes()[..end]);
            assert_eq!(
                got,
                Err(DecodeError::Truncated),
                "json {json:?} cut at {end}"
            );
        }
    }
}

#[test]
fn wrong_types_are_invalid_or_malformed() {
    // JSON says what type a value is, so a mismatch is a schema error.
    let cases: [&[u8]; 4] = [
        br#"{"ping":{"seq":"7","t1":1}}"#,
        br#"{"ping":{"seq":-1,"t1":1}}"#,
        br#"{"subscribe":{"topic":5}}"#,
        br#"{"ping":{"seq":4294967296,"t1":1}}"#,
    ];
    for case in cases {
        assert_eq!(
            decode_json::<ClientMsg>(case),
            Err(DecodeError::Invalid),
            "{case:?}"
        );
    }
    // postcard does not, so the same mistake shows up as an impossible byte.
    let mut frame = postcard_frame(&samples::client()[2]); // subscribe, since: Some
    let option_tag = frame.len() - 3;
    frame[option_tag] = 2;
    assert_eq!(
        decode_postcard::<ClientMsg>(&frame),
        Err(DecodeError::Malformed)
    );
}

#[test]
fn missing_field_is_invalid_but_missing_option_is_none() {
    assert_eq!(
        decode_json::<ClientMsg>(br#"{"ping":{"seq":7}}"#),
        Err(DecodeError::Invalid)
    );
    let hello: ClientMsg = decode_json(br#"{"hello":{"version":1}}"#).expect("options default");
    assert_eq!(
        hello,
        ClientMsg::Hello(Hello {
            version: 1,
            resume: None,
            auth: None
        })
    );
}

#[test]
fn unknown_message_or_code_is_unknown_variant() {
    assert_eq!(
        decode_json::<ClientMsg>(br#"{"teleport":{}}"#),
        Err(DecodeError::UnknownVariant)
    );
    assert_eq!(
        decode_postcard::<ClientMsg>(&[200, 1]),
        Err(DecodeError::UnknownVariant)
    );
    let bad_code = br#"{"error":{"code":"on_fire","request":null,"message":""}}"#;
    assert_eq!(
        decode_json::<ServerMsg>(bad_code),
        Err(DecodeError::UnknownVariant)
    );
    // A client must not accept what only the server sends.
    let welcome = encode_json(&samples::server()[0]);
    assert_eq!(
        decode_json::<ClientMsg>(welcome.as_bytes()),
        Err(DecodeError::UnknownVariant)
    );
}

#[test]
fn syntax_errors_and_trailing_bytes_are_malformed() {
    assert_eq!(
        decode_json::<ClientMsg>(b"{ping}"),
        Err(DecodeError::Malformed)
    );
    let json = encode_json(&samples::client()[1]) + "x";
    assert_eq!(
        decode_json::<ClientMsg>(json.as_bytes()),
        Err(DecodeError::Malformed)
    );
    let mut frame = postcard_frame(&samples::client()[1]);
    frame.push(0);
    assert_eq!(
        decode_postcard::<ClientMsg>(&frame),
        Err(DecodeError::Malformed)
    );
}

#[test]
fn nesting_beyond_the_limit_is_refused_before_parsing() {
    let data = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let frame = |depth: usize| {
        format!(
            r#"{{"publish":{{"topic":"t","data":{},"at":null,"request":null}}}}"#,
            data(depth)
        )
    };
    let deepest = MAX_JSON_DEPTH - 2;
    assert!(decode_json::<ClientMsg>(frame(deepest).as_bytes()).is_ok());
    assert_eq!(
        decode_json::<ClientMsg>(frame(deepest + 1).as_bytes()),
        Err(DecodeError::TooDeep)
    );
    // Brackets inside strings are text, not nesting.
    let quoted = format!(
        r#"{{"unsubscribe":{{"topic":"{}"}}}}"#,
        "[".repeat(TOPIC_MAX + 1)
    );
    assert_eq!(
        decode_json::<ClientMsg>(quoted.as_bytes()),
        Err(DecodeError::TooLong)
    );
}

#[test]
fn bad_bytes_wrapper_is_invalid() {
    for data in [
        r#"{"$bytes":"AA="}"#,
        r#"{"$bytes":5}"#,
        r#"{"\u0024bytes":"!!!!"}"#,
    ] {
        let frame = format!(r#"{{"publish":{{"topic":"t","data":{data}}}}}"#);
        assert_eq!(
            decode_json::<ClientMsg>(frame.as_bytes()),
            Err(DecodeError::Invalid),
            "{data}"
        );
    }
}

#[test]
fn errors_display_and_are_errors() {
    let err: &dyn core::error::Error = &DecodeError::FrameTooLarge { len: 2, max: 1 };
    assert_eq!(format!("{err}"), "frame of 2 bytes exceeds the limit of 1");
    let mut small = [0u8; 2];
    let err = encode_postcard(&samples::client()[0], &mut small).unwrap_err();
    assert_eq!(err, EncodeError::BufferTooSmall);
}
