//! Duplicate identities within one aggregation run: offset paging over a list that changes
//! while it is read repeats some records (and skips others), and partitions may overlap. A
//! complete aggregation has each identity once.
//!
//! Identities are remembered as 64-bit hashes (8 bytes per record, not the identity text): two
//! different identities share a hash with odds of about n² / 2⁶⁵, one in 37 million for a run
//! of a million records. Such a false alarm stops a run; it never hides a record.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use wsc_spec::model::OnDuplicate;

use crate::engine::Stats;
use crate::error::EngineError;
use crate::http::Origin;
use crate::mapping::Record;

/// Individual duplicates named in warnings; later ones are only counted.
const NAMED: u64 = 10;

/// Checks the records of one run for repeated identities.
pub(crate) struct Dedup {
    seen: HashSet<u64, BuildHasherDefault<Prehashed>>,
    hasher: foldhash::quality::RandomState,
    policy: OnDuplicate,
    origin: Origin,
    dropped: u64,
}

impl Dedup {
    /// A checker for the run of the operation at `origin`.
    pub(crate) fn new(policy: OnDuplicate, origin: Origin) -> Dedup {
        Dedup {
            seen: HashSet::default(),
            hasher: foldhash::quality::RandomState::default(),
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
        match self.policy {
            OnDuplicate::Error => {
                let id = &batch[repeated[0]].identity;
                Err(EngineError::Paging {
                    origin: self.origin.clone(),
                    message: format!(
                        "{} `{id}` was delivered twice in one run: offset paging over a list that changes while it is read repeats records (and skips others), or partitions overlap, so this run cannot be shown complete; set `on_duplicate: warn` on the operation to keep the first copy and finish with a warning",
                        batch[repeated[0]].object_type
                    ),
                })
            }
            OnDuplicate::Warn => {
                for &i in repeated.iter() {
                    self.dropped += 1;
                    if self.dropped <= NAMED {
                        let r = &batch[i];
                        stats.warn(
                            &self.origin,
                            &format!(
                                "{} `{}` was delivered twice; the first copy is kept (on_duplicate: warn){}",
                                r.object_type,
                                r.identity,
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
                    .fetch_add(repeated.len() as u64, std::sync::atomic::Ordering::Relaxed);
                let mut k = 0;
                let mut i = 0;
                batch.retain(|_| {
                    let keep = repeated.get(k) != Some(&i);
                    if !keep {
                        k += 1;
                    }
                    i += 1;
                    keep
                });
                Ok(())
            }
        }
    }
}

impl std::fmt::Debug for Dedup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dedup")
            .field("seen", &self.seen.len())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
