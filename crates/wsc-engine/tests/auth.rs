//! Static auth kinds against the synthetic API, rejected credentials, and credentials never
//! sent to a host the connector does not name.

mod common;

use common::*;
use wsc_engine::EngineError;
use wsc_engine::http::HttpError;
use wsc_testkit::synthetic::{AuthMode, TokenLocation};

/// The hint http.rs gives for a 401 that no renewal could fix.
const NOT_ACCEPTED: &str = "the server did not accept the credentials";

fn with_auth(yaml: &str, auth: &str) -> String {
    yaml.replace(
        r#"auth: { type: bearer, token: "{{settings.token}}" }"#,
        auth,
    )
}

fn cursor_connector() -> String {
    users_connector(FAST_HTTP, &users_request("cursor", 20, false, 1))
}

#[tokio::test]
async fn bearer_token() {
    let cfg = config(45);
    let api = start(cfg.clone()).await;
    let yaml = format!(
        "{}  test_connection:\n    request: {{ path: /me }}\n",
        cursor_connector()
    );
    let engine = engine(&yaml, &api.base_url());
    engine.test_connection().await.unwrap();
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_users(&engine, &records, &cfg, 45);
    assert_eq!(api.stats().auth_failures, 0);
    api.shutdown().await;
}

#[tokio::test]
async fn wrong_bearer_token_is_a_401_without_the_token() {
    let wrong = "wrong-token-Hq83kd0Z";
    let api = start(config(45)).await;
    let yaml = format!(
        "{}  test_connection:\n    request: {{ path: /me }}\n",
        cursor_connector()
    );
    let engine = engine_with_token(&yaml, &api.base_url(), wrong);
    for error in [
        aggregate(&engine, "account", None).await.unwrap_err(),
        engine.test_connection().await.unwrap_err(),
    ] {
        assert_eq!(error.http_status(), Some(401), "{error}");
        let text = error.to_string();
        assert!(text.contains(NOT_ACCEPTED), "{text}");
        assert!(
            text.contains("after 1 attempt(s)"),
            "401 is not retried: {text}"
        );
        assert!(!text.contains(wrong), "{text}");
        assert!(!format!("{error:?}").contains(wrong));
    }
    assert_eq!(api.stats().auth_failures, 2);
    api.shutdown().await;
}

#[tokio::test]
async fn api_key_in_query() {
    let key = "qk-6c1f0e93ab27";
    let cfg = config(45).with_auth(AuthMode::ApiKey {
        location: TokenLocation::Query("api_key".into()),
        key: key.into(),
    });
    let api = start(cfg.clone()).await;
    let yaml = with_auth(
        &cursor_connector(),
        r#"auth: { type: api_key, in: query, name: api_key, key: "{{settings.token}}" }"#,
    );
    let engine = engine_with_token(&yaml, &api.base_url(), key);
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_users(&engine, &records, &cfg, 45);
    assert_eq!(api.stats().auth_failures, 0);

    let engine = engine_with_token(&yaml, &api.base_url(), "qk-not-the-key");
    let error = aggregate(&engine, "account", None).await.unwrap_err();
    assert_eq!(error.http_status(), Some(401));
    let text = error.to_string();
    assert!(text.contains(NOT_ACCEPTED), "{text}");
    assert!(!text.contains("qk-not-the-key"), "{text}");
    api.shutdown().await;
}

#[tokio::test]
async fn api_key_in_header() {
    let key = "hk-93d0a8b1f7e2";
    let cfg = config(45).with_auth(AuthMode::ApiKey {
        location: TokenLocation::Header("X-API-Key".into()),
        key: key.into(),
    });
    let api = start(cfg.clone()).await;
    let yaml = with_auth(
        &cursor_connector(),
        r#"auth: { type: api_key, name: X-API-Key, key: "{{settings.token}}" }"#,
    );
    let engine = engine_with_token(&yaml, &api.base_url(), key);
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_users(&engine, &records, &cfg, 45);
    api.shutdown().await;
}

#[tokio::test]
async fn basic_auth() {
    let cfg = config(45).with_auth(AuthMode::Basic {
        username: "svc-wsc".into(),
        password: "pw-Zk38dh2Lq".into(),
    });
    let api = start(cfg.clone()).await;
    let yaml = with_auth(
        &cursor_connector(),
        r#"auth: { type: basic, username: "svc-wsc", password: "{{settings.token}}" }"#,
    );
    let engine = engine_with_token(&yaml, &api.base_url(), "pw-Zk38dh2Lq");
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_users(&engine, &records, &cfg, 45);

    let engine = engine_with_token(&yaml, &api.base_url(), "pw-wrong-one");
    let error = aggregate(&engine, "account", None).await.unwrap_err();
    assert_eq!(error.http_status(), Some(401));
    let text = error.to_string();
    assert!(text.contains(NOT_ACCEPTED), "{text}");
    assert!(!text.contains("pw-wrong-one"), "{text}");
    api.shutdown().await;
}

