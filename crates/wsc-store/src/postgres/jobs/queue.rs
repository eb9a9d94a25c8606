//! Claiming partitions, renewing leases, giving partitions back and failing them.

use std::time::Duration;

use serde_json::Value;

use super::super::PgStore;
use super::super::conn::db_err;
use super::{Claim, ClaimId, JOB_COLUMNS, job_from_row, settings_aad};
use crate::crypto::decode_text;
use crate::error::StoreError;

/// What became of a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailOutcome {
    /// Queued again: attempts remain.
    Requeued,
    /// That was the last attempt: the partition and its run failed.
    RunFailed,
    /// The lease had already passed to another worker: nothing changed.
    NotHeld,
}

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

impl PgStore {
    /// Claims the next partition a worker may run: a queued one, or one whose worker's lease
    /// expired (taken over). Partitions of runs that are no longer running are skipped;
    /// expired partitions without attempts left fail their run first. `None` when there is
    /// nothing to do.
    pub fn claim_partition(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<Claim>, StoreError> {
        let loc = self.db.conn.location.clone();
        let err = db_err(&loc, "claiming a partition");
        let (owner_s, lease_ms) = (owner.to_string(), ms(lease));
        let claimed = self.db.conn.run(move |db| {
            let mut tx = db.transaction().map_err(&err)?;
            // Expired leases on the last attempt: the partition failed, and its run.
            let lost = tx
                .query(
                    "UPDATE wsc_partitions p SET state = 'failed', finished_at = wsc_now_ms(),
                       error = 'the worker ' || coalesce(p.lease_owner, '?')
                         || ' stopped renewing its lease (attempt ' || p.attempts || ' of '
                         || j.max_attempts || ')' || coalesce('; the attempt before failed: ' || p.error, ''),
                       lease_owner = NULL
                     FROM wsc_jobs j
                     WHERE j.id = p.job_id AND p.state = 'running' AND p.lease_until < wsc_now_ms()
                       AND p.attempts >= j.max_attempts
                     RETURNING p.job_id, p.name, p.error",
                    &[],
                )
                .map_err(&err)?;
            for r in &lost {
                let (job, name, error): (i64, String, String) = (r.get(0), r.get(1), r.get(2));
                fail_job(&mut tx, job, &partition_error(&name, &error)).map_err(&err)?;
            }
            let row = tx
                .query_opt(
                    "UPDATE wsc_partitions p SET state = 'running', attempts = p.attempts + 1,
                       lease_owner = $1, lease_until = wsc_now_ms() + $2,
                       renewed_at = wsc_now_ms(), started_at = wsc_now_ms()
                     FROM (SELECT q.id, q.state FROM wsc_partitions q
                           JOIN wsc_jobs j ON j.id = q.job_id AND j.state = 'running'
                           WHERE q.state = 'queued'
                              OR (q.state = 'running' AND q.lease_until < wsc_now_ms())
                           ORDER BY q.job_id, q.idx
                           LIMIT 1 FOR UPDATE OF q SKIP LOCKED) c
                     WHERE p.id = c.id
                     RETURNING p.id, p.job_id, p.attempts, p.name, p.value, c.state = 'running'",
                    &[&owner_s, &lease_ms],
                )
                .map_err(&err)?;
            let Some(row) = row else {
                tx.commit().map_err(&err)?;
                return Ok(None);
            };
            let job_id: i64 = row.get(1);
            let job = tx
                .query_one(
                    &format!("SELECT {JOB_COLUMNS}, settings FROM wsc_jobs WHERE id = $1"),
                    &[&job_id],
                )
                .map_err(&err)?;
            tx.commit().map_err(&err)?;
            let sealed: String = job.get(16);
            Ok(Some((
                ClaimId {
                    partition: row.get(0),
                    job: job_id,
                    owner: owner_s,
                    attempt: row.get(2),
                },
                job_from_row(&job),
                sealed,
                row.get::<_, String>(3),
                row.get::<_, String>(4),
                row.get::<_, bool>(5),
            )))
        })?;
        let Some((id, job, sealed, name, value, requeued)) = claimed else {
            return Ok(None);
        };
        let wrong_key = || StoreError::WrongKey {
            location: loc.clone(),
            what: "opening a run's settings",
            hint: "; every worker must use the same WSC_STATE_KEY as `wsc job submit`",
        };
        let (nonce, ct) = decode_text(&sealed).map_err(|_| wrong_key())?;
        let plain = self
            .db
            .cipher
            .open_sealed(&settings_aad(id.job), &nonce, &ct)
            .map_err(|_| wrong_key())?;
        let settings: Value = serde_json::from_slice(&plain)
            .map_err(|e| StoreError::corrupt(&loc, "decoding a run's settings", e))?;
        Ok(Some(Claim {
            id,
            job,
            settings,
            name,
            value: serde_json::from_str(&value).unwrap_or(Value::Null),
            requeued,
        }))
    }

    /// Renews the leases of the attempts a worker holds; returns those it still holds (a
    /// missing one was taken over after its lease expired, or its run ended).
    pub fn renew_leases(
        &self,
        held: &[ClaimId],
        lease: Duration,
    ) -> Result<Vec<ClaimId>, StoreError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let err = db_err(&self.db.conn.location, "renewing leases");
        let held = held.to_vec();
        let lease_ms = ms(lease);
        self.db.conn.run(move |db| {
            let mut kept = Vec::with_capacity(held.len());
            let stmt = db
                .prepare(
                    "UPDATE wsc_partitions SET lease_until = wsc_now_ms() + $4,
                       renewed_at = wsc_now_ms()
                     WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running'",
                )
                .map_err(&err)?;
            for c in held {
                let n = db
                    .execute(&stmt, &[&c.partition, &c.owner, &c.attempt, &lease_ms])
                    .map_err(&err)?;
                if n == 1 {
                    kept.push(c);
                }
            }
            Ok(kept)
        })
    }

