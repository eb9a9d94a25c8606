//! Authentication modes and the OAuth2 token endpoint.

mod common;

use std::time::Duration;

use common::{base64, client, form_encode, get};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use wsc_testkit::synthetic::{
    AuthMode, ExpiresInStyle, OAuth2Config, SyntheticApi, SyntheticConfig, TokenLocation,
    TokenQuirks,
};

const ID: &str = "client one";
const SECRET: &str = "s3cr:t+&%/é";

fn oauth(lifetime: Duration) -> SyntheticConfig {
    SyntheticConfig::new(20).with_auth(AuthMode::OAuth2(
        OAuth2Config::new(ID, SECRET).with_token_lifetime(lifetime),
    ))
}

fn basic_header(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64(format!("{}:{}", form_encode(id), form_encode(secret)).as_bytes())
    )
}

async fn post_token(
    client: &Client,
    api: &SyntheticApi,
    auth: Option<String>,
    body: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = client
        .post(api.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap())
}

async fn get_with_token(client: &Client, url: &str, token: &str) -> (StatusCode, Value) {
    let resp = client.get(url).bearer_auth(token).send().await.unwrap();
    (resp.status(), resp.json().await.unwrap())
}

#[tokio::test]
async fn client_credentials_with_basic_and_post_client_auth() {
    let api = SyntheticApi::start(oauth(Duration::from_secs(3600)))
        .await
        .unwrap();
    let client = client();
    let users = format!("{}/api/users/offset?limit=5", api.base_url());

    // No token: 401 invalid_token with a WWW-Authenticate challenge.
    let (status, headers, body) = get(&client, &users).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(body["error_description"], "missing access token");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let (status, _, _) = get(&client, &format!("{}/api/me", api.base_url())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // client_secret_basic, with id and secret form-urlencoded before base64.
    let (status, headers, body) = post_token(
        &client,
        &api,
        Some(basic_header(ID, SECRET)),
        "grant_type=client_credentials&scope=users.read+groups.read",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "users.read groups.read");
    let basic_token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(basic_token.len(), 32);

    // client_secret_post.
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        form_encode(ID),
        form_encode(SECRET)
    );
    let (status, _, body) = post_token(&client, &api, None, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let post_token_value = body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(post_token_value, basic_token);
    assert!(body.get("scope").is_none());

    for token in [&basic_token, &post_token_value] {
        let (status, body) = get_with_token(&client, &users, token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["items"].as_array().unwrap().len(), 5);
    }
    let (status, body) = get_with_token(&client, &users, "0123456789abcdef0123456789abcdef").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_description"], "unknown access token");

    let stats = api.stats();
    assert_eq!(stats.token_requests, 2);
    assert_eq!(stats.tokens_issued, 2);
    assert_eq!(stats.auth_failures, 3);
    assert_eq!(stats.data_requests, 2);
    api.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_errors() {
    let api = SyntheticApi::start(oauth(Duration::from_secs(60)))
        .await
        .unwrap();
    let client = client();

    // Wrong secret, Basic: 401 invalid_client with a Basic challenge.
    let (status, headers, body) = post_token(
        &client,
        &api,
        Some(basic_header(ID, "wrong")),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"].is_string());
    assert_eq!(headers["www-authenticate"], "Basic realm=\"synthetic\"");

    // Basic without form-encoding the special characters is a different secret.
    let raw = format!("Basic {}", base64(format!("{ID}:{SECRET}").as_bytes()));
    let (status, _, body) =
        post_token(&client, &api, Some(raw), "grant_type=client_credentials").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    // Wrong secret in the body.
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret=nope",
        form_encode(ID)
    );
    let (status, _, body) = post_token(&client, &api, None, &form).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    // No client authentication at all.
    let (status, _, body) = post_token(&client, &api, None, "grant_type=client_credentials").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    // Unknown grant and missing grant.
    let (status, _, body) = post_token(
        &client,
        &api,
        Some(basic_header(ID, SECRET)),
        "grant_type=password&username=a&password=b",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    let (status, _, body) =
        post_token(&client, &api, Some(basic_header(ID, SECRET)), "scope=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");

    // JSON body instead of a form.
    let resp = client
        .post(api.token_url())
        .header("authorization", basic_header(ID, SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    // GET on the token endpoint.
    let resp = client.get(api.token_url()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);

    let stats = api.stats();
    assert_eq!(stats.token_requests, 8);
    assert_eq!(stats.tokens_issued, 0);
    api.shutdown().await;
}

#[tokio::test]
async fn tokens_expire() {
    let api = SyntheticApi::start(oauth(Duration::from_millis(300)))
        .await
        .unwrap();
    let client = client();
    let (status, _, body) = post_token(
        &client,
        &api,
        Some(basic_header(ID, SECRET)),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Sub-second lifetimes round up to whole seconds.
    assert_eq!(body["expires_in"], 1);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let url = format!("{}/api/users/page?per_page=2", api.base_url());
    assert_eq!(
        get_with_token(&client, &url, &token).await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = get_with_token(&client, &url, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(body["error_description"], "access token expired");

    // A fresh token works again.
    let (_, _, body) = post_token(
        &client,
        &api,
        Some(basic_header(ID, SECRET)),
        "grant_type=client_credentials",
    )
    .await;
    let fresh = body["access_token"].as_str().unwrap();
    assert_eq!(get_with_token(&client, &url, fresh).await.0, StatusCode::OK);
    assert_eq!(api.stats().token_requests, 2);
    api.shutdown().await;
}

#[tokio::test]
async fn token_quirks() {
    let quirks = TokenQuirks {
        expires_in: ExpiresInStyle::String,
        token_type: "bearer".into(),
        required_headers: vec![("X-Tenant".into(), "acme".into())],
        token_location: TokenLocation::Header("X-Api-Token".into()),
    };
    let config = SyntheticConfig::new(5).with_auth(AuthMode::OAuth2(
        OAuth2Config::new(ID, SECRET).with_quirks(quirks),
    ));
    let api = SyntheticApi::start(config).await.unwrap();
    let client = client();

    let (status, _, body) = post_token(
        &client,
        &api,
        Some(basic_header(ID, SECRET)),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");

    let resp = client
        .post(api.token_url())
        .header("authorization", basic_header(ID, SECRET))
        .header("x-tenant", "acme")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], "3600");
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().unwrap();

    let url = format!("{}/api/users/offset", api.base_url());
    // The token as a bearer is not where this server looks.
    assert_eq!(
        get_with_token(&client, &url, token).await.0,
        StatusCode::UNAUTHORIZED
    );
    let resp = client
        .get(&url)
        .header("X-Api-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["total"], 5);
    api.shutdown().await;
}

#[tokio::test]
async fn omitted_expires_in_and_query_token() {
    let quirks = TokenQuirks {
        expires_in: ExpiresInStyle::Omitted,
        token_location: TokenLocation::Query("access_token".into()),
        ..TokenQuirks::default()
    };
    let config = SyntheticConfig::new(5).with_auth(AuthMode::OAuth2(
        OAuth2Config::new(ID, SECRET).with_quirks(quirks),
    ));
    let api = SyntheticApi::start(config).await.unwrap();
    let client = client();
    let (status, _, body) = post_token(
        &client,
        &api,
        Some(basic_header(ID, SECRET)),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("expires_in").is_none());
    let token = body["access_token"].as_str().unwrap();
    let url = format!(
        "{}/api/users/cursor?limit=2&access_token={token}",
        api.base_url()
    );
    let (status, _, body) = get(&client, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    api.shutdown().await;
}

#[tokio::test]
async fn static_modes() {
    let client = client();

    let api =
        SyntheticApi::start(SyntheticConfig::new(5).with_auth(AuthMode::Bearer("tok".into())))
            .await
            .unwrap();
    let url = format!("{}/api/me", api.base_url());
    assert_eq!(get_with_token(&client, &url, "tok").await.0, StatusCode::OK);
    assert_eq!(
        get_with_token(&client, &url, "tok2").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&client, &url).await.0, StatusCode::UNAUTHORIZED);
    api.shutdown().await;

    let api = SyntheticApi::start(SyntheticConfig::new(5).with_auth(AuthMode::Basic {
        username: "admin".into(),
        password: "pa:ss".into(),
    }))
    .await
    .unwrap();
    let url = format!("{}/api/users/offset", api.base_url());
    let ok = client
        .get(&url)
        .basic_auth("admin", Some("pa:ss"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let bad = client
        .get(&url)
        .basic_auth("admin", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad.headers()["www-authenticate"],
        "Basic realm=\"synthetic\""
    );
    api.shutdown().await;

    let api = SyntheticApi::start(SyntheticConfig::new(5).with_auth(AuthMode::ApiKey {
        location: TokenLocation::Query("api_key".into()),
        key: "k 1".into(),
    }))
    .await
    .unwrap();
    let base = api.base_url();
    assert_eq!(
        get(&client, &format!("{base}/api/users/offset?api_key=k+1"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        get(&client, &format!("{base}/api/users/offset?api_key=k%201"))
            .await
            .0,
        StatusCode::OK
    );
    let (status, _, body) = get(&client, &format!("{base}/api/users/offset?api_key=k2")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_api_key");
    api.shutdown().await;
}
