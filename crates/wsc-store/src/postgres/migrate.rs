//! Schema migrations of the PostgreSQL store, numbered in the table `wsc_schema`.
//!
//! Migration `n` (1-based) takes the schema from version `n - 1` to `n`. They run in one
//! transaction under a transaction-scoped advisory lock, so workers starting together do not
//! migrate twice: the others wait, then find the current version. PostgreSQL's DDL is
//! transactional, so a failed migration leaves nothing half done.

use postgres::Client;

use super::conn::db_err;
use crate::error::StoreError;

/// The advisory lock key that serialises migrations (`wsc` + `schema` in ASCII).
const MIGRATION_LOCK: i64 = 0x7773_6373_6368_656d;

/// The migrations, oldest first. Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: tokens, connector state, delta snapshots, run history (as in SQLite).
    "
CREATE SEQUENCE wsc_token_version;
CREATE TABLE wsc_tokens (
    connector   TEXT NOT NULL,
    instance    TEXT NOT NULL,
    grant_type  TEXT NOT NULL,
    nonce       BYTEA NOT NULL,
    sealed      BYTEA NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (connector, instance)
);
CREATE TABLE wsc_connector_state (
    connector   TEXT NOT NULL,
    instance    TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (connector, instance, key)
);
CREATE TABLE wsc_delta_snapshots (
    connector   TEXT NOT NULL,
    instance    TEXT NOT NULL,
    object_type TEXT NOT NULL,
    identity    TEXT NOT NULL,
    hash        BYTEA NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (connector, instance, object_type, identity)
);
CREATE TABLE wsc_run_history (
    id          BIGSERIAL PRIMARY KEY,
    connector   TEXT NOT NULL,
    instance    TEXT NOT NULL,
    operation   TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    records     BIGINT,
    status      TEXT
);
CREATE INDEX wsc_run_history_by_operation ON wsc_run_history (connector, instance, operation, id);
",
    // 2: facts about the store itself: the key derivation parameters (`kdf`), and a mark that
    // sealed values may be under the SHA-256 of the key text, as wsc sealed them before
    // (`legacy_sha256`: re-sealed by the next worker that opens the store).
    "
CREATE TABLE wsc_store_meta (
    name        TEXT PRIMARY KEY,
    value       BYTEA NOT NULL
);
INSERT INTO wsc_store_meta (name, value)
    SELECT 'legacy_sha256', '\\x31'::bytea
    WHERE EXISTS (SELECT 1 FROM wsc_tokens) OR EXISTS (SELECT 1 FROM wsc_connector_state)
    ON CONFLICT (name) DO NOTHING;
",
    // 3: the job queue: runs, their partitions (claimed with leases), and the records of
    // finished partitions. Times are milliseconds of the database's clock (`wsc_now_ms()`),
    // so workers on machines with skewed clocks agree on leases.
    "
CREATE FUNCTION wsc_now_ms() RETURNS BIGINT LANGUAGE SQL VOLATILE AS
    $$ SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT $$;
CREATE TABLE wsc_jobs (
    id              BIGSERIAL PRIMARY KEY,
    connector       TEXT NOT NULL,
    instance        TEXT NOT NULL,
    connector_path  TEXT NOT NULL,
    connector_hash  TEXT NOT NULL,
    object_type     TEXT NOT NULL,
    delta           BOOLEAN NOT NULL,
    settings        TEXT NOT NULL,
    attributes      TEXT NOT NULL,
    members         BOOLEAN NOT NULL,
    max_attempts    INTEGER NOT NULL,
    max_shrink      INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
    error           TEXT,
    records         BIGINT,
    submitted_at    BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX wsc_jobs_by_instance ON wsc_jobs (connector, instance, object_type, id);
CREATE TABLE wsc_partitions (
    id           BIGSERIAL PRIMARY KEY,
    job_id       BIGINT NOT NULL REFERENCES wsc_jobs (id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    value        TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  BIGINT,
    renewed_at   BIGINT,
    started_at   BIGINT,
    finished_at  BIGINT,
    records      BIGINT,
    error        TEXT,
    UNIQUE (job_id, idx)
);
CREATE INDEX wsc_partitions_open ON wsc_partitions (id) WHERE state IN ('queued', 'running');
CREATE TABLE wsc_records (
    job_id        BIGINT NOT NULL REFERENCES wsc_jobs (id) ON DELETE CASCADE,
    object_type   TEXT NOT NULL,
    identity      TEXT NOT NULL,
    partition_id  BIGINT NOT NULL,
    record        TEXT NOT NULL,
    PRIMARY KEY (job_id, object_type, identity)
);
CREATE INDEX wsc_records_by_partition ON wsc_records (partition_id);
",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`]. Fails with [`StoreError::NewerSchema`] when it
/// is already newer.
pub(super) fn migrate(client: &mut Client, location: &str) -> Result<(), StoreError> {
    let err = db_err(location, "migrating the schema");
    let mut tx = client.transaction().map_err(&err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(&err)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS wsc_schema (version BIGINT NOT NULL)")
        .map_err(&err)?;
    let found: i64 = tx
        .query_opt("SELECT version FROM wsc_schema", &[])
        .map_err(&err)?
        .map(|r| r.get(0))
        .unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            location: location.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return tx.commit().map_err(&err);
    }
    for m in &MIGRATIONS[found.max(0) as usize..] {
        tx.batch_execute(m).map_err(&err)?;
    }
    tx.execute("DELETE FROM wsc_schema", &[]).map_err(&err)?;
    tx.execute(
        "INSERT INTO wsc_schema (version) VALUES ($1)",
        &[&SCHEMA_VERSION],
    )
    .map_err(&err)?;
    tx.commit().map_err(&err)
}

/// The schema version of the database.
pub(super) fn version(client: &mut Client, location: &str) -> Result<i64, StoreError> {
    client
        .query_one("SELECT version FROM wsc_schema", &[])
        .map(|r| r.get(0))
        .map_err(db_err(location, "reading the schema version"))
}
