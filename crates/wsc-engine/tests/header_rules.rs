//! Rules on response headers, against a raw scripted HTTP server on 127.0.0.1: a 403 whose
//! `X-RateLimit-Remaining` is 0 is retried (`http.retry.on_headers`) and otherwise fails as a
//! permission error; `on_body` retries whatever the status; `stop_when` and error-rule
//! expressions read `headers.*`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;

/// A server answering the `n`-th request (from 0) with `answer(n, path)`, a full HTTP reply.
fn server(answer: fn(usize, &str) -> String) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let count = Arc::new(AtomicUsize::new(0));
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
            log.lock().unwrap().push(path.clone());
            let n = count.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(answer(n, &path).as_bytes());
        }
    });
    (port, seen)
}

fn reply(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut r = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r
}

const USERS: &str = r#"{"items":[{"id":"u1"},{"id":"u2"}]}"#;

fn connector(retry: &str, operation: &str) -> String {
    format!(
        r#"connector: header_rules
settings:
  base_url: {{}}
  token: {{ secret: true }}
base_url: "{{{{settings.base_url}}}}/api"
auth: {{ type: bearer, token: "{{{{settings.token}}}}" }}
http:
  retry: {{ max_attempts: 3, initial_backoff: 1ms, max_backoff: 2ms, max_retry_after: 2s{retry} }}
operations:
  account_aggregation:
{operation}    records: "$.items[*]"
    identity: "$.id"
"#
    )
}

const PLAIN: &str = "    request: { path: /users }\n";

/// GitHub's rate limit: 403 with `X-RateLimit-Remaining: 0`, then success.
fn rate_limited_then_ok(n: usize, _: &str) -> String {
    if n == 0 {
        reply(
            "403 Forbidden",
            &[("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "1")],
            r#"{"message":"API rate limit exceeded"}"#,
        )
    } else {
        reply("200 OK", &[], USERS)
    }
}

#[tokio::test]
async fn a_403_with_no_rate_limit_left_is_retried_when_a_header_rule_says_so() {
    let (port, seen) = server(rate_limited_then_ok);
    let base = format!("http://127.0.0.1:{port}");
    let rule = r#", on_headers: [ { status: 403, header: X-RateLimit-Remaining, equals: "0" } ]"#;
    let eng = engine(&connector(rule, PLAIN), &base);
    let records = aggregate(&eng, "account", None).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(eng.summary().retries, 1);

    // Without the rule, the same 403 is a permission error.
    let (port, _) = server(rate_limited_then_ok);
    let eng = engine(&connector("", PLAIN), &format!("http://127.0.0.1:{port}"));
    let e = aggregate(&eng, "account", None).await.unwrap_err();
    assert_eq!(e.http_status(), Some(403), "{e}");

    // A rule for another value does not match.
    let (port, _) = server(rate_limited_then_ok);
    let other = r#", on_headers: [ { header: X-RateLimit-Remaining, equals: "5" } ]"#;
    let eng = engine(
        &connector(other, PLAIN),
        &format!("http://127.0.0.1:{port}"),
    );
    assert!(aggregate(&eng, "account", None).await.is_err());
}

#[tokio::test]
async fn on_body_retries_whatever_the_status() {
    fn busy_then_ok(n: usize, _: &str) -> String {
        if n < 2 {
            reply(
                "400 Bad Request",
                &[],
                r#"{"error":"busy, try again later"}"#,
            )
        } else {
            reply("200 OK", &[], USERS)
        }
    }
    let (port, seen) = server(busy_then_ok);
    let eng = engine(
        &connector(r#", on_body: ["try again later"]"#, PLAIN),
        &format!("http://127.0.0.1:{port}"),
    );
    let records = aggregate(&eng, "account", None).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(seen.lock().unwrap().len(), 3);

    // Still failing on the last attempt: the status error, not a success.
    fn always_busy(_: usize, _: &str) -> String {
        reply(
            "400 Bad Request",
            &[],
            r#"{"error":"busy, try again later"}"#,
        )
    }
    let (port, seen) = server(always_busy);
    let eng = engine(
        &connector(r#", on_body: ["try again later"]"#, PLAIN),
        &format!("http://127.0.0.1:{port}"),
    );
    let e = aggregate(&eng, "account", None).await.unwrap_err();
    assert_eq!(e.http_status(), Some(400), "{e}");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn stop_when_and_error_rules_read_headers() {
    // Every page has a next cursor; the header says when there is no more.
    fn pages(_: usize, path: &str) -> String {
        let more = if path.contains("cursor=c2") {
            "false"
        } else {
            "true"
        };
        let (id, next) = if path.contains("cursor=c1") {
            ("c1", "c2")
        } else if path.contains("cursor=c2") {
            ("c2", "c3")
        } else {
            ("c0", "c1")
        };
        reply(
            "200 OK",
            &[("X-Has-More", more)],
            &format!(r#"{{"items":[{{"id":"{id}"}}],"next":"{next}"}}"#),
        )
    }
    let (port, seen) = server(pages);
    let op = r#"    request: { path: /users, query: { cursor: "{{page.cursor}}" } }
    paging:
      kind: cursor
      cursor: "$.next"
      stop_when: "{{eq (lookup headers 'x-has-more') 'false'}}"
"#;
    let eng = engine(&connector("", op), &format!("http://127.0.0.1:{port}"));
    let records = aggregate(&eng, "account", None).await.unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.identity.as_str()).collect();
    assert_eq!(ids, ["c0", "c1", "c2"]);
    assert_eq!(seen.lock().unwrap().len(), 3);

    // An error signalled only by a header.
    fn flagged(_: usize, _: &str) -> String {
        reply("200 OK", &[("X-Status", "error")], USERS)
    }
    let (port, _) = server(flagged);
    let op = r#"    request: { path: /users }
    errors:
      - { expression: "{{eq (lookup headers 'x-status') 'error'}}" }
"#;
    let eng = engine(&connector("", op), &format!("http://127.0.0.1:{port}"));
    let e = aggregate(&eng, "account", None).await.unwrap_err();
    assert!(e.to_string().contains("items"), "{e}");
}
