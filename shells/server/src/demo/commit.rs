//! Commit and reveal: a round's outcome is fixed, hashed and published before
//! picks close, and revealed with its salt afterwards so anyone can check it.

use std::fmt::Write;

use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// Lowest and highest outcome of a round (a die).
pub const OUTCOMES: std::ops::RangeInclusive<u8> = 1..=6;

/// One round's secret: its outcome and the salt that hides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secret {
    /// The round it belongs to.
    pub round: u32,
    /// The outcome, 1 to 6.
    pub outcome: u8,
    /// 32 lowercase hex characters (16 random bytes).
    pub salt: String,
}

impl Secret {
    /// Draws round `round`'s outcome and salt from `rng`.
    pub fn draw(round: u32, rng: &mut impl RngCore) -> Self {
        let outcome = rng.random_range(OUTCOMES);
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        Secret {
            round,
            outcome,
            salt: hex(&salt),
        }
    }

    /// Lowercase hex SHA-256 of `"{round}:{outcome}:{salt}"`.
    pub fn commitment(&self) -> String {
        commitment(self.round, self.outcome, &self.salt)
    }
}

/// Lowercase hex SHA-256 of `"{round}:{outcome}:{salt}"`: what a player
/// recomputes from the reveal to check the commitment.
pub fn commitment(round: u32, outcome: u8, salt: &str) -> String {
    let digest = Sha256::digest(format!("{round}:{outcome}:{salt}").as_bytes());
    hex(&digest)
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn the_commitment_is_the_sha256_of_the_documented_string() {
        // printf '7:3:0f1e' | sha256sum
        assert_eq!(
            commitment(7, 3, "0f1e"),
            "121860ad8e8c64cf57d916f9af9f93697003fce29b0e3701b72af5aaef618e8a"
        );
    }

    #[test]
    fn draws_are_seeded_and_in_range() {
        let mut a = ChaCha20Rng::seed_from_u64(1);
        let mut b = ChaCha20Rng::seed_from_u64(1);
        for round in 0..100 {
            let s = Secret::draw(round, &mut a);
            assert_eq!(s, Secret::draw(round, &mut b));
            assert!(OUTCOMES.contains(&s.outcome));
            assert_eq!(s.salt.len(), 32);
            assert!(
                s.salt
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
            assert_eq!(s.commitment().len(), 64);
        }
    }
}
