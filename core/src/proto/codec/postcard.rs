//! The binary encoding: postcard, one message per frame.

use super::cause::{self, Cause};
use super::{DEFAULT_MAX_FRAME, DecodeError, EncodeError, Message, check_size, refused};

/// Encodes `msg` as postcard into `buf`, returning the frame (a prefix of `buf`).
pub fn encode_postcard<'b, 'm, M: Message<'m>>(
    msg: &M,
    buf: &'b mut [u8],
) -> Result<&'b [u8], EncodeError> {
    match postcard::to_slice(msg, buf) {
        Ok(frame) => Ok(frame),
        Err(postcard::Error::SerializeBufferFull) => Err(EncodeError::BufferTooSmall),
        // The other serialization errors need an unsized sequence or a failing
        // `Display`, and no message contains either.
        Err(e) => unreachable!("postcard cannot fail on a message but did: {e}"),
    }
}

/// Decodes one postcard frame of at most [`DEFAULT_MAX_FRAME`] bytes.
/// Payloads borrow from `frame`.
pub fn decode_postcard<'a, M: Message<'a>>(frame: &'a [u8]) -> Result<M, DecodeError> {
    decode_postcard_limited(frame, DEFAULT_MAX_FRAME)
}

/// Decodes one postcard frame of at most `max_frame` bytes.
pub fn decode_postcard_limited<'a, M: Message<'a>>(
    frame: &'a [u8],
    max_frame: usize,
) -> Result<M, DecodeError> {
    check_size(frame, max_frame)?;
    let mut de = postcard::Deserializer::from_bytes(frame);
    let msg = cause::deserialize(&mut de).map_err(|(e, cause)| match cause {
        Cause::Format => format_error(e),
        Cause::Refused(call) => refused(call),
    })?;
    match de.finalize() {
        Ok([]) => Ok(msg),
        _ => Err(DecodeError::Malformed),
    }
}

fn format_error(e: postcard::Error) -> DecodeError {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => DecodeError::Truncated,
        postcard::Error::SerdeDeCustom => DecodeError::Invalid,
        _ => DecodeError::Malformed,
    }
}
