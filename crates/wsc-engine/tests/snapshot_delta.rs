//! Snapshot deltas keep keyed record hashes (HMAC under a key derived from the store key): an
//! unchanged source gives no change lines; a snapshot of plain SHA-256 hashes from an older wsc
//! is compared as such (neither "everything changed" nor "nothing changed") and rewritten
//! keyed; a snapshot written under another store key stops the run instead of reporting every
//! record as updated. Against the synthetic API and a SQLite store.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use wsc_engine::Engine;
use wsc_engine::delta::{Delta, DeltaCounts};
use wsc_store::{InstanceKey, KEYED_HASH_LEN, SqliteStore, Store, StoredHash};

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("snapshot-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d.join("state.db")
}

fn instance() -> InstanceKey {
    InstanceKey::new("it", [("tenant", "t1")])
}

/// One delta run of the account aggregation: the change lines and the counts, committed.
async fn delta_run(engine: &Engine, store: Arc<dyn Store>) -> (Vec<Value>, DeltaCounts) {
    let mut d = Delta::open(store, instance(), "account").unwrap();
    d.start(engine).unwrap();
    let mut lines = Vec::new();
    for r in aggregate(engine, "account", None).await.unwrap() {
        lines.extend(d.change(&r));
    }
    lines.extend(d.deleted());
    let counts = d.commit().unwrap();
    (lines, counts)
}

/// The content each record is hashed from, by identity.
async fn contents(engine: &Engine) -> Vec<(String, String)> {
    let names = engine
        .attribute_names(&Engine::aggregation_key("account"))
        .unwrap();
    aggregate(engine, "account", None)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.identity.clone(), r.to_json(&names).to_string()))
        .collect()
}

fn connector() -> String {
    users_connector(FAST_HTTP, &users_request("cursor", 20, false, 1))
}

#[tokio::test]
async fn keyed_hashes_unchanged_source_and_legacy_snapshot() {
    let api = start(config(30)).await;
    let engine = engine(&connector(), &api.base_url());
    let db = scratch("legacy");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db, Some("delta passphrase")).unwrap());

    let (lines, counts) = delta_run(&engine, store.clone()).await;
    assert_eq!((counts.created, lines.len()), (30, 30));
    // The snapshot holds keyed hashes, not the plain hash of any record.
    let snap = store.load_snapshot(&instance(), "account").unwrap();
    let hasher = store.record_hasher();
    let plain: Vec<(String, String)> = contents(&engine).await;
    for (id, content) in &plain {
        let h = &snap[id];
        assert_eq!(h.len(), KEYED_HASH_LEN);
        assert_eq!(hasher.kind(h), StoredHash::Keyed);
        assert!(!h.ends_with(&Sha256::digest(content.as_bytes())));
    }
    // Nothing changed at the source: no change lines.
    let (lines, counts) = delta_run(&engine, store.clone()).await;
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!((counts.read, counts.updated, counts.created), (30, 0, 0));

    // A snapshot of plain SHA-256 hashes, as an older wsc wrote it; one of them stale.
    let mut legacy: Vec<(String, Vec<u8>)> = plain
        .iter()
        .map(|(id, c)| (id.clone(), Sha256::digest(c.as_bytes()).to_vec()))
        .collect();
    legacy[3].1 = Sha256::digest(b"{\"an\":\"older content\"}").to_vec();
    let stale = legacy[3].0.clone();
    store
        .replace_snapshot(&instance(), "account", &legacy, 1)
        .unwrap();
    let (lines, counts) = delta_run(&engine, store.clone()).await;
    assert_eq!((counts.updated, counts.created, counts.deleted), (1, 0, 0));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["change"], "updated");
    assert_eq!(lines[0]["identity"], Value::String(stale));
    // Rewritten keyed at the commit.
    let snap = store.load_snapshot(&instance(), "account").unwrap();
    assert!(snap.values().all(|h| hasher.kind(h) == StoredHash::Keyed));
    let (lines, _) = delta_run(&engine, store).await;
    assert!(lines.is_empty(), "{lines:?}");
    api.shutdown().await;
}

#[tokio::test]
async fn a_snapshot_under_another_store_key_stops_the_run() {
    let api = start(config(10)).await;
    let engine = engine(&connector(), &api.base_url());
    let db = scratch("other-key");
    let first: Arc<dyn Store> = Arc::new(SqliteStore::open(&db, Some("first key")).unwrap());
    delta_run(&engine, first.clone()).await;
    let before = first.load_snapshot(&instance(), "account").unwrap();
    drop(first);
    // The same store under another key: not ten "updated" lines, an error.
    let other: Arc<dyn Store> = Arc::new(SqliteStore::open(&db, Some("second key")).unwrap());
    let mut d = Delta::open(other.clone(), instance(), "account").unwrap();
    let e = d.start(&engine).unwrap_err().to_string();
    assert!(e.contains("wrong key"), "{e}");
    assert!(
        e.contains("the snapshot was written under another store key"),
        "{e}"
    );
    // The snapshot is left as it was.
    assert_eq!(other.load_snapshot(&instance(), "account").unwrap(), before);
    api.shutdown().await;
}
