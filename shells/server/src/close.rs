//! How connections end: WebSocket close codes and the `error` frames the
//! shell itself sends.
//!
//! | cause | error code | close |
//! |---|---|---|
//! | bad/expired/forged token | `unauthorized` | 1008 |
//! | frame over `max_frame` | `frame_too_large` | 1009 |
//! | binary frame on JSON, text on postcard | `bad_frame` | 1003 |
//! | invalid UTF-8 in a text frame | `bad_frame` | 1007 |
//! | undecodable message, wrong version | `bad_frame`, `unsupported_version` | 1008 |
//! | frames past the connection's rate | `rate_limited` | 1008 |
//! | slow consumer, expired credentials, no `hello` | (none) | 1008 |
//! | resumed elsewhere | (none) | 1000 |
//! | hub full | `internal` | 1013 |
//! | server stopping | `shutting_down` | 1012 |
//!
//! The close reason is the hub's [`CloseCode::as_str`] (or the error code).

use bytes::Bytes;
use onbeat_core::dispatch::hub::{CloseCode, Codec};
use onbeat_core::proto::codec::{encode_json, encode_postcard};
use onbeat_core::proto::{ErrorCode, ErrorMsg, ErrorText, ServerMsg};

use crate::driver::ToConn;

/// 1000: done; nothing is wrong.
pub const NORMAL: u16 = 1000;
/// 1003: a data type the endpoint does not accept.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// 1007: a text frame that is not UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// 1008: the peer broke a rule of ours.
pub const POLICY: u16 = 1008;
/// 1009: a message too big to take.
pub const TOO_BIG: u16 = 1009;
/// 1012: the server is restarting; reconnect.
pub const SERVICE_RESTART: u16 = 1012;
/// 1013: try again later.
pub const TRY_AGAIN_LATER: u16 = 1013;

/// The WebSocket close code for a hub's close reason.
pub fn ws_code(code: CloseCode) -> u16 {
    match code {
        CloseCode::Replaced => NORMAL,
        CloseCode::Full => TRY_AGAIN_LATER,
        _ => POLICY,
    }
}

/// An `error` frame encoded for `codec`; `message` is cut to the protocol's
/// limit on a character boundary.
pub fn error_frame(codec: Codec, code: ErrorCode, message: &str) -> Bytes {
    let mut text = ErrorText::new();
    for c in message.chars() {
        if text.push(c).is_err() {
            break;
        }
    }
    let msg = ServerMsg::Error(ErrorMsg {
        code,
        request: None,
        message: text,
        topic: None,
    });
    match codec {
        Codec::Postcard => {
            let mut buf = [0u8; 512];
            // An error message is at most a few bytes of header plus the
            // 256-byte text, well within the buffer.
            let frame = encode_postcard(&msg, &mut buf).expect("an error frame fits 512 bytes");
            Bytes::copy_from_slice(frame)
        }
        _ => Bytes::from(encode_json(&msg)),
    }
}

/// The close every client gets when the server stops.
pub(crate) fn shutting_down(last: Bytes) -> ToConn {
    ToConn::Close {
        code: SERVICE_RESTART,
        reason: "shutting_down",
        last: Some(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_frames_follow_the_protocol() {
        let json = error_frame(Codec::Json, ErrorCode::Unauthorized, "token expired");
        assert_eq!(
            &json[..],
            br#"{"error":{"code":"unauthorized","request":null,"message":"token expired","topic":null}}"#
        );
        let long = "é".repeat(300);
        let frame = error_frame(Codec::Postcard, ErrorCode::BadFrame, &long);
        // variant 9, code 0, no request, a 2-byte varint length of 256, the
        // 256 bytes of text, then no topic.
        assert_eq!(&frame[..5], &[9, 0, 0, 0x80, 0x02]);
        assert_eq!(frame.len(), 5 + 256 + 1);
        assert_eq!(frame[5 + 256], 0);
    }
}
