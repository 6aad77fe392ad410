//! Encoded outbound frames, shared between every recipient.

use alloc::sync::Arc;
use core::fmt;
use core::ops::Deref;

use crate::proto::ServerMsg;
use crate::proto::codec::encode_json;

/// The largest postcard frame encoded without an intermediate vector.
const STACK_FRAME: usize = 512;

/// The wire format a connection speaks, chosen by its WebSocket subprotocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// `onbeat.json.v1`: text frames.
    Json,
    /// `onbeat.postcard.v1`: binary frames.
    Postcard,
}

/// One encoded server message, ready to write as one WebSocket message.
///
/// Reference-counted: a message fanned out to many connections is encoded once
/// per wire format and every recipient's queue holds a clone of the same
/// allocation. Cloning never copies bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame(Arc<[u8]>);

impl Frame {
    /// The frame's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether `a` and `b` share one allocation (the same encoded message).
    pub fn ptr_eq(a: &Frame, b: &Frame) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// How many holders share this frame's allocation (queues, history, caller).
    pub fn share_count(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// Encodes `msg` in `codec`.
    ///
    /// A postcard frame up to [`STACK_FRAME`] bytes is encoded on the stack
    /// and copied into its shared allocation: one allocation per frame instead
    /// of a growing vector plus the copy into an `Arc`.
    pub(crate) fn encode(msg: &ServerMsg<'_>, codec: Codec) -> Frame {
        match codec {
            Codec::Json => Frame(Arc::from(encode_json(msg).into_bytes())),
            Codec::Postcard => {
                let mut buf = [0u8; STACK_FRAME];
                match postcard::to_slice(msg, &mut buf) {
                    Ok(bytes) => Frame(Arc::from(&*bytes)),
                    // postcard fails only on a full buffer (a larger frame),
                    // an unsized sequence or a failing `Display`; server
                    // messages have neither of the last two.
                    Err(_) => Frame(Arc::from(
                        postcard::to_allocvec(msg).expect("server messages always encode"),
                    )),
                }
            }
        }
    }
}

/// Bytes already encoded as one server message, e.g. by a shell writing
/// messages of its own beside the hub's.
impl From<alloc::vec::Vec<u8>> for Frame {
    fn from(bytes: alloc::vec::Vec<u8>) -> Frame {
        Frame(Arc::from(bytes))
    }
}

impl Deref for Frame {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame(b\"{}\")", self.0.escape_ascii())
    }
}

/// A message encoded lazily, at most once per format.
#[derive(Clone, Debug, Default)]
pub(crate) struct Encoded {
    json: Option<Frame>,
    postcard: Option<Frame>,
}

impl Encoded {
    /// Whether the frame in `codec` has been encoded.
    #[cfg(test)]
    pub(crate) fn has(&self, codec: Codec) -> bool {
        match codec {
            Codec::Json => self.json.is_some(),
            Codec::Postcard => self.postcard.is_some(),
        }
    }

    /// The frame in `codec`, encoding `msg` on first use.
    #[inline]
    pub(crate) fn get<'m>(&mut self, codec: Codec, msg: impl FnOnce() -> ServerMsg<'m>) -> &Frame {
        let slot = match codec {
            Codec::Json => &mut self.json,
            Codec::Postcard => &mut self.postcard,
        };
        slot.get_or_insert_with(|| Frame::encode(&msg(), codec))
    }
}
