//! Hostile responses: bodies beyond `http.max_body` (streamed, announced by Content-Length,
//! or a gzip bomb) fail naming the limit without being read whole, and bodies nested 100,000
//! levels deep fail with a parse error instead of overflowing the stack. The server is a raw
//! HTTP/1.1 server on 127.0.0.1 that counts the bytes it manages to send.

mod common;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;

const MIB: u64 = 1024 * 1024;

/// What the raw server answers to every request.
#[derive(Clone)]
struct Answer {
    /// Header lines after the status line (each ending in `\r\n`).
    headers: String,
    /// The first bytes of the body.
    prefix: Vec<u8>,
    /// Then `filler` repeated until `total` bytes of body were sent.
    filler: Vec<u8>,
    /// The body's length in all.
    total: u64,
}

/// A raw HTTP/1.1 server: each connection gets `answer`, then is closed.
struct RawServer {
    url: String,
    /// Body bytes written to clients, over all connections.
    written: Arc<AtomicU64>,
    /// Signalled each time a connection is finished with (fully sent or abandoned).
    finished: Arc<Notify>,
}

async fn raw_server(answer: Answer) -> RawServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(Notify::new());
    let (w, f) = (written.clone(), finished.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (answer, w, f) = (answer.clone(), w.clone(), f.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|x| x == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let status = format!("HTTP/1.1 200 OK\r\n{}\r\n", answer.headers);
                if sock.write_all(status.as_bytes()).await.is_ok() {
                    let mut sent = 0u64;
                    let mut chunk = answer.prefix.clone();
                    while sent < answer.total {
                        let n = chunk.len().min((answer.total - sent) as usize);
                        if sock.write_all(&chunk[..n]).await.is_err() {
                            break;
                        }
                        sent += n as u64;
                        w.fetch_add(n as u64, Ordering::Relaxed);
                        chunk.clone_from(&answer.filler);
                    }
                    let _ = sock.shutdown().await;
                }
                f.notify_one();
            });
        }
    });
    RawServer {
        url,
        written,
        finished,
    }
}

/// A connector whose account aggregation reads `GET /api/users` with `http` options.
fn connector(http: &str) -> String {
    users_connector(
        http,
        "    request: { path: /users }\n    records: \"$.items[*]\"\n",
    )
}

async fn aggregate_error(yaml: &str, url: &str) -> String {
    let engine = engine(yaml, url);
    aggregate(&engine, "account", None)
        .await
        .expect_err("the run must fail")
        .to_string()
}

#[tokio::test]
async fn a_streamed_body_past_max_body_is_abandoned() {
    let total = 32 * MIB;
    let server = raw_server(Answer {
        headers: "Content-Type: application/json\r\nConnection: close\r\n".into(),
        prefix: b"{\"items\":[".to_vec(),
        filler: vec![b' '; 64 * 1024],
        total,
    })
    .await;
    let http = "http:\n  max_body: 1MiB\n  retry: { max_attempts: 1 }\n";
    let text = aggregate_error(&connector(http), &server.url).await;
    assert!(text.contains("larger than 1MiB"), "{text}");
    assert!(text.contains("`http.max_body`"), "{text}");
    assert!(text.contains("GET http://127.0.0.1"), "{text}");
    assert!(text.contains("/api/users"), "{text}");
    assert!(text.contains("the rest of the body was not read"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    server.finished.notified().await;
    let sent = server.written.load(Ordering::Relaxed);
    assert!(
        sent < total,
        "the server sent the whole body ({sent} bytes): the client read it to the end"
    );
}

#[tokio::test]
async fn a_body_announced_past_max_body_is_not_read() {
    let server = raw_server(Answer {
        headers: format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            10 * 1024 * MIB
        ),
        prefix: b"{\"items\":[".to_vec(),
        filler: vec![b' '; 1024],
        total: 4 * MIB,
    })
    .await;
    // The default limit (64 MiB) applies.
    let http = "http:\n  retry: { max_attempts: 1 }\n  timeouts: { read: 5s }\n";
    let text = aggregate_error(&connector(http), &server.url).await;
    assert!(text.contains("larger than 64MiB"), "{text}");
    assert!(
        text.contains("its Content-Length says 10737418240 bytes"),
        "{text}"
    );
    assert!(text.contains("the body was not read"), "{text}");
    assert!(text.contains("raise `http.max_body`"), "{text}");
}

#[tokio::test]
async fn a_gzip_bomb_is_stopped_by_its_inflated_size() {
    let inflated = 16 * MIB as usize;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(b"{\"items\":[").unwrap();
    let zeros = vec![b' '; 1024 * 1024];
    for _ in 0..inflated / zeros.len() {
        gz.write_all(&zeros).unwrap();
    }
    gz.write_all(b"]}").unwrap();
    let compressed = gz.finish().unwrap();
    assert!(compressed.len() < 2 * MIB as usize, "{}", compressed.len());
    let server = raw_server(Answer {
        headers: format!(
            "Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n",
            compressed.len()
        ),
        total: compressed.len() as u64,
        prefix: compressed,
        filler: Vec::new(),
    })
    .await;
    let http = "http:\n  max_body: 4MiB\n  retry: { max_attempts: 1 }\n";
    let text = aggregate_error(&connector(http), &server.url).await;
    assert!(text.contains("larger than 4MiB"), "{text}");
    assert!(text.contains("`http.max_body`"), "{text}");
}

#[tokio::test]
async fn bodies_nested_100000_levels_fail_with_a_parse_error() {
    for (prefix, open) in [
        (&b""[..], &b"["[..]),
        (b"{\"items\":", b"[{\"a\":"),
        (b"{\"items\":[", b"{\"x\":"),
    ] {
        let mut body = prefix.to_vec();
        body.extend(open.repeat(100_000));
        let total = body.len() as u64;
        let server = raw_server(Answer {
            headers: format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ),
            prefix: body,
            filler: Vec::new(),
            total,
        })
        .await;
        let text = aggregate_error(&connector(FAST_HTTP), &server.url).await;
        assert!(text.contains("nest"), "{text}");
        assert!(text.contains("unusable body"), "{text}");
    }
}

#[tokio::test]
async fn a_token_response_past_1_mib_is_abandoned() {
    let total = 32 * MIB;
    let server = raw_server(Answer {
        headers: "Content-Type: application/json\r\nConnection: close\r\n".into(),
        prefix: b"{\"access_token\":\"".to_vec(),
        filler: vec![b'a'; 64 * 1024],
        total,
    })
    .await;
    let yaml = connector(FAST_HTTP).replace(
        r#"auth: { type: bearer, token: "{{settings.token}}" }"#,
        r#"auth:
  type: oauth2
  grant: client_credentials
  token_url: "{{settings.base_url}}/token"
  client_id: wsc
  client_secret: "{{settings.token}}""#,
    );
    let text = aggregate_error(&yaml, &server.url).await;
    assert!(text.contains("larger than 1 MiB"), "{text}");
    assert!(text.contains("/token"), "{text}");
    server.finished.notified().await;
    assert!(server.written.load(Ordering::Relaxed) < total);
}
