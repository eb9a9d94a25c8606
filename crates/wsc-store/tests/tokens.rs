//! Tokens through the `Store` trait: encryption at rest, compare-and-swap writes, the
//! credential lease.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{TempDir, key, open, token};
use wsc_store::{ExpectedVersion, InstanceKey, SqliteStore, Store, StoreError};

#[test]
fn token_round_trip_is_encrypted_at_rest() {
    let dir = TempDir::new("enc");
    let store = open(&dir.db());
    let k = key();
    assert_eq!(store.load_token(&k).unwrap(), None);
    let v = store
        .save_token(
            &k,
            "authorization_code",
            &token("access-SECRET-1", "refresh-SECRET-2"),
            ExpectedVersion::Absent,
        )
        .unwrap();
    let got = store.load_token(&k).unwrap().unwrap();
    assert_eq!(got.grant, "authorization_code");
    assert_eq!(got.payload, token("access-SECRET-1", "refresh-SECRET-2"));
    assert_eq!(got.version, v);
    assert!(got.updated_at_ms > 0);
    let debug = format!("{got:?}");
    assert!(!debug.contains("SECRET"), "{debug}");
    drop(store);
    // No file the store wrote holds a secret: database, WAL, key file.
    let mut files = 0;
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let p = f.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        files += 1;
        assert!(
            !bytes.windows(6).any(|w| w == b"SECRET"),
            "{} holds a secret in clear",
            p.display()
        );
    }
    assert!(files >= 2, "the database and its key file");
    // Re-opened with the same key file: readable.
    let again = open(&dir.db());
    assert_eq!(
        again.load_token(&k).unwrap().unwrap().payload,
        token("access-SECRET-1", "refresh-SECRET-2")
    );
}

