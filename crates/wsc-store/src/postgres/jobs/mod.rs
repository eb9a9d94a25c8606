//! The job queue of a fleet: runs (`wsc job submit`), their partitions as queue rows that
//! workers claim with leases (`FOR UPDATE SKIP LOCKED`), and the records of finished
//! partitions, written in the same transaction that marks the partition done.
//!
//! Lifecycle of a partition: `queued` → (claimed: `running`, `attempts + 1`, a lease until
//! `lease_until`, renewed by heartbeats) → `done` (its records committed with it), or back to
//! `queued` after a failure or an expired lease while attempts remain, else `failed` (and the
//! run with it). A run is `complete` when every partition is `done`.
//!
//! All times are milliseconds of the database's clock (`wsc_now_ms()`): workers on machines
//! whose clocks disagree still agree on leases.

mod export;
mod queue;
mod writer;

use serde_json::Value;

use super::PgStore;
use super::conn::db_err;
use crate::error::StoreError;

pub use export::{Change, ChangeKind, RecordBatches};
pub use queue::FailOutcome;
pub use writer::{Completion, RecordWriter, ShrinkCheck};

/// A run to create.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Connector name.
    pub connector: String,
    /// Instance key (hash of the instance settings).
    pub instance: String,
    /// The connector file, as workers find it (an absolute path, the same on every worker).
    pub connector_path: String,
    /// Hex SHA-256 of the connector file at submission; a worker whose file differs refuses
    /// the partition.
    pub connector_hash: String,
    /// Object type aggregated (`account`, `group`, ...).
    pub object_type: String,
    /// Whether `wsc job export` writes the changes since the previous complete run.
    pub delta: bool,
    /// The settings given at submission (`--set`, `--settings`), sealed in the database.
    pub settings: Value,
    /// The aggregation's attribute names (CSV columns of the export).
    pub attributes: Vec<String>,
    /// Whether records have members (a CSV column).
    pub members: bool,
    /// Attempts per partition before the run fails.
    pub max_attempts: u32,
    /// The shrink guard of the whole run (percent, 100 = off).
    pub max_shrink: u8,
    /// Partitions: (name, value as `{{partition.*}}` sees it). One unnamed partition runs the
    /// whole aggregation.
    pub partitions: Vec<(String, Value)>,
}

/// State of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Partitions are queued or running.
    Running,
    /// Every partition is done: the records are complete.
    Complete,
    /// A partition failed its last attempt (or the shrink guard refused the run).
    Failed,
}

impl JobState {
    fn parse(s: &str) -> JobState {
        match s {
            "complete" => JobState::Complete,
            "failed" => JobState::Failed,
            _ => JobState::Running,
        }
    }

    /// The state as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Complete => "complete",
            JobState::Failed => "failed",
        }
    }
}

/// A run as stored.
#[derive(Debug, Clone)]
pub struct JobInfo {
    /// Run id.
    pub id: i64,
    /// Connector name.
    pub connector: String,
    /// Instance key.
    pub instance: String,
    /// Connector file.
    pub connector_path: String,
    /// Hex SHA-256 of the connector file at submission.
    pub connector_hash: String,
    /// Object type.
    pub object_type: String,
    /// Delta run.
    pub delta: bool,
    /// Attribute names.
    pub attributes: Vec<String>,
    /// Records have members.
    pub members: bool,
    /// Attempts per partition.
    pub max_attempts: i32,
    /// Shrink guard (percent).
    pub max_shrink: u8,
    /// State.
    pub state: JobState,
    /// Why the run failed.
    pub error: Option<String>,
    /// Records of a complete run.
    pub records: Option<i64>,
    /// Submitted (ms, database clock).
    pub submitted_at_ms: i64,
    /// Completed or failed (ms).
    pub finished_at_ms: Option<i64>,
}

