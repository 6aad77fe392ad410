//! Why an input or a request was refused.

use core::fmt;

use serde::{Deserialize, Serialize};

/// The reason the server gives for refusing an input or request.
///
/// Sent on the wire in `snake_case` (`"late"`, `"not_open"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectCode {
    /// The input arrived after the phase that accepts it had closed.
    Late,
    /// No phase accepting inputs is open (yet) for this round.
    NotOpen,
    /// The sender exceeded its input rate.
    RateLimited,
    /// The sender's capabilities do not allow this.
    Forbidden,
    /// The room's logic refused the input's content.
    Invalid,
}

impl RejectCode {
    /// The code as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectCode::Late => "late",
            RejectCode::NotOpen => "not_open",
            RejectCode::RateLimited => "rate_limited",
            RejectCode::Forbidden => "forbidden",
            RejectCode::Invalid => "invalid",
        }
    }
}

impl fmt::Display for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
