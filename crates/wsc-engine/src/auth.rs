//! Building the authenticator of a connector: the static kinds, and the token manager of
//! wsc-auth for `oauth2` and `custom`, with templates rendered by the engine's Handlebars.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wsc_auth::request::Body as TokenBody;
use wsc_auth::request::TokenHttpRequest;
use wsc_auth::token::RawResponse;
use wsc_auth::{AuthError, Authenticator, ReqwestSender, StoreBinding, TokenManager, TokenSender};
use wsc_spec::Loaded;
use wsc_spec::model::Auth;
use wsc_store::{InstanceKey, Store};

use crate::error::EngineError;
use crate::http::Body;
use crate::settings::ResolvedSettings;
use crate::template::{Escape, Template, Templates};
use crate::wire::{Exchange, Wire};

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

/// The key of this instance's tokens in the state store: [`instance_key`], and with auth
/// alternatives also the name of the alternative in use, so two alternatives never share a
/// token.
pub fn token_key(loaded: &Loaded, settings: &ResolvedSettings) -> Result<InstanceKey, EngineError> {
    let chosen = crate::alternative::chosen_auth(&loaded.connector, settings)?;
    let key = instance_key(loaded, settings);
    Ok(match chosen.name() {
        None => key,
        Some(name) => InstanceKey::new(
            &key.connector,
            [
                ("instance", key.instance.as_str()),
                ("auth alternative", name),
            ],
        ),
    })
}

/// The token manager of an `oauth2` or `custom` connector (`None` for the static kinds),
/// keeping its tokens in `store` when one is given.
pub fn token_manager(
    loaded: &Loaded,
    settings: &ResolvedSettings,
    store: Option<Arc<dyn Store>>,
) -> Result<Option<TokenManager>, EngineError> {
    token_manager_with(loaded, settings, store, &Wire::default())
}

/// [`token_manager`] whose token requests go through `wire` (reroute, tap).
pub fn token_manager_with(
    loaded: &Loaded,
    settings: &ResolvedSettings,
    store: Option<Arc<dyn Store>>,
    wire: &Wire,
) -> Result<Option<TokenManager>, EngineError> {
    let chosen = crate::alternative::chosen_auth(&loaded.connector, settings)?;
    if !matches!(chosen.auth, Auth::OAuth2(_) | Auth::Custom(_)) {
        return Ok(None);
    }
    // Token requests go out with the connector's TLS settings (private CA, client
    // certificate), like its other requests.
    let ctx = serde_json::json!({ "settings": settings.to_value() });
    let tls = crate::http::read_tls(&loaded.dir, &loaded.connector, &mut Templates::new(), &ctx)?;
    let inner = ReqwestSender::with_tls(&tls).map_err(|e| EngineError::Config(e.to_string()))?;
    let sender = WiredSender {
        inner,
        wire: wire.clone(),
    };
    let key = token_key(loaded, settings)?;
    let binding = store.map(|store| StoreBinding { store, key });
    Ok(TokenManager::for_auth(
        chosen.auth,
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
    store: Option<Arc<dyn Store>>,
) -> Result<Arc<dyn Authenticator>, EngineError> {
    authenticator_with(loaded, settings, store, &Wire::default())
}

/// [`authenticator`] whose token requests go through `wire` (reroute, tap). The engine's own
/// requests take the wire from [`crate::RunContext::wire`].
pub fn authenticator_with(
    loaded: &Loaded,
    settings: &ResolvedSettings,
    store: Option<Arc<dyn Store>>,
    wire: &Wire,
) -> Result<Arc<dyn Authenticator>, EngineError> {
    let inner: Arc<dyn Authenticator> = match token_manager_with(loaded, settings, store, wire)? {
        Some(m) => Arc::new(m),
        None => static_only(loaded, settings)?,
    };
    named(loaded, settings, inner)
}

/// `inner`, its errors naming the auth alternative in use (when the auth has alternatives).
fn named(
    loaded: &Loaded,
    settings: &ResolvedSettings,
    inner: Arc<dyn Authenticator>,
) -> Result<Arc<dyn Authenticator>, EngineError> {
    let chosen = crate::alternative::chosen_auth(&loaded.connector, settings)?;
    Ok(match chosen.name() {
        None => inner,
        Some(name) => Arc::new(crate::alternative::Named {
            inner,
            name: name.to_string(),
        }),
    })
}

/// Sends token requests through a [`Wire`].
struct WiredSender {
    inner: ReqwestSender,
    wire: Wire,
}

impl TokenSender for WiredSender {
    fn send<'a>(
        &'a self,
        mut req: TokenHttpRequest,
    ) -> futures_util::future::BoxFuture<'a, Result<RawResponse, AuthError>> {
        Box::pin(async move {
            let tapped = self.wire.tap.as_ref().map(|tap| (tap.clone(), req.clone()));
            req.url = self.wire.target(&req.url);
            let resp = if self.wire.dry_run {
                RawResponse {
                    status: 0,
                    content_type: "application/json".into(),
                    headers: Vec::new(),
                    body: serde_json::json!({
                        "access_token": crate::wire::DRY_RUN_TOKEN,
                        "token_type": "Bearer",
                        "expires_in": 3600
                    })
                    .to_string()
                    .into_bytes(),
                }
            } else {
                self.inner.send(req).await?
            };
            if let Some((tap, req)) = tapped {
                let request_body = match req.body {
                    TokenBody::Empty => Body::Empty,
                    TokenBody::Form(f) => Body::Form(f),
                    TokenBody::Multipart(f) => Body::Multipart(f),
                    TokenBody::Json(v) => Body::Json(serde_json::to_vec(&v).unwrap_or_default()),
                    TokenBody::Raw { content_type, text } => Body::Raw { content_type, text },
                };
                tap.exchange(Exchange {
                    token_request: true,
                    method: req.method.as_str().to_string(),
                    url: req.url,
                    request_headers: req.headers,
                    request_body,
                    status: resp.status,
                    response_headers: if resp.headers.is_empty() {
                        vec![("content-type".into(), resp.content_type.clone())]
                    } else {
                        resp.headers.clone()
                    },
                    response_body: resp.body.clone(),
                });
            }
            if self.wire.dry_run {
                return Ok(RawResponse {
                    status: 200,
                    ..resp
                });
            }
            Ok(resp)
        })
    }
}

