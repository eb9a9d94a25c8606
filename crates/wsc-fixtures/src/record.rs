//! The recorder: a [`Tap`] that keeps every exchange of a live run and turns them into a
//! redacted cassette and a case file.

use std::sync::Mutex;

use indexmap::IndexMap;
use serde_json::{Map, Value};
use wsc_engine::http::Body;
use wsc_engine::{Exchange, Tap};
use wsc_spec::Loaded;
use wsc_testkit::replay::{Cassette, Interaction, RecordedResponse, RequestMatcher};

use crate::case::Case;
use crate::redact::{Secrets, placeholder};

/// Response headers kept in a cassette; the others are transport details (length, encoding,
/// dates) or not needed for replay.
const KEPT_RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "link",
    "location",
    "retry-after",
    "www-authenticate",
    "set-cookie",
];

/// Collects exchanges (thread-safe).
#[derive(Default)]
pub struct Recorder {
    exchanges: Mutex<Vec<Exchange>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("exchanges", &self.len())
            .finish()
    }
}

impl Tap for Recorder {
    fn exchange(&self, exchange: Exchange) {
        if let Ok(mut v) = self.exchanges.lock() {
            v.push(exchange);
        }
    }
}

impl Recorder {
    /// A recorder with nothing recorded.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Exchanges recorded so far.
    pub fn len(&self) -> usize {
        self.exchanges.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The secrets to redact: the given ones (secret settings, credentials of the
    /// authenticator) plus every token a response handed out.
    pub fn secrets(&self, mut secrets: Secrets) -> Secrets {
        if let Ok(v) = self.exchanges.lock() {
            for e in v.iter() {
                if let Ok(json) = serde_json::from_slice::<Value>(&e.response_body) {
                    secrets.add_fields(&json);
                }
                if let Body::Form(f) | Body::Multipart(f) = &e.request_body {
                    for (k, v) in f {
                        if crate::redact::is_secret_field(k) {
                            secrets.add(v, k);
                        }
                    }
                }
                for (k, v) in &e.request_headers {
                    if k.eq_ignore_ascii_case("authorization") {
                        if let Some((_, cred)) = v.split_once(' ') {
                            secrets.add(cred.trim(), "authorization");
                        } else {
                            secrets.add(v, "authorization");
                        }
                    }
                }
            }
        }
        secrets
    }

    /// The cassette of everything recorded, redacted with `secrets` (see
    /// [`secrets`](Self::secrets)).
    pub fn cassette(&self, secrets: &Secrets) -> Cassette {
        let exchanges = self.exchanges.lock().map(|v| v.clone()).unwrap_or_default();
        Cassette {
            ordered: false,
            interactions: exchanges.iter().map(|e| interaction(e, secrets)).collect(),
        }
    }
}

impl Recorder {
    /// The recorded requests as text, in the order they were made (for `--dry-run`): method
    /// and URL, headers with credentials hidden, and the body, secrets as placeholders.
    pub fn render_requests(&self, secrets: &Secrets) -> String {
        let exchanges = self.exchanges.lock().map(|v| v.clone()).unwrap_or_default();
        let mut out = String::new();
        for e in &exchanges {
            let kind = if e.token_request {
                "  # token request"
            } else {
                ""
            };
            out.push_str(&format!(
                "{} {}{kind}\n",
                e.method,
                secrets.apply(e.url.as_str())
            ));
            let mut headers: Vec<(String, String)> = e
                .request_headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        crate::redact::header_value(k, v, secrets),
                    )
                })
                .collect();
            headers.sort();
            for (k, v) in headers {
                out.push_str(&format!("  {k}: {v}\n"));
            }
            let body = match &e.request_body {
                Body::Empty => String::new(),
                Body::Json(b) => match serde_json::from_slice::<Value>(b) {
                    Ok(mut v) => {
                        secrets.json(&mut v);
                        serde_json::to_string_pretty(&v).unwrap_or_default()
                    }
                    Err(_) => secrets.apply(&String::from_utf8_lossy(b)),
                },
                Body::Form(f) | Body::Multipart(f) => f
                    .iter()
                    .map(|(k, v)| format!("{k}={}", secrets.value(k, v)))
                    .collect::<Vec<_>>()
                    .join("\n"),
                Body::Raw { text, .. } => secrets.apply(&crate::redact::mask_ws_security(text)),
            };
            if !body.is_empty() {
                out.push_str("  body:\n");
                for line in body.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
            out.push('\n');
        }
        out
    }
}

/// The deepest response body written inline (`body:`): a cassette nests it four levels down
/// (`interactions[i].response.body`) and must stay within the cassette nesting limit to load
/// again; a deeper body is kept verbatim as `text:`.
const MAX_INLINE_BODY_DEPTH: usize = wsc_spec::limits::MAX_CASSETTE_DEPTH - 8;

/// The nesting depth of a JSON value (a scalar is 0), without recursion.
fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(m) => Box::new(m.values()),
            _ => continue,
        };
        deepest = deepest.max(d + 1);
        stack.extend(children.map(|c| (c, d + 1)));
    }
    deepest
}

