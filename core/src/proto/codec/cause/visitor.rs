//! The wrapped visitor and seed: a value the inner `Deserialize` impl refuses
//! is noted as refused, and whatever it reads further goes through
//! [`Tracked`] again.

use core::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

use super::{Call, Cause, Seed, Tracked, Wrap, note};

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
