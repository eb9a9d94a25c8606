//! `wsc aggregate`, `wsc get`, `wsc test-connection`, `wsc partitions`, `wsc demo`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::Value;
use wsc_engine::output::{self, Format};
use wsc_engine::{Engine, EngineError, RunContext};
use wsc_spec::{LoadError, Loaded};

use crate::cli::{AggregateArgs, ConnectorArgs, DemoArgs, GetArgs, OutputFormat};
use crate::exit;

/// A failure with its exit code, already explained to the user.
pub struct Failed(pub u8);

pub(crate) fn fail(code: u8, msg: impl std::fmt::Display) -> Failed {
    eprintln!("error: {msg}");
    Failed(code)
}

/// Loads a connector, printing located errors.
pub fn load(path: &Path) -> Result<Loaded, Failed> {
    match wsc_spec::load_file(path) {
        Ok(l) => {
            if l.warnings.warning_count() > 0 {
                eprint!("{}", l.warnings.render());
            }
            Ok(l)
        }
        Err(LoadError::Invalid(report)) => {
            eprint!("{}", report.render());
            Err(Failed(exit::INVALID))
        }
        Err(e) => Err(fail(exit::INVALID, e)),
    }
}

/// Setting values by name.
type Values = IndexMap<String, Value>;

/// Parses `--set` values and the `--settings` file.
pub(crate) fn settings_sources(args: &ConnectorArgs) -> Result<(Values, Values), Failed> {
    let mut explicit = IndexMap::new();
    for kv in &args.set {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(fail(
                exit::INVALID,
                format!("`--set {kv}` is not NAME=VALUE"),
            ));
        };
        explicit.insert(k.trim().to_string(), Value::String(v.to_string()));
    }
    let mut file = IndexMap::new();
    if let Some(path) = &args.settings {
        let bytes = std::fs::read(path).map_err(|e| {
            fail(
                exit::INVALID,
                format!("cannot read settings file {}: {e}", path.display()),
            )
        })?;
        let v =
            wsc_spec::load::parse_yaml_value(&bytes, &path.display().to_string()).map_err(|r| {
                eprint!("{}", r.render());
                Failed(exit::INVALID)
            })?;
        match v {
            Value::Object(m) => file.extend(m),
            Value::Null => {}
            _ => {
                return Err(fail(
                    exit::INVALID,
                    format!(
                        "settings file {} must be a mapping of NAME: VALUE",
                        path.display()
                    ),
                ));
            }
        }
    }
    Ok((explicit, file))
}

/// Loads the connector, resolves settings and builds the engine.
pub fn engine(args: &ConnectorArgs) -> Result<Engine, Failed> {
    let loaded = load(&args.connector)?;
    engine_for(&loaded, args, &|k| std::env::var(k).ok())
}

