//! Connector state (sealed values), delta snapshots and run history in PostgreSQL.

use std::collections::HashMap;

use postgres::GenericClient;
use serde_json::{Map, Value};

use super::conn::db_err;
use super::db::{Db, now_ms};
use crate::crypto::decode_text;
use crate::error::StoreError;
use crate::key::InstanceKey;

/// The connector state of an instance, decrypted.
pub(super) fn load_state(s: &Db, key: &InstanceKey) -> Result<Map<String, Value>, StoreError> {
    let (c, i) = (key.connector.clone(), key.instance.clone());
    let err = db_err(&s.conn.location, "reading state");
    let rows: Vec<(String, String)> = s.conn.run(move |db| {
        db.query(
            "SELECT key, value FROM wsc_connector_state WHERE connector = $1 AND instance = $2 ORDER BY key",
            &[&c, &i],
        )
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        .map_err(err)
    })?;
    let loc = &s.conn.location;
    let mut out = Map::new();
    for (k, v) in rows {
        let (nonce, sealed) =
            decode_text(&v).map_err(|e| StoreError::corrupt(loc, "reading state", e))?;
        let plain = s
            .cipher
            .open_sealed(&key.state_aad(&k), &nonce, &sealed)
            .map_err(|_| StoreError::WrongKey {
                location: loc.clone(),
                what: "decrypting state",
                hint: "",
            })?;
        let value = serde_json::from_slice(&plain)
            .map_err(|e| StoreError::corrupt(loc, "decoding state", e))?;
        out.insert(k, value);
    }
    Ok(out)
}

