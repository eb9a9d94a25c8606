//! The replay server: serves a [`Cassette`] on 127.0.0.1 (a free port), records every request
//! it receives, and reports requests that matched nothing (with the closest interaction and a
//! diff) and interactions that were never used.

mod cassette;

pub use cassette::{
    Cassette, CassetteError, Interaction, MatchMode, PLACEHOLDER_PREFIX, RecordedResponse,
    RequestMatcher, is_placeholder, text_matches,
};

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query parameters in order.
    pub query: Vec<(String, String)>,
    /// Headers (lower-case names), in order.
    pub headers: Vec<(String, String)>,
    /// Body as text (lossy).
    pub body: String,
    /// The interaction it matched, if any.
    pub matched: Option<usize>,
}

impl ReceivedRequest {
    /// `METHOD /path?query` for messages.
    pub fn line(&self) -> String {
        if self.query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {}?{}", self.method, self.path, q.join("&"))
        }
    }
}

/// A request that matched no interaction, with an explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmatched {
    /// The request.
    pub request: ReceivedRequest,
    /// The closest interaction and why it did not match.
    pub closest: Option<(usize, Vec<String>)>,
}

/// What happened during a replay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayReport {
    /// Every request, in arrival order.
    pub requests: Vec<ReceivedRequest>,
    /// Requests that matched nothing.
    pub unmatched: Vec<Unmatched>,
    /// Interactions never used (index, `METHOD path`).
    pub unused: Vec<(usize, String)>,
}

impl ReplayReport {
    /// A human-readable account of unmatched requests and unused interactions; empty when
    /// everything matched and was used.
    pub fn problems(&self) -> String {
        let mut out = String::new();
        for u in &self.unmatched {
            out.push_str(&format!("unmatched request: {}\n", u.request.line()));
            if let Some((i, why)) = &u.closest {
                out.push_str(&format!("  closest interaction: #{i}\n"));
                for w in why {
                    out.push_str(&format!("    - {w}\n"));
                }
            } else {
                out.push_str("  (the cassette has no interactions left)\n");
            }
        }
        for (i, line) in &self.unused {
            out.push_str(&format!("unused interaction #{i}: {line}\n"));
        }
        out
    }
}

struct State {
    cassette: Cassette,
    dir: PathBuf,
    base_url: String,
    used: Mutex<Vec<u32>>,
    log: Mutex<Vec<ReceivedRequest>>,
    unmatched: Mutex<Vec<Unmatched>>,
}

