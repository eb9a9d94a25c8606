//! Configuration of the synthetic identity API: directory size, authentication, faults.

use std::time::Duration;

use super::Error;

/// Everything that shapes a [`SyntheticApi`](super::SyntheticApi): the generated directory,
/// how clients authenticate, added latency and injected faults.
///
/// Build it with struct update syntax from [`Default`] or with the `with_*` helpers:
///
/// ```
/// use wsc_testkit::synthetic::{AuthMode, SyntheticConfig};
/// let config = SyntheticConfig::new(10_000)
///     .with_groups(50)
///     .with_auth(AuthMode::oauth2("demo-client", "demo-secret"));
/// assert_eq!(config.users, 10_000);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Number of users in the directory (indices `0..users`, ids `u0000000`...). At most
    /// `u32::MAX`.
    pub users: usize,
    /// Number of groups (indices `0..groups`, ids `g00000`...). At most `u32::MAX`.
    pub groups: usize,
    /// Seed of the generated data: the same seed gives the same users and groups.
    pub seed: u64,
    /// Each user belongs to between 0 and this many distinct groups (uniformly drawn), capped
    /// by `groups`.
    pub memberships_per_user: usize,
    /// How clients must authenticate to the `/api/*` endpoints.
    pub auth: AuthMode,
    /// Fixed delay added to every data request (everything under `/api/` except `/api/me`).
    pub latency: Duration,
    /// Faults injected into data requests.
    pub faults: Faults,
    /// Largest page size a client may get; larger `limit` / `per_page` values are capped to it.
    pub max_page_size: usize,
    /// Page size used when a request names none.
    pub default_page_size: usize,
    /// `POST /login`: who can log in, and how long sessions last ([`AuthMode::Session`]
    /// needs it; with other modes, it is a login check for pass-through authentication).
    pub login: Option<LoginConfig>,
    /// Indices of archived groups: `POST /api/groups/{id}/join` answers them
    /// `{"ok": false, "error": "is_archived"}`.
    pub archived_groups: Vec<usize>,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            users: 1000,
            groups: 20,
            seed: 42,
            memberships_per_user: 3,
            auth: AuthMode::None,
            latency: Duration::ZERO,
            faults: Faults::default(),
            max_page_size: 1000,
            default_page_size: 100,
            login: None,
            archived_groups: Vec::new(),
        }
    }
}

impl SyntheticConfig {
    /// The default configuration with `users` users.
    pub fn new(users: usize) -> Self {
        SyntheticConfig {
            users,
            ..Self::default()
        }
    }

    /// Sets the number of groups.
    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    /// Sets the data seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the maximum number of groups per user.
    pub fn with_memberships_per_user(mut self, memberships: usize) -> Self {
        self.memberships_per_user = memberships;
        self
    }

    /// Sets the authentication mode.
    pub fn with_auth(mut self, auth: AuthMode) -> Self {
        self.auth = auth;
        self
    }

    /// Sets the fixed latency added to every data request.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Marks groups (by index) as archived: joining them is refused with `is_archived`.
    pub fn with_archived_groups(mut self, groups: impl IntoIterator<Item = usize>) -> Self {
        self.archived_groups = groups.into_iter().collect();
        self
    }

    /// Sets the injected faults.
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Sets the maximum page size.
    pub fn with_max_page_size(mut self, max_page_size: usize) -> Self {
        self.max_page_size = max_page_size;
        self
    }

    /// Sets the page size used when a request names none.
    pub fn with_default_page_size(mut self, default_page_size: usize) -> Self {
        self.default_page_size = default_page_size;
        self
    }

    /// Sets the login endpoint.
    pub fn with_login(mut self, login: LoginConfig) -> Self {
        self.login = Some(login);
        self
    }