    /// Gives a partition back without counting the attempt (a worker stopping on SIGTERM).
    pub fn release_partition(&self, claim: &ClaimId) -> Result<bool, StoreError> {
        let err = db_err(&self.db.conn.location, "releasing a partition");
        let c = claim.clone();
        self.db.conn.run(move |db| {
            db.execute(
                "UPDATE wsc_partitions SET state = 'queued', attempts = attempts - 1,
                   lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running'",
                &[&c.partition, &c.owner, &c.attempt],
            )
            .map(|n| n == 1)
            .map_err(err)
        })
    }

    /// Records a failed attempt: queued again while attempts remain, else the partition and
    /// its run fail with `error`.
    pub fn fail_partition(&self, claim: &ClaimId, error: &str) -> Result<FailOutcome, StoreError> {
        let err = db_err(&self.db.conn.location, "recording a failed partition");
        let (c, error) = (claim.clone(), error.to_string());
        self.db.conn.run(move |db| {
            let mut tx = db.transaction().map_err(&err)?;
            let row = tx
                .query_opt(
                    "UPDATE wsc_partitions p SET
                       state = CASE WHEN p.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END,
                       finished_at = CASE WHEN p.attempts >= j.max_attempts THEN wsc_now_ms() END,
                       lease_owner = NULL, lease_until = NULL, error = $4
                     FROM wsc_jobs j
                     WHERE j.id = p.job_id AND p.id = $1 AND p.lease_owner = $2
                       AND p.attempts = $3 AND p.state = 'running'
                     RETURNING p.state, p.name, p.attempts",
                    &[&c.partition, &c.owner, &c.attempt, &error],
                )
                .map_err(&err)?;
            let outcome = match row {
                None => FailOutcome::NotHeld,
                Some(r) if r.get::<_, String>(0) == "failed" => {
                    let name: String = r.get(1);
                    let attempts: i32 = r.get(2);
                    let msg = partition_error(
                        &name,
                        &format!("{error} (attempt {attempts}, the last)"),
                    );
                    fail_job(&mut tx, c.job, &msg).map_err(&err)?;
                    FailOutcome::RunFailed
                }
                Some(_) => FailOutcome::Requeued,
            };
            tx.commit().map_err(&err)?;
            Ok(outcome)
        })
    }
}

/// The run error a failed partition gives.
fn partition_error(name: &str, error: &str) -> String {
    if name.is_empty() {
        error.to_string()
    } else {
        format!("partition {name}: {error}")
    }
}

/// Marks a running run failed with `error` (the first failure wins).
pub(super) fn fail_job(
    tx: &mut postgres::Transaction<'_>,
    job: i64,
    error: &str,
) -> Result<(), postgres::Error> {
    tx.execute(
        "UPDATE wsc_jobs SET state = 'failed', error = $2, finished_at = wsc_now_ms()
         WHERE id = $1 AND state = 'running'",
        &[&job, &error],
    )
    .map(|_| ())
}
