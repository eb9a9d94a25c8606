//! `wsc provision`: executes a provisioning plan, or with `--dry-run` prints the exact
//! requests it would send (secrets redacted) and sends nothing, token requests included.
//!
//! Before anything is sent, the plan is checked against the connector and every request is
//! rendered in a dry run of its own (pre-flight): a value a template needs and does not get
//! stops the plan with exit 2, naming the request and the template, and nothing is sent.

use std::sync::Arc;

use serde_json::Value;
use wsc_engine::{Engine, RunContext, Wire};
use wsc_fixtures::record::Recorder;
use wsc_fixtures::redact::Secrets;
use wsc_spec::Loaded;
use wsc_spec::limits::{Limits, read_limited};
use wsc_spec::plan::{Plan, Results, load_plan};

use crate::cli::ProvisionArgs;
use crate::common::{
    Failed, fail, load, process_env, resolve_settings, run_context, runtime, token_store,
};
use crate::exit;

/// Secret values shorter than this are too short to be redacted reliably in a dry run.
const MIN_SECRET_CHARS: usize = 4;

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
    plan.check(&loaded.connector).map_err(|r| {
        err!("{}", r.render());
        Failed(exit::INVALID)
    })?;
    let settings = resolve_settings(&loaded, &args.connector, &process_env)?;
    // A dry run reads no state store; a real run's pre-flight sees the state it will run with.
    let (run, state) = if args.dry_run {
        (RunContext::default(), None)
    } else {
        run_context(&loaded, &args.connector, &settings)?
    };
    let rt = runtime();
    let total = plan.requests.len();

    // Pre-flight: the whole plan in a dry run (placeholders for what earlier requests
    // return); the `--dry-run` output is this run's requests.
    let recorder = Arc::new(Recorder::new());
    let wire = Wire {
        tap: Some(recorder.clone()),
        dry_run: true,
        ..Wire::default()
    };
    let auth = wsc_engine::authenticator_with(&loaded, &settings, None, &wire)
        .map_err(|e| fail(exit::INVALID, e))?;
    let secrets = secrets_of(&loaded, &settings, &auth.secrets(), &plan);
    let dry = Engine::new(
        &loaded,
        &settings,
        auth,
        RunContext {
            wire,
            ..run.clone()
        },
    )
    .map_err(|e| fail(exit::INVALID, e))?;
    let placeholders = Results::placeholders();
    let mut notes = Vec::new();
    for (i, r) in plan.requests.iter().enumerate() {
        let what = format!("request {} of {total} ({})", i + 1, r.operation);
        let resolved = r.resolve(&placeholders).map_err(|e| {
            fail(
                exit::INVALID,
                format!("{}: {what}: {e}", args.plan.display()),
            )
        })?;
        if let Err(e) = rt.block_on(dry.provision(&resolved)) {
            if e.is_preflight() {
                return Err(fail(
                    exit::INVALID,
                    format!(
                        "{}: {what} cannot be sent: {}; nothing was sent{}",
                        args.plan.display(),
                        secrets.apply(&e.to_string()),
                        if args.dry_run {
                            ""
                        } else {
                            " (the plan is checked whole before its first request)"
                        }
                    ),
                ));
            }
            // What the empty answers of a dry run cause (a value read from a response).
            notes.push(format!("# {what}: the dry run stops here: {e}"));
        }
    }
    if args.dry_run {
        out!("{}", shown(&recorder.render_requests(&secrets)));
        for n in &notes {
            outln!("{n}");
        }
        errln!(
            "dry run: {} request(s) would be sent for {total} plan request(s); nothing was sent",
            recorder.len()
        );
        return Ok(());
    }

    let store = token_store(&loaded, &args.connector)?;
    let auth = wsc_engine::authenticator_with(&loaded, &settings, store, &Wire::default())
        .map_err(|e| fail(exit::INVALID, e))?;
    let engine = Engine::new(&loaded, &settings, auth, run).map_err(|e| fail(exit::INVALID, e))?;
    let mut results = Results::default();
    for (i, r) in plan.requests.iter().enumerate() {
        let not_run = |i: usize| {
            if i + 1 < total {
                format!("; the {} request(s) after it were not run", total - i - 1)
            } else {
                String::new()
            }
        };
        let resolved = r.resolve(&results).map_err(|e| {
            fail(
                exit::FAILURE,
                format!(
                    "request {} of {total} ({}): {e}{}",
                    i + 1,
                    r.operation,
                    not_run(i)
                ),
            )
        })?;
        let in_flight = format!(
            "request {} of {total} ({}) was in flight: it may or may not have been applied{}",
            i + 1,
            r.operation,
            not_run(i)
        );
        match crate::signals::run_or_interrupted(&rt, engine.provision(&resolved), &in_flight)? {
            Ok(done) => {
                outln!("{}", done.to_json());
                if let Some(name) = &r.name {
                    results.insert(name, done.to_reference());
                }
            }
            Err(e) => {
                return Err(fail(
                    exit::FAILURE,
                    format!(
                        "request {} of {total} ({}) failed: {e}{}",
                        i + 1,
                        r.operation,
                        not_run(i)
                    ),
                ));
            }
        }
    }
    if let Some(target) = &state {
        target.persist(&engine)?;
    }
    Ok(())
}

/// Every secret a dry run hides, by name: the connector's secret settings, credentials, and
/// the plan's passwords. A secret too short to redact reliably is warned about.
fn secrets_of(
    loaded: &Loaded,
    settings: &wsc_engine::settings::ResolvedSettings,
    credentials: &[String],
    plan: &Plan,
) -> Secrets {
    let mut secrets = Secrets::default();
    let values: indexmap::IndexMap<String, Value> = match settings.to_value() {
        Value::Object(m) => m.into_iter().collect(),
        _ => Default::default(),
    };
    secrets.add_settings(loaded, &values);
    for s in credentials {
        secrets.add(s, "credential");
    }
    for r in &plan.requests {
        if let Some(p) = &r.password {
            secrets.add(p, "password");
        }
    }
    for name in secrets.too_short(MIN_SECRET_CHARS) {
        errln!(
            "warning: secret `{name}` is shorter than {MIN_SECRET_CHARS} characters: it is hidden where it stands alone, but such a short value may also be part of other text"
        );
    }
    secrets.whole_values()
}

/// Placeholders that path encoding turned into `%3C...%3E` shown as they are written.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("%3C") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        match after.find("%3E") {
            Some(j)
                if after[..j]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-%".contains(c)) =>
            {
                out.push('<');
                out.push_str(&after[..j].replace("%20", " "));
                out.push('>');
                rest = &after[j + 3..];
            }
            _ => {
                out.push_str("%3C");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
