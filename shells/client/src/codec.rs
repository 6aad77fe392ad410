//! The two wire encodings, as WebSocket messages.

use async_tungstenite::tungstenite::Message;
use onbeat_core::proto::codec::{decode_json, decode_postcard, encode_json, encode_postcard};
use onbeat_core::proto::{
    ClientMsg, DecodeError, EncodeError, SUBPROTOCOL_JSON, SUBPROTOCOL_POSTCARD, ServerMsg,
};

/// The encoding a connection speaks, chosen by its WebSocket subprotocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Codec {
    /// `onbeat.json.v1`: JSON in text frames.
    #[default]
    Json,
    /// `onbeat.postcard.v1`: postcard in binary frames.
    Postcard,
}

/// The largest frame the postcard encoder writes before it gives up; the
/// server refuses anything past its `max_frame` (64 KiB by default) anyway.
const POSTCARD_LIMIT: usize = 1 << 20;

impl Codec {
    /// The subprotocol to offer.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Codec::Json => SUBPROTOCOL_JSON,
            Codec::Postcard => SUBPROTOCOL_POSTCARD,
        }
    }

    /// Encodes `msg` as one WebSocket message. `buf` is scratch space for
    /// postcard, kept between calls so that encoding does not allocate twice.
    pub fn encode(self, msg: &ClientMsg<'_>, buf: &mut Vec<u8>) -> Result<Message, EncodeError> {
        match self {
            Codec::Json => Ok(Message::text(encode_json(msg))),
            Codec::Postcard => {
                if buf.len() < 1024 {
                    buf.resize(1024, 0);
                }
                loop {
                    let len = buf.len();
                    match encode_postcard(msg, buf) {
                        Ok(frame) => return Ok(Message::binary(frame.to_vec())),
                        Err(EncodeError::BufferTooSmall) if len < POSTCARD_LIMIT => {
                            buf.resize(len * 4, 0);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }

    /// Decodes one frame's bytes; payloads borrow from `frame`.
    pub fn decode(self, frame: &[u8]) -> Result<ServerMsg<'_>, DecodeError> {
        match self {
            Codec::Json => decode_json(frame),
            Codec::Postcard => decode_postcard(frame),
        }
    }

    /// Parses `json` or `postcard`.
    pub fn from_name(name: &str) -> Option<Codec> {
        match name {
            "json" => Some(Codec::Json),
            "postcard" => Some(Codec::Postcard),
            _ => None,
        }
    }
}
