//! What every command shares: loading a connector with located errors, resolving settings
//! (one resolver for every command), opening the state store, building an engine with the
//! connector state it reads, and failures with their exit codes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;
use wsc_auth::Secret;
use wsc_engine::history::RunHistory;
use wsc_engine::settings::{ResolvedSettings, Source, Supplied};
use wsc_engine::{Engine, EngineError, RunContext};
use wsc_spec::limits::{Limits, read_limited};
use wsc_spec::model::Auth;
use wsc_spec::{LoadError, Loaded};
use wsc_store::{InstanceKey, SqliteStore, Store};

use crate::cli::ConnectorArgs;
use crate::exit;

/// A failure with its exit code, already explained to the user.
pub struct Failed(pub u8);

/// Prints `error: MSG` and returns the failure with `code`.
pub(crate) fn fail(code: u8, msg: impl std::fmt::Display) -> Failed {
    errln!("error: {msg}");
    Failed(code)
}

/// An engine error as a failure: exit 2 when the input is wrong (unknown operation or
/// partition, bad settings), 1 when the run failed.
pub(crate) fn engine_error(e: EngineError) -> Failed {
    engine_error_kept(e, "")
}

/// [`engine_error`] with a note appended (what became of `--out`).
pub(crate) fn engine_error_kept(e: EngineError, kept: &str) -> Failed {
    let code = match e {
        EngineError::NoOperation { .. }
        | EngineError::NoPartition { .. }
        | EngineError::Settings(_) => exit::INVALID,
        _ => exit::FAILURE,
    };
    fail(code, format!("{e}{kept}"))
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

/// Loads a connector, printing located errors.
pub fn load(path: &Path) -> Result<Loaded, Failed> {
    match wsc_spec::load_file(path) {
        Ok(l) => {
            if l.warnings.warning_count() > 0 {
                err!("{}", l.warnings.render());
            }
            Ok(l)
        }
        Err(LoadError::Invalid(report)) => {
            err!("{}", report.render());
            Err(Failed(exit::INVALID))
        }
        Err(e) => Err(fail(exit::INVALID, e)),
    }
}

/// Setting values by name.
type Values = IndexMap<String, Value>;

/// The values of `--set` (text) and of the `--settings` file (typed YAML or JSON values), with
/// the file's name as the user gave it.
pub(crate) struct Given {
    set: Values,
    file: Values,
    file_name: String,
}

impl Given {
    /// As JSON, to be kept with a run (`wsc job submit`; sealed in the store).
    pub(crate) fn to_json(&self) -> Value {
        serde_json::json!({"set": self.set, "file": self.file, "file_name": self.file_name})
    }

    /// What [`Given::to_json`] wrote.
    pub(crate) fn from_json(v: &Value) -> Given {
        let map = |k: &str| -> Values {
            v.get(k)
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        Given {
            set: map("set"),
            file: map("file"),
            file_name: v
                .get("file_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }
    }
}

/// Parses `--set` values and the `--settings` file.
pub(crate) fn settings_sources(args: &ConnectorArgs) -> Result<Given, Failed> {
    let mut set = IndexMap::new();
    for kv in &args.set {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(fail(
                exit::INVALID,
                format!("`--set {kv}` is not NAME=VALUE"),
            ));
        };
        set.insert(k.trim().to_string(), Value::String(v.to_string()));
    }
    let mut file = IndexMap::new();
    let mut file_name = String::new();
    if let Some(path) = &args.settings {
        file_name = path.display().to_string();
        let bytes = read_limited(path, &Limits::SETTINGS).map_err(|e| {
            fail(
                exit::INVALID,
                format!("cannot read settings file {file_name}: {e}"),
            )
        })?;
        let v = wsc_spec::load::parse_yaml_value(&bytes, &file_name, &Limits::SETTINGS).map_err(
            |r| {
                err!("{}", r.render());
                Failed(exit::INVALID)
            },
        )?;
        match v {
            Value::Object(m) => file.extend(m),
            Value::Null => {}
            _ => {
                return Err(fail(
                    exit::INVALID,
                    format!("settings file {file_name} must be a mapping of NAME: VALUE"),
                ));
            }
        }
    }
    Ok(Given {
        set,
        file,
        file_name,
    })
}

/// The process environment, where settings come from after `--set` and `--settings`.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Resolves the connector's settings from `--set`, `--settings`, the environment (`env`) and
/// defaults, each read into its setting's type and checked against its constraints, printing
/// every problem.
pub(crate) fn resolve_settings(
    loaded: &Loaded,
    args: &ConnectorArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedSettings, Failed> {
    resolve_given(loaded, &settings_sources(args)?, env)
}

/// Resolves the connector's settings from given values, the environment (`env`) and defaults.
pub(crate) fn resolve_given(
    loaded: &Loaded,
    given: &Given,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedSettings, Failed> {
    resolve_given_quietly(loaded, given, env).map_err(|errs| {
        for e in &errs {
            errln!("error: {e}");
        }
        Failed(exit::INVALID)
    })
}

/// [`resolve_given`] returning the problems instead of printing them (a worker records them
/// as the partition's error).
pub(crate) fn resolve_given_quietly(
    loaded: &Loaded,
    given: &Given,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedSettings, Vec<String>> {
    let file_source = Source::File(given.file_name.clone());
    let supplied = [
        Supplied {
            source: &Source::Set,
            values: &given.set,
        },
        Supplied {
            source: &file_source,
            values: &given.file,
        },
    ];
    wsc_engine::settings::resolve_from(&loaded.connector, &supplied, env)
        .map_err(|errs| errs.iter().map(ToString::to_string).collect())
}

/// `--state none` keeps tokens in memory only.
pub const NO_STORE: &str = "none";

/// The store path for these arguments: `--state`/`WSC_STATE`, else the default.
pub(crate) fn store_path(args: &ConnectorArgs) -> Option<PathBuf> {
    match &args.state {
        Some(p) if p.as_os_str() == NO_STORE => None,
        Some(p) => Some(p.clone()),
        None => wsc_store::default_path(),
    }
}

/// Opens the state store at `path`, or the PostgreSQL store when `path` is a `postgres://`
/// URL. The key comes from `WSC_STATE_KEY`, else from the file `WSC_STATE_KEY_FILE` names
/// (both outside the state directory); without either, the SQLite store uses the key file
/// beside the database (a PostgreSQL store requires one of them, the same on every worker).
pub(crate) fn open_store(path: &Path) -> Result<Arc<dyn Store>, Failed> {
    if let Some(url) = path.to_str().filter(|p| wsc_store::is_postgres_url(p)) {
        return crate::fleet::open_pg(url)
            .map(|s| s as Arc<dyn Store>)
            .map_err(|e| fail(exit::FAILURE, e));
    }
    let key = crate::fleet::store_key().map_err(|e| fail(exit::FAILURE, e))?;
    SqliteStore::open(path, key.as_ref().map(Secret::expose))
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| fail(exit::FAILURE, e))
}

/// The token store a run of `loaded` uses: only connectors with managed tokens open one.
pub fn token_store(
    loaded: &Loaded,
    args: &ConnectorArgs,
) -> Result<Option<Arc<dyn Store>>, Failed> {
    let managed = |a: &Auth| matches!(a, Auth::OAuth2(_) | Auth::Custom(_));
    let any_managed = match &loaded.connector.auth {
        Auth::Alternatives(a) => a.alternatives.values().any(managed),
        other => managed(other),
    };
    if !any_managed {
        return Ok(None);
    }
    match store_path(args) {
        Some(p) => open_store(&p).map(Some),
        None => {
            if args.state.is_none() {
                tracing::warn!(
                    "no home or XDG_DATA_HOME directory: tokens are kept in memory only (use --state FILE)"
                );
            }
            Ok(None)
        }
    }
}

/// Where the connector-state changes of a run are kept: the store and the instance.
pub(crate) struct StateTarget {
    /// The state store.
    pub(crate) store: Arc<dyn Store>,
    /// The connector instance.
    pub(crate) key: InstanceKey,
}

impl StateTarget {
    /// Persists the connector-state changes hooks and saving steps made during `engine`'s
    /// runs (call after a successful run).
    pub(crate) fn persist(&self, engine: &Engine) -> Result<(), Failed> {
        let changes = engine.state_changes();
        if changes.is_empty() {
            return Ok(());
        }
        let mut values = changes.set.clone();
        for k in &changes.removed {
            values.insert(k.clone(), Value::Null);
        }
        self.store
            .save_state(&self.key, &values)
            .map_err(|e| fail(exit::FAILURE, e))
    }
}

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
/// (`state.*`) of this instance from the state store (unless `--state none`), and where its
/// changes go.
pub(crate) fn run_context(
    loaded: &Loaded,
    args: &ConnectorArgs,
    settings: &ResolvedSettings,
) -> Result<(RunContext, Option<StateTarget>), Failed> {
    if !has_hooks(loaded) {
        return Ok((RunContext::default(), None));
    }
    let Some(path) = store_path(args) else {
        return Ok((RunContext::default(), None));
    };
    let store = open_store(&path)?;
    let key = wsc_engine::auth::instance_key(loaded, settings);
    let state = store.load_state(&key).map_err(|e| fail(exit::FAILURE, e))?;
    let run = RunContext {
        state: Value::Object(state),
        ..RunContext::default()
    };
    Ok((run, Some(StateTarget { store, key })))
}

/// An engine ready to run, and where its connector-state changes go.
pub(crate) struct Session {
    /// The engine.
    pub(crate) engine: Engine,
    /// Where state changes are persisted (`None`: not kept).
    pub(crate) state: Option<StateTarget>,
    /// The connector instance (tokens, state and run history are kept per instance).
    pub(crate) instance: InstanceKey,
    /// The state store's path (`None`: `--state none`, or no home directory).
    pub(crate) store: Option<PathBuf>,
}

impl Session {
    /// Loads the connector, resolves settings from the process environment and builds the
    /// engine.
    pub(crate) fn open(args: &ConnectorArgs) -> Result<Session, Failed> {
        let loaded = load(&args.connector)?;
        Session::for_loaded(&loaded, args, &process_env)
    }

    /// Builds the engine of a loaded connector, with settings from `env` after the
    /// arguments.
    pub(crate) fn for_loaded(
        loaded: &Loaded,
        args: &ConnectorArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Session, Failed> {
        let settings = resolve_settings(loaded, args, env)?;
        Session::with_settings(loaded, args, settings)
    }

    /// Builds the engine of a loaded connector with resolved settings (`args` for the state
    /// store).
    pub(crate) fn with_settings(
        loaded: &Loaded,
        args: &ConnectorArgs,
        settings: ResolvedSettings,
    ) -> Result<Session, Failed> {
        let store = token_store(loaded, args)?;
        let auth = wsc_engine::authenticator(loaded, &settings, store)
            .map_err(|e| fail(exit::INVALID, e))?;
        let (run, state) = run_context(loaded, args, &settings)?;
        let engine =
            Engine::new(loaded, &settings, auth, run).map_err(|e| fail(exit::INVALID, e))?;
        crate::logging::set_redactor(engine.redactor());
        Ok(Session {
            engine,
            state,
            instance: wsc_engine::auth::instance_key(loaded, &settings),
            store: store_path(args),
        })
    }

    /// The run history of aggregating `object` (the shrink guard), when there is a state
    /// store.
    pub(crate) fn history(
        &self,
        object: &str,
        partition: Option<&str>,
        max_shrink: Option<u8>,
    ) -> Result<Option<RunHistory>, Failed> {
        let Some(path) = &self.store else {
            tracing::info!(
                "no state store (--state none): the shrink guard has no run history to compare with"
            );
            return Ok(None);
        };
        let store = open_store(path)?;
        RunHistory::open(
            store,
            self.instance.clone(),
            &self.engine,
            object,
            partition,
            max_shrink,
        )
        .map(Some)
        .map_err(engine_error)
    }

    /// Persists the connector-state changes of the runs so far (after success).
    pub(crate) fn persist_state(&self) -> Result<(), Failed> {
        match &self.state {
            Some(t) => t.persist(&self.engine),
            None => {
                if !self.engine.state_changes().is_empty() {
                    tracing::warn!(
                        "hooks changed the connector state, but there is no state store to keep it (--state none)"
                    );
                }
                Ok(())
            }
        }
    }
}
