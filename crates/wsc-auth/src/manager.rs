//! The token manager: caches a token, refreshes it before expiry and when the server rejects
//! it (single flight, also across processes sharing a [`Store`]), keeps and rotates
//! refresh tokens, and commits every new token to the store before it is used. A refresh
//! refused with `invalid_grant` re-reads the store first, in case another writer rotated.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt};
use wsc_spec::StatusPattern;
use wsc_spec::model::{Credential, Placement, RefreshPolicy, TokenPlacement};

use wsc_store::{ExpectedVersion, InstanceKey, Store, StoreError};

use crate::authenticator::{Authenticator, Generation, Outgoing};
use crate::error::AuthError;
use crate::flow::{CustomFlow, OAuth2Flow};
use crate::inflight::InFlight;
use crate::render::Render;
use crate::request::{TokenHttpRequest, TokenSender};
use crate::stored::{load_token, save_token};
use crate::token::{Obtained, RawResponse, RequestPurpose, TokenSet, now_ms};

/// Where tokens come from.
#[derive(Debug)]
pub enum Flow {
    /// OAuth 2.0.
    OAuth2(Box<OAuth2Flow>),
    /// A custom token request.
    Custom(Box<CustomFlow>),
}

impl Flow {
    /// The configured grant's name, `custom` for a custom flow.
    pub(crate) fn grant_name(&self) -> &'static str {
        match self {
            Flow::OAuth2(f) => f.grant().name(),
            Flow::Custom(_) => "custom",
        }
    }
}

/// A store and the instance whose token this manager keeps there.
#[derive(Debug, Clone)]
pub struct StoreBinding {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The instance.
    pub key: InstanceKey,
}

#[derive(Default)]
struct Current {
    token: Option<TokenSet>,
    generation: u64,
}

