//! connectors/soap_directory.yaml against a real SOAP server: tests/soap/server.py, a spyne
//! (PyPI, pinned in tests/soap/requirements.txt) directory service that checks a WS-Security
//! UsernameToken on every call. Aggregates users (paged by offset and limit in the SOAP body)
//! and groups, then creates, reads, changes and deletes a user whose values hold every XML
//! special character, each step read back; an unknown user is a SOAP fault, a wrong password
//! is refused, and the PasswordText form of the token works too.
//!
//! The server runs on 127.0.0.1 on a port it picks. It is installed on first use into a
//! Python venv under target/ (`wsc_testkit::tools::soap_server`); without `python3` (and its
//! `venv` module) the test fails and says what to install; nothing is skipped.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

const USER: &str = "svc-wsc";
/// A password with XML special characters: it is escaped in a PasswordText token.
const PASSWORD: &str = "s3cret&<pw>'\"";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let (python, script) =
        wsc_testkit::tools::soap_server(&root(), Path::new(env!("CARGO_TARGET_TMPDIR")))
            .unwrap_or_else(|e| panic!("the SOAP interop tests need spyne: {e}"));
    let mut child = Command::new(python)
        .arg(script)
        .args(["--port", "0", "--users", "25"])
        .args(["--username", USER, "--password", PASSWORD])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the SOAP server ({e})"));
    // The server prints `listening on http://127.0.0.1:PORT/soap` once it is bound.
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the SOAP server's first line");
    let Some(url) = line.trim().strip_prefix("listening on ") else {
        let _ = child.kill();
        panic!("the SOAP server did not start: {line:?}");
    };
    let base = url.trim_end_matches("/soap").to_string();
    Server { child, base }
}

fn settings(s: &Server, password: &str) -> Vec<String> {
    vec![
        "--set".into(),
        format!("base_url={}", s.base),
        "--set".into(),
        format!("username={USER}"),
        "--set".into(),
        format!("password={password}"),
        "--set".into(),
        "page_size=10".into(),
    ]
}

fn lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn aggregate(s: &Server, object: &str) -> Vec<Value> {
    let o = wsc()
        .args([
            "aggregate",
            "connectors/soap_directory.yaml",
            "--object",
            object,
        ])
        .args(settings(s, PASSWORD))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    lines(&o)
}

fn get_account(s: &Server, id: &str) -> Output {
    wsc()
        .args(["get", "connectors/soap_directory.yaml", id])
        .args(settings(s, PASSWORD))
        .output()
        .unwrap()
}

fn provision(s: &Server, dir: &Path, name: &str, plan: &str) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, plan).unwrap();
    wsc()
        .arg("provision")
        .arg("connectors/soap_directory.yaml")
        .arg(&path)
        .args(settings(s, PASSWORD))
        .output()
        .unwrap()
}

