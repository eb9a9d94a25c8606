//! The replay server answers matching requests from a cassette, reports unmatched requests
//! with the closest interaction and a diff, and lists unused interactions.

use wsc_testkit::replay::{Cassette, ReplayServer};

fn cassette(yaml: &str) -> Cassette {
    let dir = std::env::temp_dir().join(format!("wsc-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("c{}.yaml", fastrand_like()));
    std::fs::write(&path, yaml).unwrap();
    Cassette::load(&path).unwrap_or_else(|e| panic!("{e}")).0
}

fn fastrand_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

const CASSETTE: &str = r#"
interactions:
  - request: { method: GET, path: /users, query: { page: "1" } }
    response:
      status: 200
      body: { items: [ { id: "a" } ], next: "{{base_url}}/users?page=2" }
  - request: { method: GET, path: /users, query: { page: "2" } }
    response: { status: 200, body: { items: [] } }
  - request:
      method: POST
      path: /users
      body: { userName: ann }
    response: { status: 201, body: { id: "new" } }
  - request: { method: DELETE, path: /users/x }
    response: { status: 204 }
"#;

#[tokio::test]
async fn replays_matches_and_reports_the_rest() {
    let server = ReplayServer::start(cassette(CASSETTE), std::env::temp_dir())
        .await
        .unwrap();
    let base = server.base_url();
    let client = reqwest::Client::new();
    let r: serde_json::Value = client
        .get(format!("{base}/users?page=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["next"], format!("{base}/users?page=2"));
    let created = client
        .post(format!("{base}/users"))
        .json(&serde_json::json!({"userName": "ann", "extra": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // A body that differs: unmatched, with the closest interaction and the field named.
    let bad = client
        .post(format!("{base}/users"))
        .json(&serde_json::json!({"userName": "bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 501);
    let text = bad.text().await.unwrap();
    assert!(text.contains("closest interaction #2"), "{text}");
    assert!(
        text.contains("$.userName: expected \"ann\", got \"bob\""),
        "{text}"
    );

    let report = server.report();
    assert_eq!(report.requests.len(), 3);
    assert_eq!(report.unmatched.len(), 1);
    let unused: Vec<usize> = report.unused.iter().map(|(i, _)| *i).collect();
    assert_eq!(unused, vec![1, 3]);
    let problems = report.problems();
    assert!(
        problems.contains("unused interaction #3: DELETE /users/x"),
        "{problems}"
    );
    server.shutdown().await;
}

#[test]
fn invalid_cassettes_have_located_errors() {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("bad-{}.yaml", fastrand_like()));
    std::fs::write(
        &path,
        "interactions:\n  - request: { path: /x }\n    respons: {}\n",
    )
    .unwrap();
    let err = Cassette::load(&path).unwrap_err().to_string();
    assert!(err.contains(":3:5"), "{err}");
    assert!(err.contains("did you mean `response`?"), "{err}");
}
