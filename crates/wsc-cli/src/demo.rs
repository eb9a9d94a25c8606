//! `wsc demo`: the synthetic identity API on 127.0.0.1, aggregated through connectors/demo.yaml.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use wsc_engine::output::{self, Format};

use crate::cli::{ConnectorArgs, DemoArgs};
use crate::common::{Failed, NO_STORE, Session, engine_error, engine_error_kept, fail, runtime};
use crate::exit;
use crate::files::Destination;
use crate::progress::Progress;
use crate::read::aggregate_into;

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
        errln!(
            "serving the synthetic API ({} users, {} groups); OAuth2 client credentials: client_id demo-client, client_secret {secret}",
            args.users,
            args.groups
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
        errln!(
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
            state: Some(PathBuf::from(NO_STORE)),
        };
        let session = Session::for_loaded(&loaded, &cargs, &env)?;
        let engine = &session.engine;
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
            let progress = Progress::start(engine, &format!("aggregating {object}s"));
            let r = aggregate_into(engine, object, None, sink.as_mut()).await;
            progress.finish();
            let n = match r {
                Ok(n) => n,
                Err(e) => {
                    let kept = dest.map(Destination::abandon).unwrap_or_default();
                    return Err(engine_error_kept(e, &kept));
                }
            };
            if let Err(e) = sink.finish() {
                let kept = dest.map(Destination::abandon).unwrap_or_default();
                return Err(crate::read::output_failed(&e, &kept));
            }
            if let Some(d) = dest {
                d.commit()?;
            }
            let after = engine.summary();
            let secs = started.elapsed().as_secs_f64();
            errln!(
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
        outln!(
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
