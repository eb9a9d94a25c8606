//! The SQLite store: one database file shared by the processes of one machine.

mod db;
mod keys;
mod lock;
mod runs;
mod snapshots;
mod state;
mod tokens;

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::hash::RecordHasher;
use crate::key::InstanceKey;
use crate::store::{CredentialLease, ExpectedVersion, Store, StoredToken, TokenVersion};
use db::Db;
use lock::FileLease;

/// The SQLite store (see the [crate] documentation for the files, modes and key).
pub struct SqliteStore {
    db: Db,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.db.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and migrates its schema. `key` is the
    /// store key from outside the state directory (`WSC_STATE_KEY`, or the content of the file
    /// `WSC_STATE_KEY_FILE` names) when set and not empty: 32 bytes as 64 hex digits or base64
    /// are used as they are, any other text is a passphrase stretched with Argon2id under a
    /// salt kept in the store. Without it, the key file beside the database is read or created.
    /// Values written under the unsalted SHA-256 of the key text (wsc before schema 3) are
    /// re-encrypted under the new key.
    pub fn open(path: &Path, key: Option<&str>) -> Result<SqliteStore, StoreError> {
        Ok(SqliteStore {
            db: Db::open(path, key)?,
        })
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// The schema version of the database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        crate::migrate::version(&self.db.conn(), &self.db.location)
    }
}

impl Store for SqliteStore {
    fn location(&self) -> &str {
        &self.db.location
    }

    fn lock_credential(&self, _key: &InstanceKey) -> Result<Box<dyn CredentialLease>, StoreError> {
        Ok(Box::new(FileLease::acquire(&self.db.path)?))
    }

    fn ready_token_write(&self) {
        self.db.ready_wal();
    }

    fn load_token(&self, key: &InstanceKey) -> Result<Option<StoredToken>, StoreError> {
        tokens::load(&self.db, key)
    }

    fn save_token(
        &self,
        key: &InstanceKey,
        grant: &str,
        payload: &Value,
        expected: ExpectedVersion,
    ) -> Result<TokenVersion, StoreError> {
        tokens::save(&self.db, key, grant, payload, expected)
    }

    fn delete_tokens(&self, connector: &str, instance: Option<&str>) -> Result<usize, StoreError> {
        tokens::delete(&self.db, connector, instance)
    }

    fn load_state(&self, key: &InstanceKey) -> Result<Map<String, Value>, StoreError> {
        state::load(&self.db, key)
    }

    fn save_state(&self, key: &InstanceKey, values: &Map<String, Value>) -> Result<(), StoreError> {
        state::save(&self.db, key, values)
    }

    fn load_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
    ) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        snapshots::load(&self.db, key, object_type)
    }

    fn has_snapshot(&self, key: &InstanceKey, object_type: &str) -> Result<bool, StoreError> {
        snapshots::exists(&self.db, key, object_type)
    }

    fn replace_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
        entries: &[(String, Vec<u8>)],
        started_at_ms: u64,
    ) -> Result<(), StoreError> {
        snapshots::replace(&self.db, key, object_type, entries, started_at_ms)
    }

    fn record_run(
        &self,
        key: &InstanceKey,
        operation: &str,
        started_at_ms: u64,
        records: u64,
    ) -> Result<(), StoreError> {
        runs::record(&self.db, key, operation, started_at_ms, records)
    }

    fn last_run(
        &self,
        key: &InstanceKey,
        operation: &str,
    ) -> Result<Option<(u64, u64, u64)>, StoreError> {
        runs::last(&self.db, key, operation)
    }

    fn record_hasher(&self) -> RecordHasher {
        self.db.hasher.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(a: &str, r: &str) -> Value {
        serde_json::json!({"access_token": a, "refresh_token": r, "expires_at_ms": 5_000})
    }

    #[test]
    fn round_trip_encrypted_and_private() {
        let dir = std::env::temp_dir().join(format!(
            "wsc-store-unit-{}-{}",
            std::process::id(),
            db::now_ms()
        ));
        let db = dir.join("state.db");
        let s = SqliteStore::open(&db, None).unwrap();
        let k = InstanceKey::new("acme", [("tenant", "t1")]);
        assert_eq!(s.load_token(&k).unwrap(), None);
        s.save_token(
            &k,
            "refresh_token",
            &token("access-xyz", "refresh-abc"),
            ExpectedVersion::Any,
        )
        .unwrap();
        let got = s.load_token(&k).unwrap().unwrap();
        assert_eq!(got.grant, "refresh_token");
        assert_eq!(got.payload, token("access-xyz", "refresh-abc"));
        assert!(!format!("{got:?}").contains("access-xyz"));
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
        let s = SqliteStore::open(&db, None).unwrap();
        let other = InstanceKey::new("acme", [("tenant", "t2")]);
        assert_eq!(s.load_token(&other).unwrap(), None);
        let wrong = SqliteStore::open(&db, Some("other key")).unwrap();
        let e = wrong.load_token(&k).unwrap_err();
        assert!(matches!(e, StoreError::WrongKey { .. }), "{e:?}");
        assert!(e.to_string().contains("wrong key"), "{e}");
        let _l = s.lock_credential(&k).unwrap();
        s.ready_token_write();
        // The write-ahead log holds a frame: the token committed next appends to it rather
        // than creating it (and syncing its header and the directory before writing).
        let wal = crate::fs::sibling(&db, "-wal");
        assert!(
            std::fs::metadata(&wal).unwrap().len() > 32,
            "{}",
            wal.display()
        );
        assert_eq!(s.delete_tokens("acme", None).unwrap(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
