//! Run history in SQLite: one row per completed run.

use rusqlite::{Connection, OptionalExtension, params};

use super::db::{Db, now_ms};
use crate::error::StoreError;
use crate::key::InstanceKey;

/// Inserts a completed run, finishing now, on `conn` (a connection or a transaction).
pub(super) fn insert(
    conn: &Connection,
    key: &InstanceKey,
    operation: &str,
    started_at_ms: u64,
    records: u64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO run_history (connector, instance, operation, started_at, finished_at, records, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'ok')",
        params![
            key.connector,
            key.instance,
            operation,
            started_at_ms as i64,
            now_ms(),
            records as i64
        ],
    )
    .map(|_| ())
}

/// Records a completed run of an operation.
pub(super) fn record(
    db: &Db,
    key: &InstanceKey,
    operation: &str,
    started_at_ms: u64,
    records: u64,
) -> Result<(), StoreError> {
    insert(&db.conn(), key, operation, started_at_ms, records).map_err(db.err("recording the run"))
}

/// The last completed run of an operation: (started_at ms, finished_at ms, records).
pub(super) fn last(
    db: &Db,
    key: &InstanceKey,
    operation: &str,
) -> Result<Option<(u64, u64, u64)>, StoreError> {
    db.conn()
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
        .map_err(db.err("reading the run history"))
}
