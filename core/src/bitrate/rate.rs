//! Bit rates as plain values.

use core::fmt;

/// A rate in bits per second.
///
/// Arithmetic saturates: a rate past `u64::MAX` bit/s is not a reachable
/// state, and a negative one is zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bitrate(u64);

impl Bitrate {
    /// No bits at all.
    pub const ZERO: Bitrate = Bitrate(0);
    /// The largest representable rate.
    pub const MAX: Bitrate = Bitrate(u64::MAX);

    /// `bps` bits per second.
    pub const fn from_bps(bps: u64) -> Self {
        Bitrate(bps)
    }

    /// `kbps` kilobits (1000 bits) per second, saturating.
    pub const fn from_kbps(kbps: u64) -> Self {
        Bitrate(kbps.saturating_mul(1_000))
    }

    /// `mbps` megabits (10^6 bits) per second, saturating.
    pub const fn from_mbps(mbps: u64) -> Self {
        Bitrate(mbps.saturating_mul(1_000_000))
    }

    /// Bits per second.
    pub const fn bps(self) -> u64 {
        self.0
    }

    /// Whole kilobits per second.
    pub const fn kbps(self) -> u64 {
        self.0 / 1_000
    }

    /// `self + other`, clamped to [`Bitrate::MAX`].
    pub const fn saturating_add(self, other: Bitrate) -> Bitrate {
        Bitrate(self.0.saturating_add(other.0))
    }

    /// `self - other`, clamped to zero.
    pub const fn saturating_sub(self, other: Bitrate) -> Bitrate {
        Bitrate(self.0.saturating_sub(other.0))
    }

    /// `self` scaled by `factor`; NaN and negative factors give zero and the
    /// result saturates at [`Bitrate::MAX`].
    pub fn scale(self, factor: f64) -> Bitrate {
        Bitrate::from_f64(self.0 as f64 * factor)
    }

    /// A rate from a floating-point number of bits per second: NaN and
    /// negatives give zero, values past `u64::MAX` saturate.
    pub(crate) fn from_f64(bps: f64) -> Bitrate {
        // `as` saturates and maps NaN to zero, which is exactly the rule wanted.
        Bitrate(bps as u64)
    }

    /// Bits per second as an `f64`.
    pub(crate) fn as_f64(self) -> f64 {
        self.0 as f64
    }

    /// The rate at which `bytes` were delivered over `micros` microseconds,
    /// or `None` for an empty span.
    pub(crate) fn from_bytes_over(bytes: u64, micros: u64) -> Option<Bitrate> {
        if micros == 0 {
            return None;
        }
        let bits = u128::from(bytes) * 8 * 1_000_000;
        let bps = bits / u128::from(micros);
        Some(Bitrate(u64::try_from(bps).unwrap_or(u64::MAX)))
    }

    /// `self` clamped to `[lo, hi]`; `hi` wins if the two cross.
    pub(crate) fn clamp_to(self, lo: Bitrate, hi: Bitrate) -> Bitrate {
        self.max(lo).min(hi)
    }
}

impl fmt::Display for Bitrate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}kbit/s", self.0 / 1_000, self.0 % 1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_rejects_nonsense_factors() {
        assert_eq!(
            Bitrate::MAX.saturating_add(Bitrate::from_bps(1)),
            Bitrate::MAX
        );
        assert_eq!(
            Bitrate::ZERO.saturating_sub(Bitrate::from_bps(1)),
            Bitrate::ZERO
        );
        assert_eq!(Bitrate::from_kbps(100).scale(f64::NAN), Bitrate::ZERO);
        assert_eq!(Bitrate::from_kbps(100).scale(-2.0), Bitrate::ZERO);
        assert_eq!(Bitrate::MAX.scale(4.0), Bitrate::MAX);
        assert_eq!(Bitrate::from_kbps(100).scale(1.5), Bitrate::from_kbps(150));
    }

    #[test]
    fn delivery_rate_from_bytes_and_time() {
        // 1250 bytes in 10 ms is 1 Mbit/s.
        assert_eq!(
            Bitrate::from_bytes_over(1_250, 10_000),
            Some(Bitrate::from_mbps(1))
        );
        assert_eq!(Bitrate::from_bytes_over(1, 0), None);
        assert_eq!(Bitrate::from_bytes_over(u64::MAX, 1), Some(Bitrate::MAX));
    }
}