/// A running replay server.
pub struct ReplayServer {
    state: Arc<State>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ReplayServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ReplayServer {
    /// Serves `cassette` on 127.0.0.1 (a free port); `dir` is where `file:` bodies are.
    pub async fn start(cassette: Cassette, dir: PathBuf) -> std::io::Result<ReplayServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let n = cassette.interactions.len();
        let state = Arc::new(State {
            cassette,
            dir,
            base_url: format!("http://{addr}"),
            used: Mutex::new(vec![0; n]),
            log: Mutex::new(Vec::new()),
            unmatched: Mutex::new(Vec::new()),
        });
        let (shutdown, mut rx) = watch::channel(false);
        let st = state.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = rx.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let st = st.clone();
                        conns.spawn(async move {
                            let svc = service_fn(move |req| {
                                let st = st.clone();
                                async move { Ok::<_, Infallible>(handle(&st, req).await) }
                            });
                            let _ = http1::Builder::new()
                                .timer(TokioTimer::new())
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
            conns.shutdown().await;
        });
        Ok(ReplayServer {
            state,
            addr,
            shutdown,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// What happened so far.
    pub fn report(&self) -> ReplayReport {
        let used = self
            .state
            .used
            .lock()
            .map(|u| u.clone())
            .unwrap_or_default();
        let unused = self
            .state
            .cassette
            .interactions
            .iter()
            .enumerate()
            .filter(|(i, it)| used.get(*i).copied().unwrap_or(0) == 0 && it.times != 0)
            .map(|(i, it)| (i, format!("{} {}", it.request.method, it.request.path)))
            .collect();
        ReplayReport {
            requests: self.state.log.lock().map(|l| l.clone()).unwrap_or_default(),
            unmatched: self
                .state
                .unmatched
                .lock()
                .map(|u| u.clone())
                .unwrap_or_default(),
            unused,
        }
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

async fn handle(st: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let body_bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut received = ReceivedRequest {
        method,
        path,
        query,
        headers,
        body: String::from_utf8_lossy(&body_bytes).into_owned(),
        matched: None,
    };
    let body_json = body_as_json(&content_type, &body_bytes);
    let choice = {
        let mut used = match st.used.lock() {
            Ok(u) => u,
            Err(p) => p.into_inner(),
        };
        let mut best: Option<(usize, Vec<String>)> = None;
        let mut chosen = None;
        for (i, it) in st.cassette.interactions.iter().enumerate() {
            let exhausted = it.times != 0 && used[i] >= it.times;
            let mut why = mismatches(&it.request, &received, body_json.as_ref());
            if why.is_empty() && !exhausted {
                chosen = Some(i);
                break;
            }
            if exhausted {
                why.push(format!(
                    "already used {} time(s) (`times: {}`)",
                    used[i], it.times
                ));
            }
            let score = |w: &[String]| -> usize {
                w.iter()
                    .map(|x| {
                        if x.starts_with("method") || x.starts_with("path") {
                            10
                        } else {
                            1
                        }
                    })
                    .sum()
            };
            if best.as_ref().is_none_or(|(_, w)| score(&why) < score(w)) {
                best = Some((i, why));
            }
            if st.cassette.ordered && !exhausted {
                break;
            }
        }
        if let Some(i) = chosen {
            used[i] += 1;
        }
        (chosen, best)
    };
    let response = match choice {
        (Some(i), _) => {
            received.matched = Some(i);
            respond(st, &st.cassette.interactions[i].response)
        }
        (None, closest) => {
            let mut text = format!("wsc replay: no interaction matches {}\n", received.line());
            if let Some((i, why)) = &closest {
                text.push_str(&format!("closest interaction #{i}:\n"));
                for w in why {
                    text.push_str(&format!("  - {w}\n"));
                }
            }
            if let Ok(mut u) = st.unmatched.lock() {
                u.push(Unmatched {
                    request: received.clone(),
                    closest,
                });
            }
            plain(StatusCode::NOT_IMPLEMENTED, text)
        }
    };
    if let Ok(mut l) = st.log.lock() {
        l.push(received);
    }
    response
}

fn body_as_json(content_type: &str, body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        return None;
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let m: serde_json::Map<String, Value> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Some(Value::Object(m));
    }
    serde_json::from_slice(body).ok()
}

/// Why a request does not match an interaction (empty: it matches).
fn mismatches(m: &RequestMatcher, r: &ReceivedRequest, body: Option<&Value>) -> Vec<String> {
    let mut why = Vec::new();
    if !m.method.eq_ignore_ascii_case(&r.method) {
        why.push(format!("method: expected {}, got {}", m.method, r.method));
    }
    if m.path != r.path {
        why.push(format!("path: expected {}, got {}", m.path, r.path));
    }
    for (k, v) in &m.query {
        match r.query.iter().find(|(rk, _)| rk == k) {
            None => why.push(format!("query: `{k}` missing (expected `{v}`)")),
            Some((_, rv)) if rv != v && !is_placeholder(v) => {
                why.push(format!("query: `{k}` expected `{v}`, got `{rv}`"))
            }
            _ => {}
        }
    }
    if m.query_match == MatchMode::Exact {
        for (k, v) in &r.query {
            if !m.query.contains_key(k) {
                why.push(format!("query: unexpected `{k}={v}`"));
            }
        }
    }
    for (k, v) in &m.headers {
        let got = r.headers.iter().find(|(rk, _)| rk.eq_ignore_ascii_case(k));
        match got {
            None => why.push(format!("header: `{k}` missing")),
            Some((_, rv)) if rv != v && !is_placeholder(v) => {
                why.push(format!("header: `{k}` expected `{v}`, got `{rv}`"))
            }
            _ => {}
        }
    }
    if let Some(want) = &m.body_text
        && !cassette::text_matches(want, &r.body)
    {
        let at = want
            .bytes()
            .zip(r.body.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let near = |s: &str| -> String {
            let mut start = at.saturating_sub(20).min(s.len());
            while !s.is_char_boundary(start) {
                start -= 1;
            }
            s[start..].chars().take(60).collect()
        };
        why.push(format!(
            "body: text differs at byte {at}: expected `{}…`, got `{}…`",
            near(want),
            near(&r.body)
        ));
    }
    if let Some(want) = &m.body {
        match body {
            None => why.push("body: expected a JSON body, got none".into()),
            Some(got) => {
                let mut diffs = Vec::new();
                json_diff(want, got, "$", m.body_match == MatchMode::Exact, &mut diffs);
                why.extend(diffs.into_iter().map(|d| format!("body: {d}")));
            }
        }
    }
    why
}

/// Differences between an expected and an actual JSON value (subset or exact).
fn json_diff(want: &Value, got: &Value, at: &str, exact: bool, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    None => out.push(format!("{at}.{k} missing (expected {wv})")),
                    Some(gv) => json_diff(wv, gv, &format!("{at}.{k}"), exact, out),
                }
            }
            if exact {
                for k in g.keys() {
                    if !w.contains_key(k) {
                        out.push(format!("{at}.{k} unexpected"));
                    }
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() || !exact => {
            if w.len() != g.len() {
                out.push(format!("{at}: expected {} items, got {}", w.len(), g.len()));
                return;
            }
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                json_diff(wv, gv, &format!("{at}[{i}]"), exact, out);
            }
        }
        _ if want == got => {}
        (Value::String(w), g) if is_placeholder(w) && !g.is_null() => {}
        _ => out.push(format!("{at}: expected {want}, got {got}")),
    }
}

fn respond(st: &State, r: &RecordedResponse) -> Response<Full<Bytes>> {
    let subst = |s: &str| s.replace("{{base_url}}", &st.base_url);
    let (body, default_ct) = if let Some(v) = &r.body {
        (subst(&v.to_string()).into_bytes(), "application/json")
    } else if let Some(t) = &r.text {
        (subst(t).into_bytes(), "text/plain")
    } else if let Some(f) = &r.file {
        match std::fs::read(st.dir.join(f)) {
            Ok(b) => (
                subst(&String::from_utf8_lossy(&b)).into_bytes(),
                "application/json",
            ),
            Err(e) => {
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("wsc replay: cannot read {}: {e}", f.display()),
                );
            }
        }
    } else {
        (Vec::new(), "application/json")
    };
    let mut b = Response::builder().status(r.status);
    let mut has_ct = false;
    for (k, v) in &r.headers {
        has_ct |= k.eq_ignore_ascii_case("content-type");
        b = b.header(k.as_str(), subst(v));
    }
    if !has_ct && !body.is_empty() {
        b = b.header("content-type", default_ct);
    }
    b.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| {
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "wsc replay: bad response".into(),
        )
    })
}

