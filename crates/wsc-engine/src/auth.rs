//! Building the authenticator of a connector: the static kinds, and the token manager of
//! wsc-auth for `oauth2` and `custom`, with templates rendered by the engine's Handlebars.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wsc_auth::{Authenticator, InstanceKey, ReqwestSender, StateStore, StoreBinding, TokenManager};
use wsc_spec::Loaded;
use wsc_spec::model::Auth;

use crate::error::EngineError;
use crate::settings::ResolvedSettings;
use crate::template::{Escape, Template, Templates};

/// Compiled templates keyed by (location, source).
type Compiled = HashMap<(String, String), Template>;

/// Renders token-request templates with the engine's template language, compiling each
/// template once.
pub struct EngineRender {
    inner: Mutex<(Templates, Compiled)>,
}

impl std::fmt::Debug for EngineRender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineRender").finish_non_exhaustive()
    }
}

impl Default for EngineRender {
    fn default() -> Self {
        EngineRender {
            inner: Mutex::new((Templates::new(), HashMap::new())),
        }
    }
}

impl EngineRender {
    fn with<T>(
        &self,
        location: &str,
        template: &str,
        f: impl FnOnce(&Templates, &Template) -> Result<T, crate::template::TemplateError>,
    ) -> Result<T, wsc_auth::AuthError> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (t, cache) = &mut *g;
        let key = (location.to_string(), template.to_string());
        let compiled = match cache.get(&key) {
            Some(c) => c.clone(),
            None => {
                let c = t
                    .compile(location, template, Escape::None)
                    .map_err(|e| wsc_auth::AuthError::Config(e.to_string()))?;
                cache.insert(key, c.clone());
                c
            }
        };
        f(t, &compiled).map_err(|e| wsc_auth::AuthError::Config(e.to_string()))
    }
}

impl wsc_auth::Render for EngineRender {
    fn render(
        &self,
        location: &str,
        template: &str,
        ctx: &Value,
    ) -> Result<String, wsc_auth::AuthError> {
        self.with(location, template, |t, c| t.render(c, ctx))
    }

    fn render_value(
        &self,
        location: &str,
        template: &str,
        ctx: &Value,
    ) -> Result<Value, wsc_auth::AuthError> {
        self.with(location, template, |t, c| t.render_value(c, ctx))
    }
}

/// The key of this connector instance in the state store: the connector name and the values
/// of its `instance` settings (default: every non-secret setting).
pub fn instance_key(loaded: &Loaded, settings: &ResolvedSettings) -> InstanceKey {
    let c = &loaded.connector;
    let names: Vec<String> = match &c.instance {
        Some(names) => names.clone(),
        None => c
            .settings
            .iter()
            .filter(|(_, s)| !s.secret)
            .map(|(k, _)| k.clone())
            .collect(),
    };
    let values: Vec<(String, String)> = names
        .into_iter()
        .map(|n| {
            let v = match settings.get(&n) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (n, v)
        })
        .collect();
    InstanceKey::new(
        &c.connector,
        values.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// The token manager of an `oauth2` or `custom` connector (`None` for the static kinds),
/// keeping its tokens in `store` when one is given.
pub fn token_manager(
    loaded: &Loaded,
    settings: &ResolvedSettings,
    store: Option<Arc<StateStore>>,
) -> Result<Option<TokenManager>, EngineError> {
    if !matches!(loaded.connector.auth, Auth::OAuth2(_) | Auth::Custom(_)) {
        return Ok(None);
    }
    let sender = ReqwestSender::new().map_err(|e| EngineError::Config(e.to_string()))?;
    let binding = store.map(|store| StoreBinding {
        store,
        key: instance_key(loaded, settings),
    });
    Ok(TokenManager::for_auth(
        &loaded.connector.auth,
        settings.to_value(),
        Arc::new(EngineRender::default()),
        loaded.dir.clone(),
        Arc::new(sender),
        binding,
    ))
}

/// The authenticator of a connector: static credentials, or a token manager for `oauth2`
/// and `custom` (tokens kept in `store` when one is given, else in memory only).
pub fn authenticator(
    loaded: &Loaded,
    settings: &ResolvedSettings,
    store: Option<Arc<StateStore>>,
) -> Result<Arc<dyn Authenticator>, EngineError> {
    match token_manager(loaded, settings, store)? {
        Some(m) => Ok(Arc::new(m)),
        None => crate::run::static_authenticator(loaded, settings),
    }
}
