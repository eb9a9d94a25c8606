//! The records of one partition attempt: streamed with `COPY` into `wsc_records` inside one
//! transaction, on a connection and thread of their own, and committed together with the
//! partition's `done` — after checking that this attempt still holds the lease. A worker
//! that dies, loses its lease or fails leaves nothing behind (the transaction rolls back), so
//! a partition run again replaces its records instead of duplicating them.

use std::io::Write;

use postgres::error::SqlState;
use postgres::{Client, NoTls};
use tokio::sync::{mpsc, oneshot};

use super::super::PgStore;
use super::super::conn::pg_error;
use super::ClaimId;
use super::queue::fail_job;
use crate::error::StoreError;

/// The shrink guard of a run, checked when its last partition completes: `(records now,
/// records of the previous complete run)` → the refusal message.
pub type ShrinkCheck = Box<dyn FnOnce(u64, u64) -> Result<(), String> + Send>;

/// What completing a partition did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// The partition is done; others remain.
    PartitionDone,
    /// It was the last one: the run is complete with this many records.
    RunComplete {
        /// Records of the whole run.
        records: u64,
    },
    /// It was the last one, and the shrink guard refused the run (now failed).
    RunRefused {
        /// Why.
        error: String,
    },
}

enum Msg {
    Rows(Vec<(String, String)>),
    Finish(u64, ShrinkCheck),
}

/// Writes one partition attempt's records; see the module documentation.
pub struct RecordWriter {
    tx: Option<mpsc::Sender<Msg>>,
    done: Option<oneshot::Receiver<Result<Completion, StoreError>>>,
    location: String,
}

impl std::fmt::Debug for RecordWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordWriter")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Starts writing the records of the attempt `claim` holds, for `object_type`.
    pub fn record_writer(
        &self,
        claim: &ClaimId,
        object_type: &str,
    ) -> Result<RecordWriter, StoreError> {
        let (tx, rx) = mpsc::channel::<Msg>(4);
        let (done_tx, done_rx) = oneshot::channel();
        let config = self.db.config.clone();
        let loc = self.db.conn.location.clone();
        let (claim, object) = (claim.clone(), object_type.to_string());
        let l = loc.clone();
        std::thread::Builder::new()
            .name("wsc-records".into())
            .spawn(move || {
                let r = config
                    .connect(NoTls)
                    .map_err(|e| pg_error(&l, "connecting", e))
                    .and_then(|mut c| write_attempt(&mut c, &l, &claim, &object, rx));
                let _ = done_tx.send(r);
            })
            .map_err(|e| StoreError::io(&loc, "starting the record writer", e))?;
        Ok(RecordWriter {
            tx: Some(tx),
            done: Some(done_rx),
            location: loc,
        })
    }
}

impl RecordWriter {
    /// Sends records, each `(identity, record as JSON text)`.
    pub async fn write(&mut self, rows: Vec<(String, String)>) -> Result<(), StoreError> {
        let sent = match &self.tx {
            Some(tx) => tx.send(Msg::Rows(rows)).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The writer stopped: its error says why.
        Err(self
            .outcome()
            .await
            .err()
            .unwrap_or_else(|| StoreError::job(&self.location, "the record writer stopped early")))
    }

    /// Commits the records with the partition's completion; `records` is how many were sent
    /// (checked against what was copied).
    pub async fn finish(
        mut self,
        records: u64,
        shrink: ShrinkCheck,
    ) -> Result<Completion, StoreError> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Finish(records, shrink)).await;
        }
        self.outcome().await
    }

    async fn outcome(&mut self) -> Result<Completion, StoreError> {
        self.tx = None;
        match self.done.take() {
            Some(rx) => rx.await.unwrap_or_else(|_| {
                Err(StoreError::job(&self.location, "the record writer stopped"))
            }),
            None => Err(StoreError::job(&self.location, "the record writer stopped")),
        }
    }
}