fn plain(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_and_exact_json_diffs() {
        let mut d = Vec::new();
        json_diff(
            &json!({"a": 1}),
            &json!({"a": 1, "b": 2}),
            "$",
            false,
            &mut d,
        );
        assert!(d.is_empty());
        json_diff(
            &json!({"a": 1}),
            &json!({"a": 1, "b": 2}),
            "$",
            true,
            &mut d,
        );
        assert_eq!(d, vec!["$.b unexpected"]);
        d.clear();
        json_diff(
            &json!({"a": {"x": [1, 2]}}),
            &json!({"a": {"x": [1, 3]}}),
            "$",
            false,
            &mut d,
        );
        assert_eq!(d, vec!["$.a.x[1]: expected 2, got 3"]);
    }

    #[test]
    fn text_bodies_match_whole_with_placeholders() {
        let p = "<e><h><redacted:ws_security></h><b>x</b></e>";
        assert!(text_matches(
            p,
            "<e><h><wsse:Security>n1</wsse:Security></h><b>x</b></e>"
        ));
        assert!(
            !text_matches(p, "<e><h></h><b>x</b></e>"),
            "a placeholder is never empty"
        );
        assert!(!text_matches(p, "<e><h>s</h><b>y</b></e>"));
        assert!(!text_matches(p, "<e><h>s</h><b>x</b></e> "));
        assert!(text_matches("<a/>", "<a/>"));
        assert!(!text_matches("<a/>", "<a/><a/>"));
        assert!(text_matches("<redacted>", "anything"));
        assert!(!text_matches("<redacted>", ""));
        assert!(text_matches(
            "<p><redacted:pw></p><q><redacted:pw></q>",
            "<p>s&amp;1</p><q>s&amp;1</q>"
        ));
    }
}
