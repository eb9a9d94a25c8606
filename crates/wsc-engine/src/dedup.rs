//! Duplicate identities within one aggregation run: offset paging over a list that changes
//! while it is read repeats some records (and skips others), and partitions may overlap. A
//! complete aggregation has each identity once.
//!
//! Identities are remembered as 64-bit hashes in a compact set (6 bytes per record, not the
//! identity text; see `idset.rs`): two different identities share a hash with odds of about
//! n² / 2⁶⁵, one in 37 million for a run of a million records. Such a false alarm stops a run;
//! it never hides a record.
//!
//! With `on_duplicate: error` (the default) memory stays flat in the number of records: past
//! [`SPILL_AT`] hashes the set is written out as a sorted run to a temporary file and
//! emptied, and the runs are merged when they pile up and at the end of the run, which fails
//! there if an identity came twice (see `idspill.rs`). With `warn` a repeat must be dropped
//! when it arrives, so every hash stays in memory.

use std::hash::BuildHasher;

use wsc_spec::model::OnDuplicate;

use crate::engine::Stats;
use crate::error::EngineError;
use crate::http::Origin;
use crate::idset::HashSet64;
use crate::idspill::{Merged, SPILL_AT, SpilledIds};
use crate::lines::{IdHasher, Lines, identity_text};
use crate::mapping::Record;

/// Individual duplicates named in warnings; later ones are only counted.
const NAMED: u64 = 10;

/// Checks the records of one run for repeated identities.
pub(crate) struct Dedup {
    seen: HashSet64,
    /// The hashes written out (`on_duplicate: error` past [`SPILL_AT`] records).
    spilled: Option<SpilledIds>,
    /// The temporary file could not be created: the hashes stay in memory from then on.
    spill_failed: bool,
    hasher: foldhash::quality::RandomState,
    policy: OnDuplicate,
    origin: Origin,
    dropped: u64,
}

impl Dedup {
    /// A checker for the run of the operation at `origin`; `hasher` is the engine's (the
    /// page tasks hash the identities of the lines they write with it).
    pub(crate) fn new(policy: OnDuplicate, origin: Origin, hasher: IdHasher) -> Dedup {
        Dedup {
            // `error` writes the set out every `SPILL_AT` hashes; `warn` keeps every hash.
            seen: match policy {
                OnDuplicate::Error => HashSet64::small(),
                OnDuplicate::Warn => HashSet64::default(),
            },
            spilled: None,
            spill_failed: false,
            hasher,
            policy,
            origin,
            dropped: 0,
        }
    }

    /// Checks a batch: a repeated identity is an error (`on_duplicate: error`), or is dropped
    /// from the batch, counted and warned about (`warn`: the first copy is kept). Records
    /// marked deleted are not counted.
    pub(crate) fn check(
        &mut self,
        batch: &mut Vec<Record>,
        stats: &Stats,
    ) -> Result<(), EngineError> {
        self.check_records(batch, stats)?;
        self.maybe_spill(stats)
    }

    fn check_records(&mut self, batch: &mut Vec<Record>, stats: &Stats) -> Result<(), EngineError> {
        let mut repeated = Vec::new();
        for (i, r) in batch.iter().enumerate() {
            if r.deleted {
                continue;
            }
            if !self.seen.insert(self.hasher.hash_one(r.identity.as_str())) {
                repeated.push(i);
            }
        }
        if repeated.is_empty() {
            return Ok(());
        }
        let repeats: Vec<(String, String)> = repeated
            .iter()
            .map(|&i| (batch[i].object_type.to_string(), batch[i].identity.clone()))
            .collect();
        self.report(&repeats, stats)?;
        let mut i = 0;
        batch.retain(|_| {
            i += 1;
            !repeated.contains(&(i - 1))
        });
        Ok(())
    }

    /// [`Dedup::check`] for records written as JSON Lines (none of them marked deleted: those
    /// stay records). Identities hash as the records' would, so a run may mix both.
    pub(crate) fn check_lines(
        &mut self,
        lines: &mut Lines,
        stats: &Stats,
    ) -> Result<(), EngineError> {
        self.check_line_batch(lines, stats)?;
        self.maybe_spill(stats)
    }