/// A partition as stored.
#[derive(Debug, Clone)]
pub struct PartitionInfo {
    /// Partition row id.
    pub id: i64,
    /// Position in the run (0-based).
    pub idx: i32,
    /// Name (empty: the whole aggregation).
    pub name: String,
    /// The partition value (`{{partition.*}}`).
    pub value: Value,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// Attempts started.
    pub attempts: i32,
    /// Worker holding the lease (running), or that finished it (done).
    pub owner: Option<String>,
    /// Milliseconds until the lease expires (negative: expired), while running.
    pub lease_left_ms: Option<i64>,
    /// Milliseconds since the lease was last renewed, while running.
    pub lease_age_ms: Option<i64>,
    /// Records written (done).
    pub records: Option<i64>,
    /// The last attempt's error.
    pub error: Option<String>,
}

/// Which attempt of which partition a worker holds: every write checks it still does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimId {
    /// Partition row id.
    pub partition: i64,
    /// Run id.
    pub job: i64,
    /// The worker.
    pub owner: String,
    /// The attempt (fencing token: a worker whose lease was taken over holds an older one).
    pub attempt: i32,
}

/// A claimed partition.
#[derive(Debug, Clone)]
pub struct Claim {
    /// What is held.
    pub id: ClaimId,
    /// The run.
    pub job: JobInfo,
    /// The run's settings, opened.
    pub settings: Value,
    /// The partition name (empty: the whole aggregation).
    pub name: String,
    /// The partition value.
    pub value: Value,
    /// Taken over from a worker whose lease expired.
    pub requeued: bool,
}

/// Associated data of a run's sealed settings.
fn settings_aad(id: i64) -> Vec<u8> {
    format!("wsc-job-settings\0{id}").into_bytes()
}

const JOB_COLUMNS: &str = "id, connector, instance, connector_path, connector_hash, object_type, delta, \
     attributes, members, max_attempts, max_shrink, state, error, records, submitted_at, finished_at";

fn job_from_row(r: &postgres::Row) -> JobInfo {
    let attributes: String = r.get(7);
    JobInfo {
        id: r.get(0),
        connector: r.get(1),
        instance: r.get(2),
        connector_path: r.get(3),
        connector_hash: r.get(4),
        object_type: r.get(5),
        delta: r.get(6),
        attributes: serde_json::from_str(&attributes).unwrap_or_default(),
        members: r.get(8),
        max_attempts: r.get(9),
        max_shrink: r.get::<_, i32>(10).clamp(0, 100) as u8,
        state: JobState::parse(r.get(11)),
        error: r.get(12),
        records: r.get(13),
        submitted_at_ms: r.get(14),
        finished_at_ms: r.get(15),
    }
}

