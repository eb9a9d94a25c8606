//! Running a case: the connector's operation against a replay server serving the case's
//! cassette, with every request rerouted there; the records it produced and the requests it
//! sent become the two snapshot texts.

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;
use url::Url;
use wsc_engine::settings::ResolvedSettings;
use wsc_engine::{Engine, EngineError, RunContext, Wire};
use wsc_spec::Loaded;
use wsc_testkit::replay::{Cassette, ReceivedRequest, ReplayServer};

use crate::case::{LoadedCase, Operation};
use crate::redact::{self, Secrets};

/// What a case produced.
#[derive(Debug, Clone)]
pub struct CaseOutput {
    /// The records snapshot text: the records as a JSON array (the object for get_object,
    /// `ok` for test_connection), or `error: ...` when the operation failed.
    pub records: String,
    /// The requests snapshot text: each request's method, path and query, headers (credentials
    /// redacted) and body, sorted (concurrent pages arrive in any order).
    pub requests: String,
    /// Requests that matched no interaction and interactions never used; empty when the
    /// cassette was used exactly.
    pub problems: String,
}

/// A case that could not run (as opposed to an operation that failed, which is snapshotted).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The case file.
    #[error(transparent)]
    Case(#[from] crate::case::CaseError),
    /// The cassette.
    #[error(transparent)]
    Cassette(#[from] wsc_testkit::replay::CassetteError),
    /// Settings of the case.
    #[error("{case}: settings: {message}")]
    Settings {
        /// The case file.
        case: String,
        /// What is wrong.
        message: String,
    },
    /// The engine could not be built.
    #[error("{case}: {source}")]
    Engine {
        /// The case file.
        case: String,
        /// Why.
        source: Box<EngineError>,
    },
    /// The replay server could not start.
    #[error("cannot start the replay server: {0}")]
    Io(#[from] std::io::Error),
}

/// Resolves a case's settings: only the case's values and the connector's defaults; nothing is
/// read from the environment, so a case runs the same everywhere.
pub fn case_settings(
    loaded: &Loaded,
    settings: &IndexMap<String, Value>,
    case: &str,
) -> Result<ResolvedSettings, RunError> {
    use wsc_engine::settings::{Source, Supplied};
    let source = Source::File(case.to_string());
    let supplied = [Supplied {
        source: &source,
        values: settings,
    }];
    wsc_engine::settings::resolve_from(&loaded.connector, &supplied, &|_| None).map_err(|errs| {
        RunError::Settings {
            case: case.to_string(),
            message: errs
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        }
    })
}

/// Runs a case of `loaded`.
pub async fn run_case(loaded: &Loaded, case: &LoadedCase) -> Result<CaseOutput, RunError> {
    let shown = case.file.display().to_string();
    let (cassette, dir) = Cassette::load(&case.cassette_path())?;
    let mut secrets = Secrets::of(loaded, &case.case.settings, &cassette);
    if let Some(p) = case.case.plan.as_ref().and_then(|p| p.password.as_deref()) {
        secrets.add(p, "password");
    }
    let settings = case_settings(loaded, &case.case.settings, &shown)?;
    let server = ReplayServer::start(cassette, dir).await?;
    let wire = Wire {
        reroute: Some(Url::parse(&server.base_url()).expect("replay URL")),
        ..Wire::default()
    };
    let engine_err = |source: EngineError| RunError::Engine {
        case: shown.clone(),
        source: Box::new(source),
    };
    let auth =
        wsc_engine::authenticator_with(loaded, &settings, None, &wire).map_err(engine_err)?;
    let engine = Engine::new(
        loaded,
        &settings,
        auth,
        RunContext {
            wire,
            ..RunContext::default()
        },
    )
    .map_err(engine_err)?;
    let result = run_operation(&engine, case).await;
    let report = server.report();
    server.shutdown().await;
    let records = match result {
        Ok(v) => v,
        Err(e) => format!("error: {}", secrets.apply(&e.to_string())),
    };
    Ok(CaseOutput {
        records,
        requests: render_requests(&report.requests, &secrets),
        problems: report.problems(),
    })
}

async fn run_operation(engine: &Engine, case: &LoadedCase) -> Result<String, EngineError> {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    match &case.operation {
        Operation::TestConnection => engine.test_connection().await.map(|()| "ok".into()),
        Operation::Provision if !case.case.plans.is_empty() => {
            let mut results = wsc_spec::plan::Results::default();
            let mut out = Vec::new();
            for (i, r) in case.case.plans.iter().enumerate() {
                let resolved = r
                    .resolve(&results)
                    .map_err(|e| EngineError::Plan(format!("request {}: {e}", i + 1)))?;
                let done = engine.provision(&resolved).await?;
                if let Some(name) = &r.name {
                    results.insert(name, done.to_reference());
                }
                out.push(done.to_json());
            }
            Ok(pretty(&Value::Array(out)))
        }
        Operation::Provision => {
            let plan = case
                .case
                .plan
                .as_ref()
                .ok_or_else(|| EngineError::Plan("the case has no `plan`".into()))?;
            let done = engine.provision(plan).await?;
            Ok(pretty(&done.to_json()))
        }
        Operation::Partitions => {
            let parts = engine.partitions("account").await?;
            Ok(pretty(&Value::Array(parts)))
        }
        Operation::GetObject { object } => {
            let names = engine
                .attribute_names(wsc_spec::model::OperationKey::get_object(object).as_str())?;
            let identity = case.case.identity.as_deref().unwrap_or_default();
            let rec = engine.get_object(object, identity).await?;
            Ok(pretty(&rec.to_json(&names)))
        }
        Operation::Aggregate { object } => {
            let names = engine.attribute_names(&Engine::aggregation_key(object))?;
            let (records, _) = engine
                .aggregate(object, case.case.partition.as_deref())
                .await?
                .collect()
                .await?;
            let out: Vec<Value> = records.iter().map(|r| r.to_json(&names)).collect();
            Ok(pretty(&Value::Array(out)))
        }
    }
}

/// Transport headers that say nothing about the connector.
const NOISE: &[&str] = &[
    "host",
    "user-agent",
    "content-length",
    "accept-encoding",
    "connection",
    "transfer-encoding",
];

/// The requests snapshot text.
pub fn render_requests(requests: &[ReceivedRequest], secrets: &Secrets) -> String {
    let mut blocks: Vec<String> = requests
        .iter()
        .map(|r| render_request(r, secrets))
        .collect();
    blocks.sort();
    blocks.join("\n")
}

fn render_request(r: &ReceivedRequest, secrets: &Secrets) -> String {
    let mut out = secrets.apply(&r.line());
    out.push('\n');
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| !NOISE.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), redact::header_value(k, v, secrets)))
        .collect();
    headers.sort();
    let content_type = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    for (k, v) in &headers {
        out.push_str(&format!("  {k}: {v}\n"));
    }
    if !r.body.is_empty() {
        out.push_str("  body:\n");
        for line in render_body(&content_type, &r.body).lines() {
            out.push_str("    ");
            out.push_str(&secrets.apply(line));
            out.push('\n');
        }
    }
    out
}

fn render_body(content_type: &str, body: &str) -> String {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut fields: Vec<String> = url::form_urlencoded::parse(body.as_bytes())
            .map(|(k, v)| format!("{k}={}", redact::form_field(&k, &v)))
            .collect();
        fields.sort();
        return fields.join("\n");
    }
    if content_type.starts_with("multipart/form-data") {
        return redact::multipart_fields(body)
            .into_iter()
            .map(|(k, v)| format!("{k}={}", redact::form_field(&k, &v)))
            .collect::<Vec<_>>()
            .join("\n");
    }
    if content_type.contains("xml") {
        return redact::mask_ws_security(body);
    }
    match serde_json::from_str::<Value>(body) {
        Ok(mut v) => {
            redact::json_fields(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_default()
        }
        Err(_) => body.to_string(),
    }
}

/// Loads a connector for fixtures, with its errors rendered.
pub fn load_connector(path: &Path) -> Result<Arc<Loaded>, String> {
    wsc_spec::load_file(path)
        .map(Arc::new)
        .map_err(|e| match e {
            wsc_spec::LoadError::Invalid(r) => r.render(),
            other => other.to_string(),
        })
}
