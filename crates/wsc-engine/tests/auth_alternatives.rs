//! Auth alternatives (`auth: { type: alternatives }`): the alternative a setting selects,
//! else the first whose settings all have values; settings of the others not required; an
//! unknown selected name and no usable alternative refused with the names; tokens stored per
//! alternative; auth errors naming the alternative. Two synthetic APIs, one taking an API key
//! and one OAuth2 client credentials, show which alternative a run really used: the other
//! one's credentials get a 401.

mod common;

use std::sync::Arc;

use common::*;
use wsc_engine::{Engine, RunContext};
use wsc_testkit::synthetic::{AuthMode, SyntheticApi, TokenLocation};

const KEY: &str = "alt-key-8Hd2";
const CLIENT: &str = "alt-client";
const SECRET: &str = "alt-secret-3Vb";

/// `select` is spliced in where the test wants it.
fn connector(select: &str) -> String {
    format!(
        r#"connector: alt
settings:
  base_url: {{}}
  auth_method: {{ required: false }}
  api_token: {{ secret: true }}
  client_id: {{}}
  client_secret: {{ secret: true }}
base_url: "{{{{settings.base_url}}}}/api"
auth:
  type: alternatives
{select}  alternatives:
    api_token: {{ type: api_key, name: X-Api-Key, key: "{{{{settings.api_token}}}}" }}
    oauth:
      type: oauth2
      grant: client_credentials
      token_url: "{{{{settings.base_url}}}}/oauth/token"
      client_id: "{{{{settings.client_id}}}}"
      client_secret: "{{{{settings.client_secret}}}}"
{FAST_HTTP}operations:
  account_aggregation:
{}    identity: "$.id"
"#,
        users_request("offset", 5, true, 1)
    )
}

const SELECTED: &str = "  select: auth_method\n";

async fn key_api() -> SyntheticApi {
    start(SyntheticConfig::new(7).with_auth(AuthMode::ApiKey {
        location: TokenLocation::Header("X-Api-Key".into()),
        key: KEY.into(),
    }))
    .await
}

async fn oauth_api() -> SyntheticApi {
    start(SyntheticConfig::new(7).with_auth(AuthMode::oauth2(CLIENT, SECRET))).await
}

use wsc_testkit::synthetic::SyntheticConfig;

