//! JSON numbers kept as their exact text.

use std::borrow::Cow;
use std::fmt;

/// A JSON number kept as its text; always valid JSON number syntax. Equality compares values
/// as `serde_json` does (`1.0` = `1.00`, `1` ≠ `1.0`).
#[derive(Debug, Clone)]
pub struct Number<'a>(pub(super) Cow<'a, str>);

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

    /// The number of `text`, which must be valid JSON number syntax (as the parser checked it).
    pub(crate) fn borrowed(text: &'a str) -> Number<'a> {
        debug_assert_eq!(scan_number(text.as_bytes(), 0), Ok(text.len()));
        Number(Cow::Borrowed(text))
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

    pub(super) fn from_json_number(n: &serde_json::Number) -> Number<'static> {
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

pub(super) fn numbers_equal(a: &Number<'_>, b: &Number<'_>) -> bool {
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

/// The end of a valid JSON number starting at `start`, or the offset where it goes wrong.
pub(super) fn scan_number(b: &[u8], start: usize) -> Result<usize, usize> {
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
