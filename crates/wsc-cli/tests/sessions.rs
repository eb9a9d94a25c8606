//! A session login (`auth.custom` with `credential: cookies`) through the `wsc` binary: the
//! session cookie is kept in the state store with the token, so the next process reuses the
//! session instead of logging in again, and `wsc auth status` says what it holds.

mod common;
use common::*;

use wsc_testkit::synthetic::{AuthMode, LoginConfig, SyntheticApi, SyntheticConfig};

const PASSWORD: &str = "svc-pass-5Rk2wQ";

const CONNECTOR: &str = r#"connector: session_cli
settings:
  base_url: {}
  password: { secret: true }
base_url: "{{settings.base_url}}/api"
auth:
  type: custom
  credential: cookies
  request:
    url: "{{settings.base_url}}/login"
    form: { username: svc, password: "{{settings.password}}" }
    response: { default_expires_in: 30m }
operations:
  account_aggregation:
    request:
      path: /users/offset
      query: { offset: "{{page.offset}}", limit: "{{page.limit}}" }
    paging: { kind: offset, limit: 10, total: "$.total" }
    records: "$.items[*]"
    identity: "$.id"
"#;

#[test]
fn the_session_cookie_is_stored_and_reused_by_the_next_process() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt
        .block_on(SyntheticApi::start(
            SyntheticConfig::new(25)
                .with_auth(AuthMode::Session)
                .with_login(LoginConfig::new([("svc", PASSWORD)])),
        ))
        .unwrap();
    let dir = scratch("sessions");
    let file = dir.join("session.yaml");
    std::fs::write(&file, CONNECTOR).unwrap();
    let state = dir.join("state.db");
    let run = |args: &[&str]| {
        wsc()
            .args(args)
            .arg(&file)
            .args(["--set", &format!("base_url={}", api.base_url())])
            .arg("--state")
            .arg(&state)
            .env("WSC_PASSWORD", PASSWORD)
            .output()
            .unwrap()
    };
    for _ in 0..2 {
        let o = run(&["aggregate"]);
        assert_eq!(code(&o), 0, "{}", show(&o));
        assert_eq!(text(&o.stdout).lines().count(), 25);
        assert!(!text(&o.stderr).contains(PASSWORD), "{}", show(&o));
    }
    // One login for both processes: the second used the stored session cookie.
    let s = api.stats();
    assert_eq!((s.logins, s.auth_failures), (1, 0), "{s:?}");
    let o = run(&["auth", "status"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = text(&o.stdout);
    assert!(
        out.contains("by the login request (`auth.request`)")
            && out.contains("cookies:   session cookies held")
            && out.contains("then logs in with `auth.request`"),
        "{out}"
    );
    assert!(!out.contains("sid="), "{out}");
    rt.block_on(api.shutdown());
}