    /// Checks the configuration; [`SyntheticApi::start`](super::SyntheticApi::start) calls it.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |msg: String| Err(Error::InvalidConfig(msg));
        if self.users > u32::MAX as usize {
            return invalid(format!("users must be at most {}", u32::MAX));
        }
        if self.groups > u32::MAX as usize {
            return invalid(format!("groups must be at most {}", u32::MAX));
        }
        if self.max_page_size == 0 {
            return invalid("max_page_size must be at least 1".into());
        }
        if self.default_page_size == 0 {
            return invalid("default_page_size must be at least 1".into());
        }
        let f = &self.faults;
        let rates = [
            ("rate_429", f.rate_429),
            ("rate_500", f.rate_500),
            ("rate_reset", f.rate_reset),
            ("rate_slow", f.rate_slow),
            ("rate_malformed", f.rate_malformed),
            ("rate_error_in_body", f.rate_error_in_body),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return invalid(format!("faults.{name} must be within 0..=1, got {rate}"));
            }
        }
        let sum: f64 = rates.iter().map(|(_, r)| r).sum();
        if sum > 1.0 + 1e-9 {
            return invalid(format!("the fault rates add up to {sum}, more than 1"));
        }
        if self.auth == AuthMode::Session && self.login.is_none() {
            return invalid("session auth needs a login configuration (`with_login`)".into());
        }
        if self
            .login
            .as_ref()
            .is_some_and(|l| l.requests_per_session == Some(0))
        {
            return invalid("login requests_per_session must be at least 1".into());
        }
        if let AuthMode::OAuth2(oauth) = &self.auth
            && oauth.token_lifetime.is_zero()
        {
            return invalid("oauth2 token_lifetime must be more than zero".into());
        }
        Ok(())
    }
}

/// How clients authenticate to the `/api/*` endpoints (the token endpoint has its own rules).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AuthMode {
    /// No authentication.
    #[default]
    None,
    /// A static token sent as `Authorization: Bearer <token>`.
    Bearer(String),
    /// HTTP Basic authentication (RFC 7617) with this user name and password.
    Basic {
        /// Expected user name.
        username: String,
        /// Expected password.
        password: String,
    },
    /// A static API key in a header or query parameter.
    ApiKey {
        /// Where the key is sent.
        location: TokenLocation,
        /// The expected key.
        key: String,
    },
    /// OAuth2 client credentials: `POST /oauth/token` issues tokens that the data endpoints
    /// accept until they expire.
    OAuth2(OAuth2Config),
    /// A session from `POST /login` ([`SyntheticConfig::login`]), carried in the `sid`
    /// cookie the login sets, or in an `X-Session-Token` header with the value the login
    /// also sent in that header.
    Session,
}

impl AuthMode {
    /// OAuth2 client credentials with a one-hour token lifetime and default quirks.
    pub fn oauth2(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        AuthMode::OAuth2(OAuth2Config::new(client_id, client_secret))
    }
}

/// The OAuth2 client-credentials server.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuth2Config {
    /// The only client id accepted.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// How long an issued access token stays valid. `expires_in` is this, rounded up to whole
    /// seconds; the server enforces the exact duration.
    pub token_lifetime: Duration,
    /// Non-standard behaviour of the token endpoint and of token use.
    pub quirks: TokenQuirks,
    /// With a refresh token here, the endpoint also takes `grant_type=refresh_token` and
    /// rotates: each refresh token is single-use and answered with a new one; presenting a
    /// spent one again revokes the whole grant (every access token, every later refresh gets
    /// `invalid_grant`), as Okta, Auth0 or oidc-provider do on reuse detection.
    pub rotating_refresh: Option<String>,
}

impl OAuth2Config {
    /// A client with a one-hour token lifetime and default (standard) quirks.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        OAuth2Config {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            token_lifetime: Duration::from_secs(3600),
            quirks: TokenQuirks::default(),
            rotating_refresh: None,
        }
    }

    /// Rotating single-use refresh tokens starting with `initial`, reuse revoking the grant.
    pub fn with_rotating_refresh(mut self, initial: impl Into<String>) -> Self {
        self.rotating_refresh = Some(initial.into());
        self
    }

    /// Sets the token lifetime.
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Sets the quirks.
    pub fn with_quirks(mut self, quirks: TokenQuirks) -> Self {
        self.quirks = quirks;
        self
    }
}

