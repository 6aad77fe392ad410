//! The reader of the fuzz input: bytes, little-endian integers and spans of
//! time on many scales.

/// Reads values from the fuzz input; past its end every read is zero, so any
/// byte string is a complete script.
pub(super) struct Input<'a>(pub(super) &'a [u8]);

impl Input<'_> {
    pub(super) fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    pub(super) fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    pub(super) fn u32(&mut self) -> u32 {
        u32::from(self.u16()) | u32::from(self.u16()) << 16
    }

    pub(super) fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }

    /// A span in µs on a scale picked by the first byte, from nothing to
    /// anything a `u64` holds: the interesting values are at many scales.
    pub(super) fn span(&mut self) -> u64 {
        match self.byte() % 8 {
            0 => 0,
            1 => u64::from(self.byte()),
            2 => u64::from(self.u16()),
            3 => u64::from(self.u16()) * 100,
            4 => u64::from(self.u16()) * 1_000,
            5 => u64::from(self.u32()),
            6 => u64::from(self.u32()) * 1_000,
            _ => self.u64(),
        }
    }

    /// A signed span: either direction, same scales.
    pub(super) fn signed_span(&mut self) -> i64 {
        let negative = self.byte() & 1 == 1;
        let magnitude = i64::try_from(self.span()).unwrap_or(i64::MAX);
        if negative { -magnitude } else { magnitude }
    }
}
