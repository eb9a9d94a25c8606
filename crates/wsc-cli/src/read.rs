//! `wsc aggregate`, `wsc get`, `wsc test-connection`, `wsc partitions`.

use std::io::Write;
use std::time::Instant;

use wsc_engine::output::{self, Format};
use wsc_engine::{Chunk, Engine, EngineError};

use crate::cli::{AggregateArgs, ConnectorArgs, GetArgs, OutputFormat};
use crate::common::{Failed, Session, engine_error, engine_error_kept, fail, object_type, runtime};
use crate::exit;
use crate::files::Destination;
use crate::progress::Progress;
use crate::signals::run_or_interrupted;

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

pub(crate) fn format_of(f: OutputFormat) -> Format {
    match f {
        OutputFormat::Jsonl => Format::JsonLines,
        OutputFormat::Json => Format::JsonPretty,
        OutputFormat::Csv => Format::Csv,
    }
}

/// Aggregates into a sink; returns the record count.
pub(crate) async fn aggregate_into(
    engine: &Engine,
    object: &str,
    partition: Option<&str>,
    sink: &mut dyn output::Sink,
) -> Result<u64, EngineError> {
    let key = Engine::aggregation_key(object);
    let names = engine.attribute_names(&key)?;
    // A JSON Lines (or compact JSON) output takes records the engine wrote straight from the
    // pages.
    let mut stream = if sink.takes_lines() {
        engine.aggregate_lines(object, partition).await?
    } else {
        engine.aggregate(object, partition).await?
    };
    let mut n = 0u64;
    while let Some(chunk) = stream.next_chunk().await {
        let chunk = chunk?;
        match &chunk {
            Chunk::Records(batch) => {
                for r in batch {
                    sink.write(r, &names).map_err(|e| output_error(&e))?;
                }
            }
            Chunk::Lines(lines) => sink
                .write_lines(lines.as_bytes())
                .map_err(|e| output_error(&e))?,
        }
        n += chunk.len() as u64;
    }
    stream.finish().await?;
    Ok(n)
}

/// The output error a closed pipe becomes (told apart by [`is_pipe_closed`]).
const PIPE_CLOSED: &str = "the output's reader closed the pipe";

/// A write error of the output as an engine error.
pub(crate) fn output_error(e: &std::io::Error) -> EngineError {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        EngineError::Output(PIPE_CLOSED.into())
    } else {
        EngineError::Output(e.to_string())
    }
}

/// Whether the run ended because the reader of stdout (or of a FIFO) went away.
pub(crate) fn is_pipe_closed(e: &EngineError) -> bool {
    matches!(e, EngineError::Output(m) if m == PIPE_CLOSED)
}

/// The failure of finishing the output: quiet exit 141 for a closed pipe.
pub(crate) fn output_failed(e: &std::io::Error, kept: &str) -> Failed {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failed(exit::PIPE_CLOSED)
    } else {
        fail(exit::FAILURE, format!("writing output: {e}{kept}"))
    }
}

fn summary_line(engine: &Engine, what: &str, n: u64, started: Instant) -> String {
    use crate::progress::count;
    let s = engine.summary();
    let secs = started.elapsed().as_secs_f64();
    let mut extra = String::new();
    if s.lookups > 0 {
        extra.push_str(&format!(", {}", count(s.lookups, "lookup")));
    }
    extra.push_str(&format!(
        ", {}, {}, {}",
        count(s.requests, "request"),
        count(s.retries, "retry").replace("retrys", "retries"),
        count(s.token_requests, "token request")
    ));
    if s.cache_hits > 0 {
        extra.push_str(&format!(", {}", count(s.cache_hits, "cache hit")));
    }
    if s.duplicates > 0 {
        extra.push_str(&format!(", {} duplicates dropped", s.duplicates));
    }
    if !s.warnings.is_empty() {
        extra.push_str(&format!(", {}", count(s.warnings.len() as u64, "warning")));
    }
    format!(
        "{what}: {}, {}{extra} in {secs:.2}s ({:.0} records/s)",
        count(n, "record"),
        count(s.pages, "page"),
        n as f64 / secs.max(0.000_001)
    )
}