/// The connector names `localhost`; the API's next links name `127.0.0.1`. The second page is
/// refused before anything is sent: the server sees one data request only.
#[tokio::test]
async fn next_url_to_another_host_is_refused() {
    let api = start(config(45)).await;
    let local = format!("http://localhost:{}", api.addr().port());
    let yaml = users_connector(FAST_HTTP, &users_request("next_url", 20, false, 1));
    let engine = engine(&yaml, &local);
    let (records, error) = aggregate_partial(&engine, "account", None).await;
    let error = error.expect("the cross-host next link must be refused");
    assert!(
        matches!(&error, EngineError::Http(h) if matches!(**h, HttpError::HostNotAllowed { .. })),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("refusing to send credentials to `127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("page 2"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    assert_eq!(records.len(), 20, "page 1 came from the named host");
    let stats = api.stats();
    assert_eq!(stats.data_requests, 1, "nothing was sent to the other host");
    assert_eq!(stats.pages.next, 1);
    api.shutdown().await;
}

/// The same for RFC 8288 Link headers.
#[tokio::test]
async fn link_header_to_another_host_is_refused() {
    let api = start(config(45)).await;
    let local = format!("http://localhost:{}", api.addr().port());
    let yaml = users_connector(FAST_HTTP, &users_request("link_header", 20, false, 1));
    let engine = engine(&yaml, &local);
    let error = aggregate(&engine, "account", None).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("refusing to send credentials to `127.0.0.1:"),
        "{error}"
    );
    assert_eq!(api.stats().data_requests, 1);
    api.shutdown().await;
}

/// Naming the other host in `allowed_hosts` lets the run follow the links.
#[tokio::test]
async fn allowed_hosts_permits_the_other_host() {
    let cfg = config(45);
    let api = start(cfg.clone()).await;
    let local = format!("http://localhost:{}", api.addr().port());
    // An entry names host and port (without a port: the scheme's default port only).
    let yaml = users_connector(FAST_HTTP, &users_request("next_url", 20, false, 1)).replace(
        "base_url: \"{{settings.base_url}}/api\"\n",
        &format!(
            "base_url: \"{{{{settings.base_url}}}}/api\"\nallowed_hosts: [\"127.0.0.1:{}\"]\n",
            api.addr().port()
        ),
    );
    let engine = engine(&yaml, &local);
    let records = aggregate(&engine, "account", None).await.unwrap();
    assert_users(&engine, &records, &cfg, 45);
    api.shutdown().await;
}

/// Same host, other port: another origin. `allowed_hosts: [127.0.0.1]` (no port) does not
/// let credentials go to 127.0.0.1 on the API's port; host names alone were compared before.
#[tokio::test]
async fn same_host_on_another_port_is_another_origin() {
    let api = start(config(45)).await;
    let local = format!("http://localhost:{}", api.addr().port());
    let yaml = users_connector(FAST_HTTP, &users_request("next_url", 20, false, 1)).replace(
        "base_url: \"{{settings.base_url}}/api\"\n",
        "base_url: \"{{settings.base_url}}/api\"\nallowed_hosts: [\"127.0.0.1\"]\n",
    );
    let engine = engine(&yaml, &local);
    let error = aggregate(&engine, "account", None).await.unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "refusing to send credentials to `127.0.0.1:{}`",
            api.addr().port()
        )),
        "{text}"
    );
    assert!(text.contains("origin (scheme, host and port)"), "{text}");
    assert_eq!(api.stats().data_requests, 1);
    api.shutdown().await;
}

/// A request `url` on a host the connector does not name is refused too.
#[tokio::test]
async fn request_url_to_another_host_is_refused() {
    let api = start(config(45)).await;
    let yaml = format!(
        "{}  get_object:\n    account:\n      request: {{ url: \"http://127.0.0.1:{}/api/users/{{{{plan.identity}}}}\" }}\n      identity: \"$.id\"\n",
        cursor_connector(),
        api.addr().port()
    );
    let local = format!("http://localhost:{}", api.addr().port());
    let engine = engine(&yaml, &local);
    let error = engine.get_object("account", "u0000001").await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("refusing to send credentials to `127.0.0.1:"),
        "{error}"
    );
    assert_eq!(api.stats().requests, 0);
    api.shutdown().await;
}

/// A missing required setting names the setting and its environment variable.
#[test]
fn missing_setting_names_the_variable() {
    let yaml = cursor_connector();
    let error = try_engine(&yaml, &[("base_url", "http://127.0.0.1:9")]).unwrap_err();
    assert!(error.contains("setting `token` has no value"), "{error}");
    assert!(error.contains("WSC_TOKEN"), "{error}");
}
