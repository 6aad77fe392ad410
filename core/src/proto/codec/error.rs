//! What can go wrong turning messages into frames and back.

use core::fmt;

/// Why a frame could not be decoded. The same defect gives the same error in
/// both encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame is longer than the decoder's limit; it was not parsed.
    FrameTooLarge {
        /// The frame's length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The frame ended in the middle of a message.
    Truncated,
    /// The frame is not valid postcard or JSON (bad varint, boolean, option
    /// tag or UTF-8, JSON syntax) or has bytes after the message.
    Malformed,
    /// JSON nested deeper than [`MAX_JSON_DEPTH`](super::MAX_JSON_DEPTH); it was not parsed.
    TooDeep,
    /// A message type, code or variant this version does not know.
    UnknownVariant,
    /// A string or list longer than its documented limit.
    TooLong,
    /// Well-formed, but not a valid message: a value of the wrong type or out
    /// of range, a missing field, or a `$bytes` payload that is not base64.
    Invalid,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::FrameTooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the limit of {max}")
            }
            DecodeError::Truncated => f.write_str("frame ends in the middle of a message"),
            DecodeError::Malformed => f.write_str("frame is not well-formed"),
            DecodeError::TooDeep => f.write_str("JSON nesting exceeds the limit"),
            DecodeError::UnknownVariant => f.write_str("unknown message type or code"),
            DecodeError::TooLong => f.write_str("string or list exceeds its limit"),
            DecodeError::Invalid => f.write_str("frame is not a valid message"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Why a message could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is too small for the message.
    BufferTooSmall,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall => f.write_str("output buffer too small for the message"),
        }
    }
}

impl core::error::Error for EncodeError {}
