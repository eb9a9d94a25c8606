//! Helpers shared by the wsc-auth integration tests: building managers from JSON auth
//! sections and a scriptable token endpoint.

#![allow(dead_code, missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use wsc_auth::{Authenticator, Outgoing, ReqwestSender, SimpleRender, StoreBinding, TokenManager};
use wsc_spec::model::Auth;

pub fn manager(auth: Value, settings: Value, store: Option<StoreBinding>) -> TokenManager {
    let auth: Auth = serde_json::from_value(auth).expect("auth section");
    TokenManager::for_auth(
        &auth,
        settings,
        Arc::new(SimpleRender),
        std::env::temp_dir(),
        Arc::new(ReqwestSender::new().unwrap()),
        store,
    )
    .expect("a managed kind")
}

/// The credential `apply` puts on a request: (url, headers).
pub async fn applied(m: &TokenManager) -> (url::Url, Vec<(String, String)>) {
    let mut url = url::Url::parse("http://127.0.0.1/api/me").unwrap();
    let mut headers = Vec::new();
    m.apply(Outgoing {
        url: &mut url,
        headers: &mut headers,
    })
    .await
    .unwrap();
    (url, headers)
}

/// GET `url` the way the engine does: apply, send, and on an expired status renew once and
/// retry once. Returns the final status.
pub async fn get(client: &reqwest::Client, m: &TokenManager, url: &str) -> u16 {
    let mut renewed = false;
    loop {
        let mut u = url::Url::parse(url).unwrap();
        let mut headers = Vec::new();
        let generation = m
            .apply(Outgoing {
                url: &mut u,
                headers: &mut headers,
            })
            .await
            .unwrap();
        let mut b = client.get(u);
        for (k, v) in headers {
            b = b.header(k, v);
        }
        let status = b.send().await.unwrap().status().as_u16();
        if m.is_expired_status(status) && !renewed {
            renewed = true;
            if m.renew(generation).await.unwrap() {
                continue;
            }
        }
        return status;
    }
}

/// One request the mock token endpoint received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub content_type: String,
    pub body: String,
    /// Form parameters from the body (form-encoded) or the query string.
    pub params: HashMap<String, String>,
}

type Responder = dyn Fn(&Seen, usize) -> (u16, String, String) + Send + Sync;

/// A token endpoint whose answers a test scripts: the responder gets each request and its
/// index and returns (status, content type, body).
pub struct MockServer {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

struct MockState {
    seen: Arc<Mutex<Vec<Seen>>>,
    respond: Box<Responder>,
}

async fn handle(
    State(s): State<Arc<MockState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut params = query.clone();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        params.extend(url::form_urlencoded::parse(body.as_bytes()).into_owned());
    }
    let seen = Seen {
        query,
        headers,
        content_type,
        body,
        params,
    };
    let n = {
        let mut v = s.seen.lock().unwrap();
        v.push(seen.clone());
        v.len() - 1
    };
    let (status, ct, text) = (s.respond)(&seen, n);
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", ct)],
        text,
    )
        .into_response()
}

impl MockServer {
    pub async fn start(
        respond: impl Fn(&Seen, usize) -> (u16, String, String) + Send + Sync + 'static,
    ) -> MockServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        MockServer::serve(listener, respond)
    }

    /// Starts the server on a given listener (e.g. a port chosen earlier).
    pub fn serve(
        listener: tokio::net::TcpListener,
        respond: impl Fn(&Seen, usize) -> (u16, String, String) + Send + Sync + 'static,
    ) -> MockServer {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(MockState {
            seen: seen.clone(),
            respond: Box::new(respond),
        });
        let app = axum::Router::new()
            .route("/token", axum::routing::any(handle))
            .with_state(state);
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockServer {
            url: format!("http://{addr}/token"),
            seen,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

pub fn json_ok(body: Value) -> (u16, String, String) {
    (200, "application/json".into(), body.to_string())
}

pub fn oauth_err(status: u16, code: &str) -> (u16, String, String) {
    (
        status,
        "application/json".into(),
        serde_json::json!({"error": code, "error_description": "scripted"}).to_string(),
    )
}