/// Deviations from a plain RFC 6749 token endpoint, to test tolerant clients. The default is
/// the standard behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenQuirks {
    /// How `expires_in` appears in the token response.
    pub expires_in: ExpiresInStyle,
    /// The `token_type` value sent (any case is legal; default `"Bearer"`).
    pub token_type: String,
    /// Headers the token request must carry (name, exact value); a request without them gets
    /// 400 `invalid_request`.
    pub required_headers: Vec<(String, String)>,
    /// Where data requests must carry the issued token.
    pub token_location: TokenLocation,
}

impl Default for TokenQuirks {
    fn default() -> Self {
        TokenQuirks {
            expires_in: ExpiresInStyle::Number,
            token_type: "Bearer".into(),
            required_headers: Vec::new(),
            token_location: TokenLocation::AuthorizationBearer,
        }
    }
}

/// How `expires_in` is written in a token response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpiresInStyle {
    /// `"expires_in": 3600` (standard).
    #[default]
    Number,
    /// `"expires_in": "3600"`.
    String,
    /// No `expires_in` field.
    Omitted,
}

/// Where a client sends a token or API key on data requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TokenLocation {
    /// `Authorization: Bearer <token>` (RFC 6750).
    #[default]
    AuthorizationBearer,
    /// A custom header carrying the bare token, e.g. `X-Api-Token: <token>`.
    Header(String),
    /// A query parameter carrying the token, e.g. `?access_token=<token>`.
    Query(String),
}

/// Faults injected into data requests (everything under `/api/` except `/api/me`; never the
/// token endpoint).
///
/// Data request number `n` (counted from 0 over the server's life, after authentication
/// succeeded) fails with `fail_first_kind` while `n < fail_first`; otherwise a number `r` in
/// `[0, 1)` is drawn from a hash of (`seed`, `n`) and the kinds are tried in the order 429, 500,
/// reset, slow, malformed, error in body: the first whose cumulative rate exceeds `r` is
/// injected. The rates must add up to at most 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Share of requests answered `429 Too Many Requests` with a `Retry-After` header.
    pub rate_429: f64,
    /// How `Retry-After` is written on 429 answers.
    pub retry_after: RetryAfter,
    /// Share of requests answered `500 Internal Server Error`.
    pub rate_500: f64,
    /// Share of connections closed without any response.
    pub rate_reset: f64,
    /// Share of requests answered normally after an extra `slow_delay`.
    pub rate_slow: f64,
    /// The extra delay of slow responses.
    pub slow_delay: Duration,
    /// Share of requests answered `200` with a JSON body cut in the middle.
    pub rate_malformed: f64,
    /// Share of requests answered `200` with `{"error": {"code": "internal", ...}}`.
    pub rate_error_in_body: f64,
    /// The first this many data requests fail with `fail_first_kind`, whatever the rates.
    pub fail_first: usize,
    /// The fault of the first `fail_first` data requests.
    pub fail_first_kind: FaultKind,
    /// Seed of the fault draws.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rate_429: 0.0,
            retry_after: RetryAfter::Seconds(1),
            rate_500: 0.0,
            rate_reset: 0.0,
            rate_slow: 0.0,
            slow_delay: Duration::from_millis(200),
            rate_malformed: 0.0,
            rate_error_in_body: 0.0,
            fail_first: 0,
            fail_first_kind: FaultKind::ServerError,
            seed: 7,
        }
    }
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Only `kind`, injected into a share `rate` of the data requests.
    pub fn only(kind: FaultKind, rate: f64) -> Self {
        let mut faults = Self::default();
        *faults.rate_mut(kind) = rate;
        faults
    }

    /// The first `n` data requests fail with `kind`; no other faults.
    pub fn fail_first(n: usize, kind: FaultKind) -> Self {
        Faults {
            fail_first: n,
            fail_first_kind: kind,
            ..Self::default()
        }
    }

    /// The rate field of `kind`.
    pub fn rate_mut(&mut self, kind: FaultKind) -> &mut f64 {
        match kind {
            FaultKind::TooManyRequests => &mut self.rate_429,
            FaultKind::ServerError => &mut self.rate_500,
            FaultKind::Reset => &mut self.rate_reset,
            FaultKind::Slow => &mut self.rate_slow,
            FaultKind::Malformed => &mut self.rate_malformed,
            FaultKind::ErrorInBody => &mut self.rate_error_in_body,
        }
    }

    pub(crate) fn any(&self) -> bool {
        self.fail_first > 0
            || self.rate_429 > 0.0
            || self.rate_500 > 0.0
            || self.rate_reset > 0.0
            || self.rate_slow > 0.0
            || self.rate_malformed > 0.0
            || self.rate_error_in_body > 0.0
    }
}

