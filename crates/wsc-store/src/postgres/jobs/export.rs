//! Reading a complete run's records back out, in identity order, in batches from a
//! server-side cursor (a run of millions of records is never held in memory): the records
//! themselves, or the changes since the previous complete run computed in SQL.

use std::sync::mpsc;

use postgres::NoTls;

use super::super::PgStore;
use super::super::conn::pg_error;
use super::{JobInfo, JobState};
use crate::error::StoreError;

/// Rows fetched per round trip.
const BATCH: i32 = 5_000;

/// What changed for one identity since the previous complete run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Not in the previous run.
    Created,
    /// In both, with another record.
    Updated,
    /// In the previous run only.
    Deleted,
}

/// One change of a delta export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changed.
    pub kind: ChangeKind,
    /// The identity.
    pub identity: String,
    /// The record (JSON text) of this run; `None` for a deletion.
    pub record: Option<String>,
}

/// Batches of a run's rows, read by a thread of their own; dropping it stops the reading.
pub struct RecordBatches<T> {
    rx: mpsc::Receiver<Result<Vec<T>, StoreError>>,
}

impl<T> Iterator for RecordBatches<T> {
    type Item = Result<Vec<T>, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.rx.recv().ok()
    }
}

impl<T> std::fmt::Debug for RecordBatches<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatches").finish_non_exhaustive()
    }
}

impl PgStore {
    fn require_complete(&self, job: &JobInfo) -> Result<(), StoreError> {
        match job.state {
            JobState::Complete => Ok(()),
            JobState::Failed => Err(StoreError::job(
                &self.db.conn.location,
                format!(
                    "run {} failed, so its records are incomplete and are not exported: {}",
                    job.id,
                    job.error.as_deref().unwrap_or("(no error recorded)")
                ),
            )),
            JobState::Running => Err(StoreError::job(
                &self.db.conn.location,
                format!(
                    "run {} is not complete yet: wait for it (`wsc job wait {}`) before exporting",
                    job.id, job.id
                ),
            )),
        }
    }

    /// Streams `sql` (with `$1` = run id, `$2` = baseline run id) through a cursor, mapping
    /// each row with `f`.
    fn stream<T: Send + 'static>(
        &self,
        sql: &'static str,
        job: i64,
        baseline: i64,
        f: fn(&postgres::Row) -> T,
    ) -> Result<RecordBatches<T>, StoreError> {
        let (tx, rx) = mpsc::sync_channel(2);
        let config = self.db.config.clone();
        let loc = self.db.conn.location.clone();
        std::thread::Builder::new()
            .name("wsc-export".into())
            .spawn(move || {
                let err = |e| pg_error(&loc, "reading records", e);
                let run = || -> Result<(), StoreError> {
                    let mut client = config.connect(NoTls).map_err(err)?;
                    let mut t = client.transaction().map_err(err)?;
                    let portal = t.bind(sql, &[&job, &baseline]).map_err(err)?;
                    loop {
                        let rows = t.query_portal(&portal, BATCH).map_err(err)?;
                        if rows.is_empty() {
                            return Ok(());
                        }
                        if tx.send(Ok(rows.iter().map(f).collect())).is_err() {
                            return Ok(());
                        }
                    }
                };
                if let Err(e) = run() {
                    let _ = tx.send(Err(e));
                }
            })
            .map_err(|e| StoreError::io(&self.db.conn.location, "starting the export", e))?;
        Ok(RecordBatches { rx })
    }

    /// The records of a complete run as JSON text, in (object type, identity) order.
    pub fn export_records(&self, job: &JobInfo) -> Result<RecordBatches<String>, StoreError> {
        self.require_complete(job)?;
        self.stream(
            "SELECT record FROM wsc_records WHERE job_id = $1 AND $2::BIGINT IS NOT NULL
             ORDER BY object_type, identity",
            job.id,
            0,
            |r| r.get(0),
        )
    }

    /// The changes of a complete run since the previous complete run of the same connector
    /// instance and object type (every record is `Created` when there is none), by identity.
    pub fn export_changes(&self, job: &JobInfo) -> Result<RecordBatches<Change>, StoreError> {
        self.require_complete(job)?;
        let baseline = self.previous_complete_job(job)?.unwrap_or(0);
        self.stream(
            "SELECT coalesce(c.identity, p.identity),
                    CASE WHEN p.identity IS NULL THEN 'created'
                         WHEN c.identity IS NULL THEN 'deleted' ELSE 'updated' END,
                    c.record
             FROM (SELECT identity, record FROM wsc_records WHERE job_id = $1) c
             FULL OUTER JOIN (SELECT identity, record FROM wsc_records WHERE job_id = $2) p
               ON c.identity = p.identity
             WHERE c.identity IS NULL OR p.identity IS NULL OR c.record <> p.record
             ORDER BY 1",
            job.id,
            baseline,
            |r| Change {
                identity: r.get(0),
                kind: match r.get::<_, &str>(1) {
                    "created" => ChangeKind::Created,
                    "deleted" => ChangeKind::Deleted,
                    _ => ChangeKind::Updated,
                },
                record: r.get(2),
            },
        )
    }
}