#[test]
fn wrong_key_and_other_instance() {
    let dir = TempDir::new("key");
    let with_pass = SqliteStore::open(&dir.db(), Some("passphrase one")).unwrap();
    let k = key();
    with_pass
        .save_token(&k, "password", &token("a", "r"), ExpectedVersion::Any)
        .unwrap();
    // The passphrase replaces the key file: none is created.
    assert!(!dir.path().join("state.key").exists());
    let other = SqliteStore::open(&dir.db(), Some("passphrase two")).unwrap();
    let e = other.load_token(&k).unwrap_err();
    assert!(matches!(e, StoreError::WrongKey { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("decrypting a token: wrong key") && msg.contains("wsc auth logout"),
        "{msg}"
    );
    assert!(msg.contains(&dir.db().display().to_string()), "{msg}");
    // Another instance of the same connector sees nothing.
    let t2 = InstanceKey::new("acme", [("tenant", "t2")]);
    assert_eq!(with_pass.load_token(&t2).unwrap(), None);
}

#[test]
fn compare_and_swap_conflict_then_reread() {
    let dir = TempDir::new("cas");
    let (a, b) = (open(&dir.db()), open(&dir.db()));
    let k = key();
    let v0 = a
        .save_token(
            &k,
            "refresh_token",
            &token("a0", "r0"),
            ExpectedVersion::Absent,
        )
        .unwrap();
    // Both read version v0.
    let seen_a = a.load_token(&k).unwrap().unwrap();
    let seen_b = b.load_token(&k).unwrap().unwrap();
    assert_eq!((seen_a.version, seen_b.version), (v0, v0));
    // A writes first and wins.
    let v1 = a
        .save_token(
            &k,
            "refresh_token",
            &token("a1", "r1"),
            ExpectedVersion::Version(seen_a.version),
        )
        .unwrap();
    assert_ne!(v1, v0);
    // B's write over the stale version loses and changes nothing.
    let e = b
        .save_token(
            &k,
            "refresh_token",
            &token("b1", "rb"),
            ExpectedVersion::Version(seen_b.version),
        )
        .unwrap_err();
    assert!(e.is_conflict(), "{e:?}");
    assert!(e.to_string().contains("changed by another writer"), "{e}");
    let now = b.load_token(&k).unwrap().unwrap();
    assert_eq!((now.payload.clone(), now.version), (token("a1", "r1"), v1));
    // B re-reads and writes over the current version: success.
    let v2 = b
        .save_token(
            &k,
            "refresh_token",
            &token("b2", "r2"),
            ExpectedVersion::Version(now.version),
        )
        .unwrap();
    let last = a.load_token(&k).unwrap().unwrap();
    assert_eq!((last.payload, last.version), (token("b2", "r2"), v2));
    // `Absent` loses when a token exists; `Any` always writes.
    let e = a
        .save_token(
            &k,
            "refresh_token",
            &token("x", "y"),
            ExpectedVersion::Absent,
        )
        .unwrap_err();
    assert!(e.is_conflict());
    a.save_token(
        &k,
        "authorization_code",
        &token("z", "w"),
        ExpectedVersion::Any,
    )
    .unwrap();
    assert_eq!(
        b.load_token(&k).unwrap().unwrap().grant,
        "authorization_code"
    );
}

#[test]
fn a_version_from_before_a_delete_loses() {
    let dir = TempDir::new("aba");
    let s = open(&dir.db());
    let k = key();
    let old = s
        .save_token(&k, "password", &token("a", "r"), ExpectedVersion::Absent)
        .unwrap();
    assert_eq!(s.delete_tokens(&k.connector, Some(&k.instance)).unwrap(), 1);
    // Deleted: a write over the old version finds nothing to replace.
    let e = s
        .save_token(
            &k,
            "password",
            &token("b", "r"),
            ExpectedVersion::Version(old),
        )
        .unwrap_err();
    assert!(e.is_conflict());
    // Written again (a new sign-in): the old version still loses.
    s.save_token(&k, "password", &token("c", "r"), ExpectedVersion::Absent)
        .unwrap();
    let e = s
        .save_token(
            &k,
            "password",
            &token("d", "r"),
            ExpectedVersion::Version(old),
        )
        .unwrap_err();
    assert!(e.is_conflict());
    assert_eq!(s.load_token(&k).unwrap().unwrap().payload, token("c", "r"));
}

#[test]
fn delete_tokens_of_one_or_every_instance() {
    let dir = TempDir::new("del");
    let s = open(&dir.db());
    let k1 = key();
    let k2 = InstanceKey::new("acme", [("tenant", "t2")]);
    let other = InstanceKey::new("other", [("tenant", "t1")]);
    for k in [&k1, &k2, &other] {
        s.save_token(k, "password", &token("a", "r"), ExpectedVersion::Any)
            .unwrap();
    }
    assert_eq!(s.delete_tokens("acme", Some(&k1.instance)).unwrap(), 1);
    assert_eq!(s.load_token(&k1).unwrap(), None);
    assert!(s.load_token(&k2).unwrap().is_some());
    assert_eq!(s.delete_tokens("acme", None).unwrap(), 1);
    assert_eq!(s.delete_tokens("acme", None).unwrap(), 0);
    assert!(s.load_token(&other).unwrap().is_some());
}

#[test]
fn the_lease_excludes_a_second_holder() {
    let dir = TempDir::new("lease");
    let (a, b) = (open(&dir.db()), open(&dir.db()));
    let k = key();
    let held = a.lock_credential(&k).unwrap();
    // Another handle on another thread waits until the first lease is released.
    let (tx, rx) = mpsc::channel();
    let start = Arc::new(Barrier::new(2));
    let t = {
        let (b, k, start) = (b.clone(), k.clone(), start.clone());
        std::thread::spawn(move || {
            start.wait();
            let lease = b.lock_credential(&k).unwrap();
            tx.send(Instant::now()).unwrap();
            lease.release().unwrap();
        })
    };
    start.wait();
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "a second holder got the lease while the first held it"
    );
    let released = Instant::now();
    held.release().unwrap();
    let got = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(got >= released);
    t.join().unwrap();
    // The same handle, on two threads, excludes itself too; dropping releases.
    let first = a.lock_credential(&k).unwrap();
    let (tx, rx) = mpsc::channel();
    let t = {
        let (a, k) = (a.clone(), k.clone());
        std::thread::spawn(move || {
            let _lease = a.lock_credential(&k).unwrap();
            tx.send(()).unwrap();
        })
    };
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    drop(first);
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    t.join().unwrap();
}

#[test]
fn lease_across_threads_serialises_read_modify_write() {
    // Eight threads each increment a counter kept in the token payload, under the lease, with
    // compare-and-swap writes: no increment is lost and no write conflicts.
    let dir = TempDir::new("rmw");
    let k = key();
    open(&dir.db())
        .save_token(
            &k,
            "custom",
            &serde_json::json!({"n": 0}),
            ExpectedVersion::Absent,
        )
        .unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (db, k) = (dir.db(), k.clone());
            std::thread::spawn(move || {
                let s = open(&db);
                for _ in 0..5 {
                    let lease = s.lock_credential(&k).unwrap();
                    let cur = s.load_token(&k).unwrap().unwrap();
                    let n = cur.payload["n"].as_u64().unwrap();
                    s.save_token(
                        &k,
                        "custom",
                        &serde_json::json!({"n": n + 1}),
                        ExpectedVersion::Version(cur.version),
                    )
                    .unwrap();
                    drop(lease);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = open(&dir.db());
    assert_eq!(s.load_token(&k).unwrap().unwrap().payload["n"], 40);
}