    fn check_line_batch(&mut self, lines: &mut Lines, stats: &Stats) -> Result<(), EngineError> {
        let mut repeated = Vec::new();
        if let Some(hashes) = lines.hashes() {
            // Hashed by the page task that wrote the lines, with the same hasher.
            for (i, &h) in hashes.iter().enumerate() {
                if !self.seen.insert(h) {
                    repeated.push(i);
                }
            }
        }
        if lines.hashes().is_none() {
            for (i, line) in lines.iter().enumerate() {
                let text = identity_text(line).ok_or_else(|| {
                    EngineError::Internal("a JSON Lines record without its identity".into())
                })?;
                let content = &text[1..text.len() - 1];
                let hash = if content.contains(&b'\\') {
                    self.hasher.hash_one(decode(text).as_str())
                } else {
                    let id = std::str::from_utf8(content).map_err(|e| {
                        EngineError::Internal(format!("a JSON Lines identity: {e}"))
                    })?;
                    self.hasher.hash_one(id)
                };
                if !self.seen.insert(hash) {
                    repeated.push(i);
                }
            }
        }
        if repeated.is_empty() {
            return Ok(());
        }
        // Rare: the repeated lines are read back for the messages.
        let repeats: Vec<(String, String)> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| repeated.contains(i))
            .map(|(_, line)| type_and_identity(line))
            .collect();
        self.report(&repeats, stats)?;
        lines.retain(|i, _| !repeated.contains(&i));
        Ok(())
    }

    /// Writes the set out when it is full (`on_duplicate: error` only); a repeat found by
    /// merging the runs written out is the run's error.
    fn maybe_spill(&mut self, stats: &Stats) -> Result<(), EngineError> {
        if self.policy != OnDuplicate::Error || self.spill_failed || self.seen.len() < SPILL_AT {
            return Ok(());
        }
        if self.spilled.is_none() {
            match SpilledIds::create() {
                Ok(s) => self.spilled = Some(s),
                Err(e) => return self.keep_in_memory(stats, &e),
            }
        }
        let spilled = self.spilled.as_mut().expect("created above");
        // Once hashes are on disk, a failed write or merge may have lost some of them (the
        // set was drained into the file): the check can no longer be shown exact.
        match spilled.spill(&mut self.seen) {
            Ok(Merged::Distinct) => Ok(()),
            Ok(Merged::Repeated) => Err(self.repeated_on_disk()),
            Err(e) => Err(self.disk_failed(&e)),
        }
    }

    /// The temporary folder cannot be written: the check goes on in memory (exact, growing).
    fn keep_in_memory(&mut self, stats: &Stats, e: &std::io::Error) -> Result<(), EngineError> {
        self.spill_failed = true;
        stats.warn(
            &self.origin,
            &format!(
                "the duplicate-identity check could not write to the temporary folder ({e}); it keeps every identity in memory instead (7 bytes per record)"
            ),
        );
        Ok(())
    }

    /// The end of a run that reached its end: the identities written out are checked
    /// against each other and against those still in memory.
    pub(crate) fn finish(&mut self) -> Result<(), EngineError> {
        let Some(spilled) = self.spilled.as_mut() else {
            return Ok(());
        };
        let merged = spilled
            .spill(&mut self.seen)
            .and_then(|m| match m {
                Merged::Repeated => Ok(Merged::Repeated),
                Merged::Distinct => spilled.check(),
            })
            .map_err(|e| self.disk_failed(&e))?;
        match merged {
            Merged::Distinct => Ok(()),
            Merged::Repeated => Err(self.repeated_on_disk()),
        }
    }

    /// Writing or reading back the identities on disk failed: the run cannot be shown
    /// complete.
    fn disk_failed(&self, e: &std::io::Error) -> EngineError {
        let file = self
            .spilled
            .as_ref()
            .map_or_else(String::new, |s| s.path().display().to_string());
        EngineError::Paging {
            origin: self.origin.clone(),
            message: format!(
                "the duplicate-identity check could not write or read back the identities it keeps in a temporary file ({file}, unlinked when created): {e}; so this run cannot be shown complete"
            ),
        }
    }

    /// A repeat found among the identities written out: only its hash is known there.
    fn repeated_on_disk(&self) -> EngineError {
        EngineError::Paging {
            origin: self.origin.clone(),
            message: format!(
                "an identity was delivered twice in this run (found when the run's identities were checked against each other at the end; which one is not known there, only its hash, since a run of more than {SPILL_AT} records keeps them on disk): offset paging over a list that changes while it is read repeats records (and skips others), or partitions overlap, so this run cannot be shown complete; `on_duplicate: warn` on the operation keeps the first copy, names each repeat in a warning and finishes"
            ),
        }
    }

    /// Reports repeated records (object type, identity): the error of `on_duplicate: error`,
    /// or warnings and the count of `warn` (after which the caller drops them).
    fn report(&mut self, repeats: &[(String, String)], stats: &Stats) -> Result<(), EngineError> {
        match self.policy {
            OnDuplicate::Error => {
                let (ty, id) = &repeats[0];
                Err(EngineError::Paging {
                    origin: self.origin.clone(),
                    message: format!(
                        "{ty} `{id}` was delivered twice in one run: offset paging over a list that changes while it is read repeats records (and skips others), or partitions overlap, so this run cannot be shown complete; set `on_duplicate: warn` on the operation to keep the first copy and finish with a warning"
                    ),
                })
            }
            OnDuplicate::Warn => {
                for (ty, id) in repeats {
                    self.dropped += 1;
                    if self.dropped <= NAMED {
                        stats.warn(
                            &self.origin,
                            &format!(
                                "{ty} `{id}` was delivered twice; the first copy is kept (on_duplicate: warn){}",
                                if self.dropped == NAMED {
                                    "; further duplicates are counted in the summary only"
                                } else {
                                    ""
                                }
                            ),
                        );
                    }
                }
                stats
                    .duplicates
                    .fetch_add(repeats.len() as u64, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
        }
    }
}

/// A JSON string's text decoded (the writers' own output: always valid).
fn decode(text: &[u8]) -> String {
    serde_json::from_slice(text).unwrap_or_default()
}

/// The type and identity of a JSON Lines record, for messages.
fn type_and_identity(line: &[u8]) -> (String, String) {
    let v: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
    let text = |k: &str| {
        v.get(k)
            .and_then(|t| t.as_str())
            .unwrap_or_default()
            .to_string()
    };
    (text("type"), text("identity"))
}

impl std::fmt::Debug for Dedup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dedup")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
