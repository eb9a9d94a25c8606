//! Delta aggregation: the changes since the previous complete run of an aggregation.
//!
//! With API-side filters (`delta:` on the aggregation) the previous run's start time is
//! `last_run.*` in templates and every record the API returns is a `changed` record, or a
//! `deleted` one when the aggregation's `delta.deleted` path matches it. Without them, each
//! record's content hash (keyed: [`wsc_store::RecordHasher`]) is compared with the snapshot
//! of the previous complete run in the state store: `created`, `updated` and `deleted` changes come out, nothing for unchanged
//! records. The snapshot and the run history move only in [`Delta::commit`], which the caller
//! calls once the whole run succeeded and its output is safe: a failed or interrupted run leaves
//! the previous baseline in place.
//!
//! The flow: [`Delta::open`] (reads the last run, before the engine is built, since
//! `last_run` is part of its [`crate::RunContext`]), [`Delta::start`] (with the engine), then
//! [`Delta::change`] per record, [`Delta::deleted`] at the end, and [`Delta::commit`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use wsc_store::{
    InstanceKey, KEYED_HASH_LEN, LEGACY_HASH_LEN, RecordHasher, Store, StoreError, StoredHash,
};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::mapping::Record;
use crate::time::rfc3339;

/// Counts of one delta run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeltaCounts {
    /// Records read from the API.
    pub read: u64,
    /// New since the baseline (snapshot comparison).
    pub created: u64,
    /// Changed since the baseline (snapshot comparison).
    pub updated: u64,
    /// Gone since the baseline, or marked deleted by the API.
    pub deleted: u64,
    /// Returned by an API-side filter.
    pub changed: u64,
}

/// A delta run of one aggregation in progress.
#[derive(Debug)]
pub struct Delta {
    store: Arc<dyn Store>,
    hasher: RecordHasher,
    key: InstanceKey,
    object: String,
    run_name: String,
    last_run: Value,
    started_ms: u64,
    api_side: bool,
    names: Arc<[Arc<str>]>,
    previous: HashMap<String, Vec<u8>>,
    seen: HashSet<String>,
    snapshot: Vec<(String, Vec<u8>)>,
    counts: DeltaCounts,
}

fn store_err(e: StoreError) -> EngineError {
    e.into()
}

impl Delta {
    /// Opens a delta run of `object` for the connector instance `key`: reads the previous
    /// complete run from the store. Build the engine with [`Delta::last_run`] as
    /// `RunContext::last_run`, then call [`Delta::start`].
    pub fn open(
        store: Arc<dyn Store>,
        key: InstanceKey,
        object: &str,
    ) -> Result<Delta, EngineError> {
        let run_name = format!("aggregate:{object}");
        let last_run = match store.last_run(&key, &run_name).map_err(store_err)? {
            Some((started, finished, records)) => json!({
                "started_at": rfc3339((started / 1000) as i64),
                "finished_at": rfc3339((finished / 1000) as i64),
                "records": records,
            }),
            None => Value::Null,
        };
        Ok(Delta {
            hasher: store.record_hasher(),
            store,
            key,
            object: object.to_string(),
            run_name,
            last_run,
            started_ms: wsc_auth::token::now_ms(),
            api_side: false,
            names: Arc::from(Vec::new()),
            previous: HashMap::new(),
            seen: HashSet::new(),
            snapshot: Vec::new(),
            counts: DeltaCounts::default(),
        })
    }

    /// `last_run.*` for the engine's run context (`null` before the first complete run).
    pub fn last_run(&self) -> Value {
        self.last_run.clone()
    }

    /// Whether the aggregation filters on the API side (known after [`Delta::start`]).
    pub fn api_side(&self) -> bool {
        self.api_side
    }

    /// Prepares the comparison with `engine`'s aggregation of the object: its attribute names
    /// and, without an API-side filter, the previous snapshot.
    pub fn start(&mut self, engine: &Engine) -> Result<(), EngineError> {
        let op_key = Engine::aggregation_key(&self.object);
        self.api_side = engine.has_api_delta(&op_key)?;
        self.names = engine.attribute_names(&op_key)?;
        if !self.api_side {
            self.previous = self
                .store
                .load_snapshot(&self.key, &self.object)
                .map_err(store_err)?;
            self.check_snapshot()?;
        }
        Ok(())
    }

