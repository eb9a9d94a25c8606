//! Why credentials could not be applied or renewed.

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
    /// A private key or certificate cannot be used (encrypted without a password, a wrong
    /// password, a key that is not the certificate's).
    #[error("{0}")]
    Key(#[from] crate::keys::KeyError),
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] wsc_store::StoreError),
    /// The process is stopping (Ctrl-C, SIGTERM): no new token request is started.
    #[error("not starting a token request: wsc is stopping (interrupted)")]
    Stopping,
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
