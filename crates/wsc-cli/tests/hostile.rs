//! Hostile input through the real `wsc` binary (issue 15): deep or oversized connectors, plans,
//! `--settings` files, fixture cases and cassettes exit 2 with a located error instead of
//! crashing (exit 134) or running for minutes; a response body past `http.max_body` from a
//! real server fails the run (exit 1) without an output file.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

/// A hostile document and the `line:column` where it crosses a limit of `max` levels.
fn shapes(max: usize) -> Vec<(&'static str, String, String)> {
    vec![
        (
            "20,000 nested block sequences",
            "- ".repeat(20_000),
            format!("1:{}", 2 * max + 1),
        ),
        (
            "200 KB of `[`",
            "[".repeat(200_000),
            format!("1:{}", max + 1),
        ),
        (
            "deep flow maps",
            "{a: ".repeat(20_000),
            format!("1:{}", 4 * max + 1),
        ),
        (
            "deep indentation",
            (0..1_000)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect(),
            format!("{}:{}", max + 1, max + 1),
        ),
    ]
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// Exit 2, the file and position named, the limit explained.
fn assert_refused(o: &Output, file: &Path, at: &str, what: &str) {
    let err = text(&o.stderr);
    assert_eq!(code(o), 2, "{what}: {}", show(o));
    assert!(
        err.contains(&format!("{}:{at}", file.display())),
        "{what}: expected {}:{at}\n{}",
        file.display(),
        show(o)
    );
    assert!(err.contains("deeper than 64 levels"), "{what}: {}", show(o));
    assert!(err.contains("Input limits"), "{what}: {}", show(o));
}

#[test]
fn validate_refuses_hostile_connectors() {
    let dir = scratch("connectors");
    for (what, doc, at) in shapes(64) {
        let file = write(&dir, "deep.yaml", &doc);
        let o = wsc().arg("validate").arg(&file).output().unwrap();
        assert_refused(&o, &file, &at, what);
    }
}

#[test]
fn provision_refuses_hostile_plans() {
    let dir = scratch("plans");
    for (what, doc, at) in shapes(64) {
        let plan = write(&dir, "plan.yaml", &doc);
        let o = wsc()
            .args(["provision", "connectors/demo.yaml"])
            .arg(&plan)
            .arg("--dry-run")
            .output()
            .unwrap();
        assert_refused(&o, &plan, &at, what);
    }
}

#[test]
fn hostile_settings_files_are_refused() {
    let dir = scratch("settings");
    for (what, doc, at) in shapes(64) {
        let settings = write(&dir, "settings.yaml", &doc);
        let o = wsc()
            .args(["aggregate", "connectors/demo.yaml", "--object", "account"])
            .arg("--settings")
            .arg(&settings)
            .output()
            .unwrap();
        assert_refused(&o, &settings, &at, what);
    }
}

/// `wsc test` with a hostile case file, then with a valid case whose cassette is hostile.
#[test]
fn hostile_cases_and_cassettes_are_refused() {
    let cassettes = shapes(128);
    for ((what, doc, at), (_, _, cassette_at)) in shapes(64).into_iter().zip(cassettes) {
        let dir = scratch("cases");
        let case = write(&dir, "deep.case.yaml", &doc);
        let o = wsc()
            .args(["test", "connectors/demo.yaml", "--fixtures"])
            .arg(&dir)
            .output()
            .unwrap();
        let all = text(&o.stderr) + &text(&o.stdout);
        assert_eq!(code(&o), 2, "{what}: {}", show(&o));
        let here = format!("{}:{at}", case.display());
        assert!(all.contains(&here), "{what}: expected {here}\n{}", show(&o));
        assert!(
            all.contains("deeper than 64 levels"),
            "{what}: {}",
            show(&o)
        );

        let dir = scratch("cassettes");
        write(
            &dir,
            "deep_cassette.case.yaml",
            "operation: account_aggregation\nsettings:\n  base_url: http://127.0.0.1:9\n  client_secret: x\ncassette: cassettes/deep.yaml\n",
        );
        let cassette = write(&dir, "cassettes/deep.yaml", &doc);
        let o = wsc()
            .args(["test", "connectors/demo.yaml", "--fixtures"])
            .arg(&dir)
            .output()
            .unwrap();
        let all = text(&o.stderr) + &text(&o.stdout);
        assert_eq!(code(&o), 2, "{what}: {}", show(&o));
        let here = format!("{}:{cassette_at}", cassette.display());
        assert!(all.contains(&here), "{what}: expected {here}\n{}", show(&o));
        assert!(
            all.contains("deeper than 128 levels"),
            "{what}: {}",
            show(&o)
        );
    }
}

#[test]
fn oversized_connector_is_refused_without_reading_it_whole() {
    let dir = scratch("oversized");
    // 100 bytes a line: the 4 MiB limit is crossed on line 41,944.
    let line = "# ".to_string() + &"x".repeat(97) + "\n";
    let file = write(&dir, "huge.yaml", &line.repeat(50_000));
    let o = wsc().arg("validate").arg(&file).output().unwrap();
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(
        err.contains("the connector file is larger than 4 MiB"),
        "{}",
        show(&o)
    );
    assert!(
        err.contains(&format!("{}:41944:", file.display())),
        "{}",
        show(&o)
    );
}

/// A real HTTP server on 127.0.0.1 that answers every request with an endless JSON body.
fn endless_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = sock.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"items\":[",
                );
                let filler = vec![b' '; 64 * 1024];
                while sock.write_all(&filler).is_ok() {}
            });
        }
    });
    url
}

#[test]
fn a_body_past_max_body_fails_the_run_without_output() {
    let url = endless_server();
    let dir = scratch("max-body");
    let conn = write(
        &dir,
        "big.yaml",
        r#"connector: big
settings:
  base_url: {}
base_url: "{{settings.base_url}}"
auth: { type: none }
http:
  max_body: 256KiB
operations:
  account_aggregation:
    request: { path: /users }
    records: "$.items[*]"
    identity: "$.id"
"#,
    );
    let out_file = dir.join("accounts.jsonl");
    let o = wsc()
        .arg("aggregate")
        .arg(&conn)
        .args(["--object", "account", "--set"])
        .arg(format!("base_url={url}"))
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(err.contains("larger than 256KiB"), "{}", show(&o));
    assert!(err.contains("`http.max_body`"), "{}", show(&o));
    assert!(err.contains(&format!("GET {url}/users")), "{}", show(&o));
    assert!(!out_file.exists(), "no output file after a failed run");
}
