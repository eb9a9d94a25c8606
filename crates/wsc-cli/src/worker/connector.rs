//! The connector a claimed partition runs: loaded from the path kept with the run, checked
//! against the hash taken at submission, its settings from the run (plus this worker's
//! environment), its tokens and state in the fleet's store. Built once per run and kept while
//! the worker runs partitions of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wsc_engine::{Engine, RunContext, Summary};
use wsc_store::{Claim, InstanceKey, PgStore, Store};

use crate::common::{Given, resolve_given_quietly};

/// A run's connector, ready.
pub(super) struct RunConnector {
    /// The engine.
    pub(super) engine: Engine,
    /// The instance (connector state is kept per instance).
    pub(super) instance: InstanceKey,
}

/// Builds the connector of `claim`'s run, or says why it cannot (the partition's error).
fn build(claim: &Claim, store: &Arc<PgStore>) -> Result<RunConnector, String> {
    let job = &claim.job;
    let path = std::path::Path::new(&job.connector_path);
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "this worker cannot read the connector {}: {e} (every worker needs the file at the path the run was submitted with)",
            path.display()
        )
    })?;
    let hash = crate::job::file_hash(&bytes);
    if hash != job.connector_hash {
        return Err(format!(
            "the connector {} on this worker differs from the file the run was submitted with (sha256 {} here, {} at submission): every worker must have the same file",
            path.display(),
            &hash[..12],
            &job.connector_hash[..job.connector_hash.len().min(12)]
        ));
    }
    let loaded = wsc_spec::load_file(path).map_err(|e| match e {
        wsc_spec::LoadError::Invalid(report) => report.render(),
        e => e.to_string(),
    })?;
    let given = Given::from_json(&claim.settings);
    let settings = resolve_given_quietly(&loaded, &given, &crate::common::process_env)
        .map_err(|errs| errs.join("; "))?;
    let shared: Arc<dyn Store> = store.clone();
    let auth = wsc_engine::authenticator(&loaded, &settings, Some(shared.clone()))
        .map_err(|e| e.to_string())?;
    let instance = wsc_engine::auth::instance_key(&loaded, &settings);
    let state = shared.load_state(&instance).map_err(|e| e.to_string())?;
    let run = RunContext {
        state: Value::Object(state),
        ..RunContext::default()
    };
    let engine = Engine::new(&loaded, &settings, auth, run).map_err(|e| e.to_string())?;
    crate::logging::set_redactor(engine.redactor());
    Ok(RunConnector { engine, instance })
}

/// The connectors of the runs this worker has worked on, and the counters of those it let go.
#[derive(Default)]
pub(super) struct Connectors {
    by_run: Mutex<HashMap<i64, Arc<RunConnector>>>,
    /// Summaries of connectors dropped from the cache (metrics are counters: they never go
    /// down).
    retired: Mutex<Summary>,
}

/// Runs whose connector a worker keeps.
const KEEP: usize = 16;

impl Connectors {
    /// The connector of `claim`'s run (built on first use).
    pub(super) fn get(
        &self,
        claim: &Claim,
        store: &Arc<PgStore>,
    ) -> Result<Arc<RunConnector>, String> {
        if let Some(c) = self.lock().get(&claim.job.id) {
            return Ok(c.clone());
        }
        let built = Arc::new(build(claim, store)?);
        let mut all = self.lock();
        if all.len() >= KEEP
            && let Some(oldest) = all.keys().min().copied()
            && let Some(gone) = all.remove(&oldest)
        {
            add(
                &mut self.retired.lock().unwrap_or_else(|p| p.into_inner()),
                &gone.engine.summary(),
            );
        }
        Ok(all.entry(claim.job.id).or_insert(built).clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<RunConnector>>> {
        self.by_run.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counters over every connector this worker ran.
    pub(super) fn summary(&self) -> Summary {
        let mut s = self
            .retired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for c in self.lock().values() {
            add(&mut s, &c.engine.summary());
        }
        s
    }
}

fn add(to: &mut Summary, s: &Summary) {
    to.records += s.records;
    to.pages += s.pages;
    to.lookups += s.lookups;
    to.requests += s.requests;
    to.retries += s.retries;
    to.token_requests += s.token_requests;
    to.duplicates += s.duplicates;
}
