//! Decoding arbitrary bytes: never a panic, and whatever decodes re-encodes
//! to a frame that decodes to the same message.
//!
//! `onbeat-tests` includes this file by path, so it depends on nothing but
//! onbeat-core.

use onbeat_core::proto::codec::{decode_json, decode_postcard, encode_json, encode_postcard};
use onbeat_core::proto::{ClientMsg, DEFAULT_MAX_FRAME, ServerMsg};

/// Decodes `frame` as postcard in both directions and checks any success.
pub fn postcard(frame: &[u8]) {
    let mut buf = vec![0u8; DEFAULT_MAX_FRAME];
    if let Ok(msg) = decode_postcard::<ClientMsg>(frame) {
        let again = encode_postcard(&msg, &mut buf).expect("a decoded frame fits its limit");
        assert_eq!(decode_postcard::<ClientMsg>(again), Ok(msg));
    }
    if let Ok(msg) = decode_postcard::<ServerMsg>(frame) {
        let again = encode_postcard(&msg, &mut buf).expect("a decoded frame fits its limit");
        assert_eq!(decode_postcard::<ServerMsg>(again), Ok(msg));
    }
}

/// Decodes `frame` as JSON in both directions and checks any success.
pub fn json(frame: &[u8]) {
    if let Ok(msg) = decode_json::<ClientMsg>(frame) {
        let again = encode_json(&msg);
        assert_eq!(decode_json::<ClientMsg>(again.as_bytes()), Ok(msg));
    }
    if let Ok(msg) = decode_json::<ServerMsg>(frame) {
        let again = encode_json(&msg);
        assert_eq!(decode_json::<ServerMsg>(again.as_bytes()), Ok(msg));
    }
}
