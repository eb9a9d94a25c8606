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

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

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

/// A JSON number kept as its text; always valid JSON number syntax. Equality compares values
/// as `serde_json` does (`1.0` = `1.00`, `1` ≠ `1.0`).
#[derive(Debug, Clone)]
pub struct Number<'a>(Cow<'a, str>);

impl PartialEq for Number<'_> {
    fn eq(&self, other: &Self) -> bool {
        numbers_equal(self, other)
    }
}

/// A number classified the way `serde_json` classifies it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumberKind {
    /// A non-negative integer that fits `u64`.
    PosInt(u64),
    /// A negative integer that fits `i64`.
    NegInt(i64),
    /// Anything else: fraction, exponent, `-0`, or an integer too large for 64 bits.
    Float(f64),
}

impl<'a> Number<'a> {
    /// Wraps `text` if it is a valid JSON number.
    pub fn parse(text: impl Into<Cow<'a, str>>) -> Option<Number<'a>> {
        let text = text.into();
        (scan_number(text.as_bytes(), 0) == Ok(text.len())).then_some(Number(text))
    }

    /// The number's JSON text, exactly as parsed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number from an unsigned integer.
    pub fn from_u64(n: u64) -> Number<'static> {
        Number(Cow::Owned(itoa::Buffer::new().format(n).to_owned()))
    }

    /// The number from a signed integer.
    pub fn from_i64(n: i64) -> Number<'static> {
        Number(Cow::Owned(itoa::Buffer::new().format(n).to_owned()))
    }

    /// The number from a float, formatted as `serde_json` formats it; `None` for NaN and
    /// infinities (not representable in JSON).
    pub fn from_f64(f: f64) -> Option<Number<'static>> {
        serde_json::Number::from_f64(f).map(|n| Number(Cow::Owned(n.to_string())))
    }

    /// Whether the text is an integer (no fraction, no exponent).
    pub fn is_integer_text(&self) -> bool {
        !self.0.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
    }

    /// The number classified as `serde_json` would (see [`NumberKind`]).
    pub fn kind(&self) -> NumberKind {
        let text: &str = &self.0;
        if self.is_integer_text() {
            let (neg, digits) = match text.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, text),
            };
            let mut v: u64 = 0;
            let mut overflow = false;
            for b in digits.bytes() {
                match v
                    .checked_mul(10)
                    .and_then(|x| x.checked_add(u64::from(b.wrapping_sub(b'0'))))
                {
                    Some(x) => v = x,
                    None => {
                        overflow = true;
                        break;
                    }
                }
            }
            if !overflow {
                if !neg {
                    return NumberKind::PosInt(v);
                }
                let n = (v as i64).wrapping_neg();
                return if n < 0 {
                    NumberKind::NegInt(n)
                } else {
                    NumberKind::Float(-(v as f64))
                };
            }
        }
        // Parsed by serde_json itself, so values agree bit for bit with `serde_json::Value`
        // whatever its float features; out of range means infinite.
        NumberKind::Float(serde_json::from_str::<f64>(text).unwrap_or_else(|_| {
            if text.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }))
    }

    /// The value as `u64` when it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match self.kind() {
            NumberKind::PosInt(u) => Some(u),
            _ => None,
        }
    }

    /// The value as `i64` when it is an integer that fits (like `serde_json::Value::as_i64`).
    pub fn as_i64(&self) -> Option<i64> {
        match self.kind() {
            NumberKind::PosInt(u) => i64::try_from(u).ok(),
            NumberKind::NegInt(i) => Some(i),
            NumberKind::Float(_) => None,
        }
    }

    /// The value as `f64` (possibly rounded; infinite when the exponent is out of range).
    pub fn as_f64(&self) -> f64 {
        match self.kind() {
            NumberKind::PosInt(u) => u as f64,
            NumberKind::NegInt(i) => i as f64,
            NumberKind::Float(f) => f,
        }
    }

    /// The number as a `serde_json` number; `None` when it does not fit an `f64`.
    pub fn to_json_number(&self) -> Option<serde_json::Number> {
        match self.kind() {
            NumberKind::PosInt(u) => Some(u.into()),
            NumberKind::NegInt(i) => Some(i.into()),
            NumberKind::Float(f) => serde_json::Number::from_f64(f),
        }
    }

    /// The number with owned text.
    pub fn into_owned(self) -> Number<'static> {
        Number(Cow::Owned(self.0.into_owned()))
    }

    fn from_json_number(n: &serde_json::Number) -> Number<'static> {
        if let Some(u) = n.as_u64() {
            Number::from_u64(u)
        } else if let Some(i) = n.as_i64() {
            Number::from_i64(i)
        } else {
            // serde_json numbers are finite; the fallback is never taken.
            n.as_f64()
                .and_then(Number::from_f64)
                .unwrap_or_else(|| Number::from_u64(0))
        }
    }
}

