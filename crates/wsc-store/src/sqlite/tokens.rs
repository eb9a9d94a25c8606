//! Tokens in SQLite: sealed rows with a version for compare-and-swap writes.

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::db::{Db, now_ms};
use crate::crypto::random_bytes;
use crate::error::StoreError;
use crate::key::InstanceKey;
use crate::store::{ExpectedVersion, StoredToken, TokenVersion};

/// A new version: random, positive and never 0 (rows written before versioning have 0), so
/// a row deleted and written again does not repeat a version a stale writer may hold.
fn new_version() -> i64 {
    let mut b = [0u8; 8];
    random_bytes(&mut b);
    (i64::from_le_bytes(b) & i64::MAX).max(1)
}

/// A token row as read: grant, nonce, sealed payload, updated_at, version.
type Row = (String, Vec<u8>, Vec<u8>, i64, i64);

/// The stored token of an instance, if any.
pub(super) fn load(db: &Db, key: &InstanceKey) -> Result<Option<StoredToken>, StoreError> {
    let row: Option<Row> = db
        .conn()
        .query_row(
            "SELECT grant_type, nonce, sealed, updated_at, version FROM tokens WHERE connector = ?1 AND instance = ?2",
            params![key.connector, key.instance],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()
        .map_err(db.err("reading a token"))?;
    let Some((grant, nonce, sealed, updated, version)) = row else {
        return Ok(None);
    };
    if nonce.len() != crate::crypto::NONCE_LEN {
        return Err(StoreError::corrupt(
            &db.location,
            "reading a token",
            "corrupt nonce",
        ));
    }
    let plain = db
        .cipher
        .open_sealed(&key.aad(), &nonce, &sealed)
        .map_err(|_| StoreError::WrongKey {
            location: db.location.clone(),
            what: "decrypting a token",
            hint: "; run `wsc auth logout` to drop it",
        })?;
    let payload: Value = serde_json::from_slice(&plain)
        .map_err(|e| StoreError::corrupt(&db.location, "decoding a token", e))?;
    Ok(Some(StoredToken {
        grant,
        payload,
        version: TokenVersion::from_raw(version),
        updated_at_ms: updated.max(0) as u64,
    }))
}

/// Writes the token of an instance if the stored one matches `expected`.
pub(super) fn save(
    db: &Db,
    key: &InstanceKey,
    grant: &str,
    payload: &Value,
    expected: ExpectedVersion,
) -> Result<TokenVersion, StoreError> {
    let plain = serde_json::to_vec(payload)
        .map_err(|e| StoreError::encoding(&db.location, "encoding a token", e))?;
    let (nonce, sealed) = db
        .cipher
        .seal(&key.aad(), &plain)
        .map_err(|_| StoreError::encoding(&db.location, "encrypting a token", "AEAD failure"))?;
    let version = new_version();
    let now = now_ms();
    let conn = db.conn();
    let written = match expected {
        ExpectedVersion::Any => conn.execute(
            "INSERT INTO tokens (connector, instance, grant_type, nonce, sealed, updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (connector, instance) DO UPDATE SET
               grant_type = excluded.grant_type, nonce = excluded.nonce,
               sealed = excluded.sealed, updated_at = excluded.updated_at,
               version = excluded.version",
            params![key.connector, key.instance, grant, &nonce[..], sealed, now, version],
        ),
        ExpectedVersion::Absent => conn.execute(
            "INSERT INTO tokens (connector, instance, grant_type, nonce, sealed, updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (connector, instance) DO NOTHING",
            params![key.connector, key.instance, grant, &nonce[..], sealed, now, version],
        ),
        ExpectedVersion::Version(v) => conn.execute(
            "UPDATE tokens SET grant_type = ?3, nonce = ?4, sealed = ?5, updated_at = ?6, version = ?7
             WHERE connector = ?1 AND instance = ?2 AND version = ?8",
            params![
                key.connector,
                key.instance,
                grant,
                &nonce[..],
                sealed,
                now,
                version,
                v.raw()
            ],
        ),
    }
    .map_err(db.err("writing a token"))?;
    if written == 0 {
        return Err(StoreError::Conflict {
            location: db.location.clone(),
            connector: key.connector.clone(),
            instance: key.instance.clone(),
        });
    }
    Ok(TokenVersion::from_raw(version))
}

/// Deletes the tokens of an instance (`None`: of every instance of the connector).
pub(super) fn delete(
    db: &Db,
    connector: &str,
    instance: Option<&str>,
) -> Result<usize, StoreError> {
    let c = db.conn();
    match instance {
        Some(i) => c.execute(
            "DELETE FROM tokens WHERE connector = ?1 AND instance = ?2",
            params![connector, i],
        ),
        None => c.execute(
            "DELETE FROM tokens WHERE connector = ?1",
            params![connector],
        ),
    }
    .map_err(db.err("deleting tokens"))
}
