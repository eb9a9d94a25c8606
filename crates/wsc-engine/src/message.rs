//! The values an HTTP exchange is made of: a [`PreparedRequest`] with its [`Body`], and the
//! [`Response`] read in full. Shared by the HTTP client ([`crate::http`]) and what sits between
//! it and the network ([`crate::wire`]), so neither has to import the other's types.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use url::Url;
use wsc_spec::model::Method;

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// Method.
    pub method: Method,
    /// Full URL, query included.
    pub url: Url,
    /// Headers (credentials are added at send time).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Body,
}

/// A request body.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// `application/json` bytes.
    Json(Vec<u8>),
    /// `application/x-www-form-urlencoded` fields.
    Form(Vec<(String, String)>),
    /// `multipart/form-data` text fields.
    Multipart(Vec<(String, String)>),
    /// Raw text with its content type.
    Raw {
        /// Content-Type.
        content_type: String,
        /// Body text.
        text: String,
    },
}

/// A response, body read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// The URL that answered.
    pub url: Url,
}

impl Response {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The headers as templates see them (`headers.*`): names in lower case, repeated headers
    /// joined with `, `, values that are not text left out.
    pub fn headers_value(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (name, value) in &self.headers {
            let Ok(v) = value.to_str() else { continue };
            match m.get_mut(name.as_str()) {
                Some(serde_json::Value::String(s)) => {
                    s.push_str(", ");
                    s.push_str(v);
                }
                _ => {
                    m.insert(
                        name.as_str().to_string(),
                        serde_json::Value::String(v.into()),
                    );
                }
            }
        }
        serde_json::Value::Object(m)
    }
}