    /// Checks the hashes of the previous snapshot before anything is compared. A snapshot
    /// written under another store key would report every record as updated, and a damaged
    /// one would report changes that are not there: both stop the run. Plain SHA-256 hashes
    /// of an older wsc are compared as such, and the snapshot is rewritten with keyed hashes
    /// when the run commits.
    fn check_snapshot(&self) -> Result<(), EngineError> {
        let (mut other_key, mut unknown, mut legacy) = (0usize, 0usize, 0usize);
        for h in self.previous.values() {
            match self.hasher.kind(h) {
                StoredHash::Keyed => {}
                StoredHash::OtherKey => other_key += 1,
                StoredHash::Legacy => legacy += 1,
                StoredHash::Unknown => unknown += 1,
            }
        }
        let location = self.store.location();
        if other_key > 0 {
            return Err(store_err(StoreError::WrongKey {
                location: location.to_string(),
                what: "comparing with the delta snapshot",
                hint: "; the snapshot was written under another store key, and compared under this one every record would look updated: use the key it was written with, or start a new baseline with another --state",
            }));
        }
        if unknown > 0 {
            return Err(store_err(StoreError::corrupt(
                location,
                "reading the delta snapshot",
                format!(
                    "{unknown} record hash(es) of `{}` are neither {KEYED_HASH_LEN}-byte keyed hashes nor {LEGACY_HASH_LEN}-byte SHA-256 hashes; use another --state to start a new baseline",
                    self.object
                ),
            )));
        }
        if legacy > 0 {
            tracing::info!(
                target: "wsc::delta",
                "the snapshot of `{}` holds {legacy} unkeyed record hash(es) of an older wsc: compared as they are, and rewritten as keyed hashes when this run completes",
                self.object
            );
        }
        Ok(())
    }

    /// The change line for one record, or `None` when it did not change.
    pub fn change(&mut self, r: &Record) -> Option<Value> {
        self.counts.read += 1;
        if self.api_side {
            if r.deleted {
                self.counts.deleted += 1;
                return Some(
                    json!({"change": "deleted", "type": self.object, "identity": r.identity}),
                );
            }
            self.counts.changed += 1;
            return Some(with_change("changed", r.to_json(&self.names)));
        }
        let v = r.to_json(&self.names);
        let content = v.to_string();
        let h = self.hasher.hash(content.as_bytes());
        let change = match self.previous.get(&r.identity) {
            None => Some("created"),
            Some(old) if !self.hasher.matches(old, content.as_bytes(), &h) => Some("updated"),
            Some(_) => None,
        };
        self.seen.insert(r.identity.clone());
        self.snapshot.push((r.identity.clone(), h));
        let c = change?;
        if c == "created" {
            self.counts.created += 1;
        } else {
            self.counts.updated += 1;
        }
        Some(with_change(c, v))
    }

    /// The shrink guard of a snapshot comparison: fails when this run read more than
    /// `max_shrink` percent fewer records than the previous snapshot holds (call before
    /// [`Delta::deleted`]; see [`crate::history`]). API-side deltas read changes only and are
    /// not checked.
    pub fn check_shrink(&self, max_shrink: u8) -> Result<(), EngineError> {
        if self.api_side {
            return Ok(());
        }
        crate::history::check_shrink(
            &self.object,
            self.previous.len() as u64,
            self.seen.len() as u64,
            max_shrink,
            "the previous snapshot",
        )
    }

    /// After the last record: the `deleted` lines of identities in the baseline that this run
    /// did not return (none with an API-side filter), sorted.
    pub fn deleted(&mut self) -> Vec<Value> {
        if self.api_side {
            return Vec::new();
        }
        let mut gone: Vec<&String> = self
            .previous
            .keys()
            .filter(|id| !self.seen.contains(*id))
            .collect();
        gone.sort();
        self.counts.deleted += gone.len() as u64;
        gone.into_iter()
            .map(|id| json!({"change": "deleted", "type": self.object, "identity": id}))
            .collect()
    }

    /// Counts so far.
    pub fn counts(&self) -> &DeltaCounts {
        &self.counts
    }

    /// Moves the baseline: the new snapshot (without an API-side filter) and the run history.
    /// Call only after the whole run succeeded and its output was written.
    pub fn commit(self) -> Result<DeltaCounts, EngineError> {
        if !self.api_side {
            self.store
                .replace_snapshot(&self.key, &self.object, &self.snapshot, self.started_ms)
                .map_err(store_err)?;
        }
        self.store
            .record_run(&self.key, &self.run_name, self.started_ms, self.counts.read)
            .map_err(store_err)?;
        Ok(self.counts)
    }
}

fn with_change(change: &str, mut record: Value) -> Value {
    if let Value::Object(m) = &mut record {
        let mut out = Map::with_capacity(m.len() + 1);
        out.insert("change".into(), Value::String(change.into()));
        out.append(m);
        return Value::Object(out);
    }
    record
}
