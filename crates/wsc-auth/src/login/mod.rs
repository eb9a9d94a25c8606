//! Interactive sign-in for `wsc auth login`: the authorization_code grant with PKCE (S256)
//! through a loopback redirect (RFC 8252 §7.3), and the device authorization grant
//! (RFC 8628). Both end with the tokens committed to the state store through the
//! [`TokenManager`](crate::manager::TokenManager), so later runs refresh them.
//!
//! Nothing here prints: the caller shows the authorize URL or the user code (see
//! [`CodeLogin::authorize_url`] and [`DevicePrompt`]).
//!
//! Files: `error` (why a sign-in failed), `loopback` (the redirect listener), `code` (the
//! authorization_code sign-in), `device` (the device authorization grant).

mod code;
mod device;
mod error;
mod loopback;

pub use code::CodeLogin;
pub use device::{
    DEFAULT_DEVICE_INTERVAL, DevicePrompt, PollOutcome, SLOW_DOWN_STEP, device_login, poll_outcome,
};
pub use error::LoginError;
pub use loopback::{DEFAULT_REDIRECT_PATH, Loopback, RedirectTarget, redirect_target};
