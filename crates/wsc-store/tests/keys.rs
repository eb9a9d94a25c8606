//! The store key: a passphrase stretched with Argon2id under a salt kept in the store, a raw
//! 32-byte key used as it is, and a database written by wsc before the key derivation (values
//! sealed under the SHA-256 of the passphrase) re-sealed when it opens; keyed snapshot hashes.

mod common;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use common::{TempDir, key, token};
use serde_json::{Map, json};
use sha2::{Digest, Sha256};
use wsc_store::{ExpectedVersion, KEYED_HASH_LEN, SqliteStore, Store, StoreError, StoredHash};

const PASSPHRASE: &str = "correct horse battery staple";

fn meta(db: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT value FROM store_meta WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .ok()
}

/// The cipher of wsc before the key derivation: the SHA-256 of the key text.
fn legacy_cipher(text: &str) -> ChaCha20Poly1305 {
    let k: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    ChaCha20Poly1305::new(Key::from_slice(&k))
}

/// The associated data of the token row of the tests' instance (as `InstanceKey::aad`).
fn token_aad() -> Vec<u8> {
    let k = key();
    format!("wsc-token\0{}\0{}", k.connector, k.instance).into_bytes()
}

/// The token row of the tests' instance: (nonce, sealed).
fn token_row(db: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("SELECT nonce, sealed FROM tokens", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

fn opens_with_legacy_key(db: &std::path::Path, text: &str) -> bool {
    let (nonce, sealed) = token_row(db);
    legacy_cipher(text)
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &sealed,
                aad: &token_aad(),
            },
        )
        .is_ok()
}

#[test]
fn a_passphrase_is_stretched_with_argon2id_under_a_salt_of_the_store() {
    let (a, b) = (TempDir::new("kdf-a"), TempDir::new("kdf-b"));
    let sa = SqliteStore::open(&a.db(), Some(PASSPHRASE)).unwrap();
    let sb = SqliteStore::open(&b.db(), Some(PASSPHRASE)).unwrap();
    sa.save_token(&key(), "password", &token("a1", "r1"), ExpectedVersion::Any)
        .unwrap();
    // The parameters and a salt of the store's own are kept in it; no key file is written.
    let kdf = String::from_utf8(meta(&a.db(), "kdf").unwrap()).unwrap();
    assert!(kdf.starts_with("argon2id$v=19$m=19456,t=2,p=1$"), "{kdf}");
    assert_ne!(
        meta(&a.db(), "kdf"),
        meta(&b.db(), "kdf"),
        "one salt per store"
    );
    assert!(!a.path().join("state.key").exists());
    // Same passphrase, two stores: two keys (seen through the snapshot hashes).
    let content = br#"{"email":"ann@example.test"}"#;
    assert_ne!(
        sa.record_hasher().hash(content),
        sb.record_hasher().hash(content)
    );
    // Not the SHA-256 of the passphrase, as before: a weak passphrase is not one hash away.
    assert!(!opens_with_legacy_key(&a.db(), PASSPHRASE));
    drop(sa);
    // Re-opened with the passphrase: the same key.
    let again = SqliteStore::open(&a.db(), Some(PASSPHRASE)).unwrap();
    assert_eq!(
        again.load_token(&key()).unwrap().unwrap().payload,
        token("a1", "r1")
    );
    assert_eq!(
        again
            .record_hasher()
            .kind(&sb.record_hasher().hash(content)),
        StoredHash::OtherKey
    );
    // Another passphrase: the wrong key, said so.
    let wrong = SqliteStore::open(&a.db(), Some("another passphrase")).unwrap();
    let e = wrong.load_token(&key()).unwrap_err();
    assert!(matches!(e, StoreError::WrongKey { .. }), "{e:?}");
}

#[test]
fn a_raw_key_is_used_as_it_is_in_hex_or_base64() {
    let dir = TempDir::new("raw");
    let raw: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    {
        let s = SqliteStore::open(&dir.db(), Some(&hex)).unwrap();
        s.save_token(&key(), "password", &token("a", "r"), ExpectedVersion::Any)
            .unwrap();
    }
    // No key derivation for a raw key: nothing kept, and the base64 form is the same key.
    assert_eq!(meta(&dir.db(), "kdf"), None);
    let s = SqliteStore::open(&dir.db(), Some(&format!("{b64}\n"))).unwrap();
    assert_eq!(
        s.load_token(&key()).unwrap().unwrap().payload,
        token("a", "r")
    );
    // The upper-case hex form too; a 63-digit text is a passphrase, hence another key.
    let upper = SqliteStore::open(&dir.db(), Some(&hex.to_uppercase())).unwrap();
    assert!(upper.load_token(&key()).unwrap().is_some());
    let short = SqliteStore::open(&dir.db(), Some(&hex[1..])).unwrap();
    assert!(matches!(
        short.load_token(&key()),
        Err(StoreError::WrongKey { .. })
    ));
}

