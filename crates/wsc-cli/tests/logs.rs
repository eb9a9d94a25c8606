//! Logs on stderr: `-v` shows one line per page and per token event, `-vv` wsc's debug lines
//! only (third-party crates stay at warn unless RUST_LOG asks), no colour codes when stderr
//! is not a terminal, and no credential at any verbosity: a session cookie the API sets, the
//! access token, the client secret (`RUST_LOG=trace` included, where the HTTP libraries log
//! the cookies they store). The API is the replay server `wsc test` starts on 127.0.0.1,
//! answering from a hand-written cassette whose response sets a cookie.

mod common;
use common::*;

use std::path::{Path, PathBuf};

const COOKIE: &str = "Sess-H4xR7bUy20";
const TOKEN: &str = "At-Zq81vNw3Kp";
const SECRET: &str = "Cs-9fK2mQ7xLw";

const CONNECTOR: &str = r#"connector: logs_it
settings:
  base_url: {}
  client_secret: { secret: true }
base_url: "{{settings.base_url}}"
http:
  cookies: true
auth:
  type: oauth2
  grant: client_credentials
  token_url: "{{settings.base_url}}/oauth/token"
  client_id: logs-client
  client_secret: "{{settings.client_secret}}"
operations:
  account_aggregation:
    request: { path: /api/users, query: { cursor: "{{page.cursor}}" } }
    paging: { kind: cursor, cursor: "$.next" }
    records: "$.items[*]"
    identity: "$.id"
    name: "$.name"
"#;

/// The connector and its fixture directory (case, cassette; snapshots written on first run).
fn fixture(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let conn = dir.join("c.yaml");
    std::fs::write(&conn, CONNECTOR).unwrap();
    let fx = dir.join("fx");
    std::fs::create_dir_all(fx.join("cassettes")).unwrap();
    std::fs::write(
        fx.join("agg.case.yaml"),
        format!(
            "operation: account_aggregation\nsettings:\n  base_url: http://127.0.0.1:1\n  \
             client_secret: {SECRET}\ncassette: cassettes/agg.yaml\n"
        ),
    )
    .unwrap();
    std::fs::write(
        fx.join("cassettes/agg.yaml"),
        format!(
            r#"interactions:
- request: {{ method: POST, path: /oauth/token }}
  response:
    status: 200
    headers: {{ content-type: application/json }}
    body: {{ access_token: {TOKEN}, token_type: Bearer, expires_in: 3600 }}
- request: {{ method: GET, path: /api/users, query: {{}} }}
  response:
    status: 200
    headers: {{ content-type: application/json, set-cookie: "session={COOKIE}; Path=/; HttpOnly" }}
    body: {{ items: [ {{ id: a, name: A }} ], next: '2' }}
- request: {{ method: GET, path: /api/users, query: {{ cursor: '2' }} }}
  response:
    status: 200
    headers: {{ content-type: application/json }}
    body: {{ items: [] }}
"#
        ),
    )
    .unwrap();
    (conn, fx)
}

fn run(conn: &Path, fx: &Path, verbosity: Option<&str>, rust_log: Option<&str>) -> String {
    let mut c = wsc();
    if let Some(v) = verbosity {
        c.arg(v);
    }
    if let Some(l) = rust_log {
        c.env("RUST_LOG", l);
    }
    let out = c
        .arg("test")
        .arg(conn)
        .arg("--fixtures")
        .arg(fx)
        .arg("--update")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    text(&out.stderr)
}

#[test]
fn no_cookie_token_or_secret_at_any_verbosity() {
    let (conn, fx) = fixture("secrets");
    let mut runs = vec![];
    for (v, l) in [
        (None, None),
        (Some("-v"), None),
        (Some("-vv"), None),
        (Some("-vvv"), None),
        (None, Some("trace")),
        (None, Some("debug")),
    ] {
        let err = run(&conn, &fx, v, l);
        for secret in [COOKIE, TOKEN, SECRET] {
            assert!(!err.contains(secret), "{v:?} {l:?}: {secret} in\n{err}");
        }
        assert!(!err.contains('\x1b'), "colour codes on a pipe:\n{err}");
        runs.push(err);
    }
    // The trace run did log the cookie being stored (so the check above means something).
    assert!(runs[4].contains("Set-Cookie"), "{}", runs[4]);
    assert!(runs[4].contains("<redacted>"), "{}", runs[4]);
}

#[test]
fn v_shows_pages_and_tokens_and_vv_only_our_debug_lines() {
    let (conn, fx) = fixture("levels");
    let quiet = run(&conn, &fx, None, None);
    assert!(!quiet.contains("INFO"), "{quiet}");
    let v = run(&conn, &fx, Some("-v"), None);
    assert!(v.contains("token obtained"), "{v}");
    assert!(v.contains("page 1 records=1"), "{v}");
    assert!(v.contains("page 2 records=0"), "{v}");
    assert!(!v.contains("DEBUG"), "{v}");
    let vv = run(&conn, &fx, Some("-vv"), None);
    assert!(vv.contains("DEBUG request method=GET"), "{vv}");
    // Third-party debug lines (TLS roots, the template engine, the HTTP pool) stay out.
    for other in [
        "Rendering value",
        "CA root certificates",
        "pooling idle connection",
    ] {
        assert!(!vv.contains(other), "{other} in\n{vv}");
    }
    let trace = run(&conn, &fx, None, Some("trace"));
    assert!(trace.contains("pooling idle connection"), "{trace}");
}
