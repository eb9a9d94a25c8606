//! `wsc record` and `wsc test`: recording cassettes from a live API and checking connector
//! fixtures against their snapshots (the same `.snap` files `cargo test` uses).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use wsc_engine::{Engine, RunContext, Wire};
use wsc_fixtures::record::{Recorder, case_for};
use wsc_fixtures::redact::Secrets;
use wsc_fixtures::{Operation, case};

use crate::cli::{RecordArgs, TestArgs};
use crate::common::{Failed, fail, load, process_env, resolve_settings, runtime};
use crate::exit;
use crate::files::write_atomic;

/// `wsc record`.
pub fn record(args: &RecordArgs) -> Result<(), Failed> {
    let loaded = load(&args.connector.connector)?;
    let operation = case::parse_operation(&args.op)
        .map_err(|why| fail(exit::INVALID, format!("--op {}: {why}", args.op)))?;
    if operation == Operation::Provision {
        return Err(fail(
            exit::INVALID,
            "wsc record runs read operations; write-operation cases are written by hand \
             (see docs/testing.md)",
        ));
    }
    let needs_identity = matches!(operation, Operation::GetObject { .. });
    if needs_identity != args.identity.is_some() {
        return Err(fail(
            exit::INVALID,
            "--identity is required with --op get_object.<type> and allowed only there",
        ));
    }
    let settings = resolve_settings(&loaded, &args.connector, &process_env)?;
    let recorder = Arc::new(Recorder::new());
    let wire = Wire {
        tap: Some(recorder.clone()),
        ..Wire::default()
    };
    // No state store: the recording includes the token request, so it replays on its own.
    let auth = wsc_engine::authenticator_with(&loaded, &settings, None, &wire)
        .map_err(|e| fail(exit::INVALID, e))?;
    let mut secrets = Secrets::default();
    let values: indexmap::IndexMap<String, Value> = loaded
        .connector
        .settings
        .keys()
        .filter_map(|k| settings.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    secrets.add_settings(&loaded, &values);
    for s in auth.secrets() {
        secrets.add(&s, "credential");
    }
    let engine = Engine::new(
        &loaded,
        &settings,
        auth,
        RunContext {
            wire,
            ..RunContext::default()
        },
    )
    .map_err(|e| fail(exit::INVALID, e))?;
    let rt = runtime();
    let result = rt.block_on(run_live(&engine, &operation, args));
    if let Err(e) = &result {
        errln!("warning: the operation failed ({e}); the cassette records what happened");
    }
    if recorder.is_empty() {
        return Err(fail(exit::FAILURE, "nothing was sent; no cassette written"));
    }
    let secrets = recorder.secrets(secrets);
    let cassette = recorder.cassette(&secrets);
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| args.op.replace('.', "_"));
    let cassette_rel = format!("cassettes/{name}.yaml");
    let case = case_for(
        &loaded,
        &args.op,
        args.identity.clone(),
        args.partition.clone(),
        &values,
        &cassette_rel,
    );
    let cassette_text = cassette.to_yaml();
    let case_text = wsc_spec::load::to_yaml(&case);
    // The last line of defence: nothing secret may reach the files.
    if secrets.occurs_in(&cassette_text) || secrets.occurs_in(&case_text) {
        return Err(fail(
            exit::FAILURE,
            "a secret value survived redaction; nothing was written (please report this)",
        ));
    }
    // A recording `wsc test` could not load again (past the cassette limits) is not written.
    let limits = wsc_spec::limits::Limits::CASSETTE;
    let too_large = cassette_text.len() > limits.max_bytes
        || wsc_spec::limits::scan(&cassette_text, limits.max_depth, limits.max_values).is_err();
    if too_large {
        return Err(fail(
            exit::FAILURE,
            format!(
                "the recording is larger than a cassette may be ({} or {} values; see \
\"Input limits\" in docs/connector-reference.md); nothing was written: record fewer pages \
(`paging.max_pages`) or a smaller partition",
                wsc_spec::load::size_text(limits.max_bytes),
                limits.max_values
            ),
        ));
    }
    let case_path = args.out.join(format!("{name}{}", case::CASE_SUFFIX));
    let cassette_path = args.out.join(&cassette_rel);
    for (path, text) in [(&cassette_path, &cassette_text), (&case_path, &case_text)] {
        write_atomic(path, text.as_bytes())
            .map_err(|e| fail(exit::FAILURE, format!("writing {}: {e}", path.display())))?;
    }
    errln!(
        "recorded {} exchange(s): {} and {}\nnext: wsc test {} --fixtures {} --update",
        recorder.len(),
        case_path.display(),
        cassette_path.display(),
        args.connector.connector.display(),
        args.out.display()
    );
    Ok(())
}

async fn run_live(
    engine: &Engine,
    operation: &Operation,
    args: &RecordArgs,
) -> Result<(), wsc_engine::EngineError> {
    match operation {
        Operation::TestConnection => engine.test_connection().await,
        Operation::Provision => Ok(()),
        Operation::Partitions => engine.partitions("account").await.map(|_| ()),
        Operation::GetObject { object } => engine
            .get_object(object, args.identity.as_deref().unwrap_or_default())
            .await
            .map(|_| ()),
        Operation::Aggregate { object } => {
            let stream = engine.aggregate(object, args.partition.as_deref()).await?;
            stream.finish().await.map(|_| ())
        }
    }
}

/// The fixture directory of a connector: `--fixtures`, else `fixtures/<name>` in the current
/// directory, else beside the connector's directory (`connectors/../fixtures/<name>`).
fn fixture_dir(args: &TestArgs) -> Result<PathBuf, Failed> {
    if let Some(d) = &args.fixtures {
        return Ok(d.clone());
    }
    let stem = connector_name(&args.connector);
    let here = PathBuf::from("fixtures").join(&stem);
    if here.is_dir() {
        return Ok(here);
    }
    let beside = args
        .connector
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("fixtures").join(&stem));
    match beside {
        Some(p) if p.is_dir() => Ok(p),
        _ => Err(fail(
            exit::INVALID,
            format!(
                "no fixtures for `{stem}`: looked for {}; pass --fixtures DIR",
                here.display()
            ),
        )),
    }
}

fn connector_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `wsc test`.
pub fn test(args: &TestArgs) -> Result<(), Failed> {
    let loaded = load(&args.connector)?;
    let dir = fixture_dir(args)?;
    let mut cases = case::discover(&dir).map_err(|e| fail(exit::INVALID, e))?;
    if let Some(only) = &args.case {
        cases.retain(|p| &case::case_name(p) == only);
    }
    if cases.is_empty() {
        return Err(fail(
            exit::INVALID,
            format!("no *{} files in {}", case::CASE_SUFFIX, dir.display()),
        ));
    }
    let name = connector_name(&args.connector);
    let rt = runtime();
    let mut failed = 0;
    let mut invalid = false;
    for file in &cases {
        let report = rt.block_on(wsc_fixtures::check_case(&loaded, &name, file, args.update));
        if !report.passed() {
            failed += 1;
        }
        invalid |= report.invalid;
        out!("{}", report.render());
    }
    outln!(
        "{} case(s), {} passed, {failed} failed",
        cases.len(),
        cases.len() - failed
    );
    if invalid {
        // A case or cassette that is not valid input (exit 2), not a mismatch (exit 1).
        return Err(Failed(exit::INVALID));
    }
    if failed > 0 {
        return Err(Failed(exit::FAILURE));
    }
    Ok(())
}
