//! The cassette format: recorded (or hand-written) HTTP exchanges, replayed by
//! [`super::ReplayServer`].
//!
//! ```yaml
//! ordered: false              # match interactions in order (true) or any order (default)
//! interactions:
//!   - request:
//!       method: GET
//!       path: /api/users
//!       query: { offset: "0" }        # a subset of the query (or `query_match: exact`)
//!       headers: { accept: application/json }   # a subset, names case-insensitive
//!       body: { userName: ann }       # JSON subset of the body (or `body_match: exact`)
//!       # body_text: "<x>...</x>"     # or a text (XML) body, compared whole
//!     response:
//!       status: 200
//!       headers: { content-type: application/json }
//!       body: { items: [] }           # inline JSON; or `text:` for raw text, or `file:`
//!     times: 1                        # how often it may match; 0 = any number of times
//! ```
//!
//! In response bodies, headers and files, `{{base_url}}` is replaced by the replay server's
//! own URL, so recorded next-page links point back at it.
//!
//! A placeholder `<redacted>` or `<redacted:NAME>` (what the recorder writes in place of a
//! secret) in a request matcher's query, headers or body matches any value that is present.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wsc_spec::limits::{Limits, read_limited};

/// How a redacted value starts: `<redacted>` or `<redacted:NAME>`.
pub const PLACEHOLDER_PREFIX: &str = "<redacted";

/// Whether `s` is a redaction placeholder, which matches any present value.
pub fn is_placeholder(s: &str) -> bool {
    s.starts_with(PLACEHOLDER_PREFIX) && s.ends_with('>')
}

/// A cassette.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    /// Match interactions strictly in order.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ordered: bool,
    /// The exchanges.
    #[serde(default)]
    pub interactions: Vec<Interaction>,
}

/// One exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    /// What the request must look like.
    pub request: RequestMatcher,
    /// What is answered.
    pub response: RecordedResponse,
    /// How many times it may match (default 1; 0 means any number of times).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// How a part of the request is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    /// The expected entries must be present; others are allowed.
    #[default]
    Subset,
    /// Exactly the expected entries.
    Exact,
}

/// A request matcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestMatcher {
    /// HTTP method (default GET).
    #[serde(default = "get")]
    pub method: String,
    /// Path, without the query string.
    pub path: String,
    /// Query parameters.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, String>,
    /// Query comparison.
    #[serde(default, skip_serializing_if = "is_subset")]
    pub query_match: MatchMode,
    /// Headers that must be present (names case-insensitive).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// JSON body (a subset by default). Form bodies are compared as a JSON object of fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Body comparison.
    #[serde(default, skip_serializing_if = "is_subset")]
    pub body_match: MatchMode,
    /// A text body (XML, SOAP) compared whole; a placeholder (`<redacted>`,
    /// `<redacted:NAME>`) in it matches any text that is not empty (a secret, or the
    /// WS-Security header, which changes with every request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
}

/// Whether `text` is `pattern`, each placeholder of the pattern standing for any text that is
/// not empty.
pub fn text_matches(pattern: &str, text: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = pattern;
    while let Some(i) = rest.find(PLACEHOLDER_PREFIX) {
        match rest[i..].find('>') {
            Some(j) => {
                literals.push(&rest[..i]);
                rest = &rest[i + j + 1..];
            }
            None => break,
        }
    }
    literals.push(rest);
    let (first, tail) = literals.split_first().expect("one literal at least");
    let Some(mut at) = text.strip_prefix(first).map(|_| first.len()) else {
        return false;
    };
    let Some((last, middle)) = tail.split_last() else {
        return at == text.len();
    };
    for lit in middle {
        // A placeholder takes one character at least; the earliest match leaves the most room.
        let from = at + text[at..].chars().next().map_or(1, char::len_utf8);
        match text.get(from..).and_then(|t| t.find(lit)) {
            Some(i) => at = from + i + lit.len(),
            None => return false,
        }
    }
    text.len() > at + last.len()
        && text.ends_with(last)
        && text.is_char_boundary(text.len() - last.len())
}

fn get() -> String {
    "GET".into()
}

fn is_subset(m: &MatchMode) -> bool {
    *m == MatchMode::Subset
}

/// A response to replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// Status code (default 200).
    #[serde(default = "ok")]
    pub status: u16,
    /// Headers.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// A JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A raw text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A body read from a file beside the cassette.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

fn ok() -> u16 {
    200
}

/// A cassette that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CassetteError {
    /// The file could not be read.
    #[error("cannot read cassette {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid cassette (rendered, located diagnostics).
    #[error("{0}")]
    Invalid(String),
}

impl Cassette {
    /// Reads a cassette file (YAML or JSON) with located errors; `file:` bodies are read from
    /// its directory.
    pub fn load(path: &Path) -> Result<(Cassette, PathBuf), CassetteError> {
        let bytes = read_limited(path, &Limits::CASSETTE).map_err(|source| CassetteError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (c, _, _) = wsc_spec::load::parse_document::<Cassette>(
            &bytes,
            &path.display().to_string(),
            "a cassette is a YAML mapping with `interactions:`; see docs/testing.md",
            &Limits::CASSETTE,
        )
        .map_err(|r| CassetteError::Invalid(r.render()))?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        for (i, it) in c.interactions.iter().enumerate() {
            let r = &it.response;
            let n = [r.body.is_some(), r.text.is_some(), r.file.is_some()]
                .iter()
                .filter(|b| **b)
                .count();
            if n > 1 {
                return Err(CassetteError::Invalid(format!(
                    "{}: interactions[{i}].response has more than one of `body`, `text` and `file`",
                    path.display()
                )));
            }
            if let Some(f) = &r.file
                && !dir.join(f).is_file()
            {
                return Err(CassetteError::Invalid(format!(
                    "{}: interactions[{i}].response.file `{}` does not exist",
                    path.display(),
                    f.display()
                )));
            }
        }
        Ok((c, dir))
    }

    /// Writes the cassette as YAML.
    pub fn to_yaml(&self) -> String {
        wsc_spec::load::to_yaml(self)
    }
}
