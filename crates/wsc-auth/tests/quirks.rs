//! Token-endpoint quirks against the synthetic API (`wsc-testkit`) and a scripted token
//! endpoint: every one a real provider has.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{MockServer, applied, get, json_ok, manager, oauth_err};
use serde_json::json;
use wsc_auth::Authenticator;
use wsc_testkit::synthetic::{
    AuthMode, ExpiresInStyle, OAuth2Config, SyntheticApi, SyntheticConfig, TokenLocation,
    TokenQuirks,
};

async fn synthetic(oauth: OAuth2Config) -> SyntheticApi {
    SyntheticApi::start(SyntheticConfig::new(10).with_auth(AuthMode::OAuth2(oauth)))
        .await
        .unwrap()
}

const SECRET: &str = "s3:cr+t/=é &x";

fn cc(api: &SyntheticApi, extra: serde_json::Value) -> serde_json::Value {
    let mut a = json!({
        "type": "oauth2",
        "grant": "client_credentials",
        "token_url": api.token_url(),
        "client_id": "{{settings.client_id}}",
        "client_secret": "{{settings.client_secret}}",
    });
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

fn settings() -> serde_json::Value {
    json!({"client_id": "my client", "client_secret": SECRET})
}

#[tokio::test]
async fn client_credentials_basic_and_post_with_form_encoded_basic() {
    let api = synthetic(OAuth2Config::new("my client", SECRET)).await;
    let client = reqwest::Client::new();
    let me = format!("{}/api/me", api.base_url());
    for client_auth in ["basic", "body"] {
        let m = manager(
            cc(&api, json!({"client_auth": client_auth})),
            settings(),
            None,
        );
        assert_eq!(get(&client, &m, &me).await, 200, "{client_auth}");
        assert_eq!(get(&client, &m, &me).await, 200);
        assert_eq!(m.token_requests(), 1, "the token is cached");
        let t = m.current_token().unwrap();
        assert_eq!(t.expiry_source, "expires_in");
        assert!(!format!("{t:?} {m:?}").contains(t.access_token.expose()));
    }
    // A wrong secret: invalid_client with its hint.
    let m = manager(
        cc(&api, json!({})),
        json!({"client_id": "my client", "client_secret": "nope"}),
        None,
    );
    let mut u = url::Url::parse(&me).unwrap();
    let mut h = Vec::new();
    let e = m
        .apply(wsc_auth::Outgoing {
            url: &mut u,
            headers: &mut h,
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("invalid_client") && e.contains("client_auth"),
        "{e}"
    );
    assert!(!e.contains("nope"));
}

#[tokio::test]
async fn string_expires_in_extra_headers_and_custom_token_header() {
    let quirks = TokenQuirks {
        expires_in: ExpiresInStyle::String,
        token_type: "bEaReR".into(),
        required_headers: vec![("X-Tenant".into(), "acme".into())],
        token_location: TokenLocation::Header("X-Api-Token".into()),
    };
    let api = synthetic(OAuth2Config::new("my client", SECRET).with_quirks(quirks)).await;
    let m = manager(
        cc(
            &api,
            json!({
                "token_request": {"headers": {"X-Tenant": "acme"}},
                "token": {"in": "header", "name": "X-Api-Token"},
            }),
        ),
        settings(),
        None,
    );
    let client = reqwest::Client::new();
    assert_eq!(
        get(&client, &m, &format!("{}/api/me", api.base_url())).await,
        200
    );
    let t = m.current_token().unwrap();
    assert_eq!(t.expiry_source, "expires_in");
    assert!(t.expires_at_ms - t.obtained_at_ms >= 3_599_000);
    let (_, h) = applied(&m).await;
    assert_eq!(h[0].0, "X-Api-Token");
    assert_eq!(
        h[0].1,
        t.access_token.expose(),
        "no prefix on a custom header"
    );
}

#[tokio::test]
async fn token_in_query_parameter() {
    let quirks = TokenQuirks {
        token_location: TokenLocation::Query("access_token".into()),
        ..TokenQuirks::default()
    };
    let api = synthetic(OAuth2Config::new("my client", SECRET).with_quirks(quirks)).await;
    let m = manager(
        cc(
            &api,
            json!({"token": {"in": "query", "name": "access_token"}}),
        ),
        settings(),
        None,
    );
    let client = reqwest::Client::new();
    assert_eq!(
        get(&client, &m, &format!("{}/api/me", api.base_url())).await,
        200
    );
    let (u, h) = applied(&m).await;
    assert!(h.is_empty());
    assert!(u.query().unwrap().starts_with("access_token="));
}

#[tokio::test]
async fn expired_status_refreshes_once_and_retries() {
    // No expires_in and a 1 h default: wsc believes the 1 s token is fresh; the server's 401
    // makes it refresh and retry.
    let quirks = TokenQuirks {
        expires_in: ExpiresInStyle::Omitted,
        ..TokenQuirks::default()
    };
    let api = synthetic(
        OAuth2Config::new("my client", SECRET)
            .with_quirks(quirks)
            .with_token_lifetime(Duration::from_millis(600)),
    )
    .await;
    let m = manager(cc(&api, json!({})), settings(), None);
    let client = reqwest::Client::new();
    let me = format!("{}/api/me", api.base_url());
    assert_eq!(get(&client, &m, &me).await, 200);
    assert_eq!(m.current_token().unwrap().expiry_source, "default");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(get(&client, &m, &me).await, 200);
    assert_eq!(m.token_requests(), 2);
    assert!(!m.is_expired_status(403), "403 never refreshes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_requests_at_expiry_make_one_token_request() {
    let quirks = TokenQuirks {
        expires_in: ExpiresInStyle::Omitted,
        ..TokenQuirks::default()
    };
    let api = synthetic(
        OAuth2Config::new("my client", SECRET)
            .with_quirks(quirks)
            .with_token_lifetime(Duration::from_millis(500)),
    )
    .await;
    let m = Arc::new(manager(cc(&api, json!({})), settings(), None));
    let client = reqwest::Client::new();
    let me = format!("{}/api/me", api.base_url());
    assert_eq!(get(&client, &m, &me).await, 200);
    tokio::time::sleep(Duration::from_millis(700)).await;
    // All 64 carry the expired token, all get 401, one refresh serves them all.
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (m, client, me) = (m.clone(), client.clone(), me.clone());
            tokio::spawn(async move { get(&client, &m, &me).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(m.token_requests(), 2);
    assert_eq!(api.stats().token_requests, 2);

    // Expiry known in advance: 64 concurrent callers of a stale token, one token request.
    let api2 = synthetic(
        OAuth2Config::new("my client", SECRET).with_token_lifetime(Duration::from_secs(2)),
    )
    .await;
    let m = Arc::new(manager(
        cc(&api2, json!({"refresh": {"skew": "0s"}})),
        settings(),
        None,
    ));
    let me = format!("{}/api/me", api2.base_url());
    assert_eq!(get(&client, &m, &me).await, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (m, client, me) = (m.clone(), client.clone(), me.clone());
            tokio::spawn(async move { get(&client, &m, &me).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(api2.stats().token_requests, 2);
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn query_string_and_multipart_token_requests_scopes_audience() {
    let mock = MockServer::start(|_, n| {
        json_ok(json!({"access_token": format!("t{n}"), "expires_in": 60}))
    })
    .await;
    let base = json!({
        "type": "oauth2", "grant": "client_credentials", "token_url": mock.url,
        "client_id": "id", "client_secret": "sec", "client_auth": "body",
        "scopes": ["users.read", "groups.read"], "scope_delimiter": ",",
        "audience": "https://api.test", "resource": "urn:r",
        "token_request": {"params_in": "query", "params": {"tenant": "{{settings.tenant}}"}},
    });
    let m = manager(base.clone(), json!({"tenant": "t1"}), None);
    applied(&m).await;
    let s = &mock.seen()[0];
    assert_eq!(s.query["grant_type"], "client_credentials");
    assert_eq!(s.query["scope"], "users.read,groups.read");
    assert_eq!(s.query["audience"], "https://api.test");
    assert_eq!(s.query["resource"], "urn:r");
    assert_eq!(s.query["tenant"], "t1");
    assert_eq!(s.query["client_secret"], "sec");
    assert!(s.body.is_empty());

    let mut mp = base;
    mp["token_request"]["params_in"] = json!("multipart");
    let m = manager(mp, json!({"tenant": "t1"}), None);
    applied(&m).await;
    let s = &mock.seen()[1];
    assert!(
        s.content_type.starts_with("multipart/form-data"),
        "{}",
        s.content_type
    );
    assert!(
        s.body
            .contains("name=\"grant_type\"\r\n\r\nclient_credentials"),
        "{}",
        s.body
    );
    assert!(s.query.is_empty());
}

#[tokio::test]
async fn jwt_exp_fallback_and_form_encoded_response() {
    let jwt = format!(
        "{}.{}.sig",
        b64(r#"{"alg":"RS256"}"#),
        b64(r#"{"exp":4102444800}"#)
    );
    let j = jwt.clone();
    let mock = MockServer::start(move |_, n| {
        if n == 0 {
            json_ok(json!({"access_token": j, "token_type": "bearer"}))
        } else {
            (
                200,
                "application/x-www-form-urlencoded".into(),
                "access_token=form-token&expires_in=30".into(),
            )
        }
    })
    .await;
    let auth = json!({"type": "oauth2", "grant": "client_credentials", "token_url": mock.url, "client_id": "id", "client_secret": "s"});
    let m = manager(auth.clone(), json!({}), None);
    applied(&m).await;
    let t = m.current_token().unwrap();
    assert_eq!(
        (t.expiry_source, t.expires_at_ms),
        ("jwt_exp", 4_102_444_800_000)
    );
    let m = manager(auth, json!({}), None);
    let (_, h) = applied(&m).await;
    assert_eq!(h[0].1, "Bearer form-token");
}

/// A token endpoint with rotating refresh tokens: only the newest refresh token is valid.
async fn rotating(no_new_refresh_after: Option<usize>) -> MockServer {
    let current = Arc::new(std::sync::Mutex::new("r0".to_string()));
    MockServer::start(move |s, n| {
        let mut cur = current.lock().unwrap();
        match s.params.get("grant_type").map(String::as_str) {
            Some("refresh_token") => {
                if s.params.get("refresh_token") != Some(&*cur) {
                    return oauth_err(400, "invalid_grant");
                }
                if no_new_refresh_after.is_some_and(|k| n >= k) {
                    return json_ok(json!({"access_token": format!("a{n}"), "expires_in": 1}));
                }
                *cur = format!("r{}", n + 1);
                json_ok(json!({"access_token": format!("a{n}"), "expires_in": 1, "refresh_token": *cur}))
            }
            Some("client_credentials") => json_ok(json!({"access_token": format!("cc{n}"), "expires_in": 60})),
            _ => oauth_err(400, "unsupported_grant_type"),
        }
    })
    .await
}

fn refresh_auth(url: &str) -> serde_json::Value {
    json!({
        "type": "oauth2", "grant": "refresh_token", "token_url": url,
        "client_id": "id", "client_secret": "s",
        "refresh_token": "{{settings.refresh_token}}",
        "refresh": {"skew": "0s"},
    })
}

#[tokio::test]
async fn refresh_token_rotation_and_keeping_the_old_one() {
    let mock = rotating(Some(2)).await;
    let m = manager(
        refresh_auth(&mock.url),
        json!({"refresh_token": "r0"}),
        None,
    );
    applied(&m).await; // r0 -> r1
    assert_eq!(
        m.current_token().unwrap().refresh_token.unwrap().expose(),
        "r1"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    applied(&m).await; // r1 -> r2
    tokio::time::sleep(Duration::from_millis(1100)).await;
    applied(&m).await; // r2 accepted, no new one: r2 kept
    let seen: Vec<String> = mock
        .seen()
        .iter()
        .map(|s| s.params["refresh_token"].clone())
        .collect();
    assert_eq!(seen, ["r0", "r1", "r2"]);
    assert_eq!(
        m.current_token().unwrap().refresh_token.unwrap().expose(),
        "r2"
    );
}

#[tokio::test]
async fn missing_refresh_token_says_what_to_do() {
    let mock = rotating(None).await;
    let m = manager(refresh_auth(&mock.url), json!({}), None);
    let mut u = url::Url::parse("http://127.0.0.1/").unwrap();
    let mut h = Vec::new();
    let e = m
        .apply(wsc_auth::Outgoing {
            url: &mut u,
            headers: &mut h,
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("refresh_token grant is configured") && e.contains("wsc auth login"),
        "{e}"
    );
    assert!(!e.to_lowercase().contains("cannot be empty"));
    assert!(mock.seen().is_empty(), "no request without a refresh token");
}

#[tokio::test]
async fn invalid_grant_on_refresh_falls_back_to_client_credentials() {
    let mock = rotating(None).await;
    // client_credentials whose server also issued a (now revoked) refresh token.
    let auth = json!({"type": "oauth2", "grant": "client_credentials", "token_url": mock.url, "client_id": "id", "client_secret": "s", "refresh_token": "{{settings.rt}}"});
    let m = manager(auth, json!({"rt": "revoked"}), None);
    let (_, h) = applied(&m).await;
    assert_eq!(h[0].1, "Bearer cc1");
    // refresh_token grant: invalid_grant is an error with the login hint.
    let m = manager(
        refresh_auth(&mock.url),
        json!({"refresh_token": "revoked"}),
        None,
    );
    let mut u = url::Url::parse("http://127.0.0.1/").unwrap();
    let mut h = Vec::new();
    let e = m
        .apply(wsc_auth::Outgoing {
            url: &mut u,
            headers: &mut h,
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("invalid_grant") && e.contains("wsc auth login"),
        "{e}"
    );
}

#[tokio::test]
async fn custom_token_flow_with_json_login_and_refresh_request() {
    let mock = MockServer::start(|s, n| {
        if s.body.contains("\"refresh\"") {
            json_ok(json!({"data": {"session": format!("s{n}"), "ttl": "1"}}))
        } else {
            json_ok(json!({"data": {"session": format!("s{n}"), "ttl": "1", "renew": "k1"}}))
        }
    })
    .await;
    let auth = json!({
        "type": "custom",
        "request": {
            "url": mock.url,
            "headers": {"X-App": "wsc"},
            "body": {"user": "{{settings.user}}", "password": "{{settings.password}}", "n": "{{settings.n}}"},
            "response": {"access_token": "$.data.session", "expires_in": "$.data.ttl", "refresh_token": "$.data.renew"},
        },
        "refresh_request": {
            "url": mock.url,
            "body": {"refresh": "{{auth.refresh_token}}"},
            "response": {"access_token": "$.data.session", "expires_in": "$.data.ttl"},
        },
        "token": {"in": "header", "name": "X-Session"},
        "refresh": {"skew": "0s"},
    });
    let m = manager(auth, json!({"user": "u", "password": "p", "n": 3}), None);
    let (_, h) = applied(&m).await;
    assert_eq!(h, [("X-Session".to_string(), "s0".to_string())]);
    let first = &mock.seen()[0];
    assert_eq!(first.headers["x-app"], "wsc");
    let body: serde_json::Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body, json!({"user": "u", "password": "p", "n": 3}));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, h) = applied(&m).await;
    assert_eq!(h[0].1, "s1");
    assert_eq!(mock.seen()[1].body, r#"{"refresh":"k1"}"#);
    assert_eq!(
        m.current_token().unwrap().refresh_token.unwrap().expose(),
        "k1",
        "kept"
    );
}

/// A token endpoint that is not listening yet (a restarting server, a stale pooled
/// connection) is retried: the request never reached it, so retrying is safe.
#[tokio::test]
async fn token_request_that_cannot_connect_is_retried() {
    use wsc_auth::TokenSender;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        MockServer::serve(listener, |_, _| {
            json_ok(serde_json::json!({"access_token": "tok-after-retry", "expires_in": 60}))
        })
    });
    let sender = wsc_auth::ReqwestSender::new().unwrap();
    let req = wsc_auth::request::TokenHttpRequest {
        method: reqwest::Method::POST,
        url: url::Url::parse(&format!("http://127.0.0.1:{port}/token")).unwrap(),
        headers: vec![],
        body: wsc_auth::request::Body::Form(vec![(
            "grant_type".into(),
            "client_credentials".into(),
        )]),
    };
    let resp = sender
        .send(req)
        .await
        .expect("retried until the endpoint listened");
    assert_eq!(resp.status, 200);
    assert!(String::from_utf8_lossy(&resp.body).contains("tok-after-retry"));
    let server = server.await.unwrap();
    assert_eq!(server.seen().len(), 1);
}
