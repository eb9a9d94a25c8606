//! `wsc auth login` for a grant without a user always exchanges the credentials, even when a
//! valid token is stored: a wrong secret fails instead of "signed in".

mod common;
use common::*;

use wsc_testkit::synthetic::{AuthMode, OAuth2Config, SyntheticApi, SyntheticConfig};

#[test]
fn auth_login_always_exchanges_the_credentials() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let secret = "login-secret-Yt5rW0qa";
    let api = rt
        .block_on(SyntheticApi::start(SyntheticConfig::new(3).with_auth(
            AuthMode::OAuth2(OAuth2Config::new("demo-client", secret)),
        )))
        .unwrap();
    let dir = scratch("login");
    let state = dir.join("state.db");
    let login = |secret: &str| {
        wsc()
            .args(["auth", "login", "connectors/demo.yaml", "--set"])
            .arg(format!("base_url={}", api.base_url()))
            .arg("--set")
            .arg(format!("client_secret={secret}"))
            .arg("--state")
            .arg(&state)
            .output()
            .unwrap()
    };
    let out = login(secret);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(text(&out.stdout).contains("signed in"), "{}", show(&out));
    let before = api.stats().token_requests;
    let out = login("wrong-secret-000");
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(!text(&out.stdout).contains("signed in"), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("invalid_client"),
        "{}",
        show(&out)
    );
    assert_eq!(
        api.stats().token_requests,
        before + 1,
        "one exchange was tried"
    );
    rt.block_on(api.shutdown());
}
