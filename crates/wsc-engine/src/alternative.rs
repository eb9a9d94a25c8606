//! Auth alternatives (`auth: { type: alternatives }`): which one a run uses, and an
//! authenticator whose errors name it.
//!
//! The alternative is the one the `select` setting names; without `select`, or when that
//! setting has no value, the first (in file order) whose settings all have values. Settings
//! only alternatives read are not required when settings are resolved (see
//! [`wsc_spec::auth_settings::alternative_only_settings`]), so the check that the chosen
//! alternative has its settings is made here, with every alternative's missing settings in
//! the message when none can be used.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;
use wsc_auth::{AuthError, Authenticator, Generation, Outgoing};
use wsc_spec::Connector;
use wsc_spec::model::Auth;

use crate::error::EngineError;
use crate::settings::ResolvedSettings;

/// How the alternative in use was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy<'a> {
    /// The value of the `select` setting (its name).
    Setting(&'a str),
    /// The first alternative whose settings all have values.
    FirstComplete,
}

/// The auth a run uses: the connector's `auth`, or one of its alternatives.
#[derive(Debug, Clone, Copy)]
pub struct ChosenAuth<'a> {
    /// The auth in use (never `alternatives`).
    pub auth: &'a Auth,
    /// The alternative's name and how it was chosen; `None` without alternatives.
    pub alternative: Option<(&'a str, ChosenBy<'a>)>,
}

impl ChosenAuth<'_> {
    /// The alternative's name, if the auth has alternatives.
    pub fn name(&self) -> Option<&str> {
        self.alternative.map(|(n, _)| n)
    }

    /// How the alternative was chosen, for `wsc auth status`: `` `oauth` (setting
    /// `auth_method`) `` or `` `oauth` (the first whose settings all have values) ``.
    pub fn describe(&self) -> Option<String> {
        self.alternative.map(|(n, by)| match by {
            ChosenBy::Setting(s) => format!("`{n}` (chosen by setting `{s}`)"),
            ChosenBy::FirstComplete => {
                format!("`{n}` (the first alternative whose settings all have values)")
            }
        })
    }
}

/// Whether a resolved setting has a value.
fn has_value(settings: &ResolvedSettings, name: &str) -> bool {
    settings.get(name).is_some_and(|v| !v.is_null())
}

/// The auth `c` uses with these settings: its `auth`, or the alternative chosen (see the
/// module documentation). An unknown selected name, a chosen alternative without its settings
/// or no usable alternative at all is an error naming the alternatives.
pub fn chosen_auth<'a>(
    c: &'a Connector,
    settings: &ResolvedSettings,
) -> Result<ChosenAuth<'a>, EngineError> {
    let Auth::Alternatives(a) = &c.auth else {
        return Ok(ChosenAuth {
            auth: &c.auth,
            alternative: None,
        });
    };
    let names: Vec<&str> = a.alternatives.keys().map(String::as_str).collect();
    let missing = |name: &str| -> Vec<String> {
        a.settings_of(name)
            .into_iter()
            .filter(|s| !has_value(settings, s))
            .collect()
    };
    let selected = a
        .select
        .as_deref()
        .and_then(|s| settings.get(s).filter(|v| !v.is_null()).map(|v| (s, v)));
    if let Some((setting, value)) = selected {
        let wanted = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let Some((name, auth)) = a.alternatives.get_key_value(&wanted) else {
            return Err(EngineError::Settings(format!(
                "setting `{setting}` is `{wanted}`, which is not an auth alternative of connector `{}`: use one of {}",
                c.connector,
                names.join(", ")
            )));
        };
        let lacking = missing(name);
        if !lacking.is_empty() {
            return Err(EngineError::Settings(format!(
                "auth alternative `{name}` (chosen by setting `{setting}`) needs {} without a value: supply {} (`--set NAME=VALUE`, a `--settings` file or the environment), or choose another alternative ({})",
                plural_settings(&lacking),
                if lacking.len() == 1 { "it" } else { "them" },
                names.join(", ")
            )));
        }
        return Ok(ChosenAuth {
            auth,
            alternative: Some((name.as_str(), ChosenBy::Setting(setting))),
        });
    }
    let mut reasons = Vec::new();
    for (name, auth) in &a.alternatives {
        let lacking = missing(name);
        if lacking.is_empty() {
            return Ok(ChosenAuth {
                auth,
                alternative: Some((name.as_str(), ChosenBy::FirstComplete)),
            });
        }
        reasons.push(format!("`{name}` needs {}", plural_settings(&lacking)));
    }
    Err(EngineError::Settings(format!(
        "no auth alternative of connector `{}` can be used: {}; supply the settings of one{}",
        c.connector,
        reasons.join("; "),
        a.select
            .as_deref()
            .map(|s| format!(" (and choose it with `--set {s}=NAME`)"))
            .unwrap_or_default()
    )))
}

/// `setting `a`` or `settings `a`, `b``.
fn plural_settings(names: &[String]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!(
        "setting{} {}",
        if names.len() == 1 { "" } else { "s" },
        list.join(", ")
    )
}

/// An authenticator whose errors say which auth alternative failed.
pub(crate) struct Named {
    /// The alternative's authenticator.
    pub(crate) inner: Arc<dyn Authenticator>,
    /// The alternative's name.
    pub(crate) name: String,
}

impl Named {
    fn name_error(&self, e: AuthError) -> AuthError {
        let pre = format!("auth alternative `{}`: ", self.name);
        match e {
            AuthError::Config(m) => AuthError::Config(format!("{pre}{m}")),
            AuthError::TokenRequest {
                message,
                hint,
                oauth_error,
            } => AuthError::TokenRequest {
                message: format!("{pre}{message}"),
                hint,
                oauth_error,
            },
            AuthError::NoToken { message, hint } => AuthError::NoToken {
                message: format!("{pre}{message}"),
                hint,
            },
            AuthError::Http(m) => AuthError::Http(format!("{pre}{m}")),
            AuthError::Key(k) => AuthError::Config(format!("{pre}{k}")),
            other => other,
        }
    }
}

impl Authenticator for Named {
    fn apply<'a>(&'a self, out: Outgoing<'a>) -> BoxFuture<'a, Result<Generation, AuthError>> {
        Box::pin(async move { self.inner.apply(out).await.map_err(|e| self.name_error(e)) })
    }

    fn is_expired_status(&self, status: u16) -> bool {
        self.inner.is_expired_status(status)
    }

    fn renew<'a>(&'a self, used: Generation) -> BoxFuture<'a, Result<bool, AuthError>> {
        Box::pin(async move { self.inner.renew(used).await.map_err(|e| self.name_error(e)) })
    }

    fn token_requests(&self) -> u64 {
        self.inner.token_requests()
    }

    fn secrets(&self) -> Vec<String> {
        self.inner.secrets()
    }
}
