//! Tokens in the state store: shared by managers (as by processes), rotated refresh tokens
//! committed before use, and a process killed between rotation and use.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{MockServer, applied, json_ok, manager, oauth_err};
use serde_json::json;
use wsc_auth::{Authenticator, StoreBinding};
use wsc_store::{ExpectedVersion, InstanceKey, SqliteStore, Store, StoreError};

fn temp_db(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "wsc-auth-{tag}-{}-{}",
        std::process::id(),
        wsc_auth::token::now_ms()
    ));
    dir.join("state.db")
}

fn binding(db: &std::path::Path) -> StoreBinding {
    StoreBinding {
        store: Arc::new(SqliteStore::open(db, None).unwrap()),
        key: InstanceKey::new("rot", [("tenant", "t1")]),
    }
}

/// Only the newest refresh token is valid; a reused one is `invalid_grant`.
async fn rotating() -> MockServer {
    let current = Arc::new(Mutex::new("r0".to_string()));
    MockServer::start(move |s, n| {
        let mut cur = current.lock().unwrap();
        if s.params.get("grant_type").map(String::as_str) != Some("refresh_token")
            || s.params.get("refresh_token") != Some(&*cur)
        {
            return oauth_err(400, "invalid_grant");
        }
        *cur = format!("r{}", n + 1);
        json_ok(json!({"access_token": format!("a{n}"), "expires_in": 1, "refresh_token": *cur}))
    })
    .await
}

