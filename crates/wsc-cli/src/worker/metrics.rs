//! `wsc worker --metrics ADDR`: the worker's counters in Prometheus' text format on a plain
//! HTTP endpoint (`GET /metrics`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::Worker;

/// Counters of the queue side (the HTTP side comes from the engines' summaries).
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Partitions claimed.
    pub(super) claimed: AtomicU64,
    /// Of those, taken over from a worker whose lease expired.
    pub(super) taken_over: AtomicU64,
    /// Partitions completed (records committed).
    pub(super) done: AtomicU64,
    /// Attempts that failed and were queued again.
    pub(super) requeued: AtomicU64,
    /// Attempts that failed the run (the last attempt).
    pub(super) failed: AtomicU64,
    /// Partitions given back on SIGTERM, or lost with the lease.
    pub(super) released: AtomicU64,
    /// Records committed.
    pub(super) records: AtomicU64,
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// The metrics text.
pub(super) fn render(w: &Worker) -> String {
    let c = &w.counters;
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let s = w.connectors.summary();
    let mut out = String::new();
    metric(
        &mut out,
        "wsc_records_total",
        "counter",
        "Records committed to the store.",
        get(&c.records),
    );
    metric(
        &mut out,
        "wsc_pages_total",
        "counter",
        "Pages of listings received.",
        s.pages,
    );
    metric(
        &mut out,
        "wsc_lookups_total",
        "counter",
        "Responses of other steps (setup, per-record lookups).",
        s.lookups,
    );
    metric(
        &mut out,
        "wsc_requests_total",
        "counter",
        "HTTP requests sent (attempts).",
        s.requests,
    );
    metric(
        &mut out,
        "wsc_retries_total",
        "counter",
        "HTTP requests retried.",
        s.retries,
    );
    metric(
        &mut out,
        "wsc_token_requests_total",
        "counter",
        "Token endpoint requests.",
        s.token_requests,
    );
    metric(
        &mut out,
        "wsc_partitions_claimed_total",
        "counter",
        "Partitions claimed.",
        get(&c.claimed),
    );
    metric(
        &mut out,
        "wsc_partitions_taken_over_total",
        "counter",
        "Partitions claimed after another worker's lease expired.",
        get(&c.taken_over),
    );
    metric(
        &mut out,
        "wsc_partitions_done_total",
        "counter",
        "Partitions completed.",
        get(&c.done),
    );
    metric(
        &mut out,
        "wsc_partitions_requeued_total",
        "counter",
        "Failed attempts queued again.",
        get(&c.requeued),
    );
    metric(
        &mut out,
        "wsc_partitions_failed_total",
        "counter",
        "Partitions that failed their last attempt.",
        get(&c.failed),
    );
    metric(
        &mut out,
        "wsc_partitions_released_total",
        "counter",
        "Partitions given back (SIGTERM) or lost with their lease.",
        get(&c.released),
    );
    let (running, age) = w.leases();
    metric(
        &mut out,
        "wsc_partitions_running",
        "gauge",
        "Partitions this worker is running.",
        running,
    );
    metric(
        &mut out,
        "wsc_lease_age_seconds",
        "gauge",
        "Seconds since the oldest held lease was last renewed.",
        format!("{age:.3}"),
    );
    out
}

/// Serves the metrics until the process ends.
pub(super) async fn serve(listener: TcpListener, worker: Arc<Worker>) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let worker = worker.clone();
        tokio::spawn(async move {
            let mut req = Vec::with_capacity(1024);
            let mut buf = [0u8; 1024];
            // The request head only; bounded.
            while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 8192 {
                match tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
                    .await
                {
                    Ok(Ok(n)) if n > 0 => req.extend_from_slice(&buf[..n]),
                    _ => return,
                }
            }
            let line = String::from_utf8_lossy(&req);
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if line.starts_with("GET ") && (path == "/metrics" || path == "/")
            {
                ("200 OK", render(&worker))
            } else {
                ("404 Not Found", "GET /metrics\n".to_string())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(body.as_bytes()).await;
            let _ = conn.shutdown().await;
        });
    }
}
