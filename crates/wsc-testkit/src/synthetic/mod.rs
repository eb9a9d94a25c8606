//! A synthetic identity API: a real HTTP/1.1 server on `127.0.0.1` serving a generated
//! directory of users and groups, for integration tests, `wsc demo` and benchmarks.
//!
//! Records are computed from (seed, index) when a page is written, straight into the response
//! buffer: nothing is stored per user, so a directory of millions of users costs no memory and
//! pages are cheap. The same generator is public ([`user`], [`group`]), so tests can compute
//! the records they expect. Connections are kept alive.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wsc_testkit::synthetic::Error> {
//! use wsc_testkit::synthetic::{SyntheticApi, SyntheticConfig};
//! let api = SyntheticApi::start(SyntheticConfig::new(10_000)).await?;
//! println!("serving on {}", api.base_url()); // http://127.0.0.1:PORT
//! // ... point a connector at api.base_url() ...
//! println!("{:?}", api.stats());
//! api.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Data
//!
//! User `i` (for `i` in `0..users`), shown as the server sends it:
//!
//! ```json
//! {"id":"u0000042","userName":"grace.hopper42","displayName":"Grace Hopper",
//!  "name":{"givenName":"Grace","familyName":"Hopper"},
//!  "emails":[{"value":"grace.hopper42@example.com","primary":true}],
//!  "active":true,"department":"Finance","title":"Analyst","employeeNumber":100042,
//!  "created":"2019-05-17T08:12:44Z","lastModified":"2020-01-02T11:00:09Z",
//!  "groups":["g00003","g00011"]}
//! ```
//!
//! - `id` is `u` + the index in at least 7 digits; `userName` (and so the e-mail) is unique.
//! - About 10% of users have `"active": false`.
//! - `groups` lists 0 to `memberships_per_user` distinct group ids, ascending.
//!
//! Group `g` (for `g` in `0..groups`):
//!
//! ```json
//! {"id":"g00003","displayName":"Finance Auditors 3",
//!  "description":"Auditors of the Finance department (synthetic group 3)",
//!  "members":["u0000007","u0000042"]}
//! ```
//!
//! `members` is exactly the inverse of the users' `groups` (ascending user ids). It is computed
//! once, on the first request that needs it (O(users)).
//!
//! # Endpoints
//!
//! `{coll}` is `users` or `groups`. All bodies are JSON (`Content-Type: application/json`).
//! Page sizes (`limit`, `per_page`) default to `default_page_size` (100) and are capped at
//! `max_page_size` (1000); the capped value is what the response reports. `base` below is
//! [`SyntheticApi::base_url`], e.g. `http://127.0.0.1:40123`.
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /api/{coll}/offset?offset=0&limit=100` | `{"total":N,"offset":o,"limit":l,"items":[...]}`; `offset` past the end gives empty `items` |
//! | `GET /api/{coll}/page?page=1&per_page=100` | `{"page":p,"per_page":n,"total":N,"total_pages":T,"items":[...]}`; pages start at 1 |
//! | `GET /api/{coll}/cursor?cursor=&limit=100` | `{"items":[...],"next_cursor":"<16 hex digits>"}`; no `cursor` (or empty) starts at the beginning; the last page has no `next_cursor` |
//! | `GET /api/{coll}/next?limit=100` | `{"items":[...],"next":"base/api/{coll}/next?after=<last id>&limit=100"}`; the last page has no `next` |
//! | `GET /api/{coll}/link?page=1&per_page=100` | a bare JSON array; while more pages remain, `Link: <base/api/{coll}/link?page=2&per_page=100>; rel="next", <base/...page=T...>; rel="last"` (RFC 8288) |
//! | `GET /api/users/{id}` | the user object, or 404 |
//! | `GET /api/groups/{id}` | the group object with `members`, or 404 |
//! | `GET /api/users/{id}/groups` | `{"items":[{"id","displayName","description"}, ...]}`: the user's groups without members, or 404 |
//! | `GET /api/me` | `{"ok":true}` (test connection; authenticated, but no latency or faults) |
//! | `GET /api/xml/users?offset=0&limit=100` (or `after=N`) | XML (`application/xml`) in the namespace `urn:wsc:synthetic:users`: `<u:users total="N" cursor="next position, while more remain"><u:next>next page's URL (`after=`), while more remain</u:next><u:user id="u0000001" active="true"><u:userName>…</u:userName><u:email>…</u:email><u:employeeNumber>…</u:employeeNumber><u:groups><u:group>g…</u:group>…</u:groups></u:user>…</u:users>` |
//! | `GET /api/xml/groups?user=<id>` | XML: the user's groups, `<u:groups user="u…"><u:group>g…</u:group>…</u:groups>`, or 404 |
//! | `GET /api/xml/fault?version=11\|12&code=Client` | HTTP 500 with a SOAP 1.1 (`faultcode`, `faultstring`) or 1.2 (`Code/Value`, `Reason/Text`) fault; `status=200` sends it with 200 |
//! | `GET /api/xml/error` | HTTP 200 with `<result><status>failed</status><message>…</message></result>` (an error reported in a successful response) |
//! | `GET /api/xml/hostile?kind=laughs\|deep\|xxe\|json` | hostile XML: billion laughs, 10,000 nested elements, an external entity naming `file:///etc/passwd`; `json` a JSON body |
//! | `POST /oauth/token` | OAuth2 client credentials, see below (only in [`AuthMode::OAuth2`]; 404 otherwise) |
//! | `POST /login` | a session login and password check, see [`LoginConfig`] (only with [`SyntheticConfig::login`]; 404 otherwise) |
//!
//! Errors of the `/api/*` endpoints have the shape `{"error":{"code":"...","message":"..."}}`:
//! 400 `invalid_parameter` for a non-numeric or zero `limit`/`per_page`, `page=0`, a negative or
//! non-numeric `offset`/`page`, an unknown `cursor` or `after`; 404 `not_found` for an unknown
//! id or path; 405 `method_not_allowed` for anything but GET. Unknown query parameters are
//! ignored.
//!
//! # Authentication
//!
//! Every `/api/*` request (including `/api/me`) is checked against [`SyntheticConfig::auth`]:
//!
//! - [`AuthMode::None`] checks nothing.
//! - [`AuthMode::Bearer`] wants `Authorization: Bearer <token>`.
//! - [`AuthMode::Basic`] wants `Authorization: Basic base64(user:password)`; failure is 401
//!   `{"error":"invalid_credentials",...}` with `WWW-Authenticate: Basic realm="synthetic"`.
//! - [`AuthMode::ApiKey`] wants the key in a header or query parameter; failure is 401
//!   `{"error":"invalid_api_key",...}`.
//! - [`AuthMode::OAuth2`] wants a token issued by `POST /oauth/token`, unexpired, where
//!   [`TokenQuirks::token_location`] says (default `Authorization: Bearer`).
//! - [`AuthMode::Session`] wants a session from `POST /login`: the `sid` cookie it sets, or
//!   its `X-Session-Token` header sent back as it came; a missing, unknown or ended session
//!   gets 401 `{"error":"invalid_session",...}`.
//!
//! A missing, unknown or expired bearer token gets 401
//! `{"error":"invalid_token","error_description":"missing access token" | "unknown access token" | "access token expired"}`
//! with `WWW-Authenticate: Bearer error="invalid_token", error_description="..."`.
//!
//! `POST /oauth/token` takes an `application/x-www-form-urlencoded` body with
//! `grant_type=client_credentials` and optional `scope`; the client authenticates with HTTP
//! Basic (id and secret each form-urlencoded, then base64, RFC 6749 §2.3.1) or with
//! `client_id` / `client_secret` in the body. It answers
//! `{"access_token":"<32 hex>","token_type":"Bearer","expires_in":3600}` (plus `"scope"` when
//! one was requested) with `Cache-Control: no-store`. Errors (RFC 6749 §5.2 shape
//! `{"error":"...","error_description":"..."}`): 401 `invalid_client` (wrong or missing
//! credentials; with `WWW-Authenticate: Basic realm="synthetic"` when Basic was used),
//! 400 `unsupported_grant_type`, 400 `invalid_request` (no `grant_type`, a non-form content
//! type, a missing required header), 405 for anything but POST. [`TokenQuirks`] changes the
//! shape (string or absent `expires_in`, other `token_type`), requires extra headers, or moves
//! the token to a custom header or query parameter. Token requests are never faulted or
//! delayed.
//!
//! # Latency and faults
//!
//! *Data requests* are the authenticated `/api/*` requests other than `/api/me`. Each waits
//! [`SyntheticConfig::latency`], then may get a fault (see [`Faults`]: deterministic from
//! `faults.seed` and the data request's sequence number):
//!
//! - 429 `{"error":{"code":"rate_limited",...}}` with `Retry-After: <seconds>` or an HTTP-date;
//! - 500 `{"error":{"code":"internal",...}}`;
//! - reset: the connection is closed without any response;
//! - slow: the normal answer after `slow_delay`;
//! - malformed: status 200 and the first half of the normal body (invalid JSON);
//! - error in body: 200 `{"error":{"code":"internal","message":"..."}}`.
//!
//! [`SyntheticApi::stats`] counts requests, pages by style, items, token requests, faults by
//! kind and the peak number of concurrent requests.
//!
//! # Standalone
//!
//! [`SyntheticApi::run_until_ctrl_c`] serves a started server until Ctrl-C;
//! [`SyntheticApi::serve_until_ctrl_c`] (async) and [`SyntheticApi::serve_blocking`] (builds its
//! own runtime) also start it and print the base URL on stdout. The example
//! `cargo run -p wsc-testkit --example serve -- --users 100000 --port 8080` does that.