/// Builds the authenticator of a connector: the static kinds (none, basic, API key, bearer)
/// directly, `oauth2` and `custom` as a token manager without a state store (see
/// [`authenticator`] for one with a store).
pub fn static_authenticator(
    loaded: &Loaded,
    settings: &ResolvedSettings,
) -> Result<Arc<dyn Authenticator>, EngineError> {
    let chosen = crate::alternative::chosen_auth(&loaded.connector, settings)?;
    if matches!(chosen.auth, Auth::OAuth2(_) | Auth::Custom(_)) {
        // Managed tokens, kept in memory; `authenticator` adds a store.
        return authenticator(loaded, settings, None);
    }
    let inner = static_only(loaded, settings)?;
    named(loaded, settings, inner)
}

/// The static kinds (none, basic, API key, bearer), without naming the alternative.
fn static_only(
    loaded: &Loaded,
    settings: &ResolvedSettings,
) -> Result<Arc<dyn Authenticator>, EngineError> {
    use wsc_auth::{Secret, StaticAuth};
    let mut t = Templates::new();
    let ctx = serde_json::json!({
        "settings": settings.to_value(),
        "state": {},
        "now": crate::time::now_rfc3339(),
    });
    let mut render = |loc: &str, tpl: &wsc_spec::Template| -> Result<String, EngineError> {
        let c = t.compile(loc, tpl.as_str(), Escape::None)?;
        Ok(t.render(&c, &ctx)?)
    };
    let chosen = crate::alternative::chosen_auth(&loaded.connector, settings)?;
    let a: StaticAuth = match chosen.auth {
        Auth::None => StaticAuth::None,
        Auth::Basic(b) => StaticAuth::Basic {
            username: render("auth.username", &b.username)?,
            password: Secret::new(render("auth.password", &b.password)?),
        },
        Auth::ApiKey(k) => StaticAuth::ApiKey {
            key: Secret::new(render("auth.key", &k.key)?),
            placement: k.placement,
            name: k.name.clone(),
            prefix: k.prefix.clone().unwrap_or_default(),
        },
        Auth::Bearer(b) => StaticAuth::bearer(
            Secret::new(render("auth.token", &b.token)?),
            b.token_placement.placement,
            b.token_placement.name.clone(),
            b.token_placement.effective_prefix().to_string(),
        ),
        Auth::WsSecurity(w) => {
            return Ok(Arc::new(wsc_auth::WsSecurity {
                username: render("auth.username", &w.username)?,
                password: Secret::new(render("auth.password", &w.password)?),
                password_type: w.password_type,
            }));
        }
        Auth::OAuth2(_) | Auth::Custom(_) | Auth::Alternatives(_) => {
            return Err(EngineError::Config(format!(
                "auth type `{}` has no static credentials",
                chosen.auth.kind_name()
            )));
        }
    };
    Ok(Arc::new(a))
}
