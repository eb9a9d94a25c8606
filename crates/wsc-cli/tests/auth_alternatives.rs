//! `wsc auth status` and runs of a connector with auth alternatives: the status names the
//! alternative in use and how it was chosen, and tokens are kept per alternative.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;

use wsc_testkit::synthetic::{AuthMode, SyntheticApi, SyntheticConfig};

const CLIENT: &str = "alt-cli-client";
const SECRET: &str = "alt-cli-secret-9Wz";

const CONNECTOR: &str = r#"connector: alt
settings:
  base_url: {}
  auth_method: { enum: [api_token, oauth], required: false }
  api_token: { secret: true }
  client_secret: { secret: true }
base_url: "{{settings.base_url}}/api"
auth:
  type: alternatives
  select: auth_method
  alternatives:
    api_token: { type: api_key, name: X-Api-Key, key: "{{settings.api_token}}" }
    oauth:
      type: oauth2
      grant: client_credentials
      token_url: "{{settings.base_url}}/oauth/token"
      client_id: alt-cli-client
      client_secret: "{{settings.client_secret}}"
operations:
  account_aggregation:
    request:
      path: /users/offset
      query: { offset: "{{page.offset}}", limit: "{{page.limit}}" }
    paging: { kind: offset, limit: 10, total: "$.total", concurrency: 1 }
    records: "$.items[*]"
    identity: "$.id"
"#;

fn run(file: &Path, state: &Path, base: &str, args: &[&str], sets: &[&str]) -> Command {
    let mut c = wsc();
    c.args(args)
        .arg(file)
        .arg("--set")
        .arg(format!("base_url={base}"))
        .arg("--state")
        .arg(state);
    for s in sets {
        c.arg("--set").arg(s);
    }
    c
}

#[test]
fn auth_status_names_the_alternative_in_use() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt
        .block_on(SyntheticApi::start(
            SyntheticConfig::new(12).with_auth(AuthMode::oauth2(CLIENT, SECRET)),
        ))
        .unwrap();
    let dir = scratch("auth-alternatives");
    let file = dir.join("alt.yaml");
    std::fs::write(&file, CONNECTOR).unwrap();
    let state = dir.join("state.db");
    let base = api.base_url();
    let secret = format!("client_secret={SECRET}");

    // No selection: `api_token` lacks its key, so `oauth` (complete) is used; no API token is
    // asked for.
    let o = run(&file, &state, &base, &["aggregate"], &[&secret])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(text(&o.stdout).lines().count(), 12, "{}", show(&o));
    let o = run(&file, &state, &base, &["auth", "status"], &[&secret])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = text(&o.stdout);
    assert!(
        out.contains(
            "auth:      alternative `oauth` (the first alternative whose settings all have values)"
        ),
        "{out}"
    );
    assert!(
        out.contains("grant:     client_credentials (configured)"),
        "{out}"
    );
    assert!(out.contains("token:     valid"), "{out}");

    // Selected by the setting: the same token (stored for `oauth`).
    let o = run(
        &file,
        &state,
        &base,
        &["auth", "status"],
        &[&secret, "auth_method=oauth"],
    )
    .output()
    .unwrap();
    let out = text(&o.stdout);
    assert!(
        out.contains("auth:      alternative `oauth` (chosen by setting `auth_method`)"),
        "{}",
        show(&o)
    );

    // The API key alternative has nothing stored, and says which alternative it is.
    let o = run(
        &file,
        &state,
        &base,
        &["auth", "status"],
        &["auth_method=api_token", "api_token=k-1"],
    )
    .output()
    .unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        text(&o.stdout).contains(
            "alt: auth alternative `api_token` (chosen by setting `auth_method`): auth type `api_key` has no managed tokens"
        ),
        "{}",
        show(&o)
    );

    // Nothing usable: a usage error naming each alternative and what it lacks.
    let o = run(&file, &state, &base, &["aggregate"], &[])
        .output()
        .unwrap();
    assert_ne!(code(&o), 0, "{}", show(&o));
    let err = text(&o.stderr);
    assert!(
        err.contains(
            "`api_token` needs setting `api_token`; `oauth` needs setting `client_secret`"
        ),
        "{}",
        show(&o)
    );
    rt.block_on(api.shutdown());
}
