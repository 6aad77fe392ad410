//! Session ids and resume tokens, drawn from the hub's seeded stream.

use core::fmt::Write;

use rand_core::RngCore;

use super::Hub;
use crate::proto::{SessionId, Token};

impl Hub {
    /// A fresh session id (64 random bits) and resume token (128 random bits).
    ///
    /// Both are drawn from the seeded ChaCha20 stream: unguessable when the
    /// seed is, and the same in every run with the same seed. A collision with
    /// a live one is drawn again, so ids are unique.
    pub(super) fn fresh_ids(&mut self) -> (SessionId, Token) {
        let id = loop {
            let id = hex::<SessionId>("s-", &[self.rng.next_u64()]);
            if !self.by_id.contains_key(&id) {
                break id;
            }
        };
        (id, self.fresh_token())
    }

    /// A fresh resume token; each `welcome` issues a new one.
    pub(super) fn fresh_token(&mut self) -> Token {
        loop {
            let token = hex::<Token>("r-", &[self.rng.next_u64(), self.rng.next_u64()]);
            if !self.by_token.contains_key(&token) {
                return token;
            }
        }
    }
}

/// `prefix` followed by the words in hex.
fn hex<S: Write + Default>(prefix: &str, words: &[u64]) -> S {
    let mut s = S::default();
    // Both string types hold far more than the 2 + 32 characters written.
    let _ = s.write_str(prefix);
    for w in words {
        let _ = write!(s, "{w:016x}");
    }
    s
}
