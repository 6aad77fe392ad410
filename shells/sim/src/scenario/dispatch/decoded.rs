//! Decoded server frames, shared by the clients that read the same one.
//!
//! The hub encodes a message once per format and hands every recipient the
//! same reference-counted frame. Decoding is a pure function of the bytes, so
//! the clients that read one frame can share one decode: a hit gives exactly
//! what decoding again would. Entries hold their frame, so a frame's
//! allocation cannot be reused while it is a key. The clients still decode
//! every frame they are the first to read, in their own format, and a frame
//! that does not decode is never kept.

use std::collections::VecDeque;

use onbeat_core::dispatch::Frame;
use onbeat_core::proto::codec::{decode_json, decode_postcard};
use onbeat_core::proto::{DecodeError, ServerMsg};

/// Frames kept: more than one publish's fan-out is in flight at once, as
/// links delay each client's copy differently.
const KEEP: usize = 32;

/// The most recently decoded frames.
#[derive(Debug, Default)]
pub struct Decoded {
    recent: VecDeque<(Frame, ServerMsg<'static>)>,
}

impl Decoded {
    /// `frame` decoded as JSON or postcard.
    pub fn get(&mut self, frame: &Frame, json: bool) -> Result<&ServerMsg<'static>, DecodeError> {
        if let Some(i) = self
            .recent
            .iter()
            .position(|(f, _)| Frame::ptr_eq(f, frame))
        {
            return Ok(&self.recent[i].1);
        }
        let msg = if json {
            decode_json::<ServerMsg<'_>>(frame)
        } else {
            decode_postcard::<ServerMsg<'_>>(frame)
        }?;
        if self.recent.len() == KEEP {
            self.recent.pop_front();
        }
        self.recent.push_back((frame.clone(), msg.into_owned()));
        Ok(&self.recent.back().expect("just pushed").1)
    }
}