fn auth(url: &str) -> serde_json::Value {
    json!({
        "type": "oauth2", "grant": "refresh_token", "token_url": url,
        "client_id": "id", "client_secret": "s",
        "refresh_token": "{{settings.refresh_token}}",
        "refresh": {"skew": "0s"},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_managers_share_rotating_refresh_tokens() {
    let mock = rotating().await;
    let db = temp_db("share");
    let a = Arc::new(manager(
        auth(&mock.url),
        json!({"refresh_token": "r0"}),
        Some(binding(&db)),
    ));
    let b = Arc::new(manager(
        auth(&mock.url),
        json!({"refresh_token": "r0"}),
        Some(binding(&db)),
    ));
    for _round in 0..3 {
        // Both need a token at once; one refreshes, the other reads the stored result.
        let (ra, rb) = tokio::join!(applied(&a), applied(&b));
        assert_eq!(ra.1, rb.1, "both use the one new token");
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let grants: Vec<String> = mock
        .seen()
        .iter()
        .map(|s| s.params["refresh_token"].clone())
        .collect();
    assert_eq!(
        grants,
        ["r0", "r1", "r2"],
        "no refresh token was used twice"
    );
    assert_eq!(a.token_requests() + b.token_requests(), 3);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

/// The child half of `killed_between_rotation_and_use`: that test runs itself again in a child
/// process with these variables set; the child refreshes (so a rotated refresh token is
/// committed) and dies by SIGKILL before the new access token is used.
#[cfg(unix)]
async fn child_rotates_then_dies(db: &str, url: &str) -> ! {
    let m = manager(
        auth(url),
        json!({"refresh_token": "r0"}),
        Some(binding(std::path::Path::new(db))),
    );
    m.refresh(None).await.unwrap();
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    std::thread::sleep(Duration::from_secs(10));
    unreachable!("SIGKILL did not arrive");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_rotation_and_use() {
    use std::os::unix::process::ExitStatusExt;
    if let (Ok(db), Ok(url)) = (
        std::env::var("WSC_TEST_CHILD_DB"),
        std::env::var("WSC_TEST_CHILD_URL"),
    ) {
        child_rotates_then_dies(&db, &url).await;
    }
    let mock = rotating().await;
    let db = temp_db("kill");
    let exe = std::env::current_exe().unwrap();
    let (db2, url) = (db.clone(), mock.url.clone());
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args([
                "--exact",
                "killed_between_rotation_and_use",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WSC_TEST_CHILD_DB", &db2)
            .env("WSC_TEST_CHILD_URL", &url)
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child died by SIGKILL: {status:?}"
    );
    assert_eq!(mock.seen().len(), 1, "the child rotated r0 -> r1");
    // The next run finds r1 in the store (the seed r0 is no longer valid) and authenticates.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let m = manager(
        auth(&mock.url),
        json!({"refresh_token": "r0"}),
        Some(binding(&db)),
    );
    let (_, h) = applied(&m).await;
    assert_eq!(h[0].1, "Bearer a1");
    let used: Vec<String> = mock
        .seen()
        .iter()
        .map(|s| s.params["refresh_token"].clone())
        .collect();
    assert_eq!(used, ["r0", "r1"]);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

/// A store where another writer stores a fresh token between the manager's read and its
/// write (as a `wsc auth login`, or a process whose lease lapsed, would).
#[derive(Debug)]
struct RacedStore {
    inner: SqliteStore,
    raced: Mutex<bool>,
    /// Returned by the first `load_token` instead of the stored token (a read that happened
    /// before another writer's rotation).
    stale: Mutex<Option<wsc_store::StoredToken>>,
}

impl Store for RacedStore {
    fn location(&self) -> &str {
        self.inner.location()
    }
    fn record_hasher(&self) -> wsc_store::RecordHasher {
        self.inner.record_hasher()
    }
    fn lock_credential(
        &self,
        key: &InstanceKey,
    ) -> Result<Box<dyn wsc_store::CredentialLease>, StoreError> {
        self.inner.lock_credential(key)
    }
    fn load_token(&self, key: &InstanceKey) -> Result<Option<wsc_store::StoredToken>, StoreError> {
        if let Some(old) = self.stale.lock().unwrap().take() {
            return Ok(Some(old));
        }
        self.inner.load_token(key)
    }
    fn save_token(
        &self,
        key: &InstanceKey,
        grant: &str,
        payload: &serde_json::Value,
        expected: ExpectedVersion,
    ) -> Result<wsc_store::TokenVersion, StoreError> {
        let mut raced = self.raced.lock().unwrap();
        if !*raced {
            *raced = true;
            let now = wsc_auth::token::now_ms();
            let other = wsc_auth::TokenSet {
                access_token: wsc_auth::Secret::new("from-the-other-writer"),
                token_type: Some("Bearer".into()),
                expires_at_ms: now + 3_600_000,
                expiry_source: "expires_in",
                refresh_token: Some(wsc_auth::Secret::new("r-other")),
                refresh_expires_at_ms: None,
                scope: None,
                obtained_at_ms: now,
                obtained: None,
                cookies: None,
            };
            self.inner.save_token(
                key,
                "refresh_token",
                &other.to_stored_json(),
                ExpectedVersion::Any,
            )?;
        }
        self.inner.save_token(key, grant, payload, expected)
    }
    fn delete_tokens(&self, connector: &str, instance: Option<&str>) -> Result<usize, StoreError> {
        self.inner.delete_tokens(connector, instance)
    }
    fn load_state(
        &self,
        key: &InstanceKey,
    ) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
        self.inner.load_state(key)
    }
    fn save_state(
        &self,
        key: &InstanceKey,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), StoreError> {
        self.inner.save_state(key, values)
    }
    fn load_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
    ) -> Result<std::collections::HashMap<String, Vec<u8>>, StoreError> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_token_write_uses_the_winners_token() {
    let mock = rotating().await;
    let db = temp_db("race");
    let store = Arc::new(RacedStore {
        inner: SqliteStore::open(&db, None).unwrap(),
        raced: Mutex::new(false),
        stale: Mutex::new(None),
    });
    let key = InstanceKey::new("rot", [("tenant", "t1")]);
    let m = manager(
        auth(&mock.url),
        json!({"refresh_token": "r0"}),
        Some(StoreBinding {
            store: store.clone(),
            key: key.clone(),
        }),
    );
    // The manager refreshes (r0 -> a0), its write conflicts with the other writer's, and it
    // re-reads and uses the winner's fresh token instead of overwriting it.
    let (_, h) = applied(&m).await;
    assert_eq!(h[0].1, "Bearer from-the-other-writer");
    assert_eq!(mock.seen().len(), 1);
    let stored = wsc_auth::load_token(&*store, &key).unwrap().unwrap();
    assert_eq!(stored.token.access_token.expose(), "from-the-other-writer");
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_grant_after_another_writers_rotation_uses_its_token() {
    let mock = rotating().await;
    let db = temp_db("regrant");
    let key = InstanceKey::new("rot", [("tenant", "t1")]);
    // Writer A refreshes r0 -> r1 (token a0) and commits it.
    let a = manager(
        auth(&mock.url),
        json!({"refresh_token": "r0"}),
        Some(binding(&db)),
    );
    let before = {
        let store = SqliteStore::open(&db, None).unwrap();
        let seed = wsc_auth::TokenSet {
            access_token: wsc_auth::Secret::new("expired"),
            token_type: Some("Bearer".into()),
            expires_at_ms: 1,
            expiry_source: "expires_in",
            refresh_token: Some(wsc_auth::Secret::new("r0")),
            refresh_expires_at_ms: None,
            scope: None,
            obtained_at_ms: 1,
            obtained: None,
            cookies: None,
        };
        store
            .save_token(
                &key,
                "refresh_token",
                &seed.to_stored_json(),
                ExpectedVersion::Absent,
            )
            .unwrap();
        store.load_token(&key).unwrap().unwrap()
    };
    let (_, h) = applied(&a).await;
    assert_eq!(h[0].1, "Bearer a0");
    // Writer B read the store before A's commit (it holds r0, spent now): its refresh gets
    // invalid_grant, it re-reads, finds A's fresh token and uses it instead of failing.
    let store = Arc::new(RacedStore {
        inner: SqliteStore::open(&db, None).unwrap(),
        raced: Mutex::new(true),
        stale: Mutex::new(Some(before)),
    });
    let b = manager(
        auth(&mock.url),
        json!({"refresh_token": "r0"}),
        Some(StoreBinding {
            store,
            key: key.clone(),
        }),
    );
    let (_, h) = applied(&b).await;
    assert_eq!(h[0].1, "Bearer a0");
    let used: Vec<String> = mock
        .seen()
        .iter()
        .map(|s| s.params["refresh_token"].clone())
        .collect();
    assert_eq!(
        used,
        ["r0", "r0"],
        "B tried the spent token once, then re-read"
    );
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}
