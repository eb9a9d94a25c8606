//! Token single flight across worker processes sharing a PostgreSQL store: a token endpoint
//! that rotates single-use refresh tokens and revokes the whole grant when a spent one comes
//! back, access tokens living 2 s, four workers aggregating for 30 s. Real PostgreSQL (a
//! throwaway cluster), real processes, real HTTP.

mod common;
use common::*;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wsc_testkit::postgres::PgCluster;
use wsc_testkit::synthetic::{AuthMode, OAuth2Config, SyntheticApi, SyntheticConfig};

const USERS: usize = 120;
const LIFETIME: Duration = Duration::from_secs(2);
const SKEW_MS: u64 = 500;

/// A connector on the refresh_token grant (seeded from a setting, rotated afterwards), with
/// tokens refreshed 500 ms before expiry.
fn connector() -> String {
    format!(
        r#"connector: fleet_tokens
settings:
  base_url: {{}}
  refresh_token: {{ secret: true }}
  client_secret: {{ secret: true }}
base_url: "{{{{settings.base_url}}}}/api"
auth:
  type: oauth2
  grant: refresh_token
  token_url: "{{{{settings.base_url}}}}/oauth/token"
  client_id: fleet-client
  client_secret: "{{{{settings.client_secret}}}}"
  refresh_token: "{{{{settings.refresh_token}}}}"
  refresh: {{ skew: {SKEW_MS}ms }}
operations:
  test_connection:
    request: {{ path: /me }}
  account_aggregation:
    request:
      path: /users/offset
      query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
    paging: {{ kind: offset, limit: 40, total: "$.total" }}
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
"#
    )
}

/// The synthetic API on a runtime of its own.
struct Api {
    rt: tokio::runtime::Runtime,
    api: Option<SyntheticApi>,
}

impl Api {
    fn start() -> Api {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let oauth = OAuth2Config::new("fleet-client", "fleet-secret")
            .with_token_lifetime(LIFETIME)
            .with_rotating_refresh("rt-seed");
        let config = SyntheticConfig::new(USERS)
            .with_auth(AuthMode::OAuth2(oauth))
            .with_latency(Duration::from_millis(5));
        let api = rt.block_on(SyntheticApi::start(config)).unwrap();
        Api { rt, api: Some(api) }
    }

    fn api(&self) -> &SyntheticApi {
        self.api.as_ref().unwrap()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            self.rt.block_on(api.shutdown());
        }
    }
}

/// One `wsc aggregate` run with the state store `state`; returns the records it printed.
fn aggregate(file: &Path, base_url: &str, state: &str) -> Result<usize, String> {
    let out = wsc()
        .arg("aggregate")
        .arg(file)
        .args(["--object", "account", "--state", state])
        .args(["--set", &format!("base_url={base_url}")])
        .args(["--set", "refresh_token=rt-seed"])
        .env("WSC_CLIENT_SECRET", "fleet-secret")
        .env("WSC_STATE_KEY", "fleet key")
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(show(&out));
    }
    Ok(text(&out.stdout).lines().count())
}

#[test]
fn four_workers_for_30s_share_one_rotating_token_without_reuse() {
    let pg = PgCluster::start().expect("start a throwaway PostgreSQL cluster");
    let url = pg.create_database("fleet").unwrap();
    let api = Api::start();
    let dir = scratch("fleet-tokens");
    let file = dir.join("fleet.yaml");
    std::fs::write(&file, connector()).unwrap();

    let duration = Duration::from_secs(30);
    let started = Instant::now();
    let base = Arc::new(api.api().base_url());
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (file, base, url) = (file.clone(), base.clone(), url.clone());
            std::thread::spawn(move || {
                let mut runs = 0usize;
                while started.elapsed() < duration {
                    let n = aggregate(&file, &base, &url).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(n, USERS);
                    runs += 1;
                }
                runs
            })
        })
        .collect();
    let runs: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let elapsed = started.elapsed();
    let stats = api.api().stats();

    assert_eq!(stats.invalid_grants, 0, "{stats:#?}");
    assert_eq!(stats.grants_revoked, 0, "{stats:#?}");
    assert_eq!(stats.auth_failures, 0, "{stats:#?}");
    // A token is fresh for (lifetime - skew) after it is issued, and only a stale token is
    // refreshed: at most one refresh per that interval for the whole fleet, plus the first.
    // Refreshing per worker would be about four times as many.
    let fresh_for = LIFETIME.as_millis() as f64 - SKEW_MS as f64;
    let most = (elapsed.as_millis() as f64 / fresh_for).ceil() as u64 + 1;
    assert!(
        stats.refresh_requests <= most,
        "{} refreshes in {elapsed:?} (at most {most} expected): {stats:#?}",
        stats.refresh_requests
    );
    // The workers ran the whole time, so the token was rotated again and again.
    assert!(
        stats.refresh_requests >= 10,
        "only {} refreshes in {elapsed:?}",
        stats.refresh_requests
    );
    assert_eq!(stats.token_requests, stats.refresh_requests);
    assert!(runs >= 8, "only {runs} runs");
    eprintln!(
        "{runs} runs by 4 workers in {elapsed:?}: {} refresh requests (≤ {most}), 0 invalid_grant, 0 revocations",
        stats.refresh_requests
    );
}

/// The control: without a shared store each process spends the seed refresh token itself,
/// the second one is a reuse, and the server revokes the grant. This is the failure the
/// test above rules out.
#[test]
fn without_a_shared_store_the_second_process_reuses_and_revokes() {
    let api = Api::start();
    let dir = scratch("fleet-tokens-control");
    let file = dir.join("fleet.yaml");
    std::fs::write(&file, connector()).unwrap();
    let base = api.api().base_url();
    assert_eq!(aggregate(&file, &base, "none").unwrap(), USERS);
    let e = aggregate(&file, &base, "none").unwrap_err();
    assert!(e.contains("invalid_grant"), "{e}");
    let stats = api.api().stats();
    assert_eq!(stats.grants_revoked, 1, "{stats:#?}");
}