fn attributes(o: &Output) -> Value {
    assert!(o.status.success(), "{}", show(o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["attributes"].clone()
}

#[test]
fn soap_directory_against_spyne() {
    let s = start_server();
    let dir = scratch("soap-lifecycle");

    let o = wsc()
        .args(["test-connection", "connectors/soap_directory.yaml"])
        .args(settings(&s, PASSWORD))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));

    // 25 users over 3 pages of 10, against the total the service reports.
    let accounts = aggregate(&s, "account");
    assert_eq!(accounts.len(), 25, "{accounts:?}");
    let first = &accounts[0];
    assert_eq!(first["identity"], "u001");
    assert_eq!(first["name"], "user001");
    assert_eq!(first["attributes"]["email"], "user001@example.test");
    assert_eq!(first["attributes"]["active"], true);
    assert_eq!(
        first["attributes"]["groups"],
        json!(["g-admins", "g-staff"])
    );
    assert_eq!(
        accounts[4]["attributes"]["active"], false,
        "{}",
        accounts[4]
    );
    let groups = aggregate(&s, "group");
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups[1]["name"], "Staff & Friends");
    assert_eq!(
        groups[1]["members"],
        json!(["u001", "u002", "u003", "u004"])
    );

    // Create a user whose values hold every XML special character: they arrive intact.
    let o = provision(
        &s,
        &dir,
        "create.yaml",
        "operation: create_account\nidentity: \"o'brien&<co>\"\nattributes:\n  email: '\"ob\"@example.test'\n  givenName: Pat & Sam\n  familyName: <O'Brien>\n",
    );
    assert!(o.status.success(), "{}", show(&o));
    let created = lines(&o);
    let id = created[0]["object"]["identity"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(id, "u026", "{created:?}");
    let got = attributes(&get_account(&s, &id));
    assert_eq!(got["userName"], "o'brien&<co>");
    assert_eq!(got["email"], "\"ob\"@example.test");
    assert_eq!(got["givenName"], "Pat & Sam");
    assert_eq!(got["familyName"], "<O'Brien>");
    assert_eq!(got["active"], true);

    // Add to a group, disable, update: each read back.
    let o = provision(
        &s,
        &dir,
        "add.yaml",
        &format!(
            "operation: add_entitlement\nidentity: {id}\nattribute: groups\nvalues: [g-admins, g-staff]\n"
        ),
    );
    assert!(o.status.success(), "{}", show(&o));
    let got = attributes(&get_account(&s, &id));
    assert_eq!(got["groups"], json!(["g-admins", "g-staff"]));
    let o = provision(
        &s,
        &dir,
        "disable.yaml",
        &format!("operation: disable_account\nidentity: {id}\n"),
    );
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(attributes(&get_account(&s, &id))["active"], false);
    let o = provision(
        &s,
        &dir,
        "update.yaml",
        &format!(
            "- operation: enable_account\n  identity: {id}\n- operation: update_account\n  identity: {id}\n  attributes:\n    email: new&improved@example.test\n"
        ),
    );
    assert!(o.status.success(), "{}", show(&o));
    let got = attributes(&get_account(&s, &id));
    assert_eq!(got["active"], true);
    assert_eq!(got["email"], "new&improved@example.test");
    assert_eq!(got["givenName"], "Pat & Sam", "left unchanged");

    // Remove from one group, then delete: the user is gone (a SOAP fault).
    let o = provision(
        &s,
        &dir,
        "remove.yaml",
        &format!(
            "- operation: remove_entitlement\n  identity: {id}\n  attribute: groups\n  values: [g-admins]\n- operation: delete_account\n  identity: {id}\n"
        ),
    );
    assert!(o.status.success(), "{}", show(&o));
    let groups = aggregate(&s, "group");
    assert_eq!(groups[0]["members"], json!(["u001"]));
    let o = get_account(&s, &id);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(err.contains("Client.NotFound"), "{err}");
    assert!(err.contains(&format!("no user with id {id}")), "{err}");
    assert_eq!(aggregate(&s, "account").len(), 25);
}

#[test]
fn soap_fault_and_bad_password() {
    let s = start_server();

    // An unknown user: the fault's code and text, exit 1.
    let o = get_account(&s, "u999");
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(err.contains("SOAP fault"), "{err}");
    assert!(
        err.contains("Client.NotFound: no user with id u999"),
        "{err}"
    );

    // A wrong password: refused by the server's UsernameToken check; no password shown.
    let wrong = "not-the-password";
    let o = wsc()
        .args(["aggregate", "connectors/soap_directory.yaml"])
        .args(settings(&s, wrong))
        .output()
        .unwrap();
    assert_ne!(code(&o), 0, "{}", show(&o));
    assert!(o.stdout.is_empty(), "{}", show(&o));
    let err = text(&o.stderr);
    assert!(err.contains("Client.Authentication"), "{err}");
    assert!(err.contains("unknown user or bad password"), "{err}");
    assert!(!err.contains(wrong), "{err}");

    // PasswordText: the same connector with `password_type: text` (the password is
    // XML-escaped in the token, so its `&<>'"` arrive intact).
    let dir = scratch("soap-text");
    let yaml = std::fs::read_to_string(root().join("connectors/soap_directory.yaml")).unwrap();
    let text_yaml = yaml.replace("password_type: digest", "password_type: text");
    assert_ne!(yaml, text_yaml);
    let path = dir.join("soap_text.yaml");
    std::fs::write(&path, text_yaml).unwrap();
    let o = wsc()
        .arg("aggregate")
        .arg(&path)
        .args(settings(&s, PASSWORD))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", show(&o));
    assert_eq!(lines(&o).len(), 25);
}