impl fmt::Display for Number<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where and why a body is not valid JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at line {line} column {column}")]
pub struct DocError {
    /// What is wrong.
    pub kind: DocErrorKind,
    /// 1-based line of the offending character.
    pub line: usize,
    /// 1-based column (in characters) of the offending character.
    pub column: usize,
    /// Byte offset of the offending character.
    pub offset: usize,
}

impl DocError {
    /// Whether the body ended too early (a truncated response).
    pub fn is_eof(&self) -> bool {
        self.kind == DocErrorKind::Eof
    }
}

/// The kinds of JSON syntax errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocErrorKind {
    /// The body ended before the value did (truncated body).
    #[error("unexpected end of JSON (truncated body?)")]
    Eof,
    /// The body is empty or only whitespace.
    #[error("empty body where JSON was expected")]
    Empty,
    /// A token that cannot start or continue the value here.
    #[error("unexpected `{0}`, expected {1}")]
    Unexpected(String, &'static str),
    /// The body is not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A bad escape sequence in a string.
    #[error("invalid escape sequence in string")]
    InvalidEscape,
    /// A `\u` escape that is half of a UTF-16 surrogate pair.
    #[error("lone UTF-16 surrogate in \\u escape")]
    LoneSurrogate,
    /// An unescaped control character (U+0000..U+001F) inside a string.
    #[error("control character inside a string (must be escaped)")]
    ControlCharacter,
    /// Malformed number.
    #[error("invalid number")]
    InvalidNumber,
    /// Text after the end of the value.
    #[error("trailing characters after the JSON value")]
    TrailingCharacters,
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

type PResult<T> = Result<T, (DocErrorKind, usize)>;

impl<'a> Doc<'a> {
    /// Parses a whole body. Strings without escapes and all numbers borrow from `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Doc<'a>, DocError> {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let off = e.valid_up_to();
                return Err(make_error(bytes, DocErrorKind::InvalidUtf8, off));
            }
        };
        Doc::parse_str(text)
    }

    /// Parses a whole body given as text.
    pub fn parse_str(text: &'a str) -> Result<Doc<'a>, DocError> {
        let mut p = Parser {
            src: text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
            arr_stack: Vec::new(),
            obj_stack: Vec::new(),
        };
        if p.bytes.starts_with(b"\xEF\xBB\xBF") {
            p.pos = 3;
        }
        let result = (|| {
            p.skip_ws();
            if p.pos >= p.bytes.len() {
                return Err((DocErrorKind::Empty, p.pos));
            }
            let v = p.value()?;
            p.skip_ws();
            if p.pos < p.bytes.len() {
                return Err((DocErrorKind::TrailingCharacters, p.pos));
            }
            Ok(v)
        })();
        result.map_err(|(kind, off)| make_error(text.as_bytes(), kind, off))
    }

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

    /// Appends the value as compact JSON (escaping as `serde_json` does).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Doc::Null => out.extend_from_slice(b"null"),
            Doc::Bool(true) => out.extend_from_slice(b"true"),
            Doc::Bool(false) => out.extend_from_slice(b"false"),
            Doc::Number(n) => out.extend_from_slice(n.as_str().as_bytes()),
            Doc::String(s) => write_json_str(out, s),
            Doc::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_json(out);
                }
                out.push(b']');
            }
            Doc::Object(members) => {
                out.push(b'{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, k);
                    out.push(b':');
                    v.write_json(out);
                }
                out.push(b'}');
            }
        }
    }

    /// The value as compact JSON text.
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
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