mod auth;
mod config;
mod data;
mod json;
mod server;
mod session;
mod state;
mod stats;
mod words;
mod xml;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{
    AuthMode, ExpiresInStyle, FaultKind, Faults, LoginConfig, OAuth2Config, RetryAfter,
    SyntheticConfig, TokenLocation, TokenQuirks,
};
pub use data::{
    EMAIL_DOMAIN, EMPLOYEE_NUMBER_BASE, Email, Group, GroupSummary, Name, User, group, group_id,
    group_index, group_summary, user, user_group_ids, user_id, user_index,
};
pub use stats::{FaultCounts, PageCounts, StatsSnapshot};

use state::State;

/// Errors starting a [`SyntheticApi`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is inconsistent.
    #[error("invalid synthetic API configuration: {0}")]
    InvalidConfig(String),
    /// The listening socket could not be opened.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The requested port (0: any).
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
    /// Creating a runtime or waiting for Ctrl-C failed.
    #[error("cannot run the synthetic API: {0}")]
    Io(std::io::Error),
}

/// A running synthetic identity API (see the [module documentation](self)).
///
/// Dropping it stops accepting connections; [`shutdown`](Self::shutdown) also waits until the
/// server task and its connections have ended.
pub struct SyntheticApi {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for SyntheticApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntheticApi")
            .field("addr", &self.addr)
            .field("config", &self.state.config)
            .finish_non_exhaustive()
    }
}

