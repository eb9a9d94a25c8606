//! Running operations: paging (sequential with the next page fetched while the current one is
//! mapped, or concurrent when the total is known), multi-step `for_each` with merges,
//! partitions, and one ordered stream of records.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use url::Url;
use wsc_auth::Authenticator;
use wsc_spec::model::{Auth, MergeMode, OperationKind, PagingKind, ValuesMode};
use wsc_spec::plan::{PlanOperation, PlanRequest};
use wsc_spec::{Loaded, StatusPattern};

use crate::compile::{CompiledErrorRule, CompiledOperation, CompiledRequest, compile_rules};
use crate::doc::Doc;
use crate::error::EngineError;
use crate::http::{HostPolicy, HttpClient, HttpError, Origin, Response, TlsFiles, Verdict};
use crate::mapping::Record;
use crate::path::CompiledPath;
use crate::redact::Redactor;
use crate::settings::ResolvedSettings;
use crate::template::{Escape, Template, Templates};

/// Counters of a run, readable while it runs (for progress bars).
#[derive(Debug, Default)]
pub struct Stats {
    /// Pages received.
    pub pages: AtomicU64,
    /// Records emitted.
    pub records: AtomicU64,
}

/// A summary of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records emitted.
    pub records: u64,
    /// Pages received.
    pub pages: u64,
    /// HTTP requests sent (attempts).
    pub requests: u64,
    /// Retries.
    pub retries: u64,
    /// Token requests made by the authenticator.
    pub token_requests: u64,
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
}

/// A connector ready to run.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    templates: Templates,
    base_url: Url,
    settings: Value,
    http: HttpClient,
    ops: HashMap<String, Arc<CompiledOperation>>,
    stats: Arc<Stats>,
    run: RunContext,
    hooks: Arc<crate::hooks::EngineHooks>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("connector", &self.inner.name)
            .finish_non_exhaustive()
    }
}

/// Builds the authenticator of a connector: the static kinds (none, basic, API key, bearer)
/// directly, `oauth2` and `custom` as a token manager without a state store (see
/// [`crate::auth::authenticator`] for one with a store).
pub fn static_authenticator(
    loaded: &Loaded,
    settings: &ResolvedSettings,
) -> Result<Arc<dyn Authenticator>, EngineError> {
    use wsc_auth::{Secret, StaticAuth};
    let mut t = Templates::new();
    let ctx = json!({ "settings": settings.to_value(), "state": {}, "now": now_rfc3339() });
    let mut render = |loc: &str, tpl: &wsc_spec::Template| -> Result<String, EngineError> {
        let c = t.compile(loc, tpl.as_str(), Escape::None)?;
        Ok(t.render(&c, &ctx)?)
    };
    let a: StaticAuth = match &loaded.connector.auth {
        Auth::None => StaticAuth::None,
        Auth::Basic(b) => StaticAuth::Basic {
            username: render("auth.username", &b.username)?,
            password: Secret::new(render("auth.password", &b.password)?),
        },
        Auth::ApiKey(k) => StaticAuth::ApiKey {
            key: Secret::new(render("auth.key", &k.key)?),
            placement: k.placement,
            name: k.name.clone(),
            prefix: k.prefix.clone().unwrap_or_default(),
        },
        Auth::Bearer(b) => StaticAuth::bearer(
            Secret::new(render("auth.token", &b.token)?),
            b.token_placement.placement,
            b.token_placement.name.clone(),
            b.token_placement.effective_prefix().to_string(),
        ),
        Auth::OAuth2(_) | Auth::Custom(_) => {
            // Managed tokens, kept in memory; `crate::auth::authenticator` adds a store.
            return crate::auth::authenticator(loaded, settings, None);
        }
    };
    Ok(Arc::new(a))
}