pub(crate) fn engine_for(
    loaded: &Loaded,
    args: &ConnectorArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Engine, Failed> {
    let settings = resolve_settings(loaded, args, env)?;
    let store = crate::auth::store_for(loaded, args)?;
    let auth =
        wsc_engine::authenticator(loaded, &settings, store).map_err(|e| fail(exit::INVALID, e))?;
    let run = run_context(loaded, args, &settings)?;
    Engine::new(loaded, &settings, auth, run).map_err(|e| fail(exit::INVALID, e))
}

/// Resolves the connector's settings from `--set`, `--settings`, the environment (`env`) and
/// defaults, printing every problem.
pub(crate) fn resolve_settings(
    loaded: &Loaded,
    args: &ConnectorArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<wsc_engine::settings::ResolvedSettings, Failed> {
    let (explicit, file) = settings_sources(args)?;
    wsc_engine::settings::resolve(&loaded.connector, &explicit, &file, env).map_err(|errs| {
        for e in &errs {
            eprintln!("error: {e}");
        }
        Failed(exit::INVALID)
    })
}

/// Where hook state of this run is persisted (set by [`run_context`]).
static STATE_TARGET: std::sync::OnceLock<(
    std::sync::Arc<dyn wsc_store::Store>,
    wsc_store::InstanceKey,
)> = std::sync::OnceLock::new();

fn has_hooks(loaded: &Loaded) -> bool {
    loaded.connector.operations.iter().iter().any(|(_, _, op)| {
        op.hooks.is_some()
            || op
                .steps
                .iter()
                .any(|s| s.hooks.is_some() || !s.save.is_empty())
    })
}

/// The run context: for a connector with hooks or steps that `save`, the connector state
/// (`state.*`) of this instance from the state store (unless `--state none`).
pub(crate) fn run_context(
    loaded: &Loaded,
    args: &ConnectorArgs,
    settings: &wsc_engine::settings::ResolvedSettings,
) -> Result<RunContext, Failed> {
    if !has_hooks(loaded) {
        return Ok(RunContext::default());
    }
    let Some(path) = crate::auth::store_path(args) else {
        return Ok(RunContext::default());
    };
    let store = crate::auth::open(&path)?;
    let key = wsc_engine::auth::instance_key(loaded, settings);
    let state = store.load_state(&key).map_err(|e| fail(exit::FAILURE, e))?;
    let _ = STATE_TARGET.set((store, key));
    Ok(RunContext {
        state: Value::Object(state),
        ..RunContext::default()
    })
}

/// Persists the connector-state changes hooks made (call after a successful run).
pub(crate) fn persist_state(engine: &Engine) -> Result<(), Failed> {
    let changes = engine.state_changes();
    if changes.is_empty() {
        return Ok(());
    }
    let Some((store, key)) = STATE_TARGET.get() else {
        tracing::warn!(
            "hooks changed the connector state, but there is no state store to keep it (--state none)"
        );
        return Ok(());
    };
    store
        .save_state(key, &state_values(&changes))
        .map_err(|e| fail(exit::FAILURE, e))
}

/// State changes as the store writes them: set values, and `null` for removed keys.
pub(crate) fn state_values(changes: &wsc_hooks::StateChanges) -> serde_json::Map<String, Value> {
    let mut values = changes.set.clone();
    for k in &changes.removed {
        values.insert(k.clone(), Value::Null);
    }
    values
}

fn engine_error(e: EngineError) -> Failed {
    let code = match e {
        EngineError::NoOperation { .. }
        | EngineError::NoPartition { .. }
        | EngineError::Settings(_) => exit::INVALID,
        _ => exit::FAILURE,
    };
    fail(code, e)
}

/// A tokio runtime for one command.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// Parses `account`, `group`, `group:TYPE` into an object type.
pub fn object_type(s: &str) -> String {
    match s.split_once(':') {
        Some(("group", t)) => t.to_string(),
        _ => s.to_string(),
    }
}

/// The sink for `format`. CSV gets its header up front, so a run without records still
/// writes the columns.
fn open_sink(
    engine: &Engine,
    object: &str,
    format: OutputFormat,
    writer: Box<dyn Write + Send>,
) -> Box<dyn output::Sink + Send> {
    let key = Engine::aggregation_key(object);
    match (
        format,
        engine.attribute_names(&key),
        engine.has_members(&key),
    ) {
        (OutputFormat::Csv, Ok(names), Ok(members)) => {
            Box::new(output::Csv::with_header(writer, &names, members))
        }
        // An unknown object type: the run reports it.
        _ => output::sink(format_of(format), writer),
    }
}

fn format_of(f: OutputFormat) -> Format {
    match f {
        OutputFormat::Jsonl => Format::JsonLines,
        OutputFormat::Json => Format::JsonPretty,
        OutputFormat::Csv => Format::Csv,
    }
}

/// Where records go: stdout, or a temporary file renamed over `--out` only on success.
pub(crate) struct Destination {
    tmp: Option<(PathBuf, PathBuf)>,
}

impl Destination {
    pub(crate) fn open(
        out: &Option<PathBuf>,
    ) -> Result<(Destination, Box<dyn Write + Send>), Failed> {
        match out {
            None => Ok((
                Destination { tmp: None },
                Box::new(std::io::BufWriter::with_capacity(
                    1 << 16,
                    std::io::stdout(),
                )),
            )),
            Some(path) => {
                let dir = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "out".into());
                let tmp = dir.join(format!(".{name}.wsc-tmp-{}", std::process::id()));
                let f = std::fs::File::create(&tmp).map_err(|e| {
                    fail(
                        exit::FAILURE,
                        format!("cannot create {}: {e}", tmp.display()),
                    )
                })?;
                Ok((
                    Destination {
                        tmp: Some((tmp, path.clone())),
                    },
                    Box::new(std::io::BufWriter::with_capacity(1 << 16, f)),
                ))
            }
        }
    }

    pub(crate) fn commit(self) -> Result<(), Failed> {
        if let Some((tmp, path)) = &self.tmp {
            std::fs::rename(tmp, path).map_err(|e| {
                let _ = std::fs::remove_file(tmp);
                fail(
                    exit::FAILURE,
                    format!("cannot write {}: {e}", path.display()),
                )
            })?;
        }
        Ok(())
    }

    pub(crate) fn abandon(self) {
        if let Some((tmp, _)) = &self.tmp {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Shows records, pages, rate and retries on a terminal while a run goes.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    fn start(engine: &Engine, label: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                ticker: None,
            };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {prefix} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_prefix(label.to_string());
        let b = bar.clone();
        let e = engine.clone();
        let started = Instant::now();
        let ticker = tokio::spawn(async move {
            loop {
                let s = e.summary();
                let secs = started.elapsed().as_secs_f64().max(0.001);
                b.set_message(format!(
                    "{} records, {} pages, {:.0} records/s, {} retries",
                    s.records,
                    s.pages,
                    s.records as f64 / secs,
                    s.retries
                ));
                b.tick();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Progress {
            bar: Some(bar),
            ticker: Some(ticker),
        }
    }

    fn finish(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

/// Aggregates into a sink; returns the record count.
async fn aggregate_into(
    engine: &Engine,
    object: &str,
    partition: Option<&str>,
    sink: &mut dyn output::Sink,
) -> Result<u64, EngineError> {
    let key = Engine::aggregation_key(object);
    let names = engine.attribute_names(&key)?;
    let mut stream = engine.aggregate(object, partition).await?;
    let mut n = 0u64;
    while let Some(batch) = stream.next_batch().await {
        let batch = batch?;
        for r in &batch {
            sink.write(r, &names)
                .map_err(|e| EngineError::Output(e.to_string()))?;
        }
        n += batch.len() as u64;
    }
    stream.finish().await?;
    Ok(n)
}

fn summary_line(engine: &Engine, what: &str, n: u64, started: Instant) -> String {
    let s = engine.summary();
    let secs = started.elapsed().as_secs_f64();
    format!(
        "{what}: {n} records, {} pages, {} requests, {} retries, {} token requests in {secs:.2}s ({:.0} records/s)",
        s.pages,
        s.requests,
        s.retries,
        s.token_requests,
        n as f64 / secs.max(0.000_001)
    )
}

/// `wsc aggregate`.
pub fn aggregate(args: &AggregateArgs) -> Result<(), Failed> {
    if args.delta {
        return crate::delta::aggregate(args);
    }
    let rt = runtime();
    let engine = engine(&args.connector)?;
    let object = object_type(&args.object);
    let (dest, writer) = Destination::open(&args.out)?;
    let mut sink = open_sink(&engine, &object, args.format, writer);
    let started = Instant::now();
    let result = rt.block_on(async {
        let progress = Progress::start(&engine, &format!("aggregating {object}"));
        // Ctrl-C ends the run like a failure: the temporary file is removed, `--out` is left
        // as it was.
        let r = tokio::select! {
            biased;
            _ = tokio::signal::ctrl_c() => None,
            r = aggregate_into(&engine, &object, args.partition.as_deref(), sink.as_mut()) => Some(r),
        };
        progress.finish();
        r
    });
    match result {
        Some(Ok(n)) => {
            sink.finish()
                .map_err(|e| fail(exit::FAILURE, format!("writing output: {e}")))?;
            dest.commit()?;
            persist_state(&engine)?;
            eprintln!("{}", summary_line(&engine, &object, n, started));
            Ok(())
        }
        Some(Err(e)) => {
            drop(sink);
            dest.abandon();
            Err(engine_error(e))
        }
        None => {
            drop(sink);
            dest.abandon();
            let kept = match &args.out {
                Some(path) => format!("; {} was left as it was", path.display()),
                None => String::new(),
            };
            Err(fail(exit::FAILURE, format!("interrupted{kept}")))
        }
    }
}

/// `wsc get`.
pub fn get(args: &GetArgs) -> Result<(), Failed> {
    let rt = runtime();
    let engine = engine(&args.connector)?;
    let object = object_type(&args.object);
    let key = wsc_spec::model::OperationKey::get_object(&object).into_string();
    let names = engine.attribute_names(&key).map_err(engine_error)?;
    let rec = rt
        .block_on(engine.get_object(&object, &args.identity))
        .map_err(engine_error)?;
    persist_state(&engine)?;
    let v = rec.to_json(&names);
    println!(
        "{}",
        serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
    );
    Ok(())
}

/// `wsc test-connection`.
pub fn test_connection(args: &ConnectorArgs) -> Result<(), Failed> {
    let rt = runtime();
    let engine = engine(args)?;
    let started = Instant::now();
    rt.block_on(engine.test_connection())
        .map_err(engine_error)?;
    persist_state(&engine)?;
    println!(
        "ok: connection works ({} ms)",
        started.elapsed().as_millis()
    );
    Ok(())
}

/// `wsc partitions`.
pub fn partitions(args: &ConnectorArgs, object: &str) -> Result<(), Failed> {
    let rt = runtime();
    let engine = engine(args)?;
    let parts = rt
        .block_on(engine.partitions(&object_type(object)))
        .map_err(engine_error)?;
    for p in parts {
        println!("{p}");
    }
    Ok(())
}

/// The demo connector, built in so `wsc demo` works from any directory.
const DEMO_CONNECTOR: &str = include_str!("../../../connectors/demo.yaml");

/// `wsc demo`: starts the synthetic API on 127.0.0.1 and aggregates it through demo.yaml.
pub fn demo(args: &DemoArgs) -> Result<(), Failed> {
    use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig};
    let rt = runtime();
    let secret = format!("demo-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let oauth = wsc_testkit::synthetic::OAuth2Config::new("demo-client", secret.clone())
        .with_token_lifetime(args.token_lifetime);
    let config = SyntheticConfig::new(args.users)
        .with_groups(args.groups)
        .with_auth(AuthMode::OAuth2(oauth));
    if args.serve {
        eprintln!(
            "serving the synthetic API ({} users, {} groups); OAuth2 client credentials: client_id demo-client, client_secret {secret}",
            args.users, args.groups
        );
        return rt
            .block_on(SyntheticApi::serve_until_ctrl_c(config, args.port))
            .map_err(|e| fail(exit::FAILURE, e));
    }
    let loaded = wsc_spec::load_bytes(
        DEMO_CONNECTOR.as_bytes(),
        "connectors/demo.yaml",
        Path::new("connectors"),
    )
    .map_err(|e| fail(exit::FAILURE, e))?;
    rt.block_on(async {
        let api = SyntheticApi::start(config)
            .await
            .map_err(|e| fail(exit::FAILURE, e))?;
        eprintln!(
            "synthetic identity API on {} ({} users, {} groups)",
            api.base_url(),
            args.users,
            args.groups
        );
        let base_url = api.base_url();
        let env = move |k: &str| match k {
            "WSC_BASE_URL" => Some(base_url.clone()),
            "WSC_CLIENT_SECRET" => Some(secret.clone()),
            _ => None,
        };
        let cargs = ConnectorArgs {
            connector: PathBuf::from("connectors/demo.yaml"),
            set: Vec::new(),
            settings: None,
            // The demo keeps its tokens in memory: nothing is written to the state store.
            state: Some(PathBuf::from(crate::auth::NO_STORE)),
        };
        let engine = engine_for(&loaded, &cargs, &env)?;
        engine.test_connection().await.map_err(engine_error)?;
        let mut counts = Vec::new();
        for object in ["account", "group"] {
            let started = Instant::now();
            let (dest, writer): (Option<Destination>, Box<dyn Write + Send>) = match &args.out {
                Some(dir) => {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        fail(exit::FAILURE, format!("cannot create {}: {e}", dir.display()))
                    })?;
                    let (d, w) = Destination::open(&Some(dir.join(format!("{object}s.jsonl"))))?;
                    (Some(d), w)
                }
                None => (None, Box::new(std::io::sink())),
            };
            let mut sink = output::sink(Format::JsonLines, writer);
            let before = engine.summary();
            let progress = Progress::start(&engine, &format!("aggregating {object}s"));
            let r = aggregate_into(&engine, object, None, sink.as_mut()).await;
            progress.finish();
            let n = match r {
                Ok(n) => n,
                Err(e) => {
                    if let Some(d) = dest {
                        d.abandon();
                    }
                    return Err(engine_error(e));
                }
            };
            sink.finish()
                .map_err(|e| fail(exit::FAILURE, format!("writing output: {e}")))?;
            if let Some(d) = dest {
                d.commit()?;
            }
            let after = engine.summary();
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "{object}s: {n} records, {} pages, {} requests, {} retries in {secs:.2}s ({:.0} records/s)",
                after.pages - before.pages,
                after.requests - before.requests,
                after.retries - before.retries,
                n as f64 / secs.max(0.000_001)
            );
            counts.push(n);
        }
        let stats = api.stats();
        let ok = counts[0] == args.users as u64 && counts[1] == args.groups as u64;
        println!(
            "demo summary: accounts {} (API holds {}), groups {} (API holds {}), {} HTTP requests served, {} token requests: {}",
            counts[0],
            args.users,
            counts[1],
            args.groups,
            stats.requests,
            engine.summary().token_requests,
            if ok { "ok" } else { "MISMATCH" }
        );
        api.shutdown().await;
        if ok {
            Ok(())
        } else {
            Err(Failed(exit::FAILURE))
        }
    })
}