fn interaction(e: &Exchange, secrets: &Secrets) -> Interaction {
    let query: IndexMap<String, String> = e
        .url
        .query_pairs()
        .map(|(k, v)| {
            let v = secrets.value(&k, &v);
            (k.into_owned(), v)
        })
        .collect();
    // An XML body (SOAP requests: one URL, the operation in the body) is matched as text.
    let body_text = match &e.request_body {
        Body::Raw { content_type, text } if content_type.contains("xml") => {
            Some(secrets.apply(&crate::redact::mask_ws_security(text)))
        }
        _ => None,
    };
    let body = match &e.request_body {
        Body::Empty | Body::Multipart(_) | Body::Raw { .. } => None,
        Body::Json(bytes) => serde_json::from_slice::<Value>(bytes).ok().map(|mut v| {
            secrets.json(&mut v);
            v
        }),
        Body::Form(fields) => {
            let mut m = Map::new();
            for (k, v) in fields {
                m.insert(k.clone(), Value::String(secrets.value(k, v)));
            }
            Some(Value::Object(m))
        }
    };
    let request = RequestMatcher {
        method: e.method.clone(),
        path: secrets.apply(e.url.path()),
        query,
        query_match: Default::default(),
        headers: IndexMap::new(),
        body,
        body_match: Default::default(),
        body_text,
    };
    let mut headers = IndexMap::new();
    for (k, v) in &e.response_headers {
        let k = k.to_ascii_lowercase();
        if !KEPT_RESPONSE_HEADERS.contains(&k.as_str()) {
            continue;
        }
        let v = if k == "set-cookie" {
            // Keep the cookie's name and attributes, never its value.
            match v.split_once('=') {
                Some((name, rest)) => {
                    let attrs = rest.split_once(';').map(|(_, a)| a).unwrap_or("");
                    format!("{name}={};{attrs}", placeholder("cookie"))
                }
                None => placeholder("cookie"),
            }
        } else {
            secrets.apply(v)
        };
        headers.insert(k, v);
    }
    let (body, text) = match serde_json::from_slice::<Value>(&e.response_body) {
        Ok(mut v) if !e.response_body.is_empty() && depth(&v) <= MAX_INLINE_BODY_DEPTH => {
            secrets.json(&mut v);
            (Some(v), None)
        }
        _ if e.response_body.is_empty() => (None, None),
        _ => (
            None,
            Some(secrets.apply(&String::from_utf8_lossy(&e.response_body))),
        ),
    };
    Interaction {
        request,
        response: RecordedResponse {
            status: e.status,
            headers,
            body,
            text,
            file: None,
        },
        times: 1,
    }
}

/// The case file of a recording: the settings used, secret ones as placeholders.
pub fn case_for(
    loaded: &Loaded,
    operation: &str,
    identity: Option<String>,
    partition: Option<String>,
    settings: &IndexMap<String, Value>,
    cassette: &str,
) -> Case {
    let settings = settings
        .iter()
        .map(|(k, v)| {
            let secret = loaded.connector.settings.get(k).is_some_and(|s| s.secret);
            let v = if secret && !v.is_null() {
                Value::String(placeholder(k))
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect();
    Case {
        description: Some(format!(
            "Recorded from the live API with `wsc record` ({operation})"
        )),
        operation: operation.to_string(),
        identity,
        partition,
        settings,
        plan: None,
        plans: Vec::new(),
        cassette: cassette.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(body: &[u8]) -> Exchange {
        Exchange {
            token_request: false,
            method: "GET".into(),
            url: url::Url::parse("https://api.test/users").unwrap(),
            request_headers: Vec::new(),
            request_body: Body::Empty,
            status: 200,
            response_headers: vec![("content-type".into(), "application/json".into())],
            response_body: body.to_vec(),
        }
    }

    fn nested(levels: usize) -> Vec<u8> {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels)).into_bytes()
    }

    #[test]
    fn depth_counts_collections() {
        assert_eq!(depth(&serde_json::json!(1)), 0);
        assert_eq!(depth(&serde_json::json!({"a": [1, {"b": []}], "c": 2})), 4);
        assert_eq!(depth(&serde_json::from_slice(&nested(100)).unwrap()), 100);
    }

    /// A body recorded inline loads again; one too deep for that is kept as text.
    #[test]
    fn deep_bodies_are_recorded_as_text_and_cassettes_load_again() {
        let secrets = Secrets::default();
        for (levels, inline) in [(10, true), (MAX_INLINE_BODY_DEPTH, true), (125, false)] {
            let it = interaction(&exchange(&nested(levels)), &secrets);
            assert_eq!(it.response.body.is_some(), inline, "{levels} levels");
            assert_eq!(it.response.text.is_some(), !inline, "{levels} levels");
            let cassette = Cassette {
                ordered: false,
                interactions: vec![it],
            };
            let yaml = cassette.to_yaml();
            wsc_spec::load::parse_document::<Cassette>(
                yaml.as_bytes(),
                "recorded.yaml",
                "",
                &wsc_spec::limits::Limits::CASSETTE,
            )
            .unwrap_or_else(|r| panic!("{levels} levels:\n{}", r.render()));
        }
    }
}
