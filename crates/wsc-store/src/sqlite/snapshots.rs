//! Delta snapshots in SQLite: identity → content hash per object type, replaced whole.

use std::collections::HashMap;

use rusqlite::params;

use super::db::{Db, now_ms};
use super::runs;
use crate::error::StoreError;
use crate::key::InstanceKey;

/// The run-history operation that marks a snapshot of `object_type` as written.
fn run_name(object_type: &str) -> String {
    format!("snapshot:{object_type}")
}

/// The delta snapshot of an object type.
pub(super) fn load(
    db: &Db,
    key: &InstanceKey,
    object_type: &str,
) -> Result<HashMap<String, Vec<u8>>, StoreError> {
    let err = db.err("reading the delta snapshot");
    let c = db.conn();
    let mut st = c
        .prepare("SELECT identity, hash FROM delta_snapshots WHERE connector = ?1 AND instance = ?2 AND object_type = ?3")
        .map_err(&err)?;
    st.query_map(params![key.connector, key.instance, object_type], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })
    .and_then(|rows| rows.collect::<Result<_, _>>())
    .map_err(&err)
}

/// Whether a delta snapshot of an object type was written.
pub(super) fn exists(db: &Db, key: &InstanceKey, object_type: &str) -> Result<bool, StoreError> {
    runs::last(db, key, &run_name(object_type)).map(|r| r.is_some())
}

/// Replaces the delta snapshot of an object type and records the run, in one transaction.
pub(super) fn replace(
    db: &Db,
    key: &InstanceKey,
    object_type: &str,
    entries: &[(String, Vec<u8>)],
    started_at_ms: u64,
) -> Result<(), StoreError> {
    let err = db.err("writing the delta snapshot");
    let mut c = db.conn();
    let tx = c.transaction().map_err(&err)?;
    tx.execute(
        "DELETE FROM delta_snapshots WHERE connector = ?1 AND instance = ?2 AND object_type = ?3",
        params![key.connector, key.instance, object_type],
    )
    .map_err(&err)?;
    {
        let mut ins = tx
            .prepare("INSERT INTO delta_snapshots (connector, instance, object_type, identity, hash, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .map_err(&err)?;
        let now = now_ms();
        for (id, hash) in entries {
            ins.execute(params![
                key.connector,
                key.instance,
                object_type,
                id,
                hash,
                now
            ])
            .map_err(&err)?;
        }
    }
    runs::insert(
        &tx,
        key,
        &run_name(object_type),
        started_at_ms,
        entries.len() as u64,
    )
    .map_err(&err)?;
    tx.commit().map_err(&err)
}
