//! Turning messages into frames and frames into messages.
//!
//! Two encodings of the same messages: postcard (binary; no `alloc` needed,
//! payloads borrowed from the frame) and JSON (needs `alloc`). Decoders take
//! untrusted bytes: they refuse frames over a size limit before parsing,
//! never panic, and report failures as a [`DecodeError`] that does not depend
//! on the encoding. Decoding postcard never allocates.

mod cause;
mod error;
#[cfg(feature = "alloc")]
mod json;
mod postcard;

pub use error::{DecodeError, EncodeError};
#[cfg(feature = "alloc")]
pub use json::{decode_json, decode_json_limited, encode_json};
pub use postcard::{decode_postcard, decode_postcard_limited, encode_postcard};

#[cfg(feature = "alloc")]
pub(crate) use json::json_depth;

use super::{ClientMsg, ServerMsg};

/// The largest frame decoders accept unless told otherwise, in bytes.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// The deepest nesting of JSON arrays and objects a JSON frame may have,
/// payload included. Checked before parsing.
pub const MAX_JSON_DEPTH: usize = 40;

/// A top-level protocol message: [`ClientMsg`] or [`ServerMsg`].
///
/// Sealed: the codec functions accept exactly these two types.
pub trait Message<'a>: serde::Serialize + serde::Deserialize<'a> + sealed::Sealed {}

impl<'a> Message<'a> for ClientMsg<'a> {}
impl<'a> Message<'a> for ServerMsg<'a> {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ClientMsg<'_> {}
    impl Sealed for super::ServerMsg<'_> {}
}

/// Refuses a frame over `max_frame` bytes before any parsing.
fn check_size(frame: &[u8], max_frame: usize) -> Result<(), DecodeError> {
    if frame.len() > max_frame {
        return Err(DecodeError::FrameTooLarge {
            len: frame.len(),
            max: max_frame,
        });
    }
    Ok(())
}

/// The error for a value a `Deserialize` impl refused, by where it was read.
fn refused(call: cause::Call) -> DecodeError {
    match call {
        cause::Call::Str | cause::Call::Seq => DecodeError::TooLong,
        cause::Call::Identifier => DecodeError::UnknownVariant,
        cause::Call::Other => DecodeError::Invalid,
    }
}