/// Writes state values of an instance in one transaction (a `null` value deletes the key).
pub(super) fn save_state(
    s: &Db,
    key: &InstanceKey,
    values: &Map<String, Value>,
) -> Result<(), StoreError> {
    let loc = &s.conn.location;
    // Seal first (on this thread), then write all or none.
    let mut writes: Vec<(String, Option<String>)> = Vec::new();
    for (k, v) in values {
        if v.is_null() {
            writes.push((k.clone(), None));
            continue;
        }
        let plain =
            serde_json::to_vec(v).map_err(|e| StoreError::encoding(loc, "encoding state", e))?;
        let sealed = s
            .cipher
            .seal_text(&key.state_aad(k), &plain)
            .map_err(|_| StoreError::encoding(loc, "encrypting state", "AEAD failure"))?;
        writes.push((k.clone(), Some(sealed)));
    }
    let (c, i, now) = (key.connector.clone(), key.instance.clone(), now_ms());
    let err = db_err(loc, "writing state");
    s.conn.run(move |db| {
        let mut tx = db.transaction().map_err(&err)?;
        for (k, v) in &writes {
            match v {
                None => tx.execute(
                    "DELETE FROM wsc_connector_state WHERE connector = $1 AND instance = $2 AND key = $3",
                    &[&c, &i, k],
                ),
                Some(v) => tx.execute(
                    "INSERT INTO wsc_connector_state (connector, instance, key, value, updated_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (connector, instance, key) DO UPDATE SET
                       value = excluded.value, updated_at = excluded.updated_at",
                    &[&c, &i, k, v, &now],
                ),
            }
            .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    })
}

/// The run-history operation that marks a snapshot of `object_type` as written.
fn snapshot_run(object_type: &str) -> String {
    format!("snapshot:{object_type}")
}

/// The delta snapshot of an object type.
pub(super) fn load_snapshot(
    s: &Db,
    key: &InstanceKey,
    object_type: &str,
) -> Result<HashMap<String, Vec<u8>>, StoreError> {
    let (c, i, o) = (
        key.connector.clone(),
        key.instance.clone(),
        object_type.to_string(),
    );
    let err = db_err(&s.conn.location, "reading the delta snapshot");
    s.conn.run(move |db| {
        db.query(
            "SELECT identity, hash FROM wsc_delta_snapshots
             WHERE connector = $1 AND instance = $2 AND object_type = $3",
            &[&c, &i, &o],
        )
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        .map_err(err)
    })
}

/// Replaces the delta snapshot of an object type and records the run, in one transaction.
pub(super) fn replace_snapshot(
    s: &Db,
    key: &InstanceKey,
    object_type: &str,
    entries: &[(String, Vec<u8>)],
    started_at_ms: u64,
) -> Result<(), StoreError> {
    let (c, i, o) = (
        key.connector.clone(),
        key.instance.clone(),
        object_type.to_string(),
    );
    let entries = entries.to_vec();
    let err = db_err(&s.conn.location, "writing the delta snapshot");
    s.conn.run(move |db| {
        let mut tx = db.transaction().map_err(&err)?;
        tx.execute(
            "DELETE FROM wsc_delta_snapshots WHERE connector = $1 AND instance = $2 AND object_type = $3",
            &[&c, &i, &o],
        )
        .map_err(&err)?;
        let now = now_ms();
        // One statement per chunk of rows: unnest over arrays, not a round trip per row.
        for chunk in entries.chunks(5_000) {
            let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
            let hashes: Vec<&[u8]> = chunk.iter().map(|(_, h)| h.as_slice()).collect();
            tx.execute(
                "INSERT INTO wsc_delta_snapshots (connector, instance, object_type, identity, hash, updated_at)
                 SELECT $1, $2, $3, id, h, $6 FROM unnest($4::text[], $5::bytea[]) AS t(id, h)",
                &[&c, &i, &o, &ids, &hashes, &now],
            )
            .map_err(&err)?;
        }
        insert_run(
            &mut tx,
            &c,
            &i,
            &snapshot_run(&o),
            started_at_ms,
            entries.len() as u64,
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)
    })
}

/// Inserts a completed run, finishing now.
fn insert_run(
    db: &mut impl GenericClient,
    connector: &str,
    instance: &str,
    operation: &str,
    started_at_ms: u64,
    records: u64,
) -> Result<(), postgres::Error> {
    db.execute(
        "INSERT INTO wsc_run_history (connector, instance, operation, started_at, finished_at, records, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'ok')",
        &[
            &connector,
            &instance,
            &operation,
            &(started_at_ms as i64),
            &now_ms(),
            &(records as i64),
        ],
    )
    .map(|_| ())
}

/// Records a completed run of an operation.
pub(super) fn record_run(
    s: &Db,
    key: &InstanceKey,
    operation: &str,
    started_at_ms: u64,
    records: u64,
) -> Result<(), StoreError> {
    let (c, i, o) = (
        key.connector.clone(),
        key.instance.clone(),
        operation.to_string(),
    );
    let err = db_err(&s.conn.location, "recording the run");
    s.conn
        .run(move |db| insert_run(db, &c, &i, &o, started_at_ms, records).map_err(err))
}

/// The last completed run of an operation: (started_at ms, finished_at ms, records).
pub(super) fn last_run(
    s: &Db,
    key: &InstanceKey,
    operation: &str,
) -> Result<Option<(u64, u64, u64)>, StoreError> {
    let (c, i, o) = (
        key.connector.clone(),
        key.instance.clone(),
        operation.to_string(),
    );
    let err = db_err(&s.conn.location, "reading the run history");
    s.conn.run(move |db| {
        db.query_opt(
            "SELECT started_at, finished_at, records FROM wsc_run_history
             WHERE connector = $1 AND instance = $2 AND operation = $3 AND status = 'ok'
             ORDER BY id DESC LIMIT 1",
            &[&c, &i, &o],
        )
        .map(|r| {
            r.map(|r| {
                (
                    r.get::<_, i64>(0).max(0) as u64,
                    r.get::<_, Option<i64>>(1).unwrap_or(0).max(0) as u64,
                    r.get::<_, Option<i64>>(2).unwrap_or(0).max(0) as u64,
                )
            })
        })
        .map_err(err)
    })
}

/// Whether a delta snapshot of an object type was written.
pub(super) fn has_snapshot(
    s: &Db,
    key: &InstanceKey,
    object_type: &str,
) -> Result<bool, StoreError> {
    last_run(s, key, &snapshot_run(object_type)).map(|r| r.is_some())
}
