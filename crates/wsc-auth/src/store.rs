//! The state store: an SQLite database holding tokens per connector instance, encrypted at
//! rest, plus tables for connector state, delta snapshots and run history.
//!
//! - Path: `--state`, else `WSC_STATE`, else `$XDG_DATA_HOME/wsc/state.db`, else
//!   `~/.local/share/wsc/state.db` ([`default_path`]).
//! - The database file (and its directory, when wsc creates it) is mode 0600 (0700); SQLite
//!   creates its `-wal` and `-shm` files with the database's mode. WAL journal, 5 s busy timeout.
//! - Token rows are sealed with ChaCha20-Poly1305; the associated data is the connector and
//!   instance, so a row cannot be moved to another instance. The key is the SHA-256 of
//!   `WSC_STATE_KEY` when that is set, else 32 random bytes in `state.key` beside the
//!   database (created 0600 on first use).
//! - Processes sharing a store serialise token refreshes with an exclusive lock on
//!   `state.db.lock` ([`StateStore::lock`]).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::token::{TokenSet, now_ms};
use crate::{AuthError, Secret};

/// Fills `buf` with random bytes from the operating system.
pub(crate) fn random_bytes(buf: &mut [u8]) {
    use chacha20poly1305::aead::OsRng;
    use chacha20poly1305::aead::rand_core::RngCore;
    OsRng.fill_bytes(buf);
}

/// The default database path: `$XDG_DATA_HOME/wsc/state.db`, else
/// `$HOME/.local/share/wsc/state.db`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        })?;
    Some(base.join("wsc").join("state.db"))
}

/// Identifies one connector instance: the connector name and a hash of the values of its
/// instance settings (never the values themselves).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceKey {
    /// Connector name.
    pub connector: String,
    /// Hex SHA-256 of the instance settings' names and values.
    pub instance: String,
}

impl InstanceKey {
    /// The key of `connector` with these (name, value) instance settings.
    pub fn new<'a>(
        connector: &str,
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut pairs: Vec<(&str, &str)> = settings.into_iter().collect();
        pairs.sort();
        let mut h = Sha256::new();
        for (k, v) in pairs {
            h.update((k.len() as u64).to_le_bytes());
            h.update(k.as_bytes());
            h.update((v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
        let digest = h.finalize();
        InstanceKey {
            connector: connector.to_string(),
            instance: digest.iter().take(16).map(|b| format!("{b:02x}")).collect(),
        }
    }

    fn aad(&self) -> Vec<u8> {
        format!("wsc-token\0{}\0{}", self.connector, self.instance).into_bytes()
    }
}

/// A token as stored, with the grant that obtained it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// Grant (or `custom`) that obtained it.
    pub grant: String,
    /// The tokens.
    pub token: TokenSet,
    /// When the row was written (ms since the epoch).
    pub updated_at_ms: u64,
}

/// The SQLite state store.
pub struct StateStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn store_err(path: &Path, what: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Store(format!("state store {}: {what}: {e}", path.display()))
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

#[cfg(unix)]
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    connector   TEXT NOT NULL,
    instance    TEXT NOT NULL,
    grant_type  TEXT NOT NULL,
    nonce       BLOB NOT NULL,
    sealed      BLOB NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (connector, instance)
);
CREATE TABLE IF NOT EXISTS connector_state (
    connector   TEXT NOT NULL,
    instance    TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (connector, instance, key)
);
CREATE TABLE IF NOT EXISTS delta_snapshots (
    connector   TEXT NOT NULL,
    instance    TEXT NOT NULL,
    object_type TEXT NOT NULL,
    identity    TEXT NOT NULL,
    hash        BLOB NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (connector, instance, object_type, identity)
);
CREATE TABLE IF NOT EXISTS run_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    connector   TEXT NOT NULL,
    instance    TEXT NOT NULL,
    operation   TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    records     INTEGER,
    status      TEXT
);
";