/// Appends `text` as one field of COPY's text format.
fn push_field(buf: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

/// The thread's work: one transaction for the whole attempt.
fn write_attempt(
    client: &mut Client,
    loc: &str,
    claim: &ClaimId,
    object: &str,
    mut rx: mpsc::Receiver<Msg>,
) -> Result<Completion, StoreError> {
    let db = |what: &'static str| move |e: postgres::Error| pg_error(loc, what, e);
    let mut tx = client.transaction().map_err(db("writing records"))?;
    tx.execute(
        "DELETE FROM wsc_records WHERE partition_id = $1",
        &[&claim.partition],
    )
    .map_err(db("writing records"))?;
    let mut copy = tx
        .copy_in(
            "COPY wsc_records (job_id, object_type, identity, partition_id, record) FROM STDIN",
        )
        .map_err(db("writing records"))?;
    let prefix = {
        let mut p = Vec::new();
        p.extend_from_slice(claim.job.to_string().as_bytes());
        p.push(b'\t');
        push_field(&mut p, object);
        p.push(b'\t');
        p
    };
    let suffix = format!("\t{}\t", claim.partition);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let overlap = |e: postgres::Error| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            let detail = e
                .as_db_error()
                .and_then(|d| d.detail())
                .unwrap_or("")
                .to_string();
            StoreError::job(
                loc,
                format!(
                    "run {}: a record of this partition has an identity that another partition already returned ({detail}); partitions must not overlap",
                    claim.job
                ),
            )
        } else {
            pg_error(loc, "writing records", e)
        }
    };
    let (records, shrink) = loop {
        match rx.blocking_recv() {
            Some(Msg::Rows(rows)) => {
                for (identity, record) in rows {
                    buf.extend_from_slice(&prefix);
                    push_field(&mut buf, &identity);
                    buf.extend_from_slice(suffix.as_bytes());
                    push_field(&mut buf, &record);
                    buf.push(b'\n');
                }
                copy.write_all(&buf)
                    .map_err(|e| StoreError::io(loc, "writing records", e))?;
                buf.clear();
            }
            Some(Msg::Finish(n, shrink)) => break (n, shrink),
            // The attempt was abandoned: dropping the copy and the transaction rolls back.
            None => return Err(StoreError::job(loc, "the partition was abandoned")),
        }
    };
    let copied = copy.finish().map_err(overlap)?;
    if copied != records {
        return Err(StoreError::job(
            loc,
            format!("{records} records were sent but {copied} were written"),
        ));
    }
    let fail = db("completing a partition");
    // Completions of one run take turns on its row, so exactly one sees the last partition
    // done. NO KEY UPDATE: the records' foreign-key checks hold KEY SHARE locks on the same
    // row, which a plain FOR UPDATE would wait for (two completions would deadlock).
    tx.query_one(
        "SELECT state FROM wsc_jobs WHERE id = $1 FOR NO KEY UPDATE",
        &[&claim.job],
    )
    .map_err(&fail)?;
    let held = tx
        .execute(
            "UPDATE wsc_partitions SET state = 'done', records = $4, finished_at = wsc_now_ms(),
               lease_until = NULL, error = NULL
             WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running'",
            &[
                &claim.partition,
                &claim.owner,
                &claim.attempt,
                &(copied as i64),
            ],
        )
        .map_err(&fail)?;
    if held != 1 {
        return Err(StoreError::job(
            loc,
            format!(
                "this worker's lease on the partition expired and another worker took it over (attempt {}); its records were discarded",
                claim.attempt
            ),
        ));
    }
    let row = tx
        .query_one(
            "SELECT count(*) FILTER (WHERE state <> 'done'), coalesce(sum(records), 0)::BIGINT,
               (SELECT state FROM wsc_jobs WHERE id = $1)
             FROM wsc_partitions WHERE job_id = $1",
            &[&claim.job],
        )
        .map_err(&fail)?;
    let (open, total, state): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
    let completion = if open > 0 || state != "running" {
        Completion::PartitionDone
    } else {
        let previous: i64 = tx
            .query_opt(
                "SELECT p.records FROM wsc_jobs p, wsc_jobs j
                 WHERE j.id = $1 AND p.connector = j.connector AND p.instance = j.instance
                   AND p.object_type = j.object_type AND p.state = 'complete' AND p.id < j.id
                 ORDER BY p.id DESC LIMIT 1",
                &[&claim.job],
            )
            .map_err(&fail)?
            .and_then(|r| r.get::<_, Option<i64>>(0))
            .unwrap_or(0);
        match shrink(total as u64, previous as u64) {
            Ok(()) => {
                tx.execute(
                    "UPDATE wsc_jobs SET state = 'complete', records = $2, finished_at = wsc_now_ms()
                     WHERE id = $1",
                    &[&claim.job, &total],
                )
                .map_err(&fail)?;
                Completion::RunComplete {
                    records: total as u64,
                }
            }
            Err(error) => {
                fail_job(&mut tx, claim.job, &error).map_err(&fail)?;
                Completion::RunRefused { error }
            }
        }
    };
    tx.commit().map_err(&fail)?;
    Ok(completion)
}