impl PgStore {
    /// Creates a run and queues its partitions, in one transaction; returns the run id.
    pub fn submit_job(&self, job: &NewJob) -> Result<i64, StoreError> {
        let loc = self.db.conn.location.clone();
        if job.partitions.is_empty() {
            return Err(StoreError::job(&loc, "a run needs at least one partition"));
        }
        let settings = serde_json::to_vec(&job.settings)
            .map_err(|e| StoreError::encoding(&loc, "encoding settings", e))?;
        let attributes = serde_json::to_string(&job.attributes)
            .map_err(|e| StoreError::encoding(&loc, "encoding attribute names", e))?;
        let parts: Vec<(String, String)> = job
            .partitions
            .iter()
            .map(|(n, v)| (n.clone(), v.to_string()))
            .collect();
        let job = job.clone();
        let cipher = self.db.cipher.clone();
        let err = db_err(&loc, "submitting a run");
        self.db.conn.run(move |db| {
            let mut tx = db.transaction().map_err(&err)?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO wsc_jobs (connector, instance, connector_path, connector_hash,
                       object_type, delta, settings, attributes, members, max_attempts,
                       max_shrink, state, submitted_at)
                     VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10, 'running', wsc_now_ms())
                     RETURNING id",
                    &[
                        &job.connector,
                        &job.instance,
                        &job.connector_path,
                        &job.connector_hash,
                        &job.object_type,
                        &job.delta,
                        &attributes,
                        &job.members,
                        &(job.max_attempts.clamp(1, 1000) as i32),
                        &i32::from(job.max_shrink.min(100)),
                    ],
                )
                .map_err(&err)?
                .get(0);
            // The settings are sealed under the run id, so a row copied to another run does
            // not open.
            let sealed = cipher
                .seal_text(&settings_aad(id), &settings)
                .map_err(|_| StoreError::encoding(&loc, "encrypting settings", "AEAD failure"))?;
            tx.execute(
                "UPDATE wsc_jobs SET settings = $2 WHERE id = $1",
                &[&id, &sealed],
            )
            .map_err(&err)?;
            let insert = tx
                .prepare(
                    "INSERT INTO wsc_partitions (job_id, idx, name, value, state)
                     VALUES ($1, $2, $3, $4, 'queued')",
                )
                .map_err(&err)?;
            for (i, (name, value)) in parts.iter().enumerate() {
                tx.execute(&insert, &[&id, &(i as i32), name, value])
                    .map_err(&err)?;
            }
            tx.commit().map_err(&err)?;
            Ok(id)
        })
    }

    /// A run by id.
    pub fn job(&self, id: i64) -> Result<Option<JobInfo>, StoreError> {
        let err = db_err(&self.db.conn.location, "reading a run");
        self.db.conn.run(move |db| {
            db.query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM wsc_jobs WHERE id = $1"),
                &[&id],
            )
            .map(|r| r.as_ref().map(job_from_row))
            .map_err(err)
        })
    }

    /// The partitions of a run, in order.
    pub fn job_partitions(&self, id: i64) -> Result<Vec<PartitionInfo>, StoreError> {
        let err = db_err(&self.db.conn.location, "reading partitions");
        self.db.conn.run(move |db| {
            let rows = db
                .query(
                    "SELECT id, idx, name, value, state, attempts, lease_owner,
                       CASE WHEN state = 'running' THEN lease_until - wsc_now_ms() END,
                       CASE WHEN state = 'running' THEN wsc_now_ms() - renewed_at END,
                       records, error
                     FROM wsc_partitions WHERE job_id = $1 ORDER BY idx",
                    &[&id],
                )
                .map_err(err)?;
            Ok(rows
                .iter()
                .map(|r| PartitionInfo {
                    id: r.get(0),
                    idx: r.get(1),
                    name: r.get(2),
                    value: serde_json::from_str(r.get(3)).unwrap_or(Value::Null),
                    state: r.get(4),
                    attempts: r.get(5),
                    owner: r.get(6),
                    lease_left_ms: r.get(7),
                    lease_age_ms: r.get(8),
                    records: r.get(9),
                    error: r.get(10),
                })
                .collect())
        })
    }

    /// The most recent complete run of the same connector instance and object type before
    /// `job` (the baseline of a delta run).
    pub fn previous_complete_job(&self, job: &JobInfo) -> Result<Option<i64>, StoreError> {
        let err = db_err(&self.db.conn.location, "finding the previous complete run");
        let (c, i, o, id) = (
            job.connector.clone(),
            job.instance.clone(),
            job.object_type.clone(),
            job.id,
        );
        self.db.conn.run(move |db| {
            db.query_opt(
                "SELECT id FROM wsc_jobs WHERE connector = $1 AND instance = $2
                   AND object_type = $3 AND state = 'complete' AND id < $4
                 ORDER BY id DESC LIMIT 1",
                &[&c, &i, &o, &id],
            )
            .map(|r| r.map(|r| r.get(0)))
            .map_err(err)
        })
    }

    /// Deletes runs (their partitions and records with them); returns how many went.
    pub fn delete_job(&self, id: i64) -> Result<u64, StoreError> {
        let err = db_err(&self.db.conn.location, "deleting a run");
        self.db.conn.run(move |db| {
            db.execute("DELETE FROM wsc_jobs WHERE id = $1", &[&id])
                .map_err(err)
        })
    }
}
