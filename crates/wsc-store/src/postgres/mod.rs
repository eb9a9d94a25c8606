//! The PostgreSQL store: one database shared by many processes on many machines (a fleet of
//! `wsc worker`s). Same tables and same encryption as the SQLite store; the credential lease
//! is a session advisory lock, token versions come from a sequence.

mod conn;
mod data;
mod db;
mod jobs;
mod keys;
mod migrate;
mod tokens;

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::crypto::KeyInput;
use crate::error::StoreError;
use crate::hash::RecordHasher;
use crate::key::InstanceKey;
use crate::store::{CredentialLease, ExpectedVersion, Store, StoredToken, TokenVersion};
use conn::Conn;
use db::Db;

pub use jobs::{
    Change, ChangeKind, Claim, ClaimId, Completion, FailOutcome, JobInfo, JobState, NewJob,
    PartitionInfo, RecordBatches, RecordWriter, ShrinkCheck,
};
pub use migrate::SCHEMA_VERSION as PG_SCHEMA_VERSION;

/// Whether `state` (a `--state` value or `WSC_STATE`) names a PostgreSQL database.
pub fn is_postgres_url(state: &str) -> bool {
    state.starts_with("postgres://") || state.starts_with("postgresql://")
}

/// The URL of a connection config without its password, for messages.
fn location_of(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(h) => h.clone(),
            postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .collect::<Vec<_>>()
        .join(",");
    let port = config
        .get_ports()
        .first()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    format!(
        "postgres://{user}{host}{port}/{}",
        config.get_dbname().unwrap_or("")
    )
}

/// The PostgreSQL store. Holds one connection (on a thread of its own); each credential
/// lease opens another for the time it is held.
pub struct PgStore {
    db: Db,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.db.conn.location)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`, libpq
    /// keywords accepted) and migrates its schema. `passphrase` is the store key
    /// (`WSC_STATE_KEY` or the content of `WSC_STATE_KEY_FILE`), the same on every worker; a
    /// fleet has no key file beside a database, so it is required. As in
    /// [`crate::SqliteStore::open`]: a raw 32-byte key (64 hex digits, base64) is used as it
    /// is, a passphrase is stretched with Argon2id under the salt kept in the database. TLS is not supported: reach the server over a private
    /// network, a unix socket or a TLS tunnel.
    pub fn open(url: &str, passphrase: Option<&str>) -> Result<PgStore, StoreError> {
        let config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            StoreError::corrupt("(postgres URL)", "reading --state / WSC_STATE", e)
        })?;
        let location = location_of(&config);
        let input = KeyInput::classify(passphrase);
        if matches!(input, KeyInput::Beside) {
            return Err(StoreError::corrupt(
                &location,
                "opening the store",
                "a PostgreSQL store needs the key: set WSC_STATE_KEY (or WSC_STATE_KEY_FILE) to the same secret on every worker",
            ));
        }
        let conn = Conn::open(&config, &location)?;
        let loc = location.clone();
        conn.run(move |db| migrate::migrate(db, &loc))?;
        let keys = keys::open_keys(&conn, input)?;
        Ok(PgStore {
            db: Db {
                config,
                conn,
                cipher: keys.cipher,
                hasher: keys.hasher,
            },
        })
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let loc = self.db.conn.location.clone();
        self.db.conn.run(move |db| migrate::version(db, &loc))
    }
}

impl Store for PgStore {
    fn location(&self) -> &str {
        &self.db.conn.location
    }

    fn lock_credential(&self, key: &InstanceKey) -> Result<Box<dyn CredentialLease>, StoreError> {
        Ok(Box::new(tokens::AdvisoryLease::acquire(&self.db, key)?))
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
        data::load_state(&self.db, key)
    }

    fn save_state(&self, key: &InstanceKey, values: &Map<String, Value>) -> Result<(), StoreError> {
        data::save_state(&self.db, key, values)
    }

    fn load_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
    ) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        data::load_snapshot(&self.db, key, object_type)
    }

    fn has_snapshot(&self, key: &InstanceKey, object_type: &str) -> Result<bool, StoreError> {
        data::has_snapshot(&self.db, key, object_type)
    }

    fn replace_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
        entries: &[(String, Vec<u8>)],
        started_at_ms: u64,
    ) -> Result<(), StoreError> {
        data::replace_snapshot(&self.db, key, object_type, entries, started_at_ms)
    }

    fn record_run(
        &self,
        key: &InstanceKey,
        operation: &str,
        started_at_ms: u64,
        records: u64,
    ) -> Result<(), StoreError> {
        data::record_run(&self.db, key, operation, started_at_ms, records)
    }

    fn last_run(
        &self,
        key: &InstanceKey,
        operation: &str,
    ) -> Result<Option<(u64, u64, u64)>, StoreError> {
        data::last_run(&self.db, key, operation)
    }

    fn record_hasher(&self) -> RecordHasher {
        self.db.hasher.clone()
    }
}
