//! The [`Engine`]: a connector compiled once (templates, JSONPaths, requests, hooks, the HTTP
//! client) and ready to run its operations; its counters ([`Stats`], [`Summary`]) and what a
//! run starts from ([`RunContext`]).
//!
//! The operations themselves live beside this file: reads in `read.rs`, writes in
//! `provision.rs`, and the machinery that runs any operation under `exec/`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};
use url::Url;
use wsc_auth::Authenticator;
use wsc_spec::model::{Auth, Floor, OperationKey, OperationKind, SettingOr};
use wsc_spec::{Loaded, StatusPattern};

use crate::compile::{CompiledOperation, compile_path, compile_rules};
use crate::error::EngineError;
use crate::hooks::EngineHooks;
use crate::http::{HostPolicy, HttpClient, Origin, read_tls};
use crate::redact::Redactor;
use crate::settings::{ResolvedSettings, settable};
use crate::template::{Escape, Template, Templates};
use crate::time::now_rfc3339;
use wsc_spec::template::Context;

/// Counters of a run, readable while it runs (for progress bars).
#[derive(Debug, Default)]
pub struct Stats {
    /// Pages received (of an operation's primary request: the listing).
    pub pages: AtomicU64,
    /// Responses of the other steps: setup requests and per-record lookups (`for_each`).
    pub lookups: AtomicU64,
    /// Records the listing said it holds (the sum of `paging.total` of first pages; 0 when
    /// no page told).
    pub expected: AtomicU64,
    /// Records emitted.
    pub records: AtomicU64,
    /// Repeated identities dropped (`on_duplicate: warn`).
    pub duplicates: AtomicU64,
    /// Warnings of the run, in order (at most [`MAX_WARNINGS`] kept).
    warnings: Mutex<Vec<String>>,
}

/// Warnings a [`Summary`] keeps; later ones are still logged.
pub const MAX_WARNINGS: usize = 100;

impl Stats {
    /// Records a warning (and logs it).
    pub(crate) fn warn(&self, origin: &Origin, message: &str) {
        tracing::warn!(target: "wsc::engine", origin = %origin, "{message}");
        let mut w = self.warnings.lock().unwrap_or_else(|p| p.into_inner());
        if w.len() < MAX_WARNINGS {
            w.push(format!("{origin}: {message}"));
        }
    }

    /// The warnings so far.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// A summary of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records emitted.
    pub records: u64,
    /// Pages received (of an operation's primary request: the listing).
    pub pages: u64,
    /// Responses of the other steps: setup requests and per-record lookups.
    pub lookups: u64,
    /// Records the listing said it holds (`paging.total`), when a page told.
    pub expected: Option<u64>,
    /// HTTP requests sent (attempts).
    pub requests: u64,
    /// Retries.
    pub retries: u64,
    /// Requests answered from the run's response cache (`cache: true`).
    pub cache_hits: u64,
    /// Token requests made by the authenticator.
    pub token_requests: u64,
    /// Repeated identities dropped (`on_duplicate: warn`).
    pub duplicates: u64,
    /// What the run warned about (completeness checks the connector relaxed, attribute paths
    /// that matched nothing), at most [`MAX_WARNINGS`].
    pub warnings: Vec<String>,
}

/// Values a run starts from besides settings: persisted state and the last run.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// `state.*`.
    pub state: Value,
    /// `last_run.*`.
    pub last_run: Value,
    /// Reroute and tap (fixtures: recording and replay).
    pub wire: crate::wire::Wire,
    /// Values kept out of messages and logs besides the secret settings and the
    /// authenticator's credentials (a password read from stdin).
    pub secrets: Vec<String>,
}

/// A connector ready to run.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

/// What every operation of one engine shares.
pub(crate) struct Inner {
    /// The connector's name (`connector:`).
    pub(crate) name: String,
    pub(crate) templates: Templates,
    pub(crate) base_url: Url,
    /// `settings.*` as one JSON object.
    pub(crate) settings: Value,
    pub(crate) http: HttpClient,
    pub(crate) ops: HashMap<String, Arc<CompiledOperation>>,
    /// The compiled `changes` item templates of write operations, by operation key.
    pub(crate) changes: HashMap<String, Arc<crate::compile_changes::CompiledChanges>>,
    /// The compiled `setup` requests of aggregations, by operation key.
    pub(crate) setups: HashMap<String, Arc<[crate::compile_setup::CompiledSetup]>>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) run: RunContext,
    pub(crate) hooks: Arc<EngineHooks>,
    /// Operations whose attribute paths were checked against a first page.
    pub(crate) checked_paths: Mutex<std::collections::HashSet<String>>,
    /// Responses of steps with `cache: true`, for the rest of the run.
    pub(crate) cache: crate::cache::ResponseCache,
    /// Hashes identities for the duplicate check (page tasks and the record stream).
    pub(crate) id_hasher: crate::lines::IdHasher,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("connector", &self.inner.name)
            .finish_non_exhaustive()
    }
}

