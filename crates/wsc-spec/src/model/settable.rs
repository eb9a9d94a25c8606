//! Numeric keys that take a number or the value of an instance setting
//! (`limit: "{{settings.page_size}}"`): page sizes, concurrency and request rates differ from
//! one tenant to the next.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::settings::SettingType;

/// A number written in the connector, or `"{{settings.NAME}}"`: the value of an instance
/// setting of a numeric type, read when the engine is built for an instance. Nothing else may
/// be templated here, so the loader can check the setting's type.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingOr<T> {
    /// A number written in the connector.
    Value(T),
    /// The name of the setting whose value is used.
    Setting(String),
}

/// A count (page size, concurrency, number of pages): a whole number or an `int` setting.
pub type Count = SettingOr<u64>;

/// A rate (requests per second): a number or an `int` or `number` setting.
pub type Rate = SettingOr<f64>;

impl<T: Settable> SettingOr<T> {
    /// The number written in the connector (`None` when a setting supplies it).
    pub fn value(&self) -> Option<T> {
        match self {
            SettingOr::Value(v) => Some(*v),
            SettingOr::Setting(_) => None,
        }
    }

    /// The setting that supplies the number, if one does.
    pub fn setting(&self) -> Option<&str> {
        match self {
            SettingOr::Value(_) => None,
            SettingOr::Setting(s) => Some(s),
        }
    }
}

/// The numbers a [`SettingOr`] can hold.
pub trait Settable: Copy + PartialOrd + fmt::Display + Serialize + Sized {
    /// The schema (and reference section) name: `Count`, `Rate`.
    const NAME: &'static str;
    /// What the key takes, for messages.
    const EXPECTED: &'static str;
    /// The setting types that can supply it.
    const SETTING_TYPES: &'static [SettingType];
    /// The JSON Schema of the literal number.
    fn number_schema() -> serde_json::Value;
    /// The number as a float (for range checks).
    fn as_f64(self) -> f64;
    /// A whole number, if it fits.
    fn from_i64(v: i64) -> Option<Self>;
    /// A floating-point number, if it fits.
    fn from_f64(v: f64) -> Option<Self>;
    /// The number held by a setting's (typed) value, if it fits.
    fn from_json(v: &serde_json::Value) -> Option<Self> {
        match v.as_i64() {
            Some(i) => Self::from_i64(i),
            None => v.as_f64().and_then(Self::from_f64),
        }
    }
}

impl Settable for u64 {
    const NAME: &'static str = "Count";
    const EXPECTED: &'static str =
        "a whole number (0 or more) or \"{{settings.NAME}}\" naming an `int` setting";
    const SETTING_TYPES: &'static [SettingType] = &[SettingType::Int];
    fn number_schema() -> serde_json::Value {
        serde_json::json!({ "type": "integer", "minimum": 0 })
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn from_i64(v: i64) -> Option<u64> {
        u64::try_from(v).ok()
    }
    fn from_f64(_: f64) -> Option<u64> {
        None
    }
    fn from_json(v: &serde_json::Value) -> Option<u64> {
        v.as_u64()
    }
}

impl Settable for f64 {
    const NAME: &'static str = "Rate";
    const EXPECTED: &'static str =
        "a number or \"{{settings.NAME}}\" naming an `int` or `number` setting";
    const SETTING_TYPES: &'static [SettingType] = &[SettingType::Int, SettingType::Number];
    fn number_schema() -> serde_json::Value {
        serde_json::json!({ "type": "number" })
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn from_i64(v: i64) -> Option<f64> {
        Some(v as f64)
    }
    fn from_f64(v: f64) -> Option<f64> {
        v.is_finite().then_some(v)
    }
}

/// The smallest value a numeric key accepts, checked when the connector loads (a number
/// written in it) or when the engine is built (a setting's value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// 0 or more.
    Zero,
    /// At least 1 (page sizes, concurrency, page limits).
    One,
    /// Greater than 0 (rates).
    Positive,
}

impl Floor {
    /// Whether `v` is allowed.
    pub fn allows(self, v: f64) -> bool {
        match self {
            Floor::Zero => v >= 0.0,
            Floor::One => v >= 1.0,
            Floor::Positive => v > 0.0,
        }
    }

    /// The rule, for messages: "must be at least 1".
    pub fn rule(self) -> &'static str {
        match self {
            Floor::Zero => "must be 0 or more",
            Floor::One => "must be at least 1",
            Floor::Positive => "must be greater than 0",
        }
    }
}

/// `{{settings.NAME}}` (spaces inside the braces allowed) → `NAME`.
pub fn settings_reference(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let name = inner.strip_prefix("settings.")?;
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(name)
}

impl<T: Settable> Serialize for SettingOr<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SettingOr::Value(v) => v.serialize(s),
            SettingOr::Setting(name) => s.collect_str(&format_args!("{{{{settings.{name}}}}}")),
        }
    }
}

struct SettingOrVisitor<T>(PhantomData<T>);

impl<T: Settable> Visitor<'_> for SettingOrVisitor<T> {
    type Value = SettingOr<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<SettingOr<T>, E> {
        T::from_json(&serde_json::Value::from(v))
            .map(SettingOr::Value)
            .ok_or_else(|| E::invalid_type(Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<SettingOr<T>, E> {
        T::from_i64(v)
            .map(SettingOr::Value)
            .ok_or_else(|| E::invalid_type(Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<SettingOr<T>, E> {
        T::from_f64(v)
            .map(SettingOr::Value)
            .ok_or_else(|| E::invalid_type(Unexpected::Float(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SettingOr<T>, E> {
        settings_reference(v)
            .map(|name| SettingOr::Setting(name.to_string()))
            .ok_or_else(|| E::invalid_type(Unexpected::Str(v), &self))
    }
}

impl<'de, T: Settable> Deserialize<'de> for SettingOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SettingOrVisitor(PhantomData))
    }
}

impl<T: Settable> JsonSchema for SettingOr<T> {
    fn schema_name() -> Cow<'static, str> {
        T::NAME.into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": format!("{}.", upper_first(T::EXPECTED)),
            "anyOf": [
                T::number_schema(),
                { "type": "string", "pattern": "^\\s*\\{\\{\\s*settings\\.[A-Za-z][A-Za-z0-9_]*\\s*\\}\\}\\s*$" }
            ]
        })
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_setting_references() {
        let c: Count = serde_yaml::from_str("25").unwrap();
        assert_eq!(c, SettingOr::Value(25));
        let c: Count = serde_yaml::from_str("\"{{ settings.page_size }}\"").unwrap();
        assert_eq!(c.setting(), Some("page_size"));
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            "\"{{settings.page_size}}\""
        );
        for bad in [
            "-1",
            "2.5",
            "\"lots\"",
            "\"{{page.limit}}\"",
            "\"{{settings.a}}0\"",
        ] {
            let e = serde_yaml::from_str::<Count>(bad).unwrap_err().to_string();
            assert!(e.contains("invalid type"), "{bad}: {e}");
            assert!(e.contains("{{settings.NAME}}"), "{bad}: {e}");
        }
        let r: Rate = serde_yaml::from_str("2.5").unwrap();
        assert_eq!(r.value(), Some(2.5));
        let r: Rate = serde_yaml::from_str("10").unwrap();
        assert_eq!(r.value(), Some(10.0));
        assert_eq!(settings_reference("{{settings.x_1}}"), Some("x_1"));
        assert_eq!(settings_reference("{{settings.1x}}"), None);
    }
}
