//! The store key from outside the state directory: `WSC_STATE_KEY_FILE` for the SQLite store
//! (no key file beside the database), a changed key stopping a snapshot delta instead of
//! reporting every record as updated, and a missing key file. `wsc aggregate --delta` against
//! the synthetic API.

mod common;
use common::*;

use std::path::Path;
use std::process::Output;

use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig};

const TOKEN: &str = "state-key-bearer-P2nv";

const CONNECTOR: &str = r#"connector: state_key_it
settings:
  base_url: {}
  token: { secret: true }
  tenant: { default: acme }
instance: [tenant]
base_url: "{{settings.base_url}}/api"
auth: { type: bearer, token: "{{settings.token}}" }
operations:
  account_aggregation:
    request:
      path: /users/offset
      query: { offset: "{{page.offset}}", limit: "{{page.limit}}" }
    paging: { kind: offset, limit: 25, total: "$.total" }
    records: "$.items[*]"
    identity: "$.id"
    attributes:
      email: "$.emails[0].value"
"#;

/// `wsc aggregate --delta` of 30 accounts with the key file `key_file` (or none).
fn delta(dir: &Path, key_file: Option<&Path>) -> Output {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt
        .block_on(SyntheticApi::start(
            SyntheticConfig::new(30).with_auth(AuthMode::Bearer(TOKEN.into())),
        ))
        .unwrap();
    let mut cmd = wsc();
    cmd.arg("aggregate")
        .arg(dir.join("c.yaml"))
        .args(["--set", &format!("base_url={}", api.base_url())])
        .args(["--set", &format!("token={TOKEN}")])
        .arg("--state")
        .arg(dir.join("state/state.db"))
        .arg("--delta");
    if let Some(k) = key_file {
        cmd.env("WSC_STATE_KEY_FILE", k);
    }
    let out = cmd.output().unwrap();
    rt.block_on(api.shutdown());
    out
}

#[test]
fn a_key_file_outside_the_state_directory() {
    let dir = scratch("outside");
    std::fs::write(dir.join("c.yaml"), CONNECTOR).unwrap();
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    let key = dir.join("secrets/wsc-state-key");
    std::fs::write(&key, "a passphrase from a mounted secret\n").unwrap();

    let first = delta(&dir, Some(&key));
    assert_eq!(code(&first), 0, "{}", show(&first));
    assert_eq!(text(&first.stdout).lines().count(), 30);
    // The key is not in the state directory.
    assert!(!dir.join("state/state.key").exists());
    let second = delta(&dir, Some(&key));
    assert_eq!(code(&second), 0, "{}", show(&second));
    assert_eq!(text(&second.stdout), "", "nothing changed");

    // Another key: an error, not 30 "updated" lines.
    std::fs::write(&key, "another passphrase").unwrap();
    let other = delta(&dir, Some(&key));
    assert_eq!(code(&other), 1, "{}", show(&other));
    assert_eq!(text(&other.stdout), "");
    let err = text(&other.stderr);
    assert!(
        err.contains("the snapshot was written under another store key"),
        "{err}"
    );
    // No key at all is another key too (the key file beside the database).
    let none = delta(&dir, None);
    assert_eq!(code(&none), 1, "{}", show(&none));

    // A key file that is not there.
    let missing = delta(&dir, Some(&dir.join("secrets/nope")));
    assert_eq!(code(&missing), 1, "{}", show(&missing));
    assert!(
        text(&missing.stderr).contains("reading the store key from WSC_STATE_KEY_FILE="),
        "{}",
        show(&missing)
    );
}
