//! A borrowed JSON document: each response page is parsed once into a [`Doc`] whose strings
//! point into the response body (no allocation for strings without escapes), and records are
//! mapped from it by direct field access.
//!
//! The parser is hand-written rather than built on `serde_json`'s `Deserialize` for three
//! reasons: numbers keep their exact text (integers larger than `u64`, long decimals and
//! exponents round-trip byte for byte), nesting is capped at [`MAX_DEPTH`] with a clear error,
//! and containers are built with exactly one allocation each (children are collected on a
//! scratch stack and moved into a vector of the exact size). It accepts exactly RFC 8259 JSON
//! (plus a leading UTF-8 byte-order mark) and reports errors with line and column.
//!
//! Semantics follow `serde_json::Value` where they can differ: [`Doc::get`] returns the last
//! member of an object with duplicate keys (as `serde_json` keeps the last value), and
//! [`Doc::to_value`] classifies numbers exactly as `serde_json` does (`-0` and integers beyond
//! 64 bits become floats). Iteration ([`Doc::as_object`], [`Doc::write_json`]) shows every
//! member as written, duplicates included.

use std::borrow::Cow;
use std::fmt;

mod error;
mod number;
mod parse;
mod serde_impls;
pub(crate) mod tape;
mod write;

pub use error::{DocError, DocErrorKind};
use number::numbers_equal;
pub use number::{Number, NumberKind};
pub(crate) use parse::{Hole, decode_string};
pub use write::{write_json_str, write_json_str_content};

#[cfg(test)]
use parse::skip_string_content;

/// Deepest nesting of arrays and objects [`Doc::parse`] accepts.
pub const MAX_DEPTH: usize = 256;

/// A JSON value whose strings and numbers borrow from the parsed text where possible.
#[derive(Debug, Clone, Default)]
pub enum Doc<'a> {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as its exact JSON text.
    Number(Number<'a>),
    /// A string (borrowed when it had no escapes).
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Doc<'a>>),
    /// An object: members in document order (duplicates kept as written).
    Object(Vec<(Cow<'a, str>, Doc<'a>)>),
}

impl<'a> Doc<'a> {
    /// The member `key` of an object (the last one when a key is repeated); `None` for other
    /// values.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Doc<'a>> {
        match self {
            Doc::Object(members) => members
                .iter()
                .rev()
                .find(|(k, _)| k.len() == key.len() && k.as_ref() == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Element `i` of an array.
    #[inline]
    pub fn get_index(&self, i: usize) -> Option<&Doc<'a>> {
        match self {
            Doc::Array(items) => items.get(i),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Doc::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Doc::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Doc::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<&Number<'a>> {
        match self {
            Doc::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as `i64` when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The number as `u64` when it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    /// The number as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::as_f64)
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Doc<'a>]> {
        match self {
            Doc::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&[(Cow<'a, str>, Doc<'a>)]> {
        match self {
            Doc::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The JSON type name: `null`, `boolean`, `number`, `string`, `array` or `object`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Doc::Null => "null",
            Doc::Bool(_) => "boolean",
            Doc::Number(_) => "number",
            Doc::String(_) => "string",
            Doc::Array(_) => "array",
            Doc::Object(_) => "object",
        }
    }

    /// The value as a `serde_json::Value` (numbers as `serde_json` would parse them; a number
    /// too large for `f64`, such as `1e400`, becomes `null`).
    pub fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Doc::Null => Value::Null,
            Doc::Bool(b) => Value::Bool(*b),
            Doc::Number(n) => n.to_json_number().map(Value::Number).unwrap_or(Value::Null),
            Doc::String(s) => Value::String(s.to_string()),
            Doc::Array(items) => Value::Array(items.iter().map(Doc::to_value).collect()),
            Doc::Object(members) => {
                let mut map = serde_json::Map::with_capacity(members.len());
                for (k, v) in members {
                    map.insert(k.to_string(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }

    /// The value with everything owned, so it can outlive the text it was parsed from.
    pub fn into_owned(self) -> Doc<'static> {
        match self {
            Doc::Null => Doc::Null,
            Doc::Bool(b) => Doc::Bool(b),
            Doc::Number(n) => Doc::Number(n.into_owned()),
            Doc::String(s) => Doc::String(Cow::Owned(s.into_owned())),
            Doc::Array(items) => Doc::Array(items.into_iter().map(Doc::into_owned).collect()),
            Doc::Object(members) => Doc::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                    .collect(),
            ),
        }
    }

    /// An owned copy (see [`Doc::into_owned`]).
    pub fn to_owned_doc(&self) -> Doc<'static> {
        self.clone().into_owned()
    }

    /// At most `max_chars` characters of the compact JSON text, with `…` when cut: for error
    /// messages that must not carry whole records.
    pub fn snippet(&self, max_chars: usize) -> String {
        truncate_chars(&self.to_json_string(), max_chars)
    }
}

impl Doc<'static> {
    /// An owned document from a `serde_json::Value`.
    pub fn from_value(v: &serde_json::Value) -> Doc<'static> {
        use serde_json::Value;
        match v {
            Value::Null => Doc::Null,
            Value::Bool(b) => Doc::Bool(*b),
            Value::Number(n) => Doc::Number(Number::from_json_number(n)),
            Value::String(s) => Doc::String(Cow::Owned(s.clone())),
            Value::Array(items) => Doc::Array(items.iter().map(Doc::from_value).collect()),
            Value::Object(map) => Doc::Object(
                map.iter()
                    .map(|(k, v)| (Cow::Owned(k.clone()), Doc::from_value(v)))
                    .collect(),
            ),
        }
    }
}

impl From<serde_json::Value> for Doc<'static> {
    /// Converts without copying strings.
    fn from(v: serde_json::Value) -> Self {
        use serde_json::Value;
        match v {
            Value::Null => Doc::Null,
            Value::Bool(b) => Doc::Bool(b),
            Value::Number(n) => Doc::Number(Number::from_json_number(&n)),
            Value::String(s) => Doc::String(Cow::Owned(s)),
            Value::Array(items) => Doc::Array(items.into_iter().map(Doc::from).collect()),
            Value::Object(map) => Doc::Object(
                map.into_iter()
                    .map(|(k, v)| (Cow::Owned(k), Doc::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&Doc<'_>> for serde_json::Value {
    fn from(d: &Doc<'_>) -> Self {
        d.to_value()
    }
}

impl fmt::Display for Doc<'_> {
    /// Compact JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_string())
    }
}

/// Equality as `serde_json::Value` defines it: numbers compare by their `serde_json`
/// classification (`1` ≠ `1.0`, `1.0` = `1.00`), objects as maps (member order is ignored).
impl PartialEq for Doc<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Doc::Null, Doc::Null) => true,
            (Doc::Bool(a), Doc::Bool(b)) => a == b,
            (Doc::Number(a), Doc::Number(b)) => numbers_equal(a, b),
            (Doc::String(a), Doc::String(b)) => a == b,
            (Doc::Array(a), Doc::Array(b)) => a == b,
            (Doc::Object(a), Doc::Object(b)) => {
                a.iter().all(|(k, _)| match (self.get(k), other.get(k)) {
                    (Some(x), Some(y)) => x == y,
                    _ => false,
                }) && b.iter().all(|(k, _)| self.get(k).is_some())
            }
            _ => false,
        }
    }
}

/// Cuts `s` to at most `max_chars` characters, appending `…` when something was cut.
pub fn truncate_chars(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        None => s.to_string(),
        Some((i, _)) => {
            let mut out = String::with_capacity(i + 3);
            out.push_str(&s[..i]);
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests;
