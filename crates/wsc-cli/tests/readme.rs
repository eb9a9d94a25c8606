//! The READMEs as written: README.md's "try a connector by hand" lines run (the server the
//! first starts, the aggregate the second runs against it, with the secret the first printed),
//! and connectors/README.md names only settings its connectors have.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// The shell lines of the code block after `marker` in `text`, continuation lines joined.
fn shell_block(text: &str, marker: &str) -> Vec<String> {
    let start = text.find(marker).expect("the README section");
    let rest = &text[start..];
    let open = rest.find("```sh\n").expect("a sh block") + 6;
    let close = open + rest[open..].find("```").expect("the block's end");
    let mut lines = Vec::new();
    let mut current = String::new();
    for l in rest[open..close].lines() {
        let l = l.split(" #").next().unwrap_or(l).trim();
        match l.strip_suffix('\\') {
            Some(head) => current.push_str(&format!("{} ", head.trim())),
            None => {
                current.push_str(l);
                lines.push(std::mem::take(&mut current));
            }
        }
    }
    lines.into_iter().filter(|l| !l.is_empty()).collect()
}

/// Splits `VAR=v ... cargo run --release -p wsc-cli -- ARGS` into the variables and ARGS.
fn command(line: &str) -> (Vec<(String, String)>, Vec<String>) {
    let (head, args) = line
        .split_once("cargo run --release -p wsc-cli -- ")
        .unwrap_or_else(|| panic!("not a wsc command: {line}"));
    let vars = head
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    (vars, args.split_whitespace().map(String::from).collect())
}

#[test]
fn readme_try_by_hand_runs_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = shell_block(&readme, "Try a connector by hand");
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (vars, mut serve) = command(&lines[0]);
    assert!(vars.is_empty());
    // The README's port may be taken on this machine: a free one, told on stdout.
    let port = serve.iter().position(|a| a == "--port").unwrap() + 1;
    serve[port] = "0".into();
    let mut server = wsc()
        .args(&serve)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim().to_string();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("client_secret ") {
        assert!(stderr.read_line(&mut said).unwrap() > 0, "{said}");
    }
    let secret = said
        .split("client_secret ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(secret.starts_with("demo-"), "{said}");

    let (vars, args) = command(&lines[1]);
    let mut agg = wsc();
    agg.args(&args);
    for (k, v) in vars {
        let v = match k.as_str() {
            "WSC_BASE_URL" => {
                assert!(v.starts_with("http://127.0.0.1:"), "{v}");
                url.clone()
            }
            "WSC_CLIENT_SECRET" => {
                assert_eq!(v, "demo-...");
                secret.clone()
            }
            _ => v,
        };
        agg.env(k, v);
    }
    let out = agg.output().unwrap();
    let _ = std::process::Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status();
    let status = server.wait().unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let csv = text(&out.stdout);
    assert!(csv.starts_with("type,identity,name,"), "{csv}");
    assert_eq!(
        csv.lines().count(),
        51,
        "a header and the 50 default groups"
    );
    assert!(
        text(&out.stderr).contains("group: 50 records"),
        "{}",
        show(&out)
    );
    assert_eq!(status.code(), Some(0), "Ctrl-C ends --serve cleanly");
}

#[test]
fn connectors_readme_names_only_settings_that_exist() {
    let readme = std::fs::read_to_string(root().join("connectors/README.md")).unwrap();
    assert!(!readme.contains("arrive with the engine"), "stale text");
    let mut rows = 0;
    for row in readme.lines().filter(|l| l.starts_with("| [")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let file = cells[0]
            .split("](")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .unwrap();
        let loaded = wsc_spec::load_file(&root().join("connectors").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        let settings = cells[4];
        for name in settings.split('`').skip(1).step_by(2) {
            assert!(
                loaded.connector.settings.contains_key(name),
                "{file}: connectors/README.md lists `{name}`, which is not a setting"
            );
        }
        rows += 1;
    }
    assert!(rows >= 4, "{rows}");
}
