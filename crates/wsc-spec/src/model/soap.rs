//! SOAP: the envelope of a request (`request.soap`, around the `request.xml` body) and the
//! WS-Security UsernameToken auth kind (`auth: { type: ws_security }`).

use std::borrow::Cow;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::values::Template;

/// A SOAP request: `xml` is the content of the SOAP `Body`, wrapped in the envelope of
/// `version` with the headers that version wants.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SoapRequest {
    /// `"1.1"` (default): `Content-Type: text/xml; charset=utf-8` and a `SOAPAction` header;
    /// `"1.2"`: `Content-Type: application/soap+xml; charset=utf-8; action="..."`.
    #[serde(default)]
    pub version: SoapVersion,
    /// The SOAP action (template), e.g. `urn:directory/ListUsers`: the `SOAPAction` header
    /// (1.1, quoted) or the `action` parameter of the content type (1.2). Default empty
    /// (SOAP 1.1 then sends `SOAPAction: ""`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Template>,
    /// Namespace prefixes declared on the `Envelope` element (prefix → URI), so the body can
    /// use them, e.g. `{ dir: "urn:directory" }`. The prefixes `soap`, `wsse` and `wsu` are
    /// the envelope's own.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub namespaces: IndexMap<String, String>,
}

/// The SOAP version of a request, written `"1.1"` or `"1.2"` (a YAML number `1.1` is read
/// the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SoapVersion {
    /// SOAP 1.1.
    #[default]
    V11,
    /// SOAP 1.2.
    V12,
}

impl SoapVersion {
    /// The version as written: `1.1` or `1.2`.
    pub fn as_str(self) -> &'static str {
        match self {
            SoapVersion::V11 => "1.1",
            SoapVersion::V12 => "1.2",
        }
    }

    /// The namespace URI of the envelope.
    pub fn envelope_ns(self) -> &'static str {
        match self {
            SoapVersion::V11 => "http://schemas.xmlsoap.org/soap/envelope/",
            SoapVersion::V12 => "http://www.w3.org/2003/05/soap-envelope",
        }
    }
}

impl Serialize for SoapVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SoapVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SoapVersion, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        let expected = "`\"1.1\"` or `\"1.2\"`";
        match Raw::deserialize(d)
            .map_err(|_| de::Error::custom(format!("a SOAP version is {expected}")))?
        {
            Raw::Text(t) if t == "1.1" => Ok(SoapVersion::V11),
            Raw::Text(t) if t == "1.2" => Ok(SoapVersion::V12),
            Raw::Number(n) if (n - 1.1).abs() < 1e-9 => Ok(SoapVersion::V11),
            Raw::Number(n) if (n - 1.2).abs() < 1e-9 => Ok(SoapVersion::V12),
            Raw::Text(t) => Err(de::Error::custom(format!(
                "unknown SOAP version `{t}`: expected {expected}"
            ))),
            Raw::Number(n) => Err(de::Error::custom(format!(
                "unknown SOAP version `{n}`: expected {expected}"
            ))),
        }
    }
}

impl JsonSchema for SoapVersion {
    fn schema_name() -> Cow<'static, str> {
        "SoapVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The SOAP version: \"1.1\" (default) or \"1.2\".",
            "enum": ["1.1", "1.2", 1.1, 1.2]
        })
    }
}

/// WS-Security UsernameToken (OASIS WSS UsernameToken Profile 1.1): a `wsse:Security` header
/// with the user name and the password (as text, or as a digest with a fresh nonce and
/// creation time per request) in the SOAP `Header` of every request. Every request of the
/// connector must be a SOAP request (`request.soap`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WsSecurityAuth {
    /// User name (template).
    pub username: Template,
    /// Password (template, normally `{{settings.password}}` of a secret setting).
    pub password: Template,
    /// `text` (default): the password itself (`PasswordText`); `digest`:
    /// Base64(SHA-1(nonce + created + password)) (`PasswordDigest`).
    #[serde(default)]
    pub password_type: PasswordType,
}

/// How a UsernameToken carries the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordType {
    /// `#PasswordText`: the password itself (use over HTTPS only).
    #[default]
    Text,
    /// `#PasswordDigest`: Base64(SHA-1(nonce + created + password)), with a fresh random nonce
    /// and `wsu:Created` per request.
    Digest,
}
