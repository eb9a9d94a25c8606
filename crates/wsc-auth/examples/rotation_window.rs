//! Measures the rotation window: from the moment the answer of a refresh (which rotated the
//! refresh token on the server) has been read to the moment the new token is committed to
//! the SQLite state store. A process killed inside the window loses the rotated refresh
//! token, and a server with reuse detection then revokes the grant.
//!
//! Each round plays one `wsc` process: it opens the store afresh (the previous round's
//! connection closed, as a process's does when it exits), reads the stored token as a run
//! does, then refreshes against the synthetic API's rotating token endpoint. Run it in
//! release mode on the disk you care about:
//!
//! ```text
//! cargo run --release -p wsc-auth --example rotation_window -- [ROUNDS] [DIR]
//! ```
//!
//! With `WSC_WINDOW_UNREADY=1`, the store is not readied before the token request
//! ([`Store::ready_token_write`] skipped), as wsc did before it was: the window then holds the
//! syncs of the write-ahead log's header (and of the directory, for a new log file).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use wsc_auth::request::TokenHttpRequest;
use wsc_auth::token::RawResponse;
use wsc_auth::{
    AuthError, Generation, ReqwestSender, SimpleRender, StoreBinding, TokenManager, TokenSender,
};
use wsc_store::{
    CredentialLease, ExpectedVersion, InstanceKey, SqliteStore, Store, StoreError, StoredToken,
    TokenVersion,
};
use wsc_testkit::synthetic::{AuthMode, OAuth2Config, SyntheticApi, SyntheticConfig};

/// When the last token answer was read, and when the last token was stored.
#[derive(Default)]
struct Marks {
    read: Option<Instant>,
    stored: Option<Instant>,
}

struct TimedSender {
    inner: ReqwestSender,
    marks: Arc<Mutex<Marks>>,
}

impl TokenSender for TimedSender {
    fn send<'a>(
        &'a self,
        req: TokenHttpRequest,
    ) -> futures_util::future::BoxFuture<'a, Result<RawResponse, AuthError>> {
        Box::pin(async move {
            let r = self.inner.send(req).await;
            self.marks.lock().unwrap().read = Some(Instant::now());
            r
        })
    }
}

#[derive(Debug)]
struct TimedStore {
    inner: SqliteStore,
    marks: Arc<Mutex<Marks>>,
}

impl std::fmt::Debug for Marks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Marks")
    }
}

impl Store for TimedStore {
    fn location(&self) -> &str {
        self.inner.location()
    }
    fn lock_credential(&self, key: &InstanceKey) -> Result<Box<dyn CredentialLease>, StoreError> {
        self.inner.lock_credential(key)
    }
    fn load_token(&self, key: &InstanceKey) -> Result<Option<StoredToken>, StoreError> {
        self.inner.load_token(key)
    }
    fn save_token(
        &self,
        key: &InstanceKey,
        grant: &str,
        payload: &Value,
        expected: ExpectedVersion,
    ) -> Result<TokenVersion, StoreError> {
        let r = self.inner.save_token(key, grant, payload, expected);
        self.marks.lock().unwrap().stored = Some(Instant::now());
        r
    }
    fn record_hasher(&self) -> wsc_store::RecordHasher {
        self.inner.record_hasher()
    }
    fn ready_token_write(&self) {
        if std::env::var_os("WSC_WINDOW_UNREADY").is_none() {
            self.inner.ready_token_write();
        }
    }
    fn delete_tokens(&self, connector: &str, instance: Option<&str>) -> Result<usize, StoreError> {
        self.inner.delete_tokens(connector, instance)
    }
    fn load_state(&self, key: &InstanceKey) -> Result<Map<String, Value>, StoreError> {
        self.inner.load_state(key)
    }
    fn save_state(&self, key: &InstanceKey, values: &Map<String, Value>) -> Result<(), StoreError> {
        self.inner.save_state(key, values)
    }
    fn load_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
    ) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        self.inner.load_snapshot(key, object_type)
    }
    fn has_snapshot(&self, key: &InstanceKey, object_type: &str) -> Result<bool, StoreError> {
        self.inner.has_snapshot(key, object_type)
    }
    fn replace_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
        entries: &[(String, Vec<u8>)],
        started_at_ms: u64,
    ) -> Result<(), StoreError> {
        self.inner
            .replace_snapshot(key, object_type, entries, started_at_ms)
    }
    fn record_run(
        &self,
        key: &InstanceKey,
        operation: &str,
        started_at_ms: u64,
        records: u64,
    ) -> Result<(), StoreError> {
        self.inner
            .record_run(key, operation, started_at_ms, records)
    }
    fn last_run(
        &self,
        key: &InstanceKey,
        operation: &str,
    ) -> Result<Option<(u64, u64, u64)>, StoreError> {
        self.inner.last_run(key, operation)
    }
}

fn auth_spec(token_url: &str) -> wsc_spec::model::Auth {
    serde_json::from_value(json!({
        "type": "oauth2",
        "grant": "refresh_token",
        "token_url": token_url,
        "client_id": "window-client",
        "client_secret": "window-secret",
        "refresh_token": "rt-seed",
    }))
    .expect("a valid auth section")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let dir = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("wsc-window-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("state.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let api = rt
        .block_on(SyntheticApi::start(
            SyntheticConfig::new(10).with_auth(AuthMode::OAuth2(
                OAuth2Config::new("window-client", "window-secret")
                    .with_rotating_refresh("rt-seed"),
            )),
        ))
        .unwrap();
    let spec = auth_spec(&api.token_url());
    let key = InstanceKey::new("window", [("tenant", "t")]);
    let mut windows = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let marks = Arc::new(Mutex::new(Marks::default()));
        // A new process: the store opened afresh.
        let store = Arc::new(TimedStore {
            inner: SqliteStore::open(&db, Some("window key")).unwrap(),
            marks: marks.clone(),
        });
        let m = TokenManager::for_auth(
            &spec,
            json!({}),
            Arc::new(SimpleRender),
            dir.clone(),
            Arc::new(TimedSender {
                inner: ReqwestSender::new().unwrap(),
                marks: marks.clone(),
            }),
            Some(StoreBinding {
                store,
                key: key.clone(),
            }),
        )
        .unwrap();
        rt.block_on(async {
            // A run reads the stored token first; then the server rejects it (as after a
            // revocation or an early expiry) and the manager refreshes.
            m.refresh(None).await.unwrap();
            if round > 0 {
                m.refresh(Some(Generation(1))).await.unwrap();
            }
        });
        let g = marks.lock().unwrap();
        if let (Some(read), Some(stored)) = (g.read, g.stored) {
            windows.push(stored.duration_since(read));
        }
    }
    assert_eq!(
        api.stats().grants_revoked,
        0,
        "a rotated refresh token was lost"
    );
    rt.block_on(api.shutdown());
    windows.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "rotation window over {} refreshes (answer read -> token committed, fsync included), {}:\n  min {:.0} us, median {:.0} us, p90 {:.0} us, max {:.0} us",
        windows.len(),
        db.display(),
        us(windows[0]),
        us(percentile(&windows, 0.5)),
        us(percentile(&windows, 0.9)),
        us(*windows.last().unwrap()),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