/// `wsc aggregate`.
pub fn aggregate(args: &AggregateArgs) -> Result<(), Failed> {
    let rt = runtime();
    let session = Session::open(&args.connector)?;
    let engine = &session.engine;
    let object = object_type(&args.object);
    let history = session.history(&object, args.partition.as_deref(), args.max_shrink)?;
    let (dest, writer) = Destination::open(&args.out)?;
    let mut sink = open_sink(engine, &object, args.format, writer);
    let started = Instant::now();
    let result = rt.block_on(async {
        let progress = Progress::start(engine, &format!("aggregating {object}"));
        // Ctrl-C or SIGTERM ends the run like a failure: the temporary file is removed,
        // `--out` is left as it was.
        let r = tokio::select! {
            biased;
            code = crate::signals::interrupted() => Err(code),
            r = aggregate_into(engine, &object, args.partition.as_deref(), sink.as_mut()) => Ok(r),
        };
        progress.finish();
        r
    });
    match result {
        Ok(Ok(n)) => {
            // The shrink guard, before anything is committed.
            if let Some(h) = &history
                && let Err(e) = h.check(n)
            {
                drop(sink);
                let kept = dest.abandon();
                return Err(engine_error_kept(e, &kept));
            }
            if let Err(e) = sink.finish() {
                let kept = dest.abandon();
                return Err(output_failed(&e, &kept));
            }
            dest.commit()?;
            session.persist_state()?;
            if let Some(h) = &history {
                h.record(n).map_err(engine_error)?;
            }
            errln!("{}", summary_line(engine, &object, n, started));
            Ok(())
        }
        Ok(Err(e)) => {
            drop(sink);
            let kept = dest.abandon();
            if is_pipe_closed(&e) {
                crate::stdio::pipe_closed();
            }
            Err(engine_error_kept(e, &kept))
        }
        Err(code) => {
            drop(sink);
            let kept = dest.abandon();
            Err(fail(code, format!("{}{kept}", crate::signals::name(code))))
        }
    }
}

/// `wsc get`.
pub fn get(args: &GetArgs) -> Result<(), Failed> {
    let rt = runtime();
    let session = Session::open(&args.connector)?;
    let engine = &session.engine;
    let object = object_type(&args.object);
    let key = wsc_spec::model::OperationKey::get_object(&object).into_string();
    let names = engine.attribute_names(&key).map_err(engine_error)?;
    let rec = run_or_interrupted(&rt, engine.get_object(&object, &args.identity), "")?
        .map_err(engine_error)?;
    session.persist_state()?;
    let v = rec.to_json(&names);
    outln!(
        "{}",
        serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
    );
    Ok(())
}

/// `wsc test-connection`.
pub fn test_connection(args: &ConnectorArgs) -> Result<(), Failed> {
    let rt = runtime();
    let session = Session::open(args)?;
    let engine = &session.engine;
    let started = Instant::now();
    run_or_interrupted(&rt, engine.test_connection(), "")?.map_err(engine_error)?;
    session.persist_state()?;
    outln!(
        "ok: connection works ({} ms)",
        started.elapsed().as_millis()
    );
    Ok(())
}

/// `wsc partitions`.
pub fn partitions(args: &ConnectorArgs, object: &str) -> Result<(), Failed> {
    let rt = runtime();
    let session = Session::open(args)?;
    let engine = &session.engine;
    let parts = run_or_interrupted(&rt, engine.partitions(&object_type(object)), "")?
        .map_err(engine_error)?;
    if parts.is_empty() {
        // Said on stderr, so a script reading stdout still sees no partitions.
        errln!(
            "the {} aggregation of `{}` has no partitions: run it whole (`wsc aggregate` without --partition)",
            object_type(object),
            args.connector.display()
        );
    }
    for p in parts {
        outln!("{p}");
    }
    Ok(())
}
