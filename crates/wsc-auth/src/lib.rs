//! Credentials and tokens for wsc.
//!
//! The engine asks an [`Authenticator`] to put credentials on each outgoing request and tells
//! it when a response says the credentials were rejected, so that a token can be refreshed
//! once and the request retried once. This crate holds that contract, the secret newtype and
//! the static kinds (none, basic, API key, bearer); managed OAuth2 and custom token flows plug
//! into the same trait.

mod authenticator;
mod cookies;
mod error;
pub mod flow;
pub mod inflight;
pub mod jsonpath;
pub mod jwt;
pub mod keys;
pub mod login;
pub mod manager;
pub mod next;
mod obtain;
pub mod pkce;
mod random;
pub mod render;
pub mod request;
mod secret;
mod shown;
mod static_auth;
pub mod stored;
pub mod tls;
pub mod token;
mod ws_security;

pub use authenticator::{Authenticator, Generation, Outgoing};
pub use error::AuthError;
pub use keys::{KeyError, PemOrigin};
pub use manager::{Flow, StoreBinding, TokenManager};
pub use render::{Render, SimpleRender};
pub use request::{ReqwestSender, TokenSender};
pub use secret::Secret;
pub use static_auth::StaticAuth;
pub use stored::{LoadedToken, load_token};
pub use tls::{ClientTls, TlsSource};
pub use token::{Obtained, TokenSet};
pub use ws_security::{WsSecurity, password_digest};
/// The key of a connector instance in the state store (re-exported from `wsc-store`, its
/// home).
pub use wsc_store::InstanceKey;
