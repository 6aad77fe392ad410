//! [`Tracked`] as a deserializer: every call goes to the format's, with the
//! visitor wrapped so that a refused value is noted with the kind of call.

use serde::de::{Deserializer, Visitor};

use super::{Call, Cause, Tracked, note};

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