fn numbers_equal(a: &Number<'_>, b: &Number<'_>) -> bool {
    if a.0 == b.0 {
        return true;
    }
    match (a.kind(), b.kind()) {
        (NumberKind::PosInt(x), NumberKind::PosInt(y)) => x == y,
        (NumberKind::NegInt(x), NumberKind::NegInt(y)) => x == y,
        (NumberKind::Float(x), NumberKind::Float(y)) => x == y,
        _ => false,
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

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// 0: no escape; otherwise the character after the backslash (`u` for `\u00XX`).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Appends `s` as a quoted JSON string, escaped exactly as `serde_json` escapes it.
#[inline]
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    write_json_str_content(out, s);
    out.push(b'"');
}

/// Appends the escaped content of a JSON string, without quotes.
#[inline]
pub fn write_json_str_content(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.push(b'\\');
            out.push(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Bytes that end the fast scan of a string: `"`, `\` and control characters.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The first offset at or after `i` holding `"`, `\\` or a control character (or the end).
/// Scans eight bytes at a time (SWAR), then byte by byte near the stop.
#[inline]
fn skip_string_content(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    while let Some(chunk) = b.get(i..i + 8) {
        let Ok(arr) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(arr);
        let q = w ^ QUOTES;
        let e = w ^ BACKSLASHES;
        // Standard "has a zero byte" / "has a byte less than 0x20" tests: no false negatives.
        let stop = (q.wrapping_sub(ONES) & !q)
            | (e.wrapping_sub(ONES) & !e)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        if stop & HIGH != 0 {
            break;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if STRING_STOP[c as usize] {
            break;
        }
        i += 1;
    }
    i
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    arr_stack: Vec<Doc<'a>>,
    obj_stack: Vec<(Cow<'a, str>, Doc<'a>)>,
}

fn make_error(bytes: &[u8], kind: DocErrorKind, offset: usize) -> DocError {
    let offset = offset.min(bytes.len());
    let before = &bytes[..offset];
    let line = 1 + memchr::memchr_iter(b'\n', before).count();
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    // Count characters, not bytes: every byte that is not a UTF-8 continuation byte.
    let column = 1 + before[line_start..]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count();
    DocError {
        kind,
        line,
        column,
        offset,
    }
}

/// The end of a valid JSON number starting at `start`, or the offset where it goes wrong.
fn scan_number(b: &[u8], start: usize) -> Result<usize, usize> {
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            i += 1;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return Err(i),
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !matches!(b.get(i), Some(b'0'..=b'9')) {
            return Err(i);
        }
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !matches!(b.get(i), Some(b'0'..=b'9')) {
            return Err(i);
        }
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
    }
    Ok(i)
}

impl<'a> Parser<'a> {
    #[inline]
    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// An error for the token at `self.pos`: a run of letters and digits (at most 20), or one
    /// character.
    fn unexpected(&self, expected: &'static str) -> (DocErrorKind, usize) {
        let rest = self.src.get(self.pos..).unwrap_or("");
        let mut chars = rest.chars();
        match chars.next() {
            None => (DocErrorKind::Eof, self.pos),
            Some(c) => {
                let token: String = if c.is_alphanumeric() {
                    rest.chars()
                        .take_while(|c| c.is_alphanumeric())
                        .take(20)
                        .collect()
                } else {
                    c.to_string()
                };
                (DocErrorKind::Unexpected(token, expected), self.pos)
            }
        }
    }

    fn value(&mut self) -> PResult<Doc<'a>> {
        match self.peek() {
            None => Err((DocErrorKind::Eof, self.pos)),
            Some(b'"') => Ok(Doc::String(self.string()?)),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b't') => self.literal(b"true", Doc::Bool(true)),
            Some(b'f') => self.literal(b"false", Doc::Bool(false)),
            Some(b'n') => self.literal(b"null", Doc::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.unexpected("a JSON value")),
        }
    }

    fn literal(&mut self, word: &'static [u8], v: Doc<'a>) -> PResult<Doc<'a>> {
        for (k, &w) in word.iter().enumerate() {
            match self.bytes.get(self.pos + k) {
                Some(&b) if b == w => {}
                Some(_) => return Err(self.unexpected("a JSON value")),
                None => return Err((DocErrorKind::Eof, self.bytes.len())),
            }
        }
        self.pos += word.len();
        Ok(v)
    }

    fn number(&mut self) -> PResult<Doc<'a>> {
        let start = self.pos;
        match scan_number(self.bytes, start) {
            Ok(end) => {
                self.pos = end;
                let text = self
                    .src
                    .get(start..end)
                    .ok_or((DocErrorKind::InvalidNumber, start))?;
                Ok(Doc::Number(Number(Cow::Borrowed(text))))
            }
            // A number cut by the end of the body is a truncated body.
            Err(at) if at >= self.bytes.len() => Err((DocErrorKind::Eof, at)),
            Err(_) => Err((DocErrorKind::InvalidNumber, start)),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err((DocErrorKind::TooDeep, self.pos));
        }
        Ok(())
    }

    fn array(&mut self) -> PResult<Doc<'a>> {
        self.enter()?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Doc::Array(Vec::new()));
        }
        let start = self.arr_stack.len();
        loop {
            let v = self.value()?;
            self.arr_stack.push(v);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
        self.depth -= 1;
        Ok(Doc::Array(self.arr_stack.drain(start..).collect()))
    }

    fn object(&mut self) -> PResult<Doc<'a>> {
        self.enter()?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Doc::Object(Vec::new()));
        }
        let start = self.obj_stack.len();
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.unexpected("`:`"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value()?;
            self.obj_stack.push((key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
        self.depth -= 1;
        Ok(Doc::Object(self.obj_stack.drain(start..).collect()))
    }

    /// A string; `self.pos` is at the opening quote.
    fn string(&mut self) -> PResult<Cow<'a, str>> {
        let start = self.pos + 1;
        let i = skip_string_content(self.bytes, start);
        match self.bytes.get(i) {
            None => Err((DocErrorKind::Eof, i)),
            Some(b'"') => {
                self.pos = i + 1;
                let s = self
                    .src
                    .get(start..i)
                    .ok_or((DocErrorKind::InvalidUtf8, start))?;
                Ok(Cow::Borrowed(s))
            }
            Some(b'\\') => self.string_escaped(start, i).map(Cow::Owned),
            Some(_) => Err((DocErrorKind::ControlCharacter, i)),
        }
    }

    /// The slow path of [`Parser::string`]: `i` is at the first backslash.
    fn string_escaped(&mut self, start: usize, mut i: usize) -> PResult<String> {
        let mut out = String::with_capacity(i - start + 16);
        let mut run = start;
        loop {
            i = skip_string_content(self.bytes, i);
            let Some(&b) = self.bytes.get(i) else {
                return Err((DocErrorKind::Eof, i));
            };
            out.push_str(
                self.src
                    .get(run..i)
                    .ok_or((DocErrorKind::InvalidUtf8, run))?,
            );
            match b {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(out);
                }
                b'\\' => {
                    let esc_at = i;
                    let Some(&e) = self.bytes.get(i + 1) else {
                        return Err((DocErrorKind::Eof, i + 1));
                    };
                    i += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4(i)?;
                            i += 4;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                match (self.bytes.get(i), self.bytes.get(i + 1)) {
                                    (Some(b'\\'), Some(b'u')) => {
                                        let lo = self.hex4(i + 2)?;
                                        if !(0xDC00..0xE000).contains(&lo) {
                                            return Err((DocErrorKind::LoneSurrogate, esc_at));
                                        }
                                        i += 6;
                                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                    }
                                    (None, _) | (Some(b'\\'), None) => {
                                        return Err((DocErrorKind::Eof, self.bytes.len()));
                                    }
                                    _ => return Err((DocErrorKind::LoneSurrogate, esc_at)),
                                }
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err((DocErrorKind::LoneSurrogate, esc_at));
                            } else {
                                hi
                            };
                            match char::from_u32(c) {
                                Some(ch) => out.push(ch),
                                None => return Err((DocErrorKind::InvalidEscape, esc_at)),
                            }
                        }
                        _ => return Err((DocErrorKind::InvalidEscape, esc_at)),
                    }
                    run = i;
                }
                _ => return Err((DocErrorKind::ControlCharacter, i)),
            }
        }
    }

    fn hex4(&self, at: usize) -> PResult<u32> {
        let mut v = 0u32;
        for k in 0..4 {
            let Some(&b) = self.bytes.get(at + k) else {
                return Err((DocErrorKind::Eof, self.bytes.len()));
            };
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err((DocErrorKind::InvalidEscape, at + k)),
            };
            v = (v << 4) | u32::from(d);
        }
        Ok(v)
    }
}

// ---------------------------------------------------------------------------------------------
// serde
// ---------------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests;
