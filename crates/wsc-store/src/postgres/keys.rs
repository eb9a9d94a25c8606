//! The key of a PostgreSQL store: a raw key, or a passphrase stretched with Argon2id under the
//! salt kept in `wsc_store_meta` (row `kdf`, written by the first worker that opens the store);
//! and the re-sealing of values written under the SHA-256 of the key text by wsc before schema
//! 2 (row `legacy_sha256`, set by migration 2 when the database held sealed values). As in the
//! SQLite store (`sqlite/keys.rs`).

use postgres::Client;

use super::conn::{Conn, db_err};
use crate::crypto::{Cipher, Kdf, KeyInput, StoreKeys, legacy_key, reseal, reseal_text};
use crate::error::StoreError;
use crate::key::InstanceKey;

/// The keys of the store for the key text the caller gave (required: a fleet has no key
/// file). `input` is never [`KeyInput::Beside`] here.
pub(super) fn open_keys(conn: &Conn, input: KeyInput<'_>) -> Result<StoreKeys, StoreError> {
    let loc = conn.location.clone();
    let key = match input {
        KeyInput::Raw { key, .. } => key,
        KeyInput::Passphrase(p) => {
            let l = loc.clone();
            let kdf = conn.run(move |db| kdf(db, &l))?;
            kdf.derive(p)
                .map_err(|e| StoreError::corrupt(&loc, "deriving the store key", e))?
        }
        KeyInput::Beside => {
            return Err(StoreError::corrupt(
                &loc,
                "opening the store",
                "a PostgreSQL store needs the key",
            ));
        }
    };
    let keys = StoreKeys::new(&key);
    if let Some(text) = input.text() {
        let old = Cipher::new(&legacy_key(text));
        let new = keys.cipher.clone();
        let l = loc.clone();
        conn.run(move |db| reseal_legacy(db, &l, &old, &new))?;
    }
    Ok(keys)
}

/// The Argon2id parameters of the store, created with a random salt by the first worker
/// that opens it (workers starting together agree on the one written first).
fn kdf(db: &mut Client, loc: &str) -> Result<Kdf, StoreError> {
    let err = db_err(loc, "reading the key derivation parameters");
    let fresh = Kdf::generate();
    db.execute(
        "INSERT INTO wsc_store_meta (name, value) VALUES ('kdf', $1) ON CONFLICT (name) DO NOTHING",
        &[&fresh.encode().into_bytes()],
    )
    .map_err(&err)?;
    let v: Vec<u8> = db
        .query_one("SELECT value FROM wsc_store_meta WHERE name = 'kdf'", &[])
        .map_err(&err)?
        .get(0);
    Kdf::decode(&String::from_utf8_lossy(&v))
        .map_err(|e| StoreError::corrupt(loc, "reading the key derivation parameters", e))
}

/// Re-seals the token rows and state values that open under `old` with `new`, in one
/// transaction that holds the mark's row lock (so one worker does it); see the SQLite
/// store's function of the same name.
fn reseal_legacy(db: &mut Client, loc: &str, old: &Cipher, new: &Cipher) -> Result<(), StoreError> {
    let err = db_err(loc, "re-encrypting values under the derived key");
    let mut tx = db.transaction().map_err(&err)?;
    let marked = tx
        .query_opt(
            "SELECT 1 FROM wsc_store_meta WHERE name = 'legacy_sha256' FOR UPDATE",
            &[],
        )
        .map_err(&err)?
        .is_some();
    if !marked {
        return tx.commit().map_err(&err);
    }
    let tokens = tx
        .query(
            "SELECT connector, instance, nonce, sealed FROM wsc_tokens",
            &[],
        )
        .map_err(&err)?;
    let states = tx
        .query(
            "SELECT connector, instance, key, value FROM wsc_connector_state",
            &[],
        )
        .map_err(&err)?;
    let mut resealed = 0usize;
    for r in &tokens {
        let (connector, instance): (String, String) = (r.get(0), r.get(1));
        let (nonce, sealed): (Vec<u8>, Vec<u8>) = (r.get(2), r.get(3));
        let k = InstanceKey {
            connector: connector.clone(),
            instance: instance.clone(),
        };
        if let Some((n, s)) = reseal(old, new, &k.aad(), &nonce, &sealed) {
            tx.execute(
                "UPDATE wsc_tokens SET nonce = $3, sealed = $4 WHERE connector = $1 AND instance = $2",
                &[&connector, &instance, &n.to_vec(), &s],
            )
            .map_err(&err)?;
            resealed += 1;
        }
    }
    for r in &states {
        let (connector, instance, name, value): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        let k = InstanceKey {
            connector: connector.clone(),
            instance: instance.clone(),
        };
        if let Some(v) = reseal_text(old, new, &k.state_aad(&name), &value) {
            tx.execute(
                "UPDATE wsc_connector_state SET value = $4 WHERE connector = $1 AND instance = $2 AND key = $3",
                &[&connector, &instance, &name, &v],
            )
            .map_err(&err)?;
            resealed += 1;
        }
    }
    if resealed > 0 || tokens.len() + states.len() == 0 {
        tx.execute(
            "DELETE FROM wsc_store_meta WHERE name = 'legacy_sha256'",
            &[],
        )
        .map_err(&err)?;
    }
    tx.commit().map_err(&err)
}
