//! Redirects and credentials, against two raw HTTP servers on 127.0.0.1: a redirect to the
//! same host on another port (another origin, even one in `allowed_hosts`) is not followed,
//! so `X-API-Key` (which the HTTP library does not strip) and a query-string key never reach
//! it; a redirect within the origin is followed, and no request carries a `Referer`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::*;

const KEY: &str = "redirect-key-Hq27Zp";

/// A server answering each request with `answer(path)` (status line and headers, no body),
/// keeping every request head it received.
fn server(answer: fn(&str, u16) -> String, other_port: u16) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
            log.lock().unwrap().push(head);
            let reply = answer(&path, other_port);
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (port, seen)
}

fn ok_body(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn connector(allowed: &str) -> String {
    format!(
        r#"connector: redirects
settings:
  base_url: {{}}
  token: {{ secret: true }}
base_url: "{{{{settings.base_url}}}}/api"
allowed_hosts: [{allowed}]
auth: {{ type: api_key, name: X-API-Key, key: "{{{{settings.token}}}}" }}
operations:
  test_connection:
    request: {{ path: /me, query: {{ api_key: "{{{{settings.token}}}}" }} }}
"#
    )
}

#[tokio::test]
async fn redirect_to_another_port_is_not_followed() {
    let (other, other_seen) = server(|_, _| ok_body("{}"), 0);
    let (port, seen) = server(
        |_, other| {
            format!(
                "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{other}/api/me?api_key={KEY}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
        },
        other,
    );
    // Even an origin named in allowed_hosts does not get a redirected request's credentials.
    let yaml = connector(&format!("\"127.0.0.1:{other}\""));
    let engine = engine_with_token(&yaml, &format!("http://127.0.0.1:{port}"), KEY);
    let err = engine.test_connection().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("not following a redirect to another origin"),
        "{text}"
    );
    assert!(!text.contains(KEY), "{text}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(
        other_seen.lock().unwrap().is_empty(),
        "the other port received: {:?}",
        other_seen.lock().unwrap()
    );
}

#[tokio::test]
async fn redirect_within_the_origin_is_followed_without_referer() {
    let (port, seen) = server(
        |path, _| {
            if path.starts_with("/api/me?") {
                "HTTP/1.1 302 Found\r\nlocation: /api/me2\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
            } else {
                ok_body("{\"ok\": true}")
            }
        },
        0,
    );
    let engine = engine_with_token(&connector(""), &format!("http://127.0.0.1:{port}"), KEY);
    engine.test_connection().await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[1].starts_with("GET /api/me2 "), "{}", seen[1]);
    for head in seen.iter() {
        assert!(!head.to_ascii_lowercase().contains("referer:"), "{head}");
    }
    assert!(
        seen[1]
            .to_ascii_lowercase()
            .contains(&format!("x-api-key: {}", KEY.to_ascii_lowercase()))
    );
}
