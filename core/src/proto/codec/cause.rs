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
use core::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

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

macro_rules! forward {
    ($($method:ident => $call:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            let wrapped = self.visitor(visitor, Call::$call);
            note(self.cause, self.de.$method(wrapped), Cause::Format)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Tracked<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any => Other, deserialize_bool => Other,
        deserialize_i8 => Other, deserialize_i16 => Other, deserialize_i32 => Other,
        deserialize_i64 => Other, deserialize_i128 => Other,
        deserialize_u8 => Other, deserialize_u16 => Other, deserialize_u32 => Other,
        deserialize_u64 => Other, deserialize_u128 => Other,
        deserialize_f32 => Other, deserialize_f64 => Other, deserialize_char => Other,
        deserialize_str => Str, deserialize_string => Str,
        deserialize_bytes => Other, deserialize_byte_buf => Other,
        deserialize_option => Other, deserialize_unit => Other,
        deserialize_seq => Seq, deserialize_map => Other,
        deserialize_identifier => Identifier, deserialize_ignored_any => Other,
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let wrapped = self.visitor(visitor, Call::Other);
        note(
            self.cause,
            self.de.deserialize_unit_struct(name, wrapped),
            Cause::Format,
        )
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let wrapped = self.visitor(visitor, Call::Other);
        note(
            self.cause,
            self.de.deserialize_newtype_struct(name, wrapped),
            Cause::Format,
        )
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let wrapped = self.visitor(visitor, Call::Other);
        note(
            self.cause,
            self.de.deserialize_tuple(len, wrapped),
            Cause::Format,
        )
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let wrapped = self.visitor(visitor, Call::Other);
        note(
            self.cause,
            self.de.deserialize_tuple_struct(name, len, wrapped),
            Cause::Format,
        )
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let wrapped = self.visitor(visitor, Call::Other);
        note(
            self.cause,
            self.de.deserialize_struct(name, fields, wrapped),
            Cause::Format,
        )
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let wrapped = self.visitor(visitor, Call::Other);
        note(
            self.cause,
            self.de.deserialize_enum(name, variants, wrapped),
            Cause::Format,
        )
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

macro_rules! visit {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            note(self.cause, self.inner.$method(v), Cause::Refused(self.call))
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    visit! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_f64(f64), visit_char(char),
        visit_str(&str), visit_borrowed_str(&'de str),
        visit_bytes(&[u8]), visit_borrowed_bytes(&'de [u8]),
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        note(
            self.cause,
            self.inner.visit_none(),
            Cause::Refused(self.call),
        )
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        note(
            self.cause,
            self.inner.visit_unit(),
            Cause::Refused(self.call),
        )
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        let de = Tracked {
            de,
            cause: self.cause,
        };
        note(
            self.cause,
            self.inner.visit_some(de),
            Cause::Refused(self.call),
        )
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        let de = Tracked {
            de,
            cause: self.cause,
        };
        note(
            self.cause,
            self.inner.visit_newtype_struct(de),
            Cause::Refused(self.call),
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let seq = Tracked {
            de: seq,
            cause: self.cause,
        };
        note(
            self.cause,
            self.inner.visit_seq(seq),
            Cause::Refused(self.call),
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let map = Tracked {
            de: map,
            cause: self.cause,
        };
        note(
            self.cause,
            self.inner.visit_map(map),
            Cause::Refused(self.call),
        )
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        let data = Tracked {
            de: data,
            cause: self.cause,
        };
        note(
            self.cause,
            self.inner.visit_enum(data),
            Cause::Refused(self.call),
        )
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        let de = Tracked {
            de,
            cause: self.cause,
        };
        note(
            self.cause,
            self.inner.deserialize(de),
            Cause::Refused(Call::Other),
        )
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

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Tracked<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        let seed = self.seed(seed);
        note(self.cause, self.de.next_element_seed(seed), Cause::Format)
    }

    fn size_hint(&self) -> Option<usize> {
        self.de.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Tracked<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let seed = self.seed(seed);
        note(self.cause, self.de.next_key_seed(seed), Cause::Format)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let seed = self.seed(seed);
        note(self.cause, self.de.next_value_seed(seed), Cause::Format)
    }

    fn size_hint(&self) -> Option<usize> {
        self.de.size_hint()
    }
}

impl<'c, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Tracked<'c, A> {
    type Error = A::Error;
    type Variant = Tracked<'c, A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let cause = self.cause;
        let result = self.de.variant_seed(Seed { inner: seed, cause });
        let result = result.map(|(value, de)| (value, Tracked { de, cause }));
        note(cause, result, Cause::Format)
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Tracked<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        note(self.cause, self.de.unit_variant(), Cause::Format)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        let seed = self.seed(seed);
        note(
            self.cause,
            self.de.newtype_variant_seed(seed),
            Cause::Format,
        )
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let wrapped = self.visitor(visitor, Call::Other);
        note(
            self.cause,
            self.de.tuple_variant(len, wrapped),
            Cause::Format,
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let wrapped = self.visitor(visitor, Call::Other);
        note(
            self.cause,
            self.de.struct_variant(fields, wrapped),
            Cause::Format,
        )
    }
}