impl SyntheticApi {
    /// Validates `config` and starts serving on `127.0.0.1` on a free port. Must be called
    /// within a Tokio runtime (the server runs as tasks on it).
    pub async fn start(config: SyntheticConfig) -> Result<SyntheticApi, Error> {
        Self::start_on_port(config, 0).await
    }

    /// Like [`start`](Self::start) on `127.0.0.1:port` (0: any free port).
    pub async fn start_on_port(config: SyntheticConfig, port: u16) -> Result<SyntheticApi, Error> {
        config.validate()?;
        let bind_err = |source| Error::Bind { port, source };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let state = Arc::new(State::new(config, addr));
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(server::accept_loop(listener, state.clone(), rx));
        tracing::debug!(%addr, "synthetic api listening");
        Ok(SyntheticApi {
            addr,
            state,
            shutdown,
            task,
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration being served.
    pub fn config(&self) -> &SyntheticConfig {
        &self.state.config
    }

    /// The counters so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.state.stats.snapshot()
    }

    /// `POST /api/groups/{id}/join` so far: each group id with the number of join requests
    /// (the first one joins; later ones are answered `already_in_channel`, as Slack's
    /// `conversations.join` does; archived groups are never joined).
    pub fn joins(&self) -> std::collections::BTreeMap<String, u32> {
        self.state
            .joins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The token endpoint URL, `base_url() + "/oauth/token"`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.state.base_url)
    }

    /// From now on, the token endpoint's answers wait until
    /// [`release_token_answers`](Self::release_token_answers): each token request is handled
    /// as usual (a refresh token is rotated, new tokens issued) but its answer is held, as a
    /// slow network would hold it, so a test can act while a client waits for tokens the
    /// server has already rotated ([`held_token_answers`](Self::held_token_answers) counts
    /// them).
    pub fn hold_token_answers(&self) {
        self.state.hold.hold();
    }

    /// Sends the held token answers and stops holding new ones.
    pub fn release_token_answers(&self) {
        self.state.hold.release();
    }

    /// Token answers being held now.
    pub fn held_token_answers(&self) -> usize {
        self.state.hold.waiting()
    }

    /// The refresh token of the rotating grant valid now (`None`: no rotating grant, or it
    /// was revoked).
    pub fn current_refresh_token(&self) -> Option<String> {
        self.state
            .grant
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .current
            .clone()
    }

    /// The login URL, `base_url() + "/login"`.
    pub fn login_url(&self) -> String {
        format!("{}/login", self.state.base_url)
    }

    /// User `index`, as served.
    pub fn user(&self, index: usize) -> User {
        user(&self.state.config, index)
    }

    /// Group `index` with its members, as served (uses the server's membership index).
    pub fn group(&self, index: usize) -> Group {
        let members = self
            .state
            .members()
            .get(index)
            .map(|m| m.iter().map(|&u| user_id(u as usize)).collect())
            .unwrap_or_default();
        data::group_with_members(&self.state.config, index, members)
    }

    /// Stops accepting connections, closes open ones and waits for the server task to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Serves until Ctrl-C (SIGINT), then shuts down.
    pub async fn run_until_ctrl_c(self) -> std::io::Result<()> {
        let result = tokio::signal::ctrl_c().await;
        self.shutdown().await;
        result
    }

    /// Runs [`serve_until_ctrl_c`](Self::serve_until_ctrl_c) on a new Tokio runtime, for
    /// callers without one. Blocks until Ctrl-C.
    pub fn serve_blocking(config: SyntheticConfig, port: u16) -> Result<(), Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(Error::Io)?;
        runtime.block_on(Self::serve_until_ctrl_c(config, port))
    }

    /// Starts a server with `config` on `127.0.0.1:port` (0: any), prints its base URL to
    /// stdout, and serves until Ctrl-C.
    pub async fn serve_until_ctrl_c(config: SyntheticConfig, port: u16) -> Result<(), Error> {
        let api = Self::start_on_port(config, port).await?;
        println!("{}", api.base_url());
        api.run_until_ctrl_c().await.map_err(Error::Io)
    }
}
