//! The key of an SQLite store: the key file beside the database, a raw key, or a passphrase
//! stretched with Argon2id under the salt kept in `store_meta` (row `kdf`); and the re-sealing
//! of values written under the SHA-256 of the key text by wsc before schema 3 (row
//! `legacy_sha256`, set by migration 3 when the database held sealed values).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::crypto::{Cipher, Kdf, KeyInput, StoreKeys, legacy_key, reseal, reseal_text};
use crate::error::StoreError;
use crate::key::InstanceKey;

/// The keys of the store at `db` for the key the caller gave (`None`: the key file beside it).
pub(super) fn open_keys(
    conn: &mut Connection,
    db: &Path,
    loc: &str,
    given: Option<&str>,
) -> Result<StoreKeys, StoreError> {
    let input = KeyInput::classify(given);
    let key = match input {
        KeyInput::Beside => crate::crypto::key_file(db)?,
        KeyInput::Raw { key, .. } => key,
        KeyInput::Passphrase(p) => kdf(conn, loc)?
            .derive(p)
            .map_err(|e| StoreError::corrupt(loc, "deriving the store key", e))?,
    };
    let keys = StoreKeys::new(&key);
    if let Some(text) = input.text() {
        reseal_legacy(conn, loc, &Cipher::new(&legacy_key(text)), &keys.cipher)?;
    }
    Ok(keys)
}

/// The Argon2id parameters of the store, created (with a random salt) by the first process
/// that opens it with a passphrase.
fn kdf(conn: &mut Connection, loc: &str) -> Result<Kdf, StoreError> {
    let err = |e| StoreError::db(loc, "reading the key derivation parameters", e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let stored: Option<Vec<u8>> = tx
        .query_row("SELECT value FROM store_meta WHERE name = 'kdf'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(err)?;
    let kdf = match stored {
        Some(v) => Kdf::decode(&String::from_utf8_lossy(&v))
            .map_err(|e| StoreError::corrupt(loc, "reading the key derivation parameters", e))?,
        None => {
            let k = Kdf::generate();
            tx.execute(
                "INSERT INTO store_meta (name, value) VALUES ('kdf', ?1)",
                [k.encode().into_bytes()],
            )
            .map_err(err)?;
            k
        }
    };
    tx.commit().map_err(err)?;
    Ok(kdf)
}

/// Re-seals the token rows and state values that open under `old` (the key of wsc before
/// schema 3) with `new`, in one transaction. The mark is removed once a value was re-sealed
/// (or when there is none): a wrong key text re-seals nothing and leaves the mark for the
/// right one. Values sealed under yet another key are left as they are (they do not open
/// under either).
fn reseal_legacy(
    conn: &mut Connection,
    loc: &str,
    old: &Cipher,
    new: &Cipher,
) -> Result<(), StoreError> {
    let err = |e| StoreError::db(loc, "re-encrypting values under the derived key", e);
    let marked = "SELECT EXISTS (SELECT 1 FROM store_meta WHERE name = 'legacy_sha256')";
    if !conn
        .query_row(marked, [], |r| r.get::<_, bool>(0))
        .map_err(err)?
    {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    if !tx
        .query_row(marked, [], |r| r.get::<_, bool>(0))
        .map_err(err)?
    {
        return Ok(());
    }
    type TokenRow = (String, String, Vec<u8>, Vec<u8>);
    let tokens: Vec<TokenRow> = {
        let mut st = tx
            .prepare("SELECT connector, instance, nonce, sealed FROM tokens")
            .map_err(err)?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|rows| rows.collect::<Result<_, _>>())
            .map_err(err)?
    };
    let states: Vec<(String, String, String, String)> = {
        let mut st = tx
            .prepare("SELECT connector, instance, key, value FROM connector_state")
            .map_err(err)?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|rows| rows.collect::<Result<_, _>>())
            .map_err(err)?
    };
    let mut resealed = 0usize;
    for (connector, instance, nonce, sealed) in &tokens {
        let k = InstanceKey {
            connector: connector.clone(),
            instance: instance.clone(),
        };
        if let Some((n, s)) = reseal(old, new, &k.aad(), nonce, sealed) {
            tx.execute(
                "UPDATE tokens SET nonce = ?3, sealed = ?4 WHERE connector = ?1 AND instance = ?2",
                params![connector, instance, &n[..], s],
            )
            .map_err(err)?;
            resealed += 1;
        }
    }
    for (connector, instance, name, value) in &states {
        let k = InstanceKey {
            connector: connector.clone(),
            instance: instance.clone(),
        };
        if let Some(v) = reseal_text(old, new, &k.state_aad(name), value) {
            tx.execute(
                "UPDATE connector_state SET value = ?4 WHERE connector = ?1 AND instance = ?2 AND key = ?3",
                params![connector, instance, name, v],
            )
            .map_err(err)?;
            resealed += 1;
        }
    }
    if resealed > 0 || tokens.len() + states.len() == 0 {
        tx.execute("DELETE FROM store_meta WHERE name = 'legacy_sha256'", [])
            .map_err(err)?;
    }
    tx.commit().map_err(err)
}
