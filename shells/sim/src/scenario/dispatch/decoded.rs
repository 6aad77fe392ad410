//! Decoded server frames, shared by the clients that read the same one.
//!
//! The hub encodes a message once per format and hands every recipient the
//! same reference-counted frame. Decoding is a pure function of the bytes, so
//! the clients that read one frame can share one decode: a hit gives exactly
//! what decoding again would. Entries hold their frame, so a frame's
//! allocation cannot be reused while it is a key. The clients still decode
//! every frame they are the first to read, in their own format, and a frame
//! that does not decode is never kept.

use std::collections::{HashMap, VecDeque};

use onbeat_core::dispatch::Frame;
use onbeat_core::proto::codec::{decode_json, decode_postcard};
use onbeat_core::proto::{DecodeError, ServerMsg};

/// Frames kept: every frame of the publishes in flight at once. Links delay
/// each client's copy differently (heavy jitter spreads one fan-out over a
/// second or more), and a frame evicted before its last reader is decoded
/// again, which for JSON costs more than the rest of a delivery.
const KEEP: usize = 1024;

/// The most recently decoded frames, found by their allocation's address.
///
/// The map is only looked up, never iterated, and evictions follow `order`,
/// so hashing cannot make two runs of one seed differ.
#[derive(Debug, Default)]
pub struct Decoded {
    by_address: HashMap<usize, (Frame, Box<ServerMsg<'static>>)>,
    /// Addresses in the order they were decoded, oldest first.
    order: VecDeque<usize>,
}

impl Decoded {
    /// `frame` decoded as JSON or postcard.
    pub fn get(&mut self, frame: &Frame, json: bool) -> Result<&ServerMsg<'static>, DecodeError> {
        let address = frame.as_bytes().as_ptr() as usize;
        // Decoded before: the entry's frame holds the allocation, so an
        // equal address is the same frame.
        if self.by_address.contains_key(&address) {
            return Ok(&self.by_address[&address].1);
        }
        let msg = if json {
            decode_json::<ServerMsg<'_>>(frame)
        } else {
            decode_postcard::<ServerMsg<'_>>(frame)
        }?;
        if self.order.len() == KEEP
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_address.remove(&oldest);
        }
        self.order.push_back(address);
        let entry = (frame.clone(), Box::new(msg.into_owned()));
        Ok(&self.by_address.entry(address).or_insert(entry).1)
    }
}