fn resolved(
    yaml: &str,
    settings: &[(&str, &str)],
) -> Result<(wsc_spec::Loaded, wsc_engine::settings::ResolvedSettings), String> {
    let loaded = load(yaml);
    let explicit: indexmap::IndexMap<String, serde_json::Value> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    let r = wsc_engine::settings::resolve(
        &loaded.connector,
        &explicit,
        &indexmap::IndexMap::new(),
        &|_| None,
    )
    .map_err(|errs| {
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Ok((loaded, r))
}

async fn count(engine: &Engine) -> Result<usize, String> {
    aggregate(engine, "account", None)
        .await
        .map(|r| r.len())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_select_setting_chooses_and_the_other_alternatives_settings_are_not_required() {
    let (keys, oauth) = (key_api().await, oauth_api().await);
    let yaml = connector(SELECTED);
    // OAuth2 chosen: no API token supplied, none asked for.
    let e = try_engine(
        &yaml,
        &[
            ("base_url", &oauth.base_url()),
            ("auth_method", "oauth"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
    )
    .unwrap();
    assert_eq!(count(&e).await, Ok(7));
    assert_eq!(oauth.stats().token_requests, 1);
    // The API key chosen although OAuth2 settings are there too (and come first in no
    // order that matters: the setting decides).
    let e = try_engine(
        &yaml,
        &[
            ("base_url", &keys.base_url()),
            ("auth_method", "api_token"),
            ("api_token", KEY),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
        ],
    )
    .unwrap();
    assert_eq!(count(&e).await, Ok(7));
    // The chosen alternative must have its settings.
    let err = try_engine(
        &yaml,
        &[
            ("base_url", &oauth.base_url()),
            ("auth_method", "oauth"),
            ("client_id", CLIENT),
        ],
    )
    .map(|_| ())
    .expect_err("client_secret is missing");
    assert!(
        err.contains("auth alternative `oauth` (chosen by setting `auth_method`) needs setting `client_secret` without a value"),
        "{err}"
    );
    keys.shutdown().await;
    oauth.shutdown().await;
}

#[tokio::test]
async fn without_a_selection_the_first_complete_alternative_is_used() {
    let (keys, oauth) = (key_api().await, oauth_api().await);
    for select in ["", SELECTED] {
        let yaml = connector(select);
        // Only OAuth2's settings: `api_token` comes first but lacks its key.
        let e = try_engine(
            &yaml,
            &[
                ("base_url", &oauth.base_url()),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
            ],
        )
        .unwrap();
        assert_eq!(count(&e).await, Ok(7), "select: {select:?}");
        // Both complete: the first, the API key, is used.
        let e = try_engine(
            &yaml,
            &[
                ("base_url", &keys.base_url()),
                ("api_token", KEY),
                ("client_id", CLIENT),
                ("client_secret", SECRET),
            ],
        )
        .unwrap();
        assert_eq!(count(&e).await, Ok(7), "select: {select:?}");
    }
    assert_eq!(oauth.stats().token_requests, 2);
    keys.shutdown().await;
    oauth.shutdown().await;
}

#[tokio::test]
async fn an_unknown_selection_and_no_usable_alternative_are_refused_with_the_names() {
    let yaml = connector(SELECTED);
    let err = try_engine(
        &yaml,
        &[
            ("base_url", "http://127.0.0.1:9"),
            ("auth_method", "saml"),
            ("api_token", KEY),
        ],
    )
    .map(|_| ())
    .expect_err("saml is no alternative");
    assert!(
        err.contains("setting `auth_method` is `saml`, which is not an auth alternative of connector `alt`: use one of api_token, oauth"),
        "{err}"
    );
    let err = try_engine(
        &yaml,
        &[("base_url", "http://127.0.0.1:9"), ("client_id", CLIENT)],
    )
    .map(|_| ())
    .expect_err("no alternative has its settings");
    assert!(
        err.contains("no auth alternative of connector `alt` can be used: `api_token` needs setting `api_token`; `oauth` needs setting `client_secret`"),
        "{err}"
    );
    assert!(err.contains("`--set auth_method=NAME`"), "{err}");
}

#[tokio::test]
async fn auth_errors_name_the_alternative() {
    let oauth = oauth_api().await;
    let e = try_engine(
        &connector(SELECTED),
        &[
            ("base_url", &oauth.base_url()),
            ("auth_method", "oauth"),
            ("client_id", CLIENT),
            ("client_secret", "wrong-secret"),
        ],
    )
    .unwrap();
    let err = count(&e).await.unwrap_err();
    assert!(
        err.contains("token request failed: auth alternative `oauth`: invalid_client"),
        "{err}"
    );
    assert!(!err.contains("wrong-secret"), "{err}");
    oauth.shutdown().await;
}

/// The engine of `settings` with tokens in `store`, its token key and its instance key.
fn with_store(
    yaml: &str,
    settings: &[(&str, &str)],
    store: &Arc<dyn wsc_store::Store>,
) -> (Box<Engine>, wsc_store::InstanceKey, wsc_store::InstanceKey) {
    let (loaded, r) = resolved(yaml, settings).unwrap();
    let auth = wsc_engine::authenticator(&loaded, &r, Some(store.clone())).unwrap();
    let e = Engine::new(&loaded, &r, auth, RunContext::default()).unwrap();
    let token_key = wsc_engine::auth::token_key(&loaded, &r).unwrap();
    let plain = wsc_engine::auth::instance_key(&loaded, &r);
    (Box::new(e), token_key, plain)
}

/// Each alternative keeps its tokens under a key of its own: a token of one is never the
/// other's.
#[tokio::test]
async fn tokens_are_stored_per_alternative() {
    let oauth = oauth_api().await;
    let dir = std::env::temp_dir().join(format!("wsc-alt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    let _ = std::fs::remove_file(&db);
    let store: Arc<dyn wsc_store::Store> =
        Arc::new(wsc_store::SqliteStore::open(&db, None).unwrap());
    let yaml = connector(SELECTED);
    let base = oauth.base_url();
    let mut settings = vec![
        ("base_url", base.as_str()),
        ("auth_method", "oauth"),
        ("client_id", CLIENT),
        ("client_secret", SECRET),
        ("api_token", KEY),
    ];
    let (e, oauth_key, plain) = with_store(&yaml, &settings, &store);
    assert_eq!(count(&e).await, Ok(7));
    assert_ne!(oauth_key, plain);
    assert!(wsc_auth::load_token(&*store, &oauth_key).unwrap().is_some());
    assert!(wsc_auth::load_token(&*store, &plain).unwrap().is_none());
    // The same instance with the other alternative selected: another key.
    settings[1] = ("auth_method", "api_token");
    let (_, key2, _) = with_store(&yaml, &settings, &store);
    assert_ne!(key2, oauth_key);
    assert!(wsc_auth::load_token(&*store, &key2).unwrap().is_none());
    oauth.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