/// Manages the token of one connector instance. Implements [`Authenticator`].
pub struct TokenManager {
    pub(crate) flow: Flow,
    pub(crate) sender: Arc<dyn TokenSender>,
    placement: TokenPlacement,
    /// `credential: cookies`: the cookies are sent, no token.
    cookies_only: bool,
    pub(crate) skew: Duration,
    on_status: Vec<StatusPattern>,
    current: RwLock<Current>,
    refresh_lock: tokio::sync::Mutex<()>,
    pub(crate) token_requests: AtomicU64,
    store: Option<StoreBinding>,
    static_secrets: Vec<String>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("flow", &self.flow)
            .field(
                "token_requests",
                &self.token_requests.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    /// A manager for a connector's `oauth2` or `custom` auth; `None` for the static kinds.
    /// `settings` are the resolved settings, `dir` the connector's directory (for key files).
    pub fn for_auth(
        auth: &wsc_spec::model::Auth,
        settings: serde_json::Value,
        render: Arc<dyn Render>,
        dir: std::path::PathBuf,
        sender: Arc<dyn TokenSender>,
        store: Option<StoreBinding>,
    ) -> Option<TokenManager> {
        use wsc_spec::model::Auth;
        match auth {
            Auth::OAuth2(o) => Some(TokenManager::new(
                Flow::OAuth2(Box::new(OAuth2Flow::new(
                    (**o).clone(),
                    settings,
                    render,
                    dir,
                ))),
                o.token.clone(),
                &o.refresh,
                sender,
                store,
            )),
            Auth::Custom(c) => Some(TokenManager::new(
                Flow::Custom(Box::new(CustomFlow::new((**c).clone(), settings, render))),
                c.token.clone(),
                &c.refresh,
                sender,
                store,
            )),
            _ => None,
        }
    }

    /// Installs a token obtained outside the manager (`wsc auth login`), committing it to
    /// the store first when there is one.
    pub fn adopt(&self, token: TokenSet) -> Result<(), AuthError> {
        if let Some(b) = &self.store {
            save_token(
                &*b.store,
                &b.key,
                self.flow.grant_name(),
                &token,
                ExpectedVersion::Any,
            )?;
        }
        self.log_obtained(&token);
        self.install(token);
        Ok(())
    }

    /// Sends one token request and reads its response with the flow's response mapping
    /// (used by `wsc auth login` for the code and device exchanges).
    pub async fn exchange_primary(&self, req: TokenHttpRequest) -> Result<TokenSet, AuthError> {
        let how = self.flow.reading(RequestPurpose::Primary, None);
        self.exchange(req, &how, Obtained::Grant(self.flow.grant_name().into()))
            .await
    }

    /// Obtains a new token with the primary grant, never a stored or refreshed one, and
    /// stores it (`wsc auth login` for grants without a user: it checks the credentials).
    /// `None` when the grant has no primary request (a refresh-token-only flow).
    pub async fn obtain_primary(&self) -> Result<Option<TokenSet>, AuthError> {
        let req = match &self.flow {
            Flow::OAuth2(f) if f.has_primary() => f.primary_request()?,
            Flow::OAuth2(_) => return Ok(None),
            Flow::Custom(c) => c.login_request()?,
        };
        let token = self.exchange_primary(req).await?;
        self.adopt(token.clone())?;
        Ok(Some(token))
    }

    /// Sends one request through the manager's sender and returns the raw answer (the device
    /// authorization request of `wsc auth login`). Counts as a token request.
    pub(crate) async fn send_raw(&self, req: TokenHttpRequest) -> Result<RawResponse, AuthError> {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(request = ?req, "token request");
        self.sender.send(req).await
    }

    /// A manager for `flow`, placing tokens as `placement` says and refreshing by `refresh`.
    pub fn new(
        flow: Flow,
        placement: TokenPlacement,
        refresh: &RefreshPolicy,
        sender: Arc<dyn TokenSender>,
        store: Option<StoreBinding>,
    ) -> TokenManager {
        let static_secrets = match &flow {
            Flow::OAuth2(f) => f.secrets(),
            Flow::Custom(_) => Vec::new(),
        };
        let cookies_only =
            matches!(&flow, Flow::Custom(c) if c.spec.credential == Credential::Cookies);
        TokenManager {
            flow,
            sender,
            placement,
            cookies_only,
            skew: refresh
                .skew
                .map(|d| d.get())
                .unwrap_or(Duration::from_secs(60)),
            on_status: refresh
                .on_status
                .clone()
                .unwrap_or_else(|| vec![StatusPattern::Code(401)]),
            current: RwLock::new(Current::default()),
            refresh_lock: tokio::sync::Mutex::new(()),
            token_requests: AtomicU64::new(0),
            store,
            static_secrets,
        }
    }

    /// The flow.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// The token in use, if any.
    pub fn current_token(&self) -> Option<TokenSet> {
        self.read().token.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        self.current.read().unwrap_or_else(|e| e.into_inner())
    }

    fn install(&self, t: TokenSet) {
        let mut c = self.current.write().unwrap_or_else(|e| e.into_inner());
        c.token = Some(t);
        c.generation += 1;
    }

    fn place(&self, token: &TokenSet, out: Outgoing<'_>) {
        if let Some(cookies) = &token.cookies {
            // After any cookie the request already carries (a jar's are added later, by the
            // HTTP client, which merges them).
            match out
                .headers
                .iter_mut()
                .find(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            {
                Some((_, v)) => {
                    v.push_str("; ");
                    v.push_str(cookies.expose());
                }
                None => out
                    .headers
                    .push(("Cookie".into(), cookies.expose().to_string())),
            }
        }
        if self.cookies_only {
            return;
        }
        let value = format!(
            "{}{}",
            self.placement.effective_prefix(),
            token.access_token.expose()
        );
        match self.placement.placement {
            Placement::Header => out.headers.push((self.placement.name.clone(), value)),
            Placement::Query => {
                out.url
                    .query_pairs_mut()
                    .append_pair(&self.placement.name, &value);
            }
        }
    }

    /// Makes sure a fresh token is in place, obtaining one if needed. With `used`, the token
    /// of that generation was rejected: it is replaced unless a newer one is already there.
    /// Returns whether a (new) token is in place.
    pub async fn refresh(&self, used: Option<Generation>) -> Result<bool, AuthError> {
        let _single = self.refresh_lock.lock().await;
        let now = now_ms();
        let current = {
            let c = self.read();
            match (used, &c.token) {
                (Some(g), Some(_)) if c.generation != g.0 => return Ok(true),
                (None, Some(t)) if !t.is_stale(now, self.skew) => return Ok(true),
                _ => {}
            }
            c.token.clone()
        };
        let Some(binding) = &self.store else {
            let new = self.obtain(current.as_ref()).await?;
            self.log_obtained(&new);
            self.install(new);
            return Ok(true);
        };
        // Across processes: take the credential lease, re-read, refresh only if still stale.
        let (store, key) = (binding.store.clone(), binding.key.clone());
        let lease = tokio::task::spawn_blocking(move || store.lock_credential(&key))
            .await
            .map_err(|e| StoreError::Lease {
                location: binding.store.location().to_string(),
                detail: e.to_string(),
            })??;
        let stored = load_token(&*binding.store, &binding.key)?;
        let (base, expected) = match stored {
            Some(s) => {
                let differs = current
                    .as_ref()
                    .is_none_or(|c| c.access_token != s.token.access_token);
                if differs && !s.token.is_stale(now_ms(), self.skew) {
                    tracing::info!(
                        "using the fresh token found in the store (obtained {} s ago)",
                        now_ms().saturating_sub(s.token.obtained_at_ms) / 1000
                    );
                    self.install(s.token);
                    drop(lease);
                    return Ok(true);
                }
                // The stored token is the newest committed one: its refresh token counts.
                (Some(s.token), ExpectedVersion::Version(s.version))
            }
            None => (current, ExpectedVersion::Absent),
        };
        // From the request until the new token is stored, a Ctrl-C or SIGTERM waits (see
        // `inflight`): the server may rotate the refresh token the moment it answers.
        let Some(_in_flight) = InFlight::begin() else {
            return Err(AuthError::Stopping);
        };
        // Whatever the store does before a write, done before the request is sent.
        binding.store.ready_token_write();
        let (new, expected) = match self.obtain(base.as_ref()).await {
            Ok(t) => (t, expected),
            Err(e) if e.oauth_error() == Some("invalid_grant") => {
                // Another writer may have rotated the refresh token since it was read (its
                // lease had lapsed, or ours did): use what it stored rather than fail.
                match load_token(&*binding.store, &binding.key)? {
                    Some(s) if ExpectedVersion::Version(s.version) != expected => {
                        if !s.token.is_stale(now_ms(), self.skew) {
                            tracing::debug!(
                                "invalid_grant, but another writer stored a fresh token: using it"
                            );
                            self.install(s.token);
                            drop(lease);
                            return Ok(true);
                        }
                        let again = ExpectedVersion::Version(s.version);
                        (self.obtain(Some(&s.token)).await?, again)
                    }
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        // Commit before use: a rotated refresh token must survive a crash right after this.
        let new = self.commit(binding, new, expected)?;
        drop(_in_flight);
        drop(lease);
        self.log_obtained(&new);
        self.install(new);
        Ok(true)
    }

    /// Saves a token just obtained over the `expected` stored one. When another writer
    /// changed the stored token meanwhile (a sign-in, or a refresh whose holder's lease had
    /// lapsed), its token is used if it is fresh; else this one is written over it. Returns
    /// the token to use.
    fn commit(
        &self,
        binding: &StoreBinding,
        new: TokenSet,
        expected: ExpectedVersion,
    ) -> Result<TokenSet, AuthError> {
        let grant = self.flow.grant_name();
        match save_token(&*binding.store, &binding.key, grant, &new, expected) {
            Ok(_) => return Ok(new),
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e.into()),
        }
        let expected = match load_token(&*binding.store, &binding.key)? {
            Some(s) if !s.token.is_stale(now_ms(), self.skew) => {
                tracing::debug!("another writer stored a token meanwhile: using it");
                return Ok(s.token);
            }
            Some(s) => ExpectedVersion::Version(s.version),
            None => ExpectedVersion::Absent,
        };
        save_token(&*binding.store, &binding.key, grant, &new, expected)?;
        Ok(new)
    }
}

impl Authenticator for TokenManager {
    fn apply<'a>(&'a self, out: Outgoing<'a>) -> BoxFuture<'a, Result<Generation, AuthError>> {
        async move {
            {
                let c = self.read();
                if let Some(t) = &c.token
                    && !t.is_stale(now_ms(), self.skew)
                {
                    self.place(t, out);
                    return Ok(Generation(c.generation));
                }
            }
            self.refresh(None).await?;
            let c = self.read();
            let Some(t) = &c.token else {
                return Err(AuthError::Config("no token after a refresh".into()));
            };
            self.place(t, out);
            Ok(Generation(c.generation))
        }
        .boxed()
    }

    fn is_expired_status(&self, status: u16) -> bool {
        self.on_status.iter().any(|p| p.matches(status))
    }

    fn renew<'a>(&'a self, used: Generation) -> BoxFuture<'a, Result<bool, AuthError>> {
        self.refresh(Some(used)).boxed()
    }

    fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    fn secrets(&self) -> Vec<String> {
        let mut s = self.static_secrets.clone();
        if let Some(t) = &self.read().token {
            s.push(t.access_token.expose().to_string());
            if let Some(r) = &t.refresh_token {
                s.push(r.expose().to_string());
            }
            if let Some(c) = &t.cookies {
                // Each cookie value on its own too: a message may quote one.
                s.extend(
                    crate::cookies::CookieSet::parse_header(c.expose())
                        .values()
                        .map(str::to_string),
                );
                s.push(c.expose().to_string());
            }
        }
        s
    }
}
