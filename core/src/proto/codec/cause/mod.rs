//! Finds out where in a message a decode error arose.
//!
//! postcard turns every error raised by a `Deserialize` impl into the same
//! `SerdeDeCustom`, and serde_json into a message string, so the error alone
//! cannot tell a string over its limit from an unknown message tag. [`Tracked`]
//! wraps the format's deserializer (as serde_path_to_error does) and records,
//! at the innermost point an error appears, whether the format refused the
//! bytes or a `Deserialize` impl refused a well-formed value, and in which kind
//! of call. Outer layers see the cause already set and leave it alone.

use core::cell::Cell;

use serde::de::{self, Deserializer};

mod access;
mod deserializer;
mod visitor;

/// Who refused the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The format: its own error says why.
    Format,
    /// A `Deserialize` impl, given a well-formed value during this kind of call.
    Refused(Call),
}

/// The kind of deserializer call a refused value was read by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    /// `deserialize_str` / `deserialize_string`: only bounded strings refuse, for length.
    Str,
    /// `deserialize_seq`: only bounded lists refuse, for length.
    Seq,
    /// `deserialize_identifier`: a message, code or variant name or index.
    Identifier,
    /// Anything else.
    Other,
}

/// Deserializes a `T` from `de`, saying what caused the error if there is one.
pub(crate) fn deserialize<'de, T, D>(de: D) -> Result<T, (D::Error, Cause)>
where
    T: de::Deserialize<'de>,
    D: Deserializer<'de>,
{
    let cause = Cell::new(None);
    let result = T::deserialize(Tracked { de, cause: &cause });
    // Unset only when `T::deserialize` itself refused after reading.
    result.map_err(|e| (e, cause.get().unwrap_or(Cause::Refused(Call::Other))))
}

type Slot<'c> = &'c Cell<Option<Cause>>;

/// Records `cause` if `result` failed and nothing deeper recorded one first.
fn note<T, E>(slot: Slot<'_>, result: Result<T, E>, cause: Cause) -> Result<T, E> {
    if result.is_err() && slot.get().is_none() {
        slot.set(Some(cause));
    }
    result
}

struct Tracked<'c, D> {
    de: D,
    cause: Slot<'c>,
}

struct Wrap<'c, V> {
    inner: V,
    cause: Slot<'c>,
    call: Call,
}

struct Seed<'c, S> {
    inner: S,
    cause: Slot<'c>,
}

impl<'c, D> Tracked<'c, D> {
    fn visitor<V>(&self, inner: V, call: Call) -> Wrap<'c, V> {
        Wrap {
            inner,
            cause: self.cause,
            call,
        }
    }
}

impl<'c, A> Tracked<'c, A> {
    fn seed<S>(&self, inner: S) -> Seed<'c, S> {
        Seed {
            inner,
            cause: self.cause,
        }
    }
}
