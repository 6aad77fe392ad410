//! Application payloads: opaque bytes, borrowed from the frame when possible.
//!
//! postcard carries a payload as a byte string. JSON carries it as the `data`
//! value: verbatim when the bytes are themselves suitable JSON text (what a
//! browser publishes), otherwise as the reserved wrapper
//! `{"$bytes": "<standard base64 with padding>"}`. Either way the receiver gets
//! back exactly the bytes that were sent.

use core::fmt;
use core::hash::{Hash, Hasher};

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

#[cfg(feature = "alloc")]
use alloc::{borrow::Cow, vec::Vec};

/// The deepest JSON payload embedded verbatim; deeper ones travel as `$bytes`.
///
/// Together with the two levels a message wraps around its payload this stays
/// within [`MAX_JSON_DEPTH`](super::MAX_JSON_DEPTH).
pub const MAX_PAYLOAD_DEPTH: usize = 32;

/// The key of the JSON wrapper that carries non-JSON payloads.
pub const BYTES_KEY: &str = "$bytes";

/// An application payload: bytes the protocol carries without interpreting.
///
/// Decoding postcard borrows the payload from the frame. Decoding JSON borrows
/// verbatim JSON payloads and owns `$bytes` ones (which needs `alloc`).
/// Equality and hashing look only at the bytes.
#[derive(Clone)]
pub struct Payload<'a>(Bytes<'a>);

#[cfg(feature = "alloc")]
type Bytes<'a> = Cow<'a, [u8]>;
#[cfg(not(feature = "alloc"))]
type Bytes<'a> = &'a [u8];

impl<'a> Payload<'a> {
    /// A payload borrowing `bytes`.
    pub const fn new(bytes: &'a [u8]) -> Self {
        #[cfg(feature = "alloc")]
        {
            Payload(Cow::Borrowed(bytes))
        }
        #[cfg(not(feature = "alloc"))]
        {
            Payload(bytes)
        }
    }

    /// The payload's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        core::ops::Deref::deref(&self.0)
    }

    /// A payload owning its bytes, independent of the frame it was decoded from.
    #[cfg(feature = "alloc")]
    pub fn into_owned(self) -> Payload<'static> {
        Payload(Cow::Owned(self.0.into_owned()))
    }
}

#[cfg(feature = "alloc")]
impl From<Vec<u8>> for Payload<'static> {
    fn from(bytes: Vec<u8>) -> Self {
        Payload(Cow::Owned(bytes))
    }
}

impl<'a> From<&'a [u8]> for Payload<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Payload::new(bytes)
    }
}

impl AsRef<[u8]> for Payload<'_> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Payload<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Payload<'_> {}

impl Hash for Payload<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for Payload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload(b\"{}\")", self.as_bytes().escape_ascii())
    }
}

impl Serialize for Payload<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !serializer.is_human_readable() {
            return serializer.serialize_bytes(self.as_bytes());
        }
        #[cfg(feature = "alloc")]
        {
            json::serialize(self.as_bytes(), serializer)
        }
        #[cfg(not(feature = "alloc"))]
        {
            Err(serde::ser::Error::custom(NEEDS_ALLOC))
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Payload<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if !deserializer.is_human_readable() {
            return deserializer.deserialize_bytes(BytesVisitor);
        }
        #[cfg(feature = "alloc")]
        {
            json::deserialize(deserializer)
        }
        #[cfg(not(feature = "alloc"))]
        {
            Err(de::Error::custom(NEEDS_ALLOC))
        }
    }
}

#[cfg(not(feature = "alloc"))]
const NEEDS_ALLOC: &str = "payloads in human-readable formats need the `alloc` feature";

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Payload<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
        Ok(Payload::new(v))
    }

    #[cfg(feature = "alloc")]
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(Payload::from(v.to_vec()))
    }
}

/// The JSON forms: verbatim text or the `$bytes` wrapper.
#[cfg(feature = "alloc")]
mod json {
    use alloc::string::String;
    use core::fmt;

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::de::{self, Deserializer, MapAccess, Visitor};
    use serde::ser::{SerializeMap, Serializer};
    use serde::{Deserialize, Serialize};
    use serde_json::value::RawValue;

    use super::{BYTES_KEY, MAX_PAYLOAD_DEPTH, Payload};
    use crate::proto::codec::json_depth;

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(raw) = verbatim(bytes) {
            return raw.serialize(serializer);
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(BYTES_KEY, &STANDARD.encode(bytes))?;
        map.end()
    }

    /// `bytes` as a JSON value that decodes back to exactly `bytes`, if there
    /// is one: a single JSON value with no surrounding whitespace, not too
    /// deep, and not shaped like the `$bytes` wrapper.
    fn verbatim(bytes: &[u8]) -> Option<&RawValue> {
        json_depth(bytes, MAX_PAYLOAD_DEPTH)?;
        let raw: &RawValue = serde_json::from_slice(bytes).ok()?;
        let exact = raw.get().len() == bytes.len();
        (exact && wrapped(raw).is_none()).then_some(raw)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Payload<'de>, D::Error> {
        let raw: &'de RawValue = Deserialize::deserialize(deserializer)?;
        let Some(inner) = wrapped(raw) else {
            return Ok(Payload::new(raw.get().as_bytes()));
        };
        let text: String = serde_json::from_str(inner.get())
            .map_err(|_| de::Error::custom("`$bytes` must be a base64 string"))?;
        let bytes = STANDARD
            .decode(text)
            .map_err(|_| de::Error::custom("`$bytes` is not standard padded base64"))?;
        Ok(Payload::from(bytes))
    }

    /// The value of the `$bytes` member when `raw` is an object with that
    /// member and no other: the shape reserved for the wrapper.
    fn wrapped(raw: &RawValue) -> Option<&RawValue> {
        if !raw.get().starts_with('{') {
            return None;
        }
        serde_json::from_str::<Wrapper<'_>>(raw.get()).ok()?.0
    }

    /// Deserializes any object; holds the `$bytes` value if it was the only member.
    struct Wrapper<'a>(Option<&'a RawValue>);

    impl<'de> Deserialize<'de> for Wrapper<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_map(WrapperVisitor)
        }
    }

    struct WrapperVisitor;

    impl<'de> Visitor<'de> for WrapperVisitor {
        type Value = Wrapper<'de>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = 0usize;
            let mut bytes = None;
            // Keys may be escaped (`"\u0024bytes"`), so compare them decoded.
            while let Some(key) = map.next_key::<alloc::borrow::Cow<'de, str>>()? {
                let value: &'de RawValue = map.next_value()?;
                members += 1;
                if key == BYTES_KEY {
                    bytes = Some(value);
                }
            }
            Ok(Wrapper(if members == 1 { bytes } else { None }))
        }
    }
}
