//! [`Tracked`] around the format's sequence, map and enum accessors: what
//! they fail to read is the format's fault, and each element, key, value or
//! variant is read through a [`super::Seed`] that notes refusals.

use serde::de::{DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

use super::{Call, Cause, Seed, Tracked, note};

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