impl StateStore {
    /// Opens (creating if needed) the store at `path`. `key` is `WSC_STATE_KEY` if set; else
    /// the key file beside the database is read or created.
    pub fn open(path: &Path, key: Option<&Secret>) -> Result<StateStore, AuthError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| store_err(path, "creating its directory", e))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
        }
        create_private(path).map_err(|e| store_err(path, "creating the file", e))?;
        restrict(path).map_err(|e| store_err(path, "setting mode 0600", e))?;
        let key_bytes: [u8; 32] = match key {
            Some(k) if !k.is_empty() => Sha256::digest(k.expose().as_bytes()).into(),
            _ => Self::key_file(path)?,
        };
        let conn = Connection::open(path).map_err(|e| store_err(path, "opening", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| store_err(path, "busy timeout", e))?;
        conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
            .map_err(|e| store_err(path, "enabling WAL", e))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| store_err(path, "synchronous", e))?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| store_err(path, "creating tables", e))?;
        Ok(StateStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key_bytes)),
        })
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn key_file(db: &Path) -> Result<[u8; 32], AuthError> {
        let kp = db.with_file_name(format!(
            "{}.key",
            db.file_stem().and_then(|s| s.to_str()).unwrap_or("state")
        ));
        let decode = |text: &str| -> Option<[u8; 32]> {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .ok()?
                .try_into()
                .ok()
        };
        if let Ok(text) = std::fs::read_to_string(&kp) {
            return decode(&text).ok_or_else(|| {
                store_err(&kp, "key file", "not 32 base64-encoded bytes (delete it and the database to start over, or set WSC_STATE_KEY)")
            });
        }
        let mut k = [0u8; 32];
        random_bytes(&mut k);
        #[cfg(unix)]
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&kp)
        };
        #[cfg(not(unix))]
        let file = OpenOptions::new().write(true).create_new(true).open(&kp);
        match file {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(
                    base64::engine::general_purpose::STANDARD
                        .encode(k)
                        .as_bytes(),
                )
                .and_then(|()| f.sync_all())
                .map_err(|e| store_err(&kp, "writing the key file", e))?;
                Ok(k)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(&kp)
                    .map_err(|e| store_err(&kp, "reading the key file", e))?;
                decode(&text)
                    .ok_or_else(|| store_err(&kp, "key file", "not 32 base64-encoded bytes"))
            }
            Err(e) => Err(store_err(&kp, "creating the key file", e)),
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stored token of an instance, if any.
    pub fn load_token(&self, key: &InstanceKey) -> Result<Option<StoredToken>, AuthError> {
        let row: Option<(String, Vec<u8>, Vec<u8>, i64)> = self
            .conn()
            .query_row(
                "SELECT grant_type, nonce, sealed, updated_at FROM tokens WHERE connector = ?1 AND instance = ?2",
                params![key.connector, key.instance],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(|e| store_err(&self.path, "reading a token", e))?;
        let Some((grant, nonce, sealed, updated)) = row else {
            return Ok(None);
        };
        if nonce.len() != 12 {
            return Err(store_err(&self.path, "reading a token", "corrupt nonce"));
        }
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: &sealed, aad: &key.aad() })
            .map_err(|_| {
                store_err(
                    &self.path,
                    "decrypting a token",
                    "wrong key (WSC_STATE_KEY or the key file changed?); run `wsc auth logout` to drop it",
                )
            })?;
        let v: serde_json::Value = serde_json::from_slice(&plain)
            .map_err(|e| store_err(&self.path, "decoding a token", e))?;
        let token = TokenSet::from_stored_json(&v)
            .ok_or_else(|| store_err(&self.path, "decoding a token", "missing fields"))?;
        Ok(Some(StoredToken {
            grant,
            token,
            updated_at_ms: updated.max(0) as u64,
        }))
    }

    /// Writes (replaces) the token of an instance, durably, before returning.
    pub fn save_token(
        &self,
        key: &InstanceKey,
        grant: &str,
        token: &TokenSet,
    ) -> Result<(), AuthError> {
        let mut nonce = [0u8; 12];
        random_bytes(&mut nonce);
        let plain = serde_json::to_vec(&token.to_stored_json())
            .map_err(|e| store_err(&self.path, "encoding a token", e))?;
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: &key.aad(),
                },
            )
            .map_err(|_| store_err(&self.path, "encrypting a token", "AEAD failure"))?;
        self.conn()
            .execute(
                "INSERT INTO tokens (connector, instance, grant_type, nonce, sealed, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (connector, instance) DO UPDATE SET
                   grant_type = excluded.grant_type, nonce = excluded.nonce,
                   sealed = excluded.sealed, updated_at = excluded.updated_at",
                params![
                    key.connector,
                    key.instance,
                    grant,
                    &nonce[..],
                    sealed,
                    now_ms() as i64
                ],
            )
            .map_err(|e| store_err(&self.path, "writing a token", e))?;
        Ok(())
    }

    /// Deletes the tokens of an instance (`None`: of every instance of the connector).
    /// Returns how many rows went.
    pub fn delete_tokens(
        &self,
        connector: &str,
        instance: Option<&str>,
    ) -> Result<usize, AuthError> {
        let c = self.conn();
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
        .map_err(|e| store_err(&self.path, "deleting tokens", e))
    }

    /// Takes the exclusive cross-process lock (blocking until it is free). Held while a
    /// token is re-read, refreshed and written; released when the guard drops.
    pub fn lock(&self) -> Result<StoreLock, AuthError> {
        let lp = self.path.with_file_name(format!(
            "{}.lock",
            self.path
                .file_name()
                .and_then(|s| s.to_str())
                .unwrap_or("state.db")
        ));
        let f = create_private(&lp).map_err(|e| store_err(&lp, "opening the lock file", e))?;
        f.lock().map_err(|e| store_err(&lp, "locking", e))?;
        Ok(StoreLock { _file: f })
    }

    fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<String, AuthError> {
        let mut nonce = [0u8; 12];
        random_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| store_err(&self.path, "encrypting state", "AEAD failure"))?;
        let mut all = nonce.to_vec();
        all.extend(sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(all))
    }

    fn open_sealed(&self, aad: &[u8], text: &str) -> Result<Vec<u8>, AuthError> {
        let all = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| store_err(&self.path, "reading state", e))?;
        if all.len() < 12 {
            return Err(store_err(&self.path, "reading state", "corrupt value"));
        }
        self.cipher
            .decrypt(
                Nonce::from_slice(&all[..12]),
                Payload {
                    msg: &all[12..],
                    aad,
                },
            )
            .map_err(|_| {
                store_err(
                    &self.path,
                    "decrypting state",
                    "wrong key (WSC_STATE_KEY or the key file changed?)",
                )
            })
    }

    /// The connector state of an instance (`state.*` in templates), decrypted.
    pub fn load_state(
        &self,
        key: &InstanceKey,
    ) -> Result<serde_json::Map<String, serde_json::Value>, AuthError> {
        let rows: Vec<(String, String)> = {
            let c = self.conn();
            let mut st = c
                .prepare("SELECT key, value FROM connector_state WHERE connector = ?1 AND instance = ?2 ORDER BY key")
                .map_err(|e| store_err(&self.path, "reading state", e))?;
            st.query_map(params![key.connector, key.instance], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| store_err(&self.path, "reading state", e))?
        };
        let mut out = serde_json::Map::new();
        for (k, v) in rows {
            let aad = [key.aad(), b"|state|".to_vec(), k.as_bytes().to_vec()].concat();
            let plain = self.open_sealed(&aad, &v)?;
            let value = serde_json::from_slice(&plain)
                .map_err(|e| store_err(&self.path, "decoding state", e))?;
            out.insert(k, value);
        }
        Ok(out)
    }

    /// Writes state values of an instance in one transaction (a `null` value deletes the key).
    pub fn save_state(
        &self,
        key: &InstanceKey,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), AuthError> {
        let mut c = self.conn();
        let tx = c
            .transaction()
            .map_err(|e| store_err(&self.path, "writing state", e))?;
        for (k, v) in values {
            if v.is_null() {
                tx.execute(
                    "DELETE FROM connector_state WHERE connector = ?1 AND instance = ?2 AND key = ?3",
                    params![key.connector, key.instance, k],
                )
                .map_err(|e| store_err(&self.path, "writing state", e))?;
                continue;
            }
            let aad = [key.aad(), b"|state|".to_vec(), k.as_bytes().to_vec()].concat();
            let plain =
                serde_json::to_vec(v).map_err(|e| store_err(&self.path, "encoding state", e))?;
            let sealed = self.seal(&aad, &plain)?;
            tx.execute(
                "INSERT INTO connector_state (connector, instance, key, value, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (connector, instance, key) DO UPDATE SET
                   value = excluded.value, updated_at = excluded.updated_at",
                params![key.connector, key.instance, k, sealed, now_ms() as i64],
            )
            .map_err(|e| store_err(&self.path, "writing state", e))?;
        }
        tx.commit()
            .map_err(|e| store_err(&self.path, "writing state", e))
    }

    /// The delta snapshot of an object type: identity → content hash.
    pub fn load_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
    ) -> Result<std::collections::HashMap<String, Vec<u8>>, AuthError> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT identity, hash FROM delta_snapshots WHERE connector = ?1 AND instance = ?2 AND object_type = ?3")
            .map_err(|e| store_err(&self.path, "reading the delta snapshot", e))?;
        st.query_map(params![key.connector, key.instance, object_type], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .and_then(|rows| rows.collect::<Result<_, _>>())
        .map_err(|e| store_err(&self.path, "reading the delta snapshot", e))
    }

    /// Whether a delta snapshot of an object type exists.
    pub fn has_snapshot(&self, key: &InstanceKey, object_type: &str) -> Result<bool, AuthError> {
        self.last_run(key, &format!("snapshot:{object_type}"))
            .map(|r| r.is_some())
    }

    /// Replaces the delta snapshot of an object type in one transaction (called only when an
    /// aggregation completed), and records the run.
    pub fn replace_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
        entries: &[(String, Vec<u8>)],
        started_at_ms: u64,
    ) -> Result<(), AuthError> {
        let mut c = self.conn();
        let tx = c
            .transaction()
            .map_err(|e| store_err(&self.path, "writing the delta snapshot", e))?;
        let err = |e: rusqlite::Error| store_err(&self.path, "writing the delta snapshot", e);
        tx.execute(
            "DELETE FROM delta_snapshots WHERE connector = ?1 AND instance = ?2 AND object_type = ?3",
            params![key.connector, key.instance, object_type],
        )
        .map_err(err)?;
        {
            let mut ins = tx
                .prepare("INSERT INTO delta_snapshots (connector, instance, object_type, identity, hash, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(err)?;
            let now = now_ms() as i64;
            for (id, hash) in entries {
                ins.execute(params![
                    key.connector,
                    key.instance,
                    object_type,
                    id,
                    hash,
                    now
                ])
                .map_err(err)?;
            }
        }
        tx.execute(
            "INSERT INTO run_history (connector, instance, operation, started_at, finished_at, records, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'ok')",
            params![
                key.connector,
                key.instance,
                format!("snapshot:{object_type}"),
                started_at_ms as i64,
                now_ms() as i64,
                entries.len() as i64
            ],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Records a completed run of an operation (its start time becomes `last_run.started_at`
    /// of the next run).
    pub fn record_run(
        &self,
        key: &InstanceKey,
        operation: &str,
        started_at_ms: u64,
        records: u64,
    ) -> Result<(), AuthError> {
        self.conn()
            .execute(
                "INSERT INTO run_history (connector, instance, operation, started_at, finished_at, records, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'ok')",
                params![
                    key.connector,
                    key.instance,
                    operation,
                    started_at_ms as i64,
                    now_ms() as i64,
                    records as i64
                ],
            )
            .map(|_| ())
            .map_err(|e| store_err(&self.path, "recording the run", e))
    }

    /// The last completed run of an operation: (started_at ms, finished_at ms, records).
    pub fn last_run(
        &self,
        key: &InstanceKey,
        operation: &str,
    ) -> Result<Option<(u64, u64, u64)>, AuthError> {
        self.conn()
            .query_row(
                "SELECT started_at, finished_at, records FROM run_history
                 WHERE connector = ?1 AND instance = ?2 AND operation = ?3 AND status = 'ok'
                 ORDER BY id DESC LIMIT 1",
                params![key.connector, key.instance, operation],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?.max(0) as u64,
                        r.get::<_, Option<i64>>(1)?.unwrap_or(0).max(0) as u64,
                        r.get::<_, Option<i64>>(2)?.unwrap_or(0).max(0) as u64,
                    ))
                },
            )
            .optional()
            .map_err(|e| store_err(&self.path, "reading the run history", e))
    }
}

