//! Session ids and resume tokens, drawn from the hub's seeded stream.
//!
//! The hub keeps them as numbers (64 and 128 bits) and writes them as text
//! (`s-` and `r-` followed by lowercase hex) only on the wire: its indexes then
//! hold 8 and 16 bytes per session instead of the bounded strings' 65 and
//! 513. A text that is not exactly what the hub writes names no session.

use core::fmt::Write;

use rand_core::RngCore;

use super::Hub;
use crate::proto::{SessionId, Token};

const SESSION_PREFIX: &str = "s-";
const TOKEN_PREFIX: &str = "r-";

impl Hub {
    /// A fresh session id (64 random bits) and resume token (128 random bits).
    ///
    /// Both are drawn from the seeded ChaCha20 stream: unguessable when the
    /// seed is, and the same in every run with the same seed. A collision with
    /// a live one is drawn again, so ids are unique; so is one that would name
    /// another shard (see [`super::home`]), which costs as many draws as there
    /// are shards on average and none with one.
    pub(super) fn fresh_ids(&mut self) -> (u64, u128) {
        let id = loop {
            let id = self.rng.next_u64();
            if self.is_home_of(u128::from(id)) && !self.by_id.contains_key(&id) {
                break id;
            }
        };
        (id, self.fresh_token())
    }

    /// A fresh resume token; each `welcome` issues a new one.
    pub(super) fn fresh_token(&mut self) -> u128 {
        loop {
            let (high, low) = (self.rng.next_u64(), self.rng.next_u64());
            let token = (u128::from(high) << 64) | u128::from(low);
            if self.is_home_of(token) && !self.by_token.contains_key(&token) {
                return token;
            }
        }
    }
}

/// The wire form of session id `id`.
pub(super) fn session_text(id: u64) -> SessionId {
    let mut s = SessionId::new();
    // 2 + 16 characters fit the 64 of a session id.
    let _ = write!(s, "{SESSION_PREFIX}{id:016x}");
    s
}

/// The wire form of resume token `token`.
pub(super) fn token_text(token: u128) -> Token {
    let mut s = Token::new();
    // 2 + 32 characters fit the 512 of a token.
    let _ = write!(s, "{TOKEN_PREFIX}{token:032x}");
    s
}

/// The session id `text` names, if it is one the hub could have written.
pub(super) fn parse_session(text: &str) -> Option<u64> {
    let hex = parse_hex(text, SESSION_PREFIX, 16)?;
    u64::try_from(hex).ok()
}

/// The resume token `text` names, if it is one the hub could have written.
pub(super) fn parse_token(text: &str) -> Option<u128> {
    parse_hex(text, TOKEN_PREFIX, 32)
}

/// `prefix` then exactly `digits` lowercase hex digits, as a number.
fn parse_hex(text: &str, prefix: &str, digits: usize) -> Option<u128> {
    let hex = text.strip_prefix(prefix)?;
    let lowercase_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    if hex.len() != digits || !hex.as_bytes().iter().all(lowercase_hex) {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip_and_only_the_written_form_parses() {
        let token = 0x0123_4567_89ab_cdef_0011_2233_4455_6677_u128;
        let text = token_text(token);
        assert_eq!(text.as_str(), "r-0123456789abcdef0011223344556677");
        assert_eq!(parse_token(&text), Some(token));
        assert_eq!(parse_token("r-0123456789ABCDEF0011223344556677"), None);
        assert_eq!(parse_token("r-0123456789abcdef001122334455667"), None);
        assert_eq!(parse_token("r-+123456789abcdef0011223344556677"), None);
        assert_eq!(parse_token("s-0123456789abcdef0011223344556677"), None);
        let id = session_text(7);
        assert_eq!(id.as_str(), "s-0000000000000007");
        assert_eq!(parse_session(&id), Some(7));
        assert_eq!(parse_session("s-7"), None);
    }
}