/// A kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `429 Too Many Requests` with `Retry-After`.
    TooManyRequests,
    /// `500 Internal Server Error` with a JSON error body.
    ServerError,
    /// The connection is closed without a response.
    Reset,
    /// The normal response, after `slow_delay`.
    Slow,
    /// `200` with the normal body cut in half (invalid JSON).
    Malformed,
    /// `200` with `{"error": {"code": "internal", "message": ...}}`.
    ErrorInBody,
}

/// How `Retry-After` is written on injected 429 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <IMF-fixdate>` this many seconds after now (HTTP-date, RFC 9110 §10.2.3).
    HttpDate(u64),
    /// No `Retry-After` header.
    Omitted,
}

/// `POST /login`: a session login, and a password check for pass-through authentication.
///
/// The body is a form (`username`, `password`) or JSON (`{"username", "password"}`). An
/// account's right password answers 200 `{"ok":true,"user":"<name>"}` with
/// `Set-Cookie: sid=<session>; Path=/; HttpOnly; SameSite=Lax` and
/// `X-Session-Token: <session>` (or, with `redirect`, 303 to `/` with the same headers, as a
/// form login does; with `header_only`, no cookie); anything else 401
/// `{"error":"invalid_credentials",...}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginConfig {
    /// Who can log in: (user name, password).
    pub accounts: Vec<(String, String)>,
    /// A session ends after this many `/api/*` requests ([`AuthMode::Session`]); the next
    /// one gets 401 `{"error":"invalid_session","error_description":"session expired"}`.
    /// `None`: sessions never end.
    pub requests_per_session: Option<u64>,
    /// Answer a successful login with `303 See Other` to `/`, like a form login.
    pub redirect: bool,
    /// Send the session in the `X-Session-Token` header only, without a cookie (an API
    /// login that returns its token in a header).
    pub header_only: bool,
}

impl LoginConfig {
    /// Logins for these (user name, password) accounts; sessions never end.
    pub fn new<U: Into<String>, P: Into<String>>(
        accounts: impl IntoIterator<Item = (U, P)>,
    ) -> Self {
        LoginConfig {
            accounts: accounts
                .into_iter()
                .map(|(u, p)| (u.into(), p.into()))
                .collect(),
            ..Self::default()
        }
    }

    /// Sessions end after `n` `/api/*` requests.
    pub fn with_requests_per_session(mut self, n: u64) -> Self {
        self.requests_per_session = Some(n);
        self
    }

    /// Successful logins answer 303 to `/`.
    pub fn with_redirect(mut self) -> Self {
        self.redirect = true;
        self
    }

    /// The session comes in the `X-Session-Token` header only, no cookie.
    pub fn with_header_only(mut self) -> Self {
        self.header_only = true;
        self
    }
}
