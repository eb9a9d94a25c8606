//! `serde` support: a [`Doc`] serialises as the JSON it holds and deserialises from any
//! self-describing format.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Doc, Number, NumberKind};

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Doc::Null => s.serialize_unit(),
            Doc::Bool(b) => s.serialize_bool(*b),
            Doc::Number(n) => match n.kind() {
                NumberKind::PosInt(u) => s.serialize_u64(u),
                NumberKind::NegInt(i) => s.serialize_i64(i),
                NumberKind::Float(f) if f.is_finite() => s.serialize_f64(f),
                NumberKind::Float(_) => s.serialize_unit(),
            },
            Doc::String(v) => s.serialize_str(v),
            Doc::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Doc::Object(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
        }
    }
}

/// Deserialises from any self-describing format; strings borrow from the input when the
/// format allows it. (Response bodies should use [`Doc::parse`], which keeps number text.)
impl<'de: 'a, 'a> Deserialize<'de> for Doc<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Doc<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Doc<'a>, E> {
                Ok(Doc::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Doc<'a>, E> {
                Ok(Doc::Number(Number::from_i64(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Doc<'a>, E> {
                Ok(Doc::Number(Number::from_u64(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Doc<'a>, E> {
                Ok(Number::from_f64(v).map_or(Doc::Null, Doc::Number))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Doc<'a>, E> {
                Ok(Doc::String(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Doc<'a>, E> {
                Ok(Doc::String(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Doc<'a>, E> {
                Ok(Doc::String(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Doc<'a>, E> {
                Ok(Doc::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Doc<'a>, E> {
                Ok(Doc::Null)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Doc<'a>, D2::Error> {
                Doc::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc<'a>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Doc::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc<'a>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some(Key(k)) = map.next_key::<Key<'a>>()? {
                    let v: Doc<'a> = map.next_value()?;
                    members.push((k, v));
                }
                Ok(Doc::Object(members))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// An object key that borrows from the input when it can.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KV<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for KV<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'a>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KV(std::marker::PhantomData))
    }
}
