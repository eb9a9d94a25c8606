//! Credentials and tokens for wsc.
//!
//! The engine asks an [`Authenticator`] to put credentials on each outgoing request and tells
//! it when a response says the credentials were rejected, so that a token can be refreshed
//! once and the request retried once. This crate holds that contract, the secret newtype and
//! the static kinds (none, basic, API key, bearer); managed OAuth2 and custom token flows plug
//! into the same trait.

pub mod flow;
pub mod jsonpath;
pub mod jwt;
pub mod login;
pub mod manager;
pub mod pkce;
pub mod render;
pub mod request;
mod secret;
mod static_auth;
pub mod store;
pub mod token;

pub use manager::{Flow, StoreBinding, TokenManager};
pub use render::{Render, SimpleRender};
pub use request::{ReqwestSender, TokenSender};
pub use secret::Secret;
pub use static_auth::StaticAuth;
pub use store::{InstanceKey, StateStore};
pub use token::TokenSet;

use futures_util::future::BoxFuture;

/// Why credentials could not be applied or renewed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// The configuration cannot produce credentials.
    #[error("auth configuration: {0}")]
    Config(String),
    /// The token endpoint refused (OAuth error code, description and what to do).
    #[error("token request failed: {message}{}", hint.as_deref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    TokenRequest {
        /// What happened, e.g. `invalid_client: client authentication failed`.
        message: String,
        /// What to do about it.
        hint: Option<String>,
        /// The OAuth `error` code, when the server sent one.
        oauth_error: Option<String>,
    },
    /// No token can be obtained without the user (no refresh token held, no login yet).
    #[error("{message}\n  hint: {hint}")]
    NoToken {
        /// What is missing.
        message: String,
        /// How to get a token.
        hint: String,
    },
    /// The token endpoint could not be reached or its answer not read.
    #[error("{0}")]
    Http(String),
    /// The state store failed.
    #[error("{0}")]
    Store(String),
}

impl AuthError {
    /// The OAuth `error` code of a refused token request.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            AuthError::TokenRequest { oauth_error, .. } => oauth_error.as_deref(),
            _ => None,
        }
    }
}

/// Where credentials go on one request: the URL (for query-parameter placement) and headers.
#[derive(Debug)]
pub struct Outgoing<'a> {
    /// The request URL; query-string credentials are appended to it.
    pub url: &'a mut url::Url,
    /// Request headers; header credentials are added here.
    pub headers: &'a mut Vec<(String, String)>,
}

/// Identifies the credential a request carried, so a rejection refreshes only if no one else
/// has refreshed since (single flight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Generation(pub u64);

/// Puts credentials on requests and renews them when the server rejects them.
pub trait Authenticator: Send + Sync {
    /// Adds credentials to a request. Returns the generation of the credential used.
    fn apply<'a>(&'a self, out: Outgoing<'a>) -> BoxFuture<'a, Result<Generation, AuthError>>;

    /// Whether a response status means "credentials expired or rejected: refresh and retry".
    fn is_expired_status(&self, status: u16) -> bool;

    /// Called once when a request carrying `used` got an expired status. Returns whether a
    /// retry can help (a new credential is now in place).
    fn renew<'a>(&'a self, used: Generation) -> BoxFuture<'a, Result<bool, AuthError>>;

    /// Token requests made so far (0 for static kinds).
    fn token_requests(&self) -> u64 {
        0
    }

    /// Secret values this authenticator holds, for redaction from logs and errors.
    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}
