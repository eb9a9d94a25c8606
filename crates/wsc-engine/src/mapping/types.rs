//! Type conversion: attribute values to `string`, `int`, `float`, `bool` or `datetime`.

use serde_json::Value;
use wsc_spec::model::AttributeType;

use super::datetime::{epoch_to_rfc3339, parse_rfc3339};
use super::{MAX_VALUE_DATA, MapError};
use crate::doc::{Doc, NumberKind, truncate_chars};

fn type_name(ty: AttributeType) -> &'static str {
    match ty {
        AttributeType::Json => "json",
        AttributeType::String => "string",
        AttributeType::Int => "int",
        AttributeType::Float => "float",
        AttributeType::Bool => "bool",
        AttributeType::Datetime => "datetime",
    }
}

fn conversion_error(attr: &str, ty: AttributeType, value: String, reason: &str) -> MapError {
    MapError::Conversion {
        attribute: attr.to_string(),
        value: truncate_chars(&value, MAX_VALUE_DATA),
        ty: type_name(ty),
        reason: reason.to_string(),
    }
}

/// A borrowed view of a scalar, shared by the `Doc`, `Value` and projection conversions.
pub(crate) enum Scalar<'v> {
    /// A boolean.
    Bool(bool),
    /// A number: its classification and its JSON text.
    Num(NumberKind, &'v str),
    /// A string (decoded).
    Str(&'v str),
    /// An array or an object.
    Composite,
}

/// Converts a non-null node to `ty`.
pub(super) fn convert_doc(attr: &str, ty: AttributeType, v: &Doc<'_>) -> Result<Value, MapError> {
    if ty == AttributeType::Json {
        return Ok(v.to_value());
    }
    let scalar = match v {
        Doc::Bool(b) => Scalar::Bool(*b),
        Doc::Number(n) => Scalar::Num(n.kind(), n.as_str()),
        Doc::String(s) => Scalar::Str(s),
        Doc::Null | Doc::Array(_) | Doc::Object(_) => Scalar::Composite,
    };
    convert_scalar(attr, ty, scalar, || v.snippet(MAX_VALUE_DATA))
}

/// Converts a non-null JSON value to `ty`.
pub(super) fn convert_value(attr: &str, ty: AttributeType, v: Value) -> Result<Value, MapError> {
    if ty == AttributeType::Json {
        return Ok(v);
    }
    let text;
    let scalar = match &v {
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => {
            text = n.to_string();
            let kind = if let Some(u) = n.as_u64() {
                NumberKind::PosInt(u)
            } else if let Some(i) = n.as_i64() {
                NumberKind::NegInt(i)
            } else {
                NumberKind::Float(n.as_f64().unwrap_or(f64::NAN))
            };
            Scalar::Num(kind, &text)
        }
        Value::String(s) => Scalar::Str(s),
        Value::Null | Value::Array(_) | Value::Object(_) => Scalar::Composite,
    };
    convert_scalar(attr, ty, scalar, || v.to_string())
}

/// Converts a scalar to `ty` (not `json`); `shown` renders the value for an error.
pub(crate) fn convert_scalar(
    attr: &str,
    ty: AttributeType,
    v: Scalar<'_>,
    shown: impl Fn() -> String,
) -> Result<Value, MapError> {
    let err = |reason: &str| conversion_error(attr, ty, shown(), reason);
    match ty {
        AttributeType::Json => Err(err("internal: json is not converted")),
        AttributeType::String => match v {
            Scalar::Str(s) => Ok(Value::String(s.to_string())),
            Scalar::Num(_, text) => Ok(Value::String(text.to_string())),
            Scalar::Bool(b) => Ok(Value::String(b.to_string())),
            Scalar::Composite => Err(err("arrays and objects are not strings")),
        },
        AttributeType::Int => match v {
            Scalar::Num(k, _) => int_of(k).ok_or_else(|| err(int_reason(k))),
            Scalar::Str(s) => match crate::doc::Number::parse(s.trim()) {
                Some(n) => {
                    let k = n.kind();
                    int_of(k).ok_or_else(|| err(int_reason(k)))
                }
                None => Err(err("not a number")),
            },
            Scalar::Bool(_) => Err(err("booleans are not integers")),
            Scalar::Composite => Err(err("arrays and objects are not integers")),
        },
        AttributeType::Float => {
            let f = match v {
                Scalar::Num(k, _) => kind_f64(k),
                Scalar::Str(s) => match crate::doc::Number::parse(s.trim()) {
                    Some(n) => n.as_f64(),
                    None => return Err(err("not a number")),
                },
                Scalar::Bool(_) => return Err(err("booleans are not numbers")),
                Scalar::Composite => return Err(err("arrays and objects are not numbers")),
            };
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| err("out of range"))
        }
        AttributeType::Bool => match v {
            Scalar::Bool(b) => Ok(Value::Bool(b)),
            Scalar::Num(NumberKind::PosInt(1), _) => Ok(Value::Bool(true)),
            Scalar::Num(NumberKind::PosInt(0), _) => Ok(Value::Bool(false)),
            Scalar::Num(..) => Err(err("only 1 and 0 are booleans")),
            Scalar::Str(s) => {
                let t = s.trim();
                if t.eq_ignore_ascii_case("true") || t == "1" {
                    Ok(Value::Bool(true))
                } else if t.eq_ignore_ascii_case("false") || t == "0" {
                    Ok(Value::Bool(false))
                } else {
                    Err(err("expected \"true\", \"false\", 1 or 0"))
                }
            }
            Scalar::Composite => Err(err("arrays and objects are not booleans")),
        },
        AttributeType::Datetime => {
            let r = match v {
                Scalar::Str(s) => {
                    let t = s.trim();
                    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                        match crate::doc::Number::parse(t) {
                            Some(n) => epoch_to_rfc3339(kind_f64(n.kind())),
                            None => parse_rfc3339(t),
                        }
                    } else {
                        parse_rfc3339(t)
                    }
                }
                Scalar::Num(k, _) => epoch_to_rfc3339(kind_f64(k)),
                Scalar::Bool(_) => Err("booleans are not date-times"),
                Scalar::Composite => Err("arrays and objects are not date-times"),
            };
            r.map(Value::String).map_err(err)
        }
    }
}

fn kind_f64(k: NumberKind) -> f64 {
    match k {
        NumberKind::PosInt(u) => u as f64,
        NumberKind::NegInt(i) => i as f64,
        NumberKind::Float(f) => f,
    }
}

fn int_of(k: NumberKind) -> Option<Value> {
    match k {
        NumberKind::PosInt(u) => Some(Value::from(u)),
        NumberKind::NegInt(i) => Some(Value::from(i)),
        NumberKind::Float(f) => {
            // Powers of two as bounds: every integral f64 inside converts exactly.
            const I64_RANGE: std::ops::Range<f64> =
                -9.223_372_036_854_776e18..9.223_372_036_854_776e18;
            const U64_RANGE: std::ops::Range<f64> = 0.0..1.844_674_407_370_955_2e19;
            if !f.is_finite() || f.fract() != 0.0 {
                None
            } else if I64_RANGE.contains(&f) {
                Some(Value::from(f as i64))
            } else if U64_RANGE.contains(&f) {
                Some(Value::from(f as u64))
            } else {
                None
            }
        }
    }
}

fn int_reason(k: NumberKind) -> &'static str {
    match k {
        NumberKind::Float(f) if f.is_finite() && f.fract() != 0.0 => "not a whole number",
        _ => "out of the 64-bit integer range",
    }
}
