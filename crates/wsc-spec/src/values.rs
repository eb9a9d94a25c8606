//! Small value types of the connector format: templates, JSONPaths, durations, sizes, status
//! patterns.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A Handlebars template string, e.g. `"{{settings.base_url}}/v1/users"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Template(pub String);

impl Template {
    /// The template source.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Template {
    fn from(s: &str) -> Self {
        Template(s.to_string())
    }
}

impl JsonSchema for Template {
    fn schema_name() -> Cow<'static, str> {
        "Template".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Handlebars template, e.g. \"{{settings.base_url}}/v1/users\". Contexts: settings, page, plan, record, parent, response, saved, state, auth, now, last_run, partition."
        })
    }
}

/// A JSONPath expression (RFC 9535), e.g. `$.items[*]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonPath(pub String);

impl JsonPath {
    /// The expression.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for JsonPath {
    fn from(s: &str) -> Self {
        JsonPath(s.to_string())
    }
}

impl JsonSchema for JsonPath {
    fn schema_name() -> Cow<'static, str> {
        "JsonPath".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            // A JSONPath starts with `$`. In a `format: xml` operation the same keys hold XPath
            // 1.0 expressions: the schema (an editor aid; `wsc validate` checks both exactly)
            // takes those that start with `/`, `.`, `@`, `(`, a function call or a prefixed
            // name (`dir:id`), and still refuses a bare name such as `id`, the usual JSONPath
            // typo. An unprefixed relative XPath is written `./name`.
            "pattern": "^(\\$|/|\\.|@|\\(|[A-Za-z_][A-Za-z0-9_.-]*:[A-Za-z_*]|[a-z][a-z-]*\\()",
            "description": "JSONPath (RFC 9535) starting with `$`, e.g. \"$.items[*]\"; in a `format: xml` operation an XPath 1.0 expression, e.g. \"/s:Envelope/s:Body/dir:Users/dir:User\" or \"dir:id\"."
        })
    }
}

/// A duration written `250ms`, `30s`, `5m`, `1h`, or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// The standard-library duration.
    pub fn get(self) -> std::time::Duration {
        self.0
    }

    /// Parses `250ms`, `30s`, `5m`, `1h`, `1d` or a bare number of seconds.
    pub fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a duration such as `500ms`, `30s`, `5m` or `1h`"))?;
        let secs = match unit.trim() {
            "" | "s" => value,
            "ms" => value / 1000.0,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            "d" => value * 86400.0,
            other => {
                return Err(format!(
                    "unknown duration unit `{other}` in `{s}`: use ms, s, m, h or d"
                ));
            }
        };
        if !secs.is_finite() || !(0.0..=1e10).contains(&secs) {
            return Err(format!("duration `{s}` is out of range"));
        }
        Ok(Duration(std::time::Duration::from_secs_f64(secs)))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1000) {
            write!(f, "{ms}ms")
        } else {
            write!(f, "{}s", ms / 1000)
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `500ms`, `30s`, `5m` or a number of seconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration(std::time::Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(|v| Duration(std::time::Duration::from_secs(v)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Duration::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: `250ms`, `30s`, `5m`, `1h`, `1d`, or a number of seconds.",
            "anyOf": [
                { "type": "number", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*(ms|s|m|h|d)?\\s*$" }
            ]
        })
    }
}

/// A size in bytes, written `64MiB`, `512KiB`, `1GiB`, `10MB` or as a number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The number of bytes.
    pub fn get(self) -> u64 {
        self.0
    }

    /// Parses `64MiB`, `512 KiB`, `1GiB`, `10MB`, `2048B` or a bare number of bytes (units
    /// in any case; `KiB`/`MiB`/`GiB` are powers of 1024, `KB`/`MB`/`GB` powers of 1000).
    pub fn parse(s: &str) -> Result<ByteSize, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a size such as `64MiB`, `512KiB` or `1GiB`"))?;
        let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            "kb" => 1e3,
            "mb" => 1e6,
            "gb" => 1e9,
            _ => {
                return Err(format!(
                    "unknown size unit `{}` in `{s}`: use B, KiB, MiB, GiB (or KB, MB, GB)",
                    unit.trim()
                ));
            }
        };
        let bytes = (value * factor).round();
        if !bytes.is_finite() || !(1.0..=(u64::MAX / 2) as f64).contains(&bytes) {
            return Err(format!("size `{s}` is out of range"));
        }
        Ok(ByteSize(bytes as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const K: u64 = 1024;
        match self.0 {
            b if b >= K * K * K && b.is_multiple_of(K * K * K) => {
                write!(f, "{}GiB", b / (K * K * K))
            }
            b if b >= K * K && b.is_multiple_of(K * K) => write!(f, "{}MiB", b / (K * K)),
            b if b >= K && b.is_multiple_of(K) => write!(f, "{}KiB", b / K),
            b => write!(f, "{b}B"),
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as `64MiB`, `512KiB` or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                ByteSize::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                ByteSize::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ByteSize, E> {
                ByteSize::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> Cow<'static, str> {
        "ByteSize".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A size: `64MiB`, `512KiB`, `1GiB`, `10MB`, or a number of bytes.",
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*([kKmMgG][iI]?)?[bB]?\\s*$" }
            ]
        })
    }
}

