//! Schema migrations of the SQLite store, numbered by `PRAGMA user_version`.
//!
//! Migration `n` (1-based) takes a database from version `n - 1` to `n`. They run in one
//! `BEGIN IMMEDIATE` transaction, so two processes opening a new database at once do not both
//! migrate it: the second waits (busy timeout) and then finds the current version. Databases
//! written before versioning have version 0 and the tables of migration 1 already; its
//! `IF NOT EXISTS` makes it a no-op for them.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::StoreError;

/// The migrations, oldest first. Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: the tables.
    "
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
",
    // 2: the version of a token row, for compare-and-swap writes.
    "ALTER TABLE tokens ADD COLUMN version INTEGER NOT NULL DEFAULT 0;",
    // 3: facts about the store itself: the key derivation parameters (`kdf`), and a mark that
    // sealed values may be under the SHA-256 of the key text, as wsc sealed them before
    // (`legacy_sha256`: they are re-sealed the next time the store opens with a key text).
    "
CREATE TABLE IF NOT EXISTS store_meta (
    name        TEXT PRIMARY KEY,
    value       BLOB NOT NULL
);
INSERT OR IGNORE INTO store_meta (name, value)
    SELECT 'legacy_sha256', X'31'
    WHERE EXISTS (SELECT 1 FROM tokens) OR EXISTS (SELECT 1 FROM connector_state);
",
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`]. Fails with [`StoreError::NewerSchema`] when it
/// is already newer.
pub(crate) fn migrate(conn: &mut Connection, location: &str) -> Result<(), StoreError> {
    let err = |e| StoreError::db(location, "migrating the schema", e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            location: location.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    for m in &MIGRATIONS[found.max(0) as usize..] {
        tx.execute_batch(m).map_err(err)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(err)?;
    tx.commit().map_err(err)
}

/// The schema version of a database.
pub(crate) fn version(conn: &Connection, location: &str) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| StoreError::db(location, "reading the schema version", e))
}