/// An exclusive lock on the store; dropping it unlocks.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(a: &str, r: Option<&str>) -> TokenSet {
        TokenSet {
            access_token: Secret::new(a),
            token_type: Some("Bearer".into()),
            expires_at_ms: 5_000,
            expiry_source: "expires_in",
            refresh_token: r.map(Secret::new),
            refresh_expires_at_ms: None,
            scope: None,
            obtained_at_ms: 1_000,
        }
    }

    #[test]
    fn round_trip_encrypted_and_private() {
        let dir =
            std::env::temp_dir().join(format!("wsc-store-{}-{}", std::process::id(), now_ms()));
        let db = dir.join("state.db");
        let s = StateStore::open(&db, None).unwrap();
        let k = InstanceKey::new("acme", [("tenant", "t1")]);
        assert_eq!(s.load_token(&k).unwrap(), None);
        s.save_token(
            &k,
            "refresh_token",
            &token("access-xyz", Some("refresh-abc")),
        )
        .unwrap();
        let got = s.load_token(&k).unwrap().unwrap();
        assert_eq!(got.grant, "refresh_token");
        assert_eq!(got.token, token("access-xyz", Some("refresh-abc")));
        // Nothing readable at rest.
        drop(s);
        for f in std::fs::read_dir(&dir).unwrap() {
            let bytes = std::fs::read(f.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("access-xyz") && !text.contains("refresh-abc"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&db), 0o600);
            assert_eq!(mode(&dir.join("state.key")), 0o600);
        }
        // Another instance's row cannot be read with this key's AAD; a wrong key fails clearly.
        let s = StateStore::open(&db, None).unwrap();
        let other = InstanceKey::new("acme", [("tenant", "t2")]);
        assert_eq!(s.load_token(&other).unwrap(), None);
        let wrong = StateStore::open(&db, Some(&Secret::new("other key"))).unwrap();
        assert!(
            wrong
                .load_token(&k)
                .unwrap_err()
                .to_string()
                .contains("wrong key")
        );
        let _l = s.lock().unwrap();
        assert_eq!(s.delete_tokens("acme", None).unwrap(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn instance_keys_hash_values() {
        let a = InstanceKey::new("c", [("tenant", "a"), ("region", "eu")]);
        let b = InstanceKey::new("c", [("region", "eu"), ("tenant", "a")]);
        let c = InstanceKey::new("c", [("tenant", "b"), ("region", "eu")]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(!a.instance.contains("eu"));
    }
}
