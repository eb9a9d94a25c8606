//! The engine client: the benchmark connector run through `wsc_engine`, records written as
//! JSON Lines by the engine's own sink, the same loop as `wsc aggregate` (records written
//! straight from the pages by the compiled projection, `Engine::aggregate_lines`).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use indexmap::IndexMap;
use serde_json::Value;
use wsc_engine::output::{self, Format};
use wsc_engine::{Chunk, Engine, RunContext};

use crate::connector::{self, Paging};
use crate::measure::{self, ClientReport};

/// Aggregates every account from `url` and writes them to `out` (default `/dev/null`).
pub async fn run(
    url: &str,
    token: &str,
    paging: Paging,
    limit: usize,
    out: Option<&Path>,
) -> Result<ClientReport> {
    let probe = |what: &str| {
        if std::env::var_os("WSC_BENCH_PROBE").is_some() {
            eprintln!(
                "probe {what}: anon {} KiB, file {} KiB",
                measure::status_kib("RssAnon"),
                measure::status_kib("RssFile")
            );
        }
    };
    probe("start");
    let yaml = connector::yaml(paging, limit);
    let loaded = wsc_spec::load_bytes(yaml.as_bytes(), "wsc-bench.yaml", Path::new("."))
        .map_err(|e| anyhow!("the benchmark connector does not load: {e}"))?;
    let mut explicit = IndexMap::new();
    explicit.insert("base_url".to_string(), Value::from(url));
    explicit.insert("token".to_string(), Value::from(token));
    let settings =
        wsc_engine::settings::resolve(&loaded.connector, &explicit, &IndexMap::new(), &|_| None)
            .map_err(|errs| {
                anyhow!(
                    "settings: {}",
                    errs.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            })?;
    probe("loaded");
    let auth = wsc_engine::static_authenticator(&loaded, &settings)?;
    let engine = Engine::new(&loaded, &settings, auth, RunContext::default())?;
    probe("engine built");
    let names = engine.attribute_names(&Engine::aggregation_key("account"))?;
    anyhow::ensure!(
        names.iter().map(AsRef::as_ref).eq(connector::ATTRIBUTES),
        "the engine maps {names:?}, not the benchmark's attributes"
    );
    let (writer, written) = measure::output(out).context("opening the output")?;
    let mut sink = output::sink(Format::JsonLines, writer);

    let started = Instant::now();
    let mut stream = engine.aggregate_lines("account", None).await?;
    let mut records = 0u64;
    while let Some(chunk) = stream.next_chunk().await {
        let chunk = chunk?;
        match &chunk {
            Chunk::Records(batch) => {
                for r in batch {
                    sink.write(r, &names).context("writing a record")?;
                }
            }
            Chunk::Lines(lines) => sink
                .write_lines(lines.as_bytes())
                .context("writing records")?,
        }
        records += chunk.len() as u64;
    }
    stream.finish().await?;
    probe("run done");
    sink.finish().context("flushing the output")?;
    let secs = started.elapsed().as_secs_f64();

    let s = engine.summary();
    Ok(ClientReport {
        records,
        bytes: written.load(Ordering::Relaxed),
        secs,
        pages: s.pages,
        requests: s.requests,
        token_requests: s.token_requests,
        peak_rss_kib: measure::peak_rss_kib(),
        cpu_secs: measure::cpu_secs(),
        rss_anon_kib: measure::status_kib("RssAnon"),
        rss_file_kib: measure::status_kib("RssFile"),
    })
}
