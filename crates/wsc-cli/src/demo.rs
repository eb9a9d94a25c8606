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
use crate::progress::count;
use crate::read::aggregate_into;

/// A sink that keeps the first record (as JSON) it passes on.
struct Sample {
    inner: Box<dyn output::Sink + Send>,
    first: Option<String>,
}

impl output::Sink for Sample {
    fn write(
        &mut self,
        rec: &wsc_engine::Record,
        names: &[std::sync::Arc<str>],
    ) -> std::io::Result<()> {
        if self.first.is_none() {
            let mut buf = Vec::new();
            output::write_record_json(&mut buf, rec, names);
            self.first = Some(String::from_utf8_lossy(&buf).into_owned());
        }
        self.inner.write(rec, names)
    }

    fn finish(self: Box<Self>) -> std::io::Result<()> {
        self.inner.finish()
    }
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
    // One account for pass-through authentication (`wsc authenticate`): the first user.
    let login_user = wsc_testkit::synthetic::user(&config, 0).user_name;
    let login_password = format!("demo-{:08x}", fastrand::u32(..));
    let config = config.with_login(wsc_testkit::synthetic::LoginConfig::new([(
        login_user.clone(),
        login_password.clone(),
    )]));
    if args.serve {
        return rt.block_on(async {
            let api = SyntheticApi::start_on_port(config, args.port)
                .await
                .map_err(|e| fail(exit::FAILURE, e))?;
            let url = api.base_url();
            errln!(
                "serving the synthetic API on {url} ({} users, {} groups) until Ctrl-C\n\
                 OAuth2 client credentials: client_id demo-client, client_secret {secret}\n\
                 try in another terminal:\n  \
                 WSC_BASE_URL={url} WSC_CLIENT_SECRET={secret} \\\n    \
                 wsc aggregate connectors/demo.yaml --object group --format csv\n\
                 pass-through authentication: user {login_user}, password {login_password}:\n  \
                 echo {login_password} | WSC_BASE_URL={url} WSC_CLIENT_SECRET={secret} \\\n    \
                 wsc authenticate connectors/demo.yaml --identity {login_user}",
                args.users,
                args.groups
            );
            // The base URL alone on stdout, for scripts.
            outln!("{url}");
            let code = crate::signals::interrupted().await;
            api.shutdown().await;
            if code == exit::TERMINATED {
                Err(Failed(code))
            } else {
                Ok(())
            }
        });
    }
    let loaded = wsc_spec::load_bytes(
        DEMO_CONNECTOR.as_bytes(),
        "connectors/demo.yaml",
        Path::new("connectors"),
    )
    .map_err(|e| fail(exit::FAILURE, e))?;
    // Ctrl-C or SIGTERM cancels the run: dropping its destinations removes their temporary
    // files, and files written before stay as they were.
    let run = async {
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
        let mut sample = None;
        let demo_started = Instant::now();
        for object in ["account", "group"] {
            let started = Instant::now();
            let (dest, writer): (Option<Destination>, Box<dyn Write + Send>) = match &args.out {
                Some(dir) => {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        fail(
                            exit::FAILURE,
                            format!("cannot create {}: {e}", dir.display()),
                        )
                    })?;
                    let (d, w) = Destination::open(&Some(dir.join(format!("{object}s.jsonl"))))?;
                    (Some(d), w)
                }
                None => (None, Box::new(std::io::sink())),
            };
            let mut sink = Sample {
                inner: output::sink(Format::JsonLines, writer),
                first: None,
            };
            let before = engine.summary();
            let progress = Progress::start(engine, &format!("aggregating {object}s"));
            let r = aggregate_into(engine, object, None, &mut sink).await;
            progress.finish();
            let n = match r {
                Ok(n) => n,
                Err(e) => {
                    let kept = dest.map(Destination::abandon).unwrap_or_default();
                    return Err(engine_error_kept(e, &kept));
                }
            };
            if sample.is_none() {
                sample = sink.first.take();
            }
            if let Err(e) = sink.inner.finish() {
                let kept = dest.map(Destination::abandon).unwrap_or_default();
                return Err(crate::read::output_failed(&e, &kept));
            }
            if let Some(d) = dest {
                d.commit()?;
            }
            let after = engine.summary();
            let secs = started.elapsed().as_secs_f64();
            errln!(
                "{object}s: {}, {}, {} in {secs:.2}s ({:.0} records/s)",
                count(n, "record"),
                count(after.pages - before.pages, "page"),
                count(after.requests - before.requests, "request"),
                n as f64 / secs.max(0.000_001)
            );
            counts.push(n);
        }
        let stats = api.stats();
        let ok = counts[0] == args.users as u64 && counts[1] == args.groups as u64;
        errln!(
            "demo summary: accounts {} (API holds {}), groups {} (API holds {}), {} served, {}, total {:.2}s: {}",
            counts[0],
            args.users,
            counts[1],
            args.groups,
            count(stats.requests, "HTTP request"),
            count(engine.summary().token_requests, "token request"),
            demo_started.elapsed().as_secs_f64(),
            if ok { "ok" } else { "MISMATCH" }
        );
        if let Some(r) = sample {
            errln!("a sample record: {r}");
        }
        if let Some(dir) = &args.out {
            errln!(
                "records written to {} and {}",
                dir.join("accounts.jsonl").display(),
                dir.join("groups.jsonl").display()
            );
        }
        errln!(
            "next:\n  \
             wsc demo --serve --port 8080        # keep the API running to try commands by hand\n  \
             wsc validate connectors/*.yaml      # check connectors (errors with line, column and a hint)\n  \
             wsc aggregate --help                # every option; README.md has the rest"
        );
        api.shutdown().await;
        if ok {
            Ok(())
        } else {
            Err(Failed(exit::FAILURE))
        }
    };
    rt.block_on(async {
        tokio::select! {
            biased;
            code = crate::signals::interrupted() => {
                Err(fail(code, crate::signals::name(code)))
            }
            r = run => r,
        }
    })
}
