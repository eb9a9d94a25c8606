//! What the server's handlers share: the server [`State`], the [`Reply`] they build, and
//! query-string decoding.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};

use super::data::{Shape, all_members, hash3};
use super::json::push_str;
use super::stats::Stats;
use super::{FaultKind, SyntheticConfig};

/// A grant with rotating single-use refresh tokens.
pub(crate) struct RefreshGrant {
    /// The one refresh token that is valid now (`None`: no refresh grant configured).
    pub current: Option<String>,
    /// Refresh tokens already used: presenting one again revokes the grant.
    pub spent: std::collections::HashSet<String>,
    /// Reuse was detected: nothing refreshes any more.
    pub revoked: bool,
}

/// Shared state of one running server.
pub(crate) struct State {
    pub config: SyntheticConfig,
    pub shape: Shape,
    pub base_url: String,
    pub stats: Stats,
    /// Issued OAuth2 access tokens and when they expire.
    pub tokens: Mutex<HashMap<String, Instant>>,
    /// The rotating refresh grant (when the OAuth2 config has one).
    pub grant: Mutex<RefreshGrant>,
    /// Seed and counter of generated tokens.
    pub token_seed: u64,
    pub token_counter: AtomicU64,
    /// Sequence number of the next data request (drives fault injection).
    pub(crate) data_seq: AtomicU64,
    /// Members of each group, built on first use.
    members: OnceLock<Vec<Vec<u32>>>,
    /// Sessions from `POST /login`: session id → `/api/*` requests made with it.
    pub sessions: Mutex<HashMap<String, u64>>,
    /// `POST /api/groups/{id}/join`: how many times each group was joined.
    pub joins: Mutex<std::collections::BTreeMap<String, u32>>,
    /// Token answers held back ([`SyntheticApi::hold_token_answers`](super::SyntheticApi::hold_token_answers)).
    pub hold: Hold,
}

/// Holds answers until released.
#[derive(Default)]
pub(crate) struct Hold {
    held: std::sync::atomic::AtomicBool,
    waiting: std::sync::atomic::AtomicUsize,
    released: tokio::sync::Notify,
}

impl Hold {
    pub(crate) fn hold(&self) {
        self.held.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn release(&self) {
        self.held.store(false, std::sync::atomic::Ordering::SeqCst);
        self.released.notify_waiters();
    }

    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits while answers are held.
    pub(crate) async fn pass(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        if !self.held.load(SeqCst) {
            return;
        }
        self.waiting.fetch_add(1, SeqCst);
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if !self.held.load(SeqCst) {
                break;
            }
            released.await;
        }
        self.waiting.fetch_sub(1, SeqCst);
    }
}

impl State {
    pub(crate) fn new(config: SyntheticConfig, addr: SocketAddr) -> Self {
        let token_seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(addr.port()).rotate_left(40);
        let initial_refresh = match &config.auth {
            super::AuthMode::OAuth2(o) => o.rotating_refresh.clone(),
            _ => None,
        };
        State {
            shape: Shape::of(&config),
            config,
            base_url: format!("http://{addr}"),
            stats: Stats::default(),
            grant: Mutex::new(RefreshGrant {
                current: initial_refresh,
                spent: std::collections::HashSet::new(),
                revoked: false,
            }),
            tokens: Mutex::new(HashMap::new()),
            token_seed,
            token_counter: AtomicU64::new(0),
            data_seq: AtomicU64::new(0),
            members: OnceLock::new(),
            sessions: Mutex::new(HashMap::new()),
            hold: Hold::default(),
            joins: Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    pub(crate) fn members(&self) -> &[Vec<u32>] {
        self.members.get_or_init(|| all_members(&self.shape))
    }

    pub(crate) fn pick_fault(&self, seq: u64) -> Option<FaultKind> {
        let f = &self.config.faults;
        if seq < f.fail_first as u64 {
            return Some(f.fail_first_kind);
        }
        let r = (hash3(f.seed, seq, 0xfa17) >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let kinds = [
            (FaultKind::TooManyRequests, f.rate_429),
            (FaultKind::ServerError, f.rate_500),
            (FaultKind::Reset, f.rate_reset),
            (FaultKind::Slow, f.rate_slow),
            (FaultKind::Malformed, f.rate_malformed),
            (FaultKind::ErrorInBody, f.rate_error_in_body),
        ];
        let mut acc = 0.0;
        for (kind, rate) in kinds {
            acc += rate;
            if r < acc {
                return Some(kind);
            }
        }
        None
    }
}

/// The error a handler returns to make hyper drop the connection without answering.
#[derive(Debug)]
pub(crate) struct InjectedReset;

impl std::fmt::Display for InjectedReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("synthetic fault: connection reset")
    }
}

impl std::error::Error for InjectedReset {}

/// A response before it becomes a hyper `Response`.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub headers: Vec<(HeaderName, String)>,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, body: Vec<u8>) -> Self {
        Reply {
            status,
            body,
            headers: Vec::new(),
        }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// `{"error": {"code": code, "message": message}}`.
    pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Self {
        let mut body = Vec::with_capacity(48 + message.len());
        body.extend_from_slice(b"{\"error\":{\"code\":");
        push_str(&mut body, code);
        body.extend_from_slice(b",\"message\":");
        push_str(&mut body, message);
        body.extend_from_slice(b"}}");
        Reply::json(status, body)
    }

    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let mut resp = Response::new(Full::new(Bytes::from(self.body)));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        if !self.headers.iter().any(|(n, _)| n == header::CONTENT_TYPE) {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.append(name, value);
            }
        }
        resp
    }
}

/// `{"error": error, "error_description": description}` (RFC 6749 §5.2 / RFC 6750 §3 shape).
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Reply {
    let mut body = Vec::with_capacity(64 + description.len());
    body.extend_from_slice(b"{\"error\":");
    push_str(&mut body, error);
    body.extend_from_slice(b",\"error_description\":");
    push_str(&mut body, description);
    body.push(b'}');
    Reply::json(status, body)
}

/// Percent-decodes `s`; `+` becomes a space when `plus_is_space` (form encoding).
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || (plus_is_space && b == b'+')) {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).and_then(|&b| hex(b)),
                    bytes.get(i + 2).and_then(|&b| hex(b)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The first value of `key` in an `a=b&c=d` string, decoded.
pub(crate) fn param<'a>(query: &'a str, key: &str) -> Option<Cow<'a, str>> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k, true) == key).then(|| percent_decode(v, true))
    })
}
