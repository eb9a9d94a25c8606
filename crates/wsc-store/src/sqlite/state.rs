//! Connector state in SQLite: one sealed value per key and instance.

use rusqlite::params;
use serde_json::{Map, Value};

use super::db::{Db, now_ms};
use crate::crypto::decode_text;
use crate::error::StoreError;
use crate::key::InstanceKey;

/// The connector state of an instance, decrypted.
pub(super) fn load(db: &Db, key: &InstanceKey) -> Result<Map<String, Value>, StoreError> {
    let rows: Vec<(String, String)> = {
        let c = db.conn();
        let mut st = c
            .prepare("SELECT key, value FROM connector_state WHERE connector = ?1 AND instance = ?2 ORDER BY key")
            .map_err(db.err("reading state"))?;
        st.query_map(params![key.connector, key.instance], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db.err("reading state"))?
    };
    let mut out = Map::new();
    for (k, v) in rows {
        let (nonce, sealed) =
            decode_text(&v).map_err(|e| StoreError::corrupt(&db.location, "reading state", e))?;
        let plain = db
            .cipher
            .open_sealed(&key.state_aad(&k), &nonce, &sealed)
            .map_err(|_| StoreError::WrongKey {
                location: db.location.clone(),
                what: "decrypting state",
                hint: "",
            })?;
        let value = serde_json::from_slice(&plain)
            .map_err(|e| StoreError::corrupt(&db.location, "decoding state", e))?;
        out.insert(k, value);
    }
    Ok(out)
}

/// Writes state values of an instance in one transaction (a `null` value deletes the key).
pub(super) fn save(
    db: &Db,
    key: &InstanceKey,
    values: &Map<String, Value>,
) -> Result<(), StoreError> {
    let err = db.err("writing state");
    let mut c = db.conn();
    let tx = c.transaction().map_err(&err)?;
    for (k, v) in values {
        if v.is_null() {
            tx.execute(
                "DELETE FROM connector_state WHERE connector = ?1 AND instance = ?2 AND key = ?3",
                params![key.connector, key.instance, k],
            )
            .map_err(&err)?;
            continue;
        }
        let plain = serde_json::to_vec(v)
            .map_err(|e| StoreError::encoding(&db.location, "encoding state", e))?;
        let sealed = db
            .cipher
            .seal_text(&key.state_aad(k), &plain)
            .map_err(|_| StoreError::encoding(&db.location, "encrypting state", "AEAD failure"))?;
        tx.execute(
            "INSERT INTO connector_state (connector, instance, key, value, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (connector, instance, key) DO UPDATE SET
               value = excluded.value, updated_at = excluded.updated_at",
            params![key.connector, key.instance, k, sealed, now_ms()],
        )
        .map_err(&err)?;
    }
    tx.commit().map_err(&err)
}
