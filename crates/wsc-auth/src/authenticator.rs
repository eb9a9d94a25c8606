//! The contract between the engine and an auth kind: put credentials on a request, renew
//! them when the server rejects them.

use futures_util::future::BoxFuture;

use crate::error::AuthError;

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

    /// A header block put into the `Header` of every SOAP request (WS-Security), made afresh
    /// for each attempt; `None` (the default) for kinds that put nothing there.
    fn soap_header(&self) -> Option<String> {
        None
    }

    /// Secret values this authenticator holds, for redaction from logs and errors.
    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
}