/// An HTTP status code (`404`) or a class (`2xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusPattern {
    /// One status code.
    Code(u16),
    /// A class: `2` for `2xx`.
    Class(u8),
}

impl StatusPattern {
    /// Whether `status` matches.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusPattern::Code(c) => c == status,
            StatusPattern::Class(c) => status / 100 == u16::from(c),
        }
    }

    fn parse(s: &str) -> Result<StatusPattern, String> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        if lower.len() == 3
            && lower.ends_with("xx")
            && let Some(d) = lower.chars().next().and_then(|c| c.to_digit(10))
            && (1..=5).contains(&d)
        {
            return Ok(StatusPattern::Class(d as u8));
        }
        match t.parse::<u16>() {
            Ok(c) if (100..=599).contains(&c) => Ok(StatusPattern::Code(c)),
            _ => Err(format!(
                "`{s}` is not an HTTP status: use a code from 100 to 599 or a class such as `2xx`"
            )),
        }
    }
}

impl fmt::Display for StatusPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusPattern::Code(c) => write!(f, "{c}"),
            StatusPattern::Class(c) => write!(f, "{c}xx"),
        }
    }
}

impl Serialize for StatusPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StatusPattern::Code(c) => s.serialize_u16(*c),
            StatusPattern::Class(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for StatusPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StatusPattern;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an HTTP status code such as 404 or a class such as \"2xx\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusPattern, E> {
                StatusPattern::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusPattern, E> {
                StatusPattern::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusPattern, E> {
                StatusPattern::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for StatusPattern {
    fn schema_name() -> Cow<'static, str> {
        "StatusPattern".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An HTTP status code (404) or a class (\"2xx\").",
            "anyOf": [
                { "type": "integer", "minimum": 100, "maximum": 599 },
                { "type": "string", "pattern": "^[1-5][xX][xX]$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(ByteSize::parse("64MiB").unwrap().get(), 64 << 20);
        assert_eq!(ByteSize::parse("512 kib").unwrap().get(), 512 << 10);
        assert_eq!(ByteSize::parse("1GiB").unwrap().get(), 1 << 30);
        assert_eq!(ByteSize::parse("10MB").unwrap().get(), 10_000_000);
        assert_eq!(ByteSize::parse("2048").unwrap().get(), 2048);
        assert_eq!(ByteSize::parse("1.5KiB").unwrap().get(), 1536);
        assert!(ByteSize::parse("0").is_err());
        assert!(
            ByteSize::parse("12 parsecs")
                .unwrap_err()
                .contains("unknown size unit")
        );
        assert!(ByteSize::parse("MiB").is_err());
        assert!(ByteSize::parse("1e30GiB").is_err());
        assert_eq!(ByteSize(64 << 20).to_string(), "64MiB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
    }
}