/// A database as wsc wrote it at schema 2 with `WSC_STATE_KEY=text`: a token row and a state
/// value sealed under the SHA-256 of the text.
fn schema_2_database(db: &std::path::Path, text: &str) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch(
        "
CREATE TABLE tokens (connector TEXT NOT NULL, instance TEXT NOT NULL, grant_type TEXT NOT NULL,
    nonce BLOB NOT NULL, sealed BLOB NOT NULL, updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (connector, instance));
CREATE TABLE connector_state (connector TEXT NOT NULL, instance TEXT NOT NULL, key TEXT NOT NULL,
    value TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (connector, instance, key));
CREATE TABLE delta_snapshots (connector TEXT NOT NULL, instance TEXT NOT NULL,
    object_type TEXT NOT NULL, identity TEXT NOT NULL, hash BLOB NOT NULL,
    updated_at INTEGER NOT NULL, PRIMARY KEY (connector, instance, object_type, identity));
CREATE TABLE run_history (id INTEGER PRIMARY KEY AUTOINCREMENT, connector TEXT NOT NULL,
    instance TEXT NOT NULL, operation TEXT NOT NULL, started_at INTEGER NOT NULL,
    finished_at INTEGER, records INTEGER, status TEXT);
PRAGMA user_version = 2;
",
    )
    .unwrap();
    let cipher = legacy_cipher(text);
    let k = key();
    let nonce = [7u8; 12];
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: token("old-access", "old-refresh").to_string().as_bytes(),
                aad: &token_aad(),
            },
        )
        .unwrap();
    c.execute(
        "INSERT INTO tokens VALUES (?1, ?2, 'refresh_token', ?3, ?4, 1, 42)",
        rusqlite::params![k.connector, k.instance, &nonce[..], sealed],
    )
    .unwrap();
    let state_aad = [token_aad(), b"|state|cursor".to_vec()].concat();
    let snonce = [9u8; 12];
    let mut all = snonce.to_vec();
    all.extend(
        cipher
            .encrypt(
                Nonce::from_slice(&snonce),
                Payload {
                    msg: b"\"c-17\"",
                    aad: &state_aad,
                },
            )
            .unwrap(),
    );
    c.execute(
        "INSERT INTO connector_state VALUES (?1, ?2, 'cursor', ?3, 1)",
        rusqlite::params![
            k.connector,
            k.instance,
            base64::engine::general_purpose::STANDARD.encode(all)
        ],
    )
    .unwrap();
}

#[test]
fn values_sealed_under_the_sha256_of_the_passphrase_are_resealed() {
    let dir = TempDir::new("legacy-key");
    let old = "an old passphrase";
    schema_2_database(&dir.db(), old);
    assert!(opens_with_legacy_key(&dir.db(), old));

    // A wrong passphrase re-seals nothing and leaves the mark for the right one.
    {
        let s = SqliteStore::open(&dir.db(), Some("not it")).unwrap();
        assert_eq!(s.schema_version().unwrap(), 3);
        assert!(matches!(
            s.load_token(&key()),
            Err(StoreError::WrongKey { .. })
        ));
    }
    assert_eq!(meta(&dir.db(), "legacy_sha256"), Some(b"1".to_vec()));
    assert!(opens_with_legacy_key(&dir.db(), old));

    // The right one: every value is re-sealed under the derived key, the version kept.
    let s = SqliteStore::open(&dir.db(), Some(old)).unwrap();
    let t = s.load_token(&key()).unwrap().unwrap();
    assert_eq!(t.payload, token("old-access", "old-refresh"));
    assert_eq!(t.version.raw(), 42);
    let mut state = Map::new();
    state.insert("cursor".into(), json!("c-17"));
    assert_eq!(s.load_state(&key()).unwrap(), state);
    assert_eq!(meta(&dir.db(), "legacy_sha256"), None);
    assert!(!opens_with_legacy_key(&dir.db(), old));
    drop(s);
    let s = SqliteStore::open(&dir.db(), Some(old)).unwrap();
    assert_eq!(s.load_state(&key()).unwrap(), state);
}

#[test]
fn a_new_database_has_no_legacy_mark() {
    let dir = TempDir::new("fresh");
    let s = SqliteStore::open(&dir.db(), Some(PASSPHRASE)).unwrap();
    s.save_token(&key(), "password", &token("a", "r"), ExpectedVersion::Any)
        .unwrap();
    drop(s);
    assert_eq!(meta(&dir.db(), "legacy_sha256"), None);
}

#[test]
fn snapshot_hashes_are_keyed() {
    let dir = TempDir::new("hash");
    let s = SqliteStore::open(&dir.db(), None).unwrap();
    let h = s.record_hasher();
    let content = br#"{"department":"Finance"}"#;
    let stored = h.hash(content);
    assert_eq!(stored.len(), KEYED_HASH_LEN);
    assert!(!stored.ends_with(&Sha256::digest(content)));
    s.replace_snapshot(&key(), "account", &[("u1".into(), stored.clone())], 1)
        .unwrap();
    drop(s);
    // The key file's key again: the same hashes.
    let s = SqliteStore::open(&dir.db(), None).unwrap();
    let snap = s.load_snapshot(&key(), "account").unwrap();
    assert_eq!(s.record_hasher().kind(&snap["u1"]), StoredHash::Keyed);
    assert!(
        s.record_hasher()
            .matches(&snap["u1"], content, &s.record_hasher().hash(content))
    );
}
