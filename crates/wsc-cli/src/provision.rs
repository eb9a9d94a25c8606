//! `wsc provision`: executes a provisioning plan, or with `--dry-run` prints the exact
//! requests it would send (secrets redacted) and sends nothing, token requests included.

use std::sync::Arc;

use wsc_engine::{Engine, RunContext, Wire};
use wsc_fixtures::record::Recorder;
use wsc_fixtures::redact::Secrets;
use wsc_spec::limits::{Limits, read_limited};
use wsc_spec::plan::load_plan;

use crate::cli::ProvisionArgs;
use crate::common::{
    Failed, fail, load, process_env, resolve_settings, run_context, runtime, token_store,
};
use crate::exit;

/// `wsc provision`.
pub fn provision(args: &ProvisionArgs) -> Result<(), Failed> {
    let loaded = load(&args.connector.connector)?;
    let bytes = read_limited(&args.plan, &Limits::PLAN).map_err(|e| {
        fail(
            exit::INVALID,
            format!("cannot read {}: {e}", args.plan.display()),
        )
    })?;
    let plan = load_plan(&bytes, &args.plan).map_err(|r| {
        err!("{}", r.render());
        Failed(exit::INVALID)
    })?;
    for (i, r) in plan.requests.iter().enumerate() {
        let problems = r.problems();
        if !problems.is_empty() {
            return Err(fail(
                exit::INVALID,
                format!(
                    "{}: request {} ({}): {}",
                    args.plan.display(),
                    i + 1,
                    r.operation.key(),
                    problems.join("; ")
                ),
            ));
        }
        if loaded
            .connector
            .operations
            .iter()
            .iter()
            .all(|(k, _, _)| k != r.operation.key())
        {
            return Err(fail(
                exit::INVALID,
                format!(
                    "{}: request {}: the connector does not define `operations.{}`",
                    args.plan.display(),
                    i + 1,
                    r.operation.key()
                ),
            ));
        }
    }
    let settings = resolve_settings(&loaded, &args.connector, &process_env)?;
    let recorder = Arc::new(Recorder::new());
    let wire = if args.dry_run {
        Wire {
            tap: Some(recorder.clone()),
            dry_run: true,
            ..Wire::default()
        }
    } else {
        Wire::default()
    };
    // A dry run uses no stored token, so the token request it would make is shown too.
    let store = if args.dry_run {
        None
    } else {
        token_store(&loaded, &args.connector)?
    };
    let auth = wsc_engine::authenticator_with(&loaded, &settings, store, &wire)
        .map_err(|e| fail(exit::INVALID, e))?;
    let mut secrets = Secrets::default();
    for s in settings.secrets() {
        secrets.add(s, "secret");
    }
    for s in auth.secrets() {
        secrets.add(&s, "credential");
    }
    for r in &plan.requests {
        if let Some(p) = &r.password {
            secrets.add(p, "password");
        }
    }
    let (run, state) = if args.dry_run {
        (RunContext::default(), None)
    } else {
        run_context(&loaded, &args.connector, &settings)?
    };
    let engine = Engine::new(&loaded, &settings, auth, RunContext { wire, ..run })
        .map_err(|e| fail(exit::INVALID, e))?;
    let rt = runtime();
    let total = plan.requests.len();
    for (i, r) in plan.requests.iter().enumerate() {
        match rt.block_on(engine.provision(r)) {
            Ok(done) => {
                if !args.dry_run {
                    outln!("{}", done.to_json());
                }
            }
            Err(e) => {
                if args.dry_run {
                    out!("{}", recorder.render_requests(&secrets));
                }
                return Err(fail(
                    exit::FAILURE,
                    format!(
                        "request {} of {total} ({}) failed: {e}{}",
                        i + 1,
                        r.operation.key(),
                        if i + 1 < total {
                            format!("; the {} request(s) after it were not run", total - i - 1)
                        } else {
                            String::new()
                        }
                    ),
                ));
            }
        }
    }
    if let Some(target) = &state {
        target.persist(&engine)?;
    }
    if args.dry_run {
        out!("{}", recorder.render_requests(&secrets));
        errln!(
            "dry run: {} request(s) would be sent for {total} plan request(s); nothing was sent",
            recorder.len()
        );
    }
    Ok(())
}