/// The object type of the records an operation produces.
fn object_type_of(key: &OperationKey) -> &str {
    match (key.kind(), key.object_type()) {
        (OperationKind::GetPartitions, _) => "partition",
        (_, Some(t)) => t,
        (_, None) => "account",
    }
}

impl Engine {
    /// Compiles a loaded connector for running with these settings and this authenticator.
    pub fn new(
        loaded: &Loaded,
        settings: &ResolvedSettings,
        auth: Arc<dyn Authenticator>,
        run: RunContext,
    ) -> Result<Engine, EngineError> {
        let c = &loaded.connector;
        let mut t = Templates::new();
        let settings_value = settings.to_value();
        let setup_ctx = json!({
            "settings": settings_value,
            "state": run.state,
            "now": now_rfc3339(),
        });
        let base_tpl = t.compile("base_url", c.base_url.as_str(), Escape::None)?;
        let base_str = t.render(&base_tpl, &setup_ctx)?;
        let base_url = Url::parse(&base_str).map_err(|e| {
            EngineError::Config(format!(
                "`base_url` rendered to `{base_str}`, which is not a URL ({e}); check the base_url setting"
            ))
        })?;
        let mut hosts = HostPolicy::new(c.allowed_hosts.iter().cloned());
        hosts.allow_url(&base_url);
        let token_url = match crate::alternative::chosen_auth(c, settings)?.auth {
            Auth::OAuth2(o) => Some(o.token_url.clone()),
            Auth::Custom(cu) => Some(cu.request.url.clone()),
            _ => None,
        };
        if let Some(tu) = token_url {
            let tpl = t.compile("auth.token_url", tu.as_str(), Escape::None)?;
            if let Ok(u) = Url::parse(&t.render(&tpl, &setup_ctx)?) {
                hosts.allow_url(&u);
            }
        }
        let default_headers: Vec<(String, Template)> = c
            .http
            .headers
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    t.compile(&format!("http.headers.{k}"), v.as_str(), Escape::None)?,
                ))
            })
            .collect::<Result<_, EngineError>>()?;
        let success = c
            .http
            .success
            .clone()
            .unwrap_or_else(|| vec![StatusPattern::Class(2)]);
        let rules = compile_rules(&mut t, "http.errors", &c.http.errors)?;
        let mut ops = HashMap::new();
        // Incremental aggregation: with a previous run, `delta.query` joins the request.
        let has_last_run = run.last_run.as_object().is_some_and(|m| !m.is_empty());
        for (key, op) in c.operations.entries() {
            let with_delta;
            let op = match (&op.delta, &op.request) {
                (Some(d), Some(_)) if has_last_run && !d.query.is_empty() => {
                    let mut o = op.clone();
                    if let Some(r) = o.request.as_mut() {
                        for (k, v) in &d.query {
                            r.query.insert(k.clone(), v.clone());
                        }
                    }
                    with_delta = o;
                    &with_delta
                }
                _ => op,
            };
            let object_type = object_type_of(&key).to_string();
            // `format: xml`: the operation reads the JSON page its XPaths make of each page.
            let xml = crate::xml::derive(&format!("operations.{key}"), op, &c.namespaces)?;
            let op = xml.as_ref().map_or(op, |(o, _)| o);
            let mut compiled = CompiledOperation::compile(
                &mut t,
                key.as_str(),
                &object_type,
                op,
                &default_headers,
                &success,
                &rules,
                &settings_value,
            )?;
            if let Some((_, plans)) = xml {
                compiled.projection = None;
                for (step, plan) in compiled.steps.iter_mut().zip(plans) {
                    step.xml = plan.map(Arc::new);
                }
            }
            ops.insert(key.into_string(), Arc::new(compiled));
        }
        let changes = crate::compile_changes::compile_all(&mut t, c)?;
        let setups = crate::compile_setup::compile_all(&mut t, c, &default_headers)?;
        let tls = read_tls(&loaded.dir, c, &mut t, &setup_ctx)?;
        let mut secrets: Vec<String> = settings.secrets().to_vec();
        secrets.extend(auth.secrets());
        secrets.extend(run.secrets.iter().cloned());
        let redactor = Arc::new(Redactor::new(secrets).with_live(auth.clone()));
        // Numeric HTTP options that name a setting take its value for this instance.
        let mut http_options = c.http.clone();
        if let Some(r) = &c.http.requests_per_second {
            let rps = settable(
                "http.requests_per_second",
                r,
                &settings_value,
                Floor::Positive,
            )?;
            http_options.requests_per_second = Some(SettingOr::Value(rps));
        }
        let error_message = c
            .http
            .error_message
            .iter()
            .enumerate()
            .map(|(i, p)| compile_path(&format!("http.error_message[{i}]"), p))
            .collect::<Result<Vec<_>, _>>()?;
        let hooks = Arc::new(EngineHooks::compile(loaded, &run.state, redactor.clone())?);
        let http = HttpClient::new(&http_options, &tls, hosts, auth, redactor)
            .map_err(EngineError::Http)?
            .with_wire(run.wire.clone())
            .with_error_message(error_message);
        Ok(Engine {
            inner: Arc::new(Inner {
                hooks,
                name: c.connector.clone(),
                templates: t,
                changes,
                setups,
                base_url,
                settings: settings_value,
                http,
                ops,
                stats: Arc::new(Stats::default()),
                run,
                checked_paths: Mutex::default(),
                cache: crate::cache::ResponseCache::default(),
                id_hasher: crate::lines::IdHasher::default(),
            }),
        })
    }

    /// The connector's name.
    pub fn connector(&self) -> &str {
        &self.inner.name
    }

    /// Live counters.
    pub fn stats(&self) -> Arc<Stats> {
        self.inner.stats.clone()
    }

    /// Requests and retries so far.
    pub fn http_counters(&self) -> (u64, u64) {
        let c = self.inner.http.counters();
        (
            c.requests.load(Ordering::Relaxed),
            c.retries.load(Ordering::Relaxed),
        )
    }

    /// The summary so far.
    pub fn summary(&self) -> Summary {
        let (requests, retries) = self.http_counters();
        Summary {
            records: self.inner.stats.records.load(Ordering::Relaxed),
            pages: self.inner.stats.pages.load(Ordering::Relaxed),
            lookups: self.inner.stats.lookups.load(Ordering::Relaxed),
            expected: Some(self.inner.stats.expected.load(Ordering::Relaxed)).filter(|n| *n > 0),
            requests,
            retries,
            cache_hits: self.inner.cache.hits(),
            token_requests: self.inner.http.auth().token_requests(),
            duplicates: self.inner.stats.duplicates.load(Ordering::Relaxed),
            warnings: self.inner.stats.warnings(),
        }
    }

    /// The redactor of this connector's secrets.
    pub fn redactor(&self) -> Arc<Redactor> {
        self.inner.http.redactor().clone()
    }

    /// The compiled operation `key`, or [`EngineError::NoOperation`].
    pub(crate) fn op(&self, key: &str) -> Result<Arc<CompiledOperation>, EngineError> {
        self.inner
            .ops
            .get(key)
            .cloned()
            .ok_or_else(|| EngineError::NoOperation {
                connector: self.inner.name.clone(),
                key: key.to_string(),
            })
    }

    /// The operation key that aggregates an object type: `account` → `account_aggregation`,
    /// `group` → `group_aggregation.group`.
    pub fn aggregation_key(object: &str) -> String {
        OperationKey::aggregation(object).into_string()
    }

    /// Connector-state changes made by hooks during this engine's runs (persist them after a
    /// successful run).
    pub fn state_changes(&self) -> wsc_hooks::StateChanges {
        self.inner.hooks.state_changes()
    }

    /// Whether an operation filters on the API side when a previous run exists (`delta:`).
    pub fn has_api_delta(&self, key: &str) -> Result<bool, EngineError> {
        Ok(self
            .op(key)?
            .spec
            .delta
            .as_ref()
            .is_some_and(|d| !d.query.is_empty()))
    }

    /// Attribute names of the records an operation emits.
    pub fn attribute_names(&self, key: &str) -> Result<Arc<[Arc<str>]>, EngineError> {
        Ok(self.op(key)?.mapper.attribute_names().clone())
    }

    /// Whether the records of an operation carry members.
    pub fn has_members(&self, key: &str) -> Result<bool, EngineError> {
        Ok(self.op(key)?.mapper.has_members())
    }

    /// The template context every operation starts from: settings, state, last run, now,
    /// and the plan or partition of this run.
    pub(crate) fn base_ctx(
        &self,
        plan: Option<Value>,
        partition: Option<Value>,
    ) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(Context::Settings.into(), self.inner.settings.clone());
        m.insert(Context::State.into(), self.inner.run.state.clone());
        m.insert(Context::LastRun.into(), self.inner.run.last_run.clone());
        m.insert(Context::Now.into(), Value::String(now_rfc3339()));
        if let Some(p) = plan {
            m.insert(Context::Plan.into(), p);
        }
        if let Some(p) = partition {
            m.insert(Context::Partition.into(), p);
        }
        m
    }
}
