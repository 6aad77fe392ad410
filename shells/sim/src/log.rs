//! The run's event log, kept as a running 64-bit hash.
//!
//! Every delivered or dropped packet and every machine output is folded into an
//! FNV-1a hash of its fields, written as little-endian bytes. FNV-1a is fixed by
//! its specification (offset basis and prime), unlike std's `DefaultHasher`,
//! so two runs of one seed agree on the hash on every platform and every Rust
//! release, and any divergence between them shows up as a different hash.

use onbeat_core::Instant;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A 64-bit FNV-1a hasher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(FNV_OFFSET)
    }
}

impl Fnv64 {
    /// A hasher in its initial state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds `bytes` into the hash.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// Folds a `u64` in as eight little-endian bytes.
    pub fn write_u64(&mut self, v: u64) {
        self.write(&v.to_le_bytes());
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// Kinds of log records; the discriminant is hashed, so it is part of the format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Record {
    /// A packet reached the far end of a link.
    Delivered = 1,
    /// A link dropped a packet.
    Dropped = 2,
    /// A state machine produced an output.
    Output = 3,
}

/// The running hash of a run's events, plus a count of them.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    hash: Fnv64,
    records: u64,
}

impl EventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a record of `kind` at true time `at`, about `subject` (a link
    /// or node id), with the record's fields.
    pub fn append(&mut self, kind: Record, at: Instant, subject: u64, fields: &[u64]) {
        self.hash.write(&[kind as u8]);
        self.hash.write_u64(at.as_micros());
        self.hash.write_u64(subject);
        self.hash.write_u64(fields.len() as u64);
        for &f in fields {
            self.hash.write_u64(f);
        }
        self.records += 1;
    }

    /// The hash of everything appended so far.
    pub fn hash(&self) -> u64 {
        self.hash.finish()
    }

    /// How many records have been appended.
    pub fn records(&self) -> u64 {
        self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_reference_vectors() {
        // From the FNV specification's test suite.
        let h = |s: &str| {
            let mut f = Fnv64::new();
            f.write(s.as_bytes());
            f.finish()
        };
        assert_eq!(h(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(h("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(h("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn order_and_content_change_the_hash() {
        let t = Instant::from_micros(10);
        let mut a = EventLog::new();
        a.append(Record::Delivered, t, 1, &[5]);
        a.append(Record::Dropped, t, 1, &[6]);
        let mut b = EventLog::new();
        b.append(Record::Dropped, t, 1, &[6]);
        b.append(Record::Delivered, t, 1, &[5]);
        let mut c = EventLog::new();
        c.append(Record::Delivered, t, 1, &[5]);
        c.append(Record::Dropped, t, 1, &[6]);
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), c.hash());
        assert_eq!(a.records(), 2);
    }
}