/// The current time as RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn object_type_of(key: &str, kind: OperationKind) -> String {
    match kind {
        OperationKind::GroupAggregation | OperationKind::GetObject => key
            .split_once('.')
            .map(|x| x.1)
            .unwrap_or("account")
            .to_string(),
        OperationKind::GetPartitions => "partition".into(),
        _ => "account".into(),
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
        let token_url = match &c.auth {
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
        for (key, kind, op) in c.operations.iter() {
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
            let object_type = object_type_of(&key, kind);
            let compiled = CompiledOperation::compile(
                &mut t,
                &key,
                kind,
                &object_type,
                op,
                &default_headers,
                &success,
                &rules,
            )?;
            ops.insert(key, Arc::new(compiled));
        }
        let tls = read_tls(&loaded.dir, c, &mut t, &setup_ctx)?;
        let mut secrets: Vec<String> = settings.secrets().to_vec();
        secrets.extend(auth.secrets());
        let redactor = Arc::new(Redactor::new(secrets).with_live(auth.clone()));
        let http = HttpClient::new(&c.http, &tls, hosts, auth, redactor)
            .map_err(EngineError::Http)?
            .with_wire(run.wire.clone());
        let hooks = Arc::new(crate::hooks::EngineHooks::compile(loaded, &run.state)?);
        Ok(Engine {
            inner: Arc::new(Inner {
                hooks,
                name: c.connector.clone(),
                templates: t,
                base_url,
                settings: settings_value,
                http,
                ops,
                stats: Arc::new(Stats::default()),
                run,
            }),
        })
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
            requests,
            retries,
            token_requests: self.inner.http.auth().token_requests(),
        }
    }

    /// The redactor of this connector's secrets.
    pub fn redactor(&self) -> Arc<Redactor> {
        self.inner.http.redactor().clone()
    }

    fn op(&self, key: &str) -> Result<Arc<CompiledOperation>, EngineError> {
        self.inner
            .ops
            .get(key)
            .cloned()
            .ok_or_else(|| EngineError::NoOperation(key.to_string()))
    }

    /// The operation key that aggregates an object type: `account` → `account_aggregation`,
    /// `group` → `group_aggregation.group`.
    pub fn aggregation_key(object: &str) -> String {
        if object == "account" {
            "account_aggregation".into()
        } else {
            format!("group_aggregation.{object}")
        }
    }

    /// Connector-state changes made by hooks during this engine's runs (persist them after a
    /// successful run; see `wsc_store::Store::save_state`).
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

    fn base_ctx(&self, plan: Option<Value>, partition: Option<Value>) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("settings".into(), self.inner.settings.clone());
        m.insert("state".into(), self.inner.run.state.clone());
        m.insert("last_run".into(), self.inner.run.last_run.clone());
        m.insert("now".into(), Value::String(now_rfc3339()));
        m.insert("auth".into(), json!({}));
        if let Some(p) = plan {
            m.insert("plan".into(), p);
        }
        if let Some(p) = partition {
            m.insert("partition".into(), p);
        }
        m
    }

    /// Runs test_connection.
    pub async fn test_connection(&self) -> Result<(), EngineError> {
        let op = self.op("test_connection")?;
        let ctx = Arc::new(self.base_ctx(None, None));
        let (tx, mut rx) = mpsc::channel(4);
        let inner = self.inner.clone();
        let task = tokio::spawn(run_op(inner, op, ctx, tx, false));
        while let Some(batch) = rx.recv().await {
            batch?;
        }
        join(task).await
    }

    /// The partitions of an aggregation (static or from get_partitions); empty when the
    /// aggregation is not partitioned.
    pub async fn partitions(&self, object: &str) -> Result<Vec<Value>, EngineError> {
        let op = self.op(&Self::aggregation_key(object))?;
        let Some(p) = &op.spec.partitions else {
            return Ok(Vec::new());
        };
        if let Some(list) = &p.list {
            return Ok(list
                .iter()
                .map(|m| Value::Object(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
                .collect());
        }
        let gp = self.op("get_partitions")?;
        let names = gp.mapper.attribute_names().clone();
        let mut out = Vec::new();
        let (tx, mut rx) = mpsc::channel(4);
        let task = tokio::spawn(run_op(
            self.inner.clone(),
            gp,
            Arc::new(self.base_ctx(None, None)),
            tx,
            true,
        ));
        while let Some(batch) = rx.recv().await {
            for r in batch? {
                let mut m = Map::new();
                m.insert("name".into(), Value::String(r.identity.clone()));
                for (n, v) in names.iter().zip(r.attributes) {
                    m.insert(n.to_string(), v);
                }
                out.push(Value::Object(m));
            }
        }
        join(task).await?;
        Ok(out)
    }

    /// Aggregates an object type (`account` or a group type), optionally one partition only.
    /// Record batches arrive in order on the returned channel; the task ends with the run.
    pub async fn aggregate(
        &self,
        object: &str,
        partition: Option<&str>,
    ) -> Result<
        (
            mpsc::Receiver<Result<Vec<Record>, EngineError>>,
            JoinHandle<Result<(), EngineError>>,
        ),
        EngineError,
    > {
        let key = Self::aggregation_key(object);
        let op = self.op(&key)?;
        let parts = self.partitions(object).await?;
        let (tx, rx) = mpsc::channel(8);
        let inner = self.inner.clone();
        if parts.is_empty() {
            if let Some(name) = partition {
                return Err(EngineError::NoPartition {
                    name: name.to_string(),
                    known: "none: this aggregation is not partitioned".into(),
                });
            }
            let ctx = Arc::new(self.base_ctx(None, None));
            let task = tokio::spawn(run_op(inner, op, ctx, tx, true));
            return Ok((rx, task));
        }
        let selected: Vec<Value> = match partition {
            None => parts,
            Some(name) => {
                let found: Vec<Value> = parts
                    .iter()
                    .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some(name))
                    .cloned()
                    .collect();
                if found.is_empty() {
                    return Err(EngineError::NoPartition {
                        name: name.to_string(),
                        known: parts
                            .iter()
                            .filter_map(|p| p.get("name").and_then(|n| n.as_str()))
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                found
            }
        };
        let concurrency = op
            .spec
            .partitions
            .as_ref()
            .and_then(|p| p.concurrency)
            .unwrap_or(4)
            .max(1) as usize;
        let engine = self.clone();
        let task = tokio::spawn(async move {
            let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
            let mut queue = VecDeque::new();
            for p in selected {
                let (ptx, prx) = mpsc::channel(2);
                let ctx = Arc::new(engine.base_ctx(None, Some(p)));
                let permit = sem.clone().acquire_owned();
                let inner = engine.inner.clone();
                let op = op.clone();
                let handle = tokio::spawn(async move {
                    let _permit = permit.await;
                    run_op(inner, op, ctx, ptx, true).await
                });
                queue.push_back((prx, handle));
            }
            while let Some((mut prx, handle)) = queue.pop_front() {
                while let Some(batch) = prx.recv().await {
                    let failed = batch.is_err();
                    if tx.send(batch).await.is_err() || failed {
                        for (_, h) in queue {
                            h.abort();
                        }
                        handle.abort();
                        return Ok(());
                    }
                }
                join(handle).await?;
            }
            Ok(())
        });
        Ok((rx, task))
    }

    /// Reads one object (`account` or a group type) by identity.
    pub async fn get_object(&self, object: &str, identity: &str) -> Result<Record, EngineError> {
        let key = format!("get_object.{object}");
        let op = self.op(&key)?;
        let ctx = Arc::new(self.base_ctx(Some(json!({ "identity": identity })), None));
        let (tx, mut rx) = mpsc::channel(4);
        let task = tokio::spawn(run_op(self.inner.clone(), op, ctx, tx, true));
        let mut found = Vec::new();
        while let Some(batch) = rx.recv().await {
            match batch {
                Ok(b) => found.extend(b),
                Err(e) if e.http_status() == Some(404) => {
                    return Err(EngineError::NotFound(format!(
                        "{object} `{identity}` was not found (HTTP 404)"
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        join(task).await?;
        match found.len() {
            0 => Err(EngineError::NotFound(format!(
                "{object} `{identity}` was not found (no record in the response)"
            ))),
            _ => Ok(found.swap_remove(0)),
        }
    }

    /// Executes one provisioning request: the connector's write operation with the request as
    /// `plan.*` (for add/remove_entitlement with `values: each`, one run per value with
    /// `plan.value`). Returns the object's final state when the operation reads it back
    /// (`read_back: true`, through `get_object.<object>`) or maps its response (`identity:`).
    /// In a dry run nothing is read back.
    pub async fn provision(&self, req: &PlanRequest) -> Result<Provisioned, EngineError> {
        let problems = req.problems();
        if !problems.is_empty() {
            return Err(EngineError::Plan(problems.join("; ")));
        }
        let key = req.operation.key();
        let op = self.op(key)?;
        let plan = req.to_context();
        let per_value = matches!(
            req.operation,
            PlanOperation::AddEntitlement | PlanOperation::RemoveEntitlement
        ) && op.spec.values != Some(ValuesMode::All);
        let contexts: Vec<Value> = if per_value {
            req.values
                .iter()
                .map(|v| {
                    let mut p = plan.clone();
                    if let Value::Object(m) = &mut p {
                        m.insert("value".into(), v.clone());
                    }
                    p
                })
                .collect()
        } else {
            vec![plan]
        };
        let emit = op.spec.identity.is_some() && !self.inner.run.wire.dry_run;
        let mut mapped: Option<Record> = None;
        for p in contexts {
            let ctx = Arc::new(self.base_ctx(Some(p), None));
            let (tx, mut rx) = mpsc::channel(4);
            let task = tokio::spawn(run_op(self.inner.clone(), op.clone(), ctx, tx, emit));
            while let Some(batch) = rx.recv().await {
                let b = batch?;
                if mapped.is_none() {
                    mapped = b.into_iter().next();
                }
            }
            join(task).await?;
        }
        let identity = req
            .identity
            .clone()
            .or_else(|| mapped.as_ref().map(|r| r.identity.clone()));
        let read_back = op.spec.read_back
            && !self.inner.run.wire.dry_run
            && req.operation != PlanOperation::DeleteAccount;
        if read_back && let Some(id) = &identity {
            let get_key = format!("get_object.{}", req.object);
            let names = self.attribute_names(&get_key)?;
            let obj = self.get_object(&req.object, id).await?;
            return Ok(Provisioned {
                operation: key.to_string(),
                identity,
                object: Some((obj, names)),
            });
        }
        let object = match mapped {
            Some(r) => Some((r, self.attribute_names(key)?)),
            None => None,
        };
        Ok(Provisioned {
            operation: key.to_string(),
            identity,
            object,
        })
    }
}

/// The result of one provisioning request.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The operation key, e.g. `create_account`.
    pub operation: String,
    /// The account's identity: the plan's, or the one mapped from the create response.
    pub identity: Option<String>,
    /// The object's final state with its attribute names, when known.
    pub object: Option<(Record, Arc<[Arc<str>]>)>,
}

impl Provisioned {
    /// `{"operation", "identity", "object"}` for output.
    pub fn to_json(&self) -> Value {
        json!({
            "operation": self.operation,
            "identity": self.identity,
            "object": self.object.as_ref().map(|(r, names)| r.to_json(names)),
        })
    }
}

async fn join(task: JoinHandle<Result<(), EngineError>>) -> Result<(), EngineError> {
    match task.await {
        Ok(r) => r,
        Err(e) if e.is_cancelled() => Ok(()),
        Err(e) => Err(EngineError::Config(format!("internal task failed: {e}"))),
    }
}

fn read_tls(
    dir: &Path,
    c: &wsc_spec::Connector,
    t: &mut Templates,
    ctx: &Value,
) -> Result<TlsFiles, EngineError> {
    let mut read =
        |loc: &str, tpl: &Option<wsc_spec::Template>| -> Result<Option<Vec<u8>>, EngineError> {
            let Some(tpl) = tpl else { return Ok(None) };
            let c = t.compile(loc, tpl.as_str(), Escape::None)?;
            let p = dir.join(t.render(&c, ctx)?);
            std::fs::read(&p).map(Some).map_err(|e| {
                EngineError::Config(format!("{loc}: cannot read {}: {e}", p.display()))
            })
        };
    let ca_pem = read("http.tls.ca_file", &c.http.tls.ca_file)?;
    let cert = read("http.tls.client_cert", &c.http.tls.client_cert)?;
    let key = read("http.tls.client_key", &c.http.tls.client_key)?;
    let identity_pem = match (cert, key) {
        (Some(mut c), Some(k)) => {
            c.push(b'\n');
            c.extend(k);
            Some(c)
        }
        _ => None,
    };
    Ok(TlsFiles {
        ca_pem,
        identity_pem,
    })
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// What a page job produces.
enum Items {
    Records(Vec<Record>),
    Raw(Vec<Value>),
}

impl Items {
    fn len(&self) -> usize {
        match self {
            Items::Records(r) => r.len(),
            Items::Raw(r) => r.len(),
        }
    }
}

/// What the driver needs from a page before its records are mapped.
#[derive(Debug, Default)]
struct Head {
    count: usize,
    total: Option<u64>,
    cursor: Option<String>,
    next_url: Option<String>,
    link_next: Option<String>,
    stop: bool,
    url: Option<Url>,
    saved: Map<String, Value>,
}

/// Where a page is.
#[derive(Debug, Clone, Default)]
struct PageState {
    index: u64,
    offset: u64,
    number: u64,
    cursor: Option<String>,
    next: Option<Url>,
}

#[derive(Clone, Copy, PartialEq)]
enum Extract {
    Map,
    Raw,
}

/// Runs an operation, sending mapped record batches in order. `emit` false runs the requests
/// and checks without mapping (test_connection).
async fn run_op(
    inner: Arc<Inner>,
    op: Arc<CompiledOperation>,
    ctx: Arc<Map<String, Value>>,
    tx: mpsc::Sender<Result<Vec<Record>, EngineError>>,
    emit: bool,
) -> Result<(), EngineError> {
    let result = run_op_hooked(&inner, &op, ctx, &tx, emit).await;
    if let Err(e) = &result {
        let _ = tx.send(Err(e.clone())).await;
    }
    Ok(())
}

/// [`run_op_inner`] between the operation's `before_operation` and `after_operation` hooks.
async fn run_op_hooked(
    inner: &Arc<Inner>,
    op: &Arc<CompiledOperation>,
    ctx: Arc<Map<String, Value>>,
    tx: &mpsc::Sender<Result<Vec<Record>, EngineError>>,
    emit: bool,
) -> Result<(), EngineError> {
    let Some(set) = inner.hooks.for_operation(&op.key) else {
        return run_op_inner(inner, op, ctx, tx, emit).await;
    };
    let mut ctx = ctx;
    if let Some(h) = &set.before_operation
        && let Some(plan) = inner
            .hooks
            .before_operation(h, &op.key, &inner.settings, &ctx)?
    {
        let mut c = (*ctx).clone();
        c.insert("plan".into(), plan);
        ctx = Arc::new(c);
    }
    let before = inner.stats.records.load(Ordering::Relaxed);
    run_op_inner(inner, op, ctx.clone(), tx, emit).await?;
    if let Some(h) = &set.after_operation {
        let mut result = json!({
            "operation": op.key,
            "records": inner.stats.records.load(Ordering::Relaxed).saturating_sub(before),
        });
        inner
            .hooks
            .after_operation(h, &op.key, &inner.settings, &ctx, &mut result)?;
    }
    Ok(())
}

async fn run_op_inner(
    inner: &Arc<Inner>,
    op: &Arc<CompiledOperation>,
    ctx: Arc<Map<String, Value>>,
    tx: &mpsc::Sender<Result<Vec<Record>, EngineError>>,
    emit: bool,
) -> Result<(), EngineError> {
    // Setup steps (before the primary, not for_each): run once, keep what they save.
    let mut ctx = (*ctx).clone();
    let mut saved = Map::new();
    for (i, step) in op.steps.iter().enumerate().take(op.primary) {
        if step.for_each.is_some() {
            continue;
        }
        ctx.insert("saved".into(), Value::Object(saved.clone()));
        let (items, s) = collect_step(inner, op, i, Arc::new(ctx.clone())).await?;
        saved.extend(s);
        if let Some(last) = items.last() {
            ctx.insert("response".into(), last.clone());
        }
    }
    if !saved.is_empty() {
        // What steps `save` also becomes connector state (`state.<name>` on later runs).
        inner.hooks.save_values(&saved);
        ctx.insert("saved".into(), Value::Object(saved));
    }
    let ctx = Arc::new(ctx);
    let for_each: Vec<usize> = (0..op.steps.len())
        .filter(|i| op.steps[*i].for_each == Some(op.primary))
        .collect();
    let extract = if for_each.is_empty() && emit {
        Extract::Map
    } else {
        Extract::Raw
    };
    let (ptx, mut prx) = mpsc::channel::<Result<Items, EngineError>>(4);
    let driver = tokio::spawn(drive(
        inner.clone(),
        op.clone(),
        op.primary,
        ctx.clone(),
        extract,
        ptx,
    ));
    while let Some(page) = prx.recv().await {
        let records = match page? {
            Items::Records(r) => r,
            Items::Raw(raw) => {
                if !emit {
                    continue;
                }
                let mut raw = raw;
                for &si in &for_each {
                    raw = run_for_each(inner, op, si, &ctx, raw).await?;
                }
                let origin = origin(op, None, None);
                raw.iter()
                    .map(|v| {
                        op.mapper
                            .map(&Doc::from_value(v))
                            .map_err(|e| EngineError::Map {
                                origin: origin.clone(),
                                message: inner.http.redactor().text(&e.to_string()),
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        inner
            .stats
            .records
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        if tx.send(Ok(records)).await.is_err() {
            driver.abort();
            return Ok(());
        }
    }
    match driver.await {
        Ok(r) => r,
        Err(e) if e.is_cancelled() => Ok(()),
        Err(e) => Err(EngineError::Config(format!("internal task failed: {e}"))),
    }
}

/// Runs a step to the end and collects its raw records and saved values.
async fn collect_step(
    inner: &Arc<Inner>,
    op: &Arc<CompiledOperation>,
    si: usize,
    ctx: Arc<Map<String, Value>>,
) -> Result<(Vec<Value>, Map<String, Value>), EngineError> {
    let (ptx, mut prx) = mpsc::channel(4);
    let (stx, srx) = oneshot::channel();
    let driver = tokio::spawn(drive_with_saved(
        inner.clone(),
        op.clone(),
        si,
        ctx,
        Extract::Raw,
        ptx,
        Some(stx),
    ));
    let mut all = Vec::new();
    while let Some(page) = prx.recv().await {
        if let Items::Raw(r) = page? {
            all.extend(r);
        }
    }
    match driver.await {
        Ok(r) => r?,
        Err(e) => return Err(EngineError::Config(format!("internal task failed: {e}"))),
    }
    Ok((all, srx.await.unwrap_or_default()))
}

/// Runs a `for_each` step for every record of a page (bounded concurrency, order kept) and
/// merges what it reads into each record.
async fn run_for_each(
    inner: &Arc<Inner>,
    op: &Arc<CompiledOperation>,
    si: usize,
    ctx: &Arc<Map<String, Value>>,
    records: Vec<Value>,
) -> Result<Vec<Value>, EngineError> {
    let step = &op.steps[si];
    let mut jobs = futures_util::stream::iter(records.into_iter().map(|rec| {
        let mut c = (**ctx).clone();
        if let Some(prev) = c.get("record").cloned() {
            c.insert("parent".into(), prev);
        }
        c.insert("record".into(), rec.clone());
        let c = Arc::new(c);
        let inner = inner.clone();
        let op = op.clone();
        async move {
            let (items, _) = collect_step(&inner, &op, si, c).await?;
            Ok::<_, EngineError>((rec, items))
        }
    }))
    .buffered(step.concurrency);
    let mut out = Vec::new();
    while let Some(r) = jobs.next().await {
        let (mut rec, items) = r?;
        if let Some((into, value, mode)) = &step.merge {
            let projected: Vec<Value> = items
                .iter()
                .map(|it| match value {
                    Some(p) => {
                        let d = Doc::from_value(it);
                        p.first(&d).map(|x| x.to_value()).unwrap_or(Value::Null)
                    }
                    None => it.clone(),
                })
                .collect();
            if let Value::Object(m) = &mut rec {
                match mode {
                    MergeMode::List => {
                        m.insert(into.clone(), Value::Array(projected));
                    }
                    MergeMode::First => {
                        m.insert(
                            into.clone(),
                            projected.into_iter().next().unwrap_or(Value::Null),
                        );
                    }
                    MergeMode::Object => {
                        if let Some(Value::Object(first)) = items.into_iter().next() {
                            for (k, v) in first {
                                m.insert(k, v);
                            }
                        }
                    }
                }
            }
        }
        out.push(rec);
    }
    Ok(out)
}

fn origin(op: &CompiledOperation, si: Option<usize>, page: Option<u64>) -> Origin {
    Origin {
        operation: op.key.clone(),
        step: si
            .filter(|_| op.steps.len() > 1 || op.spec.request.is_none())
            .map(|i| op.steps[i].name.clone()),
        page,
    }
}

async fn drive(
    inner: Arc<Inner>,
    op: Arc<CompiledOperation>,
    si: usize,
    ctx: Arc<Map<String, Value>>,
    extract: Extract,
    tx: mpsc::Sender<Result<Items, EngineError>>,
) -> Result<(), EngineError> {
    drive_with_saved(inner, op, si, ctx, extract, tx, None).await
}

/// Drives the pages of one step. Sequential paging fetches page n+1 as soon as page n has been
/// parsed (while n is mapped); with a known total, pages are fetched `concurrency` at a time.
/// Batches are sent in page order.
async fn drive_with_saved(
    inner: Arc<Inner>,
    op: Arc<CompiledOperation>,
    si: usize,
    ctx: Arc<Map<String, Value>>,
    extract: Extract,
    tx: mpsc::Sender<Result<Items, EngineError>>,
    saved_tx: Option<oneshot::Sender<Map<String, Value>>>,
) -> Result<(), EngineError> {
    let result = drive_pages(&inner, &op, si, &ctx, extract, &tx, saved_tx).await;
    if let Err(e) = &result {
        let _ = tx.send(Err(e.clone())).await;
    }
    result
}

async fn drive_pages(
    inner: &Arc<Inner>,
    op: &Arc<CompiledOperation>,
    si: usize,
    ctx: &Arc<Map<String, Value>>,
    extract: Extract,
    tx: &mpsc::Sender<Result<Items, EngineError>>,
    saved_tx: Option<oneshot::Sender<Map<String, Value>>>,
) -> Result<(), EngineError> {
    let step = &op.steps[si];
    let paging = step.paging.as_ref();
    let mut state = PageState::default();
    if let Some(p) = paging {
        state.offset = p.start;
        state.number = p.start;
    }
    let spawn = |st: PageState| {
        let (htx, hrx) = oneshot::channel();
        let h = tokio::spawn(fetch_page(
            inner.clone(),
            op.clone(),
            si,
            ctx.clone(),
            st,
            extract,
            htx,
        ));
        (h, hrx)
    };
    let (mut handle, mut head_rx) = spawn(state.clone());
    let mut seen: HashSet<String> = HashSet::new();
    let mut short: Option<ShortPage> = None;
    let mut saved_tx = saved_tx;
    loop {
        let head = match head_rx.await {
            Ok(h) => h,
            Err(_) => {
                // The job failed before it could report: its handle has the error.
                return Err(await_job(handle).await.err().unwrap_or_else(|| {
                    EngineError::Config("a page job ended without a result".into())
                }));
            }
        };
        if let Some(stx) = saved_tx.take() {
            let _ = stx.send(head.saved.clone());
        }
        inner.stats.pages.fetch_add(1, Ordering::Relaxed);
        let Some(p) = paging else {
            send(tx, await_job(handle).await?).await?;
            return Ok(());
        };
        check_short_page(op, si, p, &mut short, state.index + 1, head.count)?;
        // A first page shorter than both the page size and the total: the API caps its page
        // size, and stepping by `limit` would skip records without a sign.
        if state.index == 0
            && matches!(p.kind, PagingKind::Offset | PagingKind::Page)
            && let Some(total) = head.total
            && head.count > 0
            && (head.count as u64) < p.limit.min(total)
        {
            return Err(EngineError::Paging {
                origin: origin(op, Some(si), Some(1)),
                message: format!(
                    "page 1 held {} records, fewer than the page size {} although the total is {total}: the API returns fewer records per page than `paging.limit` asks for (it probably caps the page size at {}), so records would be skipped; set `paging.limit` to at most {}",
                    head.count, p.limit, head.count, head.count
                ),
            });
        }
        // Known total: fetch the rest concurrently, in order.
        if state.index == 0
            && matches!(p.kind, PagingKind::Offset | PagingKind::Page)
            && let Some(total) = head.total
            && head.count > 0
            && p.concurrency > 1
        {
            let mut states = Vec::new();
            let mut st = state.clone();
            loop {
                st.index += 1;
                st.offset += p.limit;
                st.number += 1;
                let consumed = st.index.saturating_mul(p.limit);
                if consumed >= total || p.max_pages.is_some_and(|m| st.index >= m) {
                    break;
                }
                states.push(st.clone());
            }
            send(tx, await_job(handle).await?).await?;
            let mut window: FuturesOrdered<_> = FuturesOrdered::new();
            let mut pending = states.into_iter();
            let mut page = state.index + 1;
            loop {
                while window.len() < p.concurrency {
                    match pending.next() {
                        Some(st) => {
                            let (h, _hrx) = spawn(st);
                            window.push_back(await_job(h));
                        }
                        None => break,
                    }
                }
                match window.next().await {
                    Some(items) => {
                        inner.stats.pages.fetch_add(1, Ordering::Relaxed);
                        let items = items?;
                        page += 1;
                        check_short_page(op, si, p, &mut short, page, items.len())?;
                        send(tx, items).await?;
                    }
                    None => break,
                }
            }
            return Ok(());
        }
        // Sequential: decide the next page from this one's head, start it, then hand over
        // this page's records.
        let next = next_state(inner, op, si, p, &state, &head, &mut seen)?;
        let upcoming = next.clone().map(&spawn);
        send(tx, await_job(handle).await?).await?;
        match upcoming {
            None => return Ok(()),
            Some((h, hrx)) => {
                handle = h;
                head_rx = hrx;
                state = next.unwrap_or_default();
            }
        }
    }
}

/// The first page of an offset or page-number run that held fewer records than the page size.
#[derive(Debug, Clone, Copy)]
struct ShortPage {
    page: u64,
    count: usize,
}

/// Offset and page-number paging step by `limit`. A short page followed by a page with
/// records means the API returned fewer records than asked for (it caps the page size), so
/// the records between were never fetched: that is an error, never a silently short run.
/// `stop_on_short_page: false` says short pages are normal (e.g. rows filtered after paging).
fn check_short_page(
    op: &CompiledOperation,
    si: usize,
    p: &crate::compile::CompiledPaging,
    short: &mut Option<ShortPage>,
    page: u64,
    count: usize,
) -> Result<(), EngineError> {
    if !matches!(p.kind, PagingKind::Offset | PagingKind::Page) || !p.stop_on_short_page {
        return Ok(());
    }
    if count > 0
        && let Some(s) = *short
    {
        return Err(EngineError::Paging {
            origin: origin(op, Some(si), Some(page)),
            message: format!(
                "page {} held {} records, fewer than the page size {}, yet page {page} holds more: the API returns fewer records per page than `paging.limit` asks for (it probably caps the page size at {}), so records were skipped; set `paging.limit` to at most {}, or `paging.stop_on_short_page: false` if short pages are normal for this API",
                s.page, s.count, p.limit, s.count, s.count
            ),
        });
    }
    if short.is_none() && (count as u64) < p.limit {
        *short = Some(ShortPage { page, count });
    }
    Ok(())
}

async fn send(
    tx: &mpsc::Sender<Result<Items, EngineError>>,
    items: Items,
) -> Result<(), EngineError> {
    tx.send(Ok(items))
        .await
        .map_err(|_| EngineError::Output("the consumer stopped".into()))
}

async fn await_job(h: JoinHandle<Result<Items, EngineError>>) -> Result<Items, EngineError> {
    match h.await {
        Ok(r) => r,
        Err(e) => Err(EngineError::Config(format!("internal task failed: {e}"))),
    }
}

fn next_state(
    inner: &Inner,
    op: &CompiledOperation,
    si: usize,
    p: &crate::compile::CompiledPaging,
    state: &PageState,
    head: &Head,
    seen: &mut HashSet<String>,
) -> Result<Option<PageState>, EngineError> {
    let mut next = PageState {
        index: state.index + 1,
        offset: state.offset + p.limit,
        number: state.number + 1,
        cursor: None,
        next: None,
    };
    if head.stop || head.count == 0 || p.max_pages.is_some_and(|m| next.index >= m) {
        return Ok(None);
    }
    let page_origin = || origin(op, Some(si), Some(state.index + 1));
    match p.kind {
        PagingKind::Offset | PagingKind::Page => {
            // A short page ends the run, unless the total says more records follow: then the
            // next page tells whether the API caps the page size (see `check_short_page`).
            let more_by_total = head
                .total
                .is_some_and(|t| next.index.saturating_mul(p.limit) < t);
            if p.stop_on_short_page && (head.count as u64) < p.limit && !more_by_total {
                return Ok(None);
            }
            if let Some(total) = head.total
                && next.index.saturating_mul(p.limit) >= total
            {
                return Ok(None);
            }
        }
        PagingKind::Cursor => {
            let Some(c) = head.cursor.clone().filter(|c| !c.is_empty()) else {
                return Ok(None);
            };
            if !seen.insert(c.clone()) {
                return Err(EngineError::Paging {
                    origin: page_origin(),
                    message: format!(
                        "the API returned cursor `{}` a second time; stopping instead of looping forever",
                        inner.http.redactor().text(&c)
                    ),
                });
            }
            next.cursor = Some(c);
        }
        PagingKind::NextUrl | PagingKind::LinkHeader => {
            let raw = if p.kind == PagingKind::NextUrl {
                head.next_url.clone()
            } else {
                head.link_next.clone()
            };
            let Some(raw) = raw.filter(|u| !u.is_empty()) else {
                return Ok(None);
            };
            let base = head.url.clone().unwrap_or_else(|| inner.base_url.clone());
            let url = base.join(&raw).map_err(|e| EngineError::Paging {
                origin: page_origin(),
                message: format!("the next-page URL `{raw}` is not a URL: {e}"),
            })?;
            if !seen.insert(url.to_string()) {
                return Err(EngineError::Paging {
                    origin: page_origin(),
                    message: format!(
                        "the API returned next-page URL {} a second time; stopping instead of looping forever",
                        inner.http.redactor().url(&url)
                    ),
                });
            }
            next.next = Some(url);
        }
    }
    Ok(Some(next))
}

fn page_value(p: Option<&crate::compile::CompiledPaging>, st: &PageState) -> Value {
    let limit = p.map(|p| p.limit).unwrap_or(0);
    json!({
        "index": st.index,
        "offset": st.offset,
        "number": st.number,
        "limit": limit,
        "cursor": st.cursor,
    })
}

/// Fetches, checks, parses and maps one page. Reports the head as soon as the page is parsed.
async fn fetch_page(
    inner: Arc<Inner>,
    op: Arc<CompiledOperation>,
    si: usize,
    ctx: Arc<Map<String, Value>>,
    st: PageState,
    extract: Extract,
    head_tx: oneshot::Sender<Head>,
) -> Result<Items, EngineError> {
    let step = &op.steps[si];
    let paging = step.paging.as_ref();
    let page_no = paging.map(|_| st.index + 1);
    let origin = origin(&op, Some(si), page_no);
    let mut c = (*ctx).clone();
    c.insert("page".into(), page_value(paging, &st));
    let ctx_value = Value::Object(c);
    let req: CompiledRequest = step.request.clone();
    let mut prepared = req.render(&inner.templates, &inner.base_url, &ctx_value)?;
    if let Some(u) = &st.next {
        prepared.url = u.clone();
    }
    let hook_set = inner.hooks.for_step(&op.key, si, op.primary);
    let empty = Map::new();
    let ctx_map = ctx_value.as_object().unwrap_or(&empty);
    if let Some(b) = hook_set.as_ref().and_then(|h| h.before.as_ref()) {
        inner
            .hooks
            .before(b, &op.key, &inner.settings, ctx_map, &mut prepared)?;
    }
    let accept = |_: &Response| Verdict::Accept;
    let max_attempts = inner.http_max_attempts();
    // Attempts of this page so far: status retries (in `send_counted`) and body retries
    // (below) share the budget.
    let mut attempt = 0;
    loop {
        let resp = match inner
            .http
            .send_counted(&prepared, &origin, &step.success, &accept, attempt)
            .await
        {
            Ok((r, used)) => {
                attempt = used;
                r
            }
            Err(HttpError::Status { status: 404, .. }) if step.allow_not_found => {
                let _ = head_tx.send(Head::default());
                return Ok(match extract {
                    Extract::Map => Items::Records(Vec::new()),
                    Extract::Raw => Items::Raw(Vec::new()),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let doc = if resp.body.iter().all(u8::is_ascii_whitespace) {
            Ok(Doc::Null)
        } else {
            Doc::parse(&resp.body)
        };
        let doc = match doc {
            Ok(d) => d,
            Err(e) => {
                if attempt < max_attempts {
                    tracing::warn!(target: "wsc::engine", %origin, attempt, error = %e, "response body is not valid JSON, retrying");
                    inner
                        .http
                        .counters()
                        .retries
                        .fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(inner.http_backoff(attempt)).await;
                    continue;
                }
                return Err(HttpError::BadBody {
                    origin,
                    method: prepared.method.as_str(),
                    url: inner.http.redactor().url(&prepared.url),
                    status: resp.status,
                    reason: format!("the body is not valid JSON ({e})"),
                    body_start: inner.http.body_start(&resp.body),
                    attempts: attempt,
                }
                .into());
            }
        };
        if let Some((message, retry)) = check_rules(&inner, &step.errors, &doc, &resp) {
            if retry && attempt < max_attempts {
                inner
                    .http
                    .counters()
                    .retries
                    .fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(inner.http_backoff(attempt)).await;
                continue;
            }
            return Err(EngineError::InBody {
                origin,
                status: resp.status,
                message,
            });
        }
        let records: Vec<&Doc<'_>> = match extract {
            Extract::Map => op.mapper.select_records(&doc),
            Extract::Raw => select_all(&step.records, &doc),
        };
        let mut head = Head {
            count: records.len(),
            url: Some(resp.url.clone()),
            ..Head::default()
        };
        if let Some(p) = paging {
            head.total = p
                .total
                .as_ref()
                .and_then(|t| t.first(&doc))
                .and_then(as_u64);
            head.cursor = p
                .cursor
                .as_ref()
                .and_then(|c| c.first(&doc))
                .and_then(as_text);
            head.next_url = p
                .next_url
                .as_ref()
                .and_then(|c| c.first(&doc))
                .and_then(as_text);
            if p.kind == PagingKind::LinkHeader {
                head.link_next = resp
                    .headers
                    .get_all("link")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(link_next);
            }
            if let Some(sw) = &p.stop_when {
                let mut c = match &ctx_value {
                    Value::Object(m) => m.clone(),
                    _ => Map::new(),
                };
                c.insert("response".into(), doc.to_value());
                let r = inner.templates.render(sw, &Value::Object(c))?;
                head.stop = r.trim() == "true";
            }
        }
        for (k, p) in &step.save {
            if let Some(v) = p.first(&doc) {
                head.saved.insert(k.clone(), v.to_value());
            }
        }
        let _ = head_tx.send(head);
        // Let the driver request the next page before this one is mapped, so fetching page
        // n+1 overlaps mapping page n (without this the driver waits in the same worker's slot
        // until the mapping is done).
        tokio::task::yield_now().await;
        let after = hook_set
            .as_ref()
            .and_then(|h| h.after.as_ref().map(|a| (h.clone(), a.clone())));
        return Ok(match extract {
            Extract::Map => {
                let mut out = Vec::with_capacity(records.len());
                for r in records {
                    out.push(op.mapper.map(r).map_err(|e| EngineError::Map {
                        origin: origin.clone(),
                        message: inner.http.redactor().text(&e.to_string()),
                    })?);
                }
                if let Some((set, hook)) = after {
                    let names = op.mapper.attribute_names().clone();
                    let ty = op.mapper.object_type().clone();
                    let mut json: Vec<Value> = out.iter().map(|r| r.to_json(&names)).collect();
                    inner.hooks.after(
                        &set,
                        &hook,
                        &op.key,
                        &inner.settings,
                        ctx_map,
                        &resp,
                        &mut json,
                    )?;
                    out = json
                        .iter()
                        .map(|v| {
                            Record::from_json(v, &ty, &names).map_err(|m| {
                                EngineError::Hook(format!(
                                    "{}: a record the hook left is not valid: {m}",
                                    hook.name()
                                ))
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
                Items::Records(out)
            }
            Extract::Raw => {
                let mut raw: Vec<Value> = records.into_iter().map(|r| r.to_value()).collect();
                if let Some((set, hook)) = after {
                    inner.hooks.after(
                        &set,
                        &hook,
                        &op.key,
                        &inner.settings,
                        ctx_map,
                        &resp,
                        &mut raw,
                    )?;
                }
                Items::Raw(raw)
            }
        });
    }
}

fn select_all<'d, 'a>(p: &CompiledPath, doc: &'d Doc<'a>) -> Vec<&'d Doc<'a>> {
    match p.select(doc) {
        crate::path::Selection::None => Vec::new(),
        crate::path::Selection::One(Doc::Array(items)) if !p.is_root() => items.iter().collect(),
        s => s.into_vec(),
    }
}

fn as_u64(d: &Doc<'_>) -> Option<u64> {
    d.as_u64()
        .or_else(|| d.as_str().and_then(|s| s.trim().parse().ok()))
}

fn as_text(d: &Doc<'_>) -> Option<String> {
    match d {
        Doc::Null => None,
        Doc::String(s) => Some(s.to_string()),
        Doc::Number(n) => Some(n.as_str().to_string()),
        Doc::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The `rel="next"` target of an RFC 8288 Link header value.
fn link_next(header: &str) -> Option<String> {
    for part in header.split(',') {
        let part = part.trim();
        let (target, params) = part.split_once('>')?;
        let target = target.trim().strip_prefix('<')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=")
                .map(|v| {
                    v.trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
                })
                .unwrap_or(false)
        });
        if is_next {
            return Some(target.to_string());
        }
    }
    None
}

fn check_rules(
    inner: &Inner,
    rules: &[CompiledErrorRule],
    doc: &Doc<'_>,
    resp: &Response,
) -> Option<(String, bool)> {
    for r in rules {
        let hit = if let Some(p) = &r.path {
            match (&r.equals, p.first(doc)) {
                (Some(want), Some(got)) => &got.to_value() == want,
                (Some(_), None) => false,
                (None, Some(got)) => !matches!(got, Doc::Null | Doc::Bool(false)),
                (None, None) => false,
            }
        } else if let Some(text) = &r.body_contains {
            memchr::memmem::find(&resp.body, text.as_bytes()).is_some()
        } else if let Some(e) = &r.expression {
            let ctx = json!({ "response": doc.to_value() });
            inner
                .templates
                .render(e, &ctx)
                .map(|s| s.trim() == "true")
                .unwrap_or(false)
        } else {
            false
        };
        if hit {
            let message = r
                .message
                .as_ref()
                .and_then(|m| m.first(doc))
                .map(|m| match m.as_str() {
                    Some(s) => s.to_string(),
                    None => m.to_value().to_string(),
                })
                .unwrap_or_else(|| inner.http.body_start(&resp.body));
            return Some((inner.http.redactor().text(&message), r.retry));
        }
    }
    None
}

impl Inner {
    fn http_max_attempts(&self) -> u32 {
        self.http.retry_config().max_attempts
    }

    fn http_backoff(&self, attempt: u32) -> std::time::Duration {
        self.http.retry_config().backoff(attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next() {
        let h = r#"<https://a.test/x?page=2>; rel="next", <https://a.test/x?page=9>; rel="last""#;
        assert_eq!(link_next(h).as_deref(), Some("https://a.test/x?page=2"));
        assert_eq!(link_next(r#"<https://a.test/x?page=9>; rel="last""#), None);
        assert_eq!(
            link_next(r#"<https://a.test/n>; rel="prev next""#).as_deref(),
            Some("https://a.test/n")
        );
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
