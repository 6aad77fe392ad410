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
use std::hash::{BuildHasherDefault, Hasher};

use onbeat_core::dispatch::Frame;
use onbeat_core::proto::codec::{decode_json, decode_postcard};
use onbeat_core::proto::{DecodeError, ServerMsg};

/// Frames kept: every frame of the publishes in flight at once. Links delay
/// each client's copy differently (heavy jitter spreads one fan-out over a
/// second or more), and a frame evicted before its last reader is decoded
/// again, which for JSON costs more than the rest of a delivery.
const KEEP: usize = 1024;

/// Hashes an address with one multiply: addresses are not chosen by an
/// adversary, and std's default hasher (SipHash, seeded per map) costs more
/// than the rest of a cache hit. Keeps the map's default construction free,
/// too, which matters as the shell takes the cache out for every frame.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // The high bits of a Fibonacci hash are the well-mixed ones, and
        // the map takes its bucket from the low bits: swap them over.
        self.0 = (n as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(32);
    }
}

/// The most recently decoded frames, found by their allocation's address.
///
/// The map is only looked up, never iterated, and evictions follow `order`,
/// so hashing cannot make two runs of one seed differ.
#[derive(Debug, Default)]
pub struct Decoded {
    by_address: HashMap<usize, (Frame, Box<ServerMsg<'static>>), BuildHasherDefault<AddressHasher>>,
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
