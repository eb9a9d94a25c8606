//! Tokens in PostgreSQL: sealed rows with a version from a sequence for compare-and-swap
//! writes, and the credential lease (a session advisory lock on a connection of its own).

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::conn::{Conn, db_err};
use super::db::{Db, now_ms};
use crate::error::StoreError;
use crate::key::InstanceKey;
use crate::store::{CredentialLease, ExpectedVersion, StoredToken, TokenVersion};

/// The stored token of an instance, if any.
pub(super) fn load(s: &Db, key: &InstanceKey) -> Result<Option<StoredToken>, StoreError> {
    let (c, i) = (key.connector.clone(), key.instance.clone());
    let err = db_err(&s.conn.location, "reading a token");
    let row = s.conn.run(move |db| {
        db.query_opt(
            "SELECT grant_type, nonce, sealed, updated_at, version FROM wsc_tokens
             WHERE connector = $1 AND instance = $2",
            &[&c, &i],
        )
        .map_err(err)
        .map(|r| {
            r.map(|r| {
                (
                    r.get::<_, String>(0),
                    r.get::<_, Vec<u8>>(1),
                    r.get::<_, Vec<u8>>(2),
                    r.get::<_, i64>(3),
                    r.get::<_, i64>(4),
                )
            })
        })
    })?;
    let Some((grant, nonce, sealed, updated, version)) = row else {
        return Ok(None);
    };
    let plain = s
        .cipher
        .open_sealed(&key.aad(), &nonce, &sealed)
        .map_err(|_| StoreError::WrongKey {
            location: s.conn.location.clone(),
            what: "decrypting a token",
            hint: "; every worker must use the same WSC_STATE_KEY; run `wsc auth logout` to drop the token",
        })?;
    let payload: Value = serde_json::from_slice(&plain)
        .map_err(|e| StoreError::corrupt(&s.conn.location, "decoding a token", e))?;
    Ok(Some(StoredToken {
        grant,
        payload,
        version: TokenVersion::from_raw(version),
        updated_at_ms: updated.max(0) as u64,
    }))
}

/// Writes the token of an instance if the stored one matches `expected`.
pub(super) fn save(
    s: &Db,
    key: &InstanceKey,
    grant: &str,
    payload: &Value,
    expected: ExpectedVersion,
) -> Result<TokenVersion, StoreError> {
    let loc = &s.conn.location;
    let plain = serde_json::to_vec(payload)
        .map_err(|e| StoreError::encoding(loc, "encoding a token", e))?;
    let (nonce, sealed) = s
        .cipher
        .seal(&key.aad(), &plain)
        .map_err(|_| StoreError::encoding(loc, "encrypting a token", "AEAD failure"))?;
    let (c, i, g, nonce) = (
        key.connector.clone(),
        key.instance.clone(),
        grant.to_string(),
        nonce.to_vec(),
    );
    let now = now_ms();
    let err = db_err(loc, "writing a token");
    let written: Option<i64> = s.conn.run(move |db| {
        let row = match expected {
            ExpectedVersion::Any => db.query_opt(
                "INSERT INTO wsc_tokens (connector, instance, grant_type, nonce, sealed, updated_at, version)
                 VALUES ($1, $2, $3, $4, $5, $6, nextval('wsc_token_version'))
                 ON CONFLICT (connector, instance) DO UPDATE SET
                   grant_type = excluded.grant_type, nonce = excluded.nonce,
                   sealed = excluded.sealed, updated_at = excluded.updated_at,
                   version = excluded.version
                 RETURNING version",
                &[&c, &i, &g, &nonce, &sealed, &now],
            ),
            ExpectedVersion::Absent => db.query_opt(
                "INSERT INTO wsc_tokens (connector, instance, grant_type, nonce, sealed, updated_at, version)
                 VALUES ($1, $2, $3, $4, $5, $6, nextval('wsc_token_version'))
                 ON CONFLICT (connector, instance) DO NOTHING
                 RETURNING version",
                &[&c, &i, &g, &nonce, &sealed, &now],
            ),
            ExpectedVersion::Version(v) => db.query_opt(
                "UPDATE wsc_tokens SET grant_type = $3, nonce = $4, sealed = $5, updated_at = $6,
                   version = nextval('wsc_token_version')
                 WHERE connector = $1 AND instance = $2 AND version = $7
                 RETURNING version",
                &[&c, &i, &g, &nonce, &sealed, &now, &v.raw()],
            ),
        };
        row.map(|r| r.map(|r| r.get(0))).map_err(err)
    })?;
    match written {
        Some(v) => Ok(TokenVersion::from_raw(v)),
        None => Err(StoreError::Conflict {
            location: loc.clone(),
            connector: key.connector.clone(),
            instance: key.instance.clone(),
        }),
    }
}

/// Deletes the tokens of an instance (`None`: of every instance of the connector).
pub(super) fn delete(s: &Db, connector: &str, instance: Option<&str>) -> Result<usize, StoreError> {
    let (c, i) = (connector.to_string(), instance.map(str::to_string));
    let err = db_err(&s.conn.location, "deleting tokens");
    s.conn.run(move |db| {
        match &i {
            Some(i) => db.execute(
                "DELETE FROM wsc_tokens WHERE connector = $1 AND instance = $2",
                &[&c, i],
            ),
            None => db.execute("DELETE FROM wsc_tokens WHERE connector = $1", &[&c]),
        }
        .map(|n| n as usize)
        .map_err(err)
    })
}

/// The advisory lock key of an instance's credential: 64 bits of a hash of its key.
fn lock_key(key: &InstanceKey) -> i64 {
    let mut h = Sha256::new();
    h.update(b"wsc-credential\0");
    h.update(key.connector.as_bytes());
    h.update(b"\0");
    h.update(key.instance.as_bytes());
    let d = h.finalize();
    i64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8]))
}

/// A session advisory lock on a connection of its own. Dropping it closes the connection,
/// which releases the lock (also when the process dies: the server ends the session).
#[derive(Debug)]
pub(super) struct AdvisoryLease {
    conn: Conn,
    key: i64,
}

impl AdvisoryLease {
    /// Takes the credential lock of `key`, waiting while another session holds it.
    pub(super) fn acquire(s: &Db, key: &InstanceKey) -> Result<AdvisoryLease, StoreError> {
        let conn = Conn::open(&s.config, &s.conn.location)?;
        let k = lock_key(key);
        let err = db_err(&s.conn.location, "taking the credential lock");
        conn.run(move |db| {
            db.execute("SELECT pg_advisory_lock($1)", &[&k])
                .map(|_| ())
                .map_err(err)
        })?;
        Ok(AdvisoryLease { conn, key: k })
    }
}

impl CredentialLease for AdvisoryLease {
    fn release(self: Box<Self>) -> Result<(), StoreError> {
        let k = self.key;
        let err = db_err(&self.conn.location, "releasing the credential lock");
        self.conn.run(move |db| {
            db.execute("SELECT pg_advisory_unlock($1)", &[&k])
                .map(|_| ())
                .map_err(err)
        })
    }
}
