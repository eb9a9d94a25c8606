//! Injected faults, latency and server lifecycle.

mod common;

use std::time::{Duration, Instant};

use common::{client, get, get_ok};
use reqwest::StatusCode;
use serde_json::json;
use wsc_testkit::synthetic::{Error, FaultKind, Faults, RetryAfter, SyntheticApi, SyntheticConfig};

async fn start(faults: Faults) -> SyntheticApi {
    SyntheticApi::start(SyntheticConfig::new(100).with_faults(faults))
        .await
        .unwrap()
}

#[tokio::test]
async fn too_many_requests_with_retry_after_seconds() {
    let mut faults = Faults::fail_first(2, FaultKind::TooManyRequests);
    faults.retry_after = RetryAfter::Seconds(3);
    let api = start(faults).await;
    let client = client();
    let url = format!("{}/api/users/offset?limit=10", api.base_url());
    for _ in 0..2 {
        let (status, headers, body) = get(&client, &url).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers["retry-after"], "3");
        assert_eq!(body["error"]["code"], "rate_limited");
    }
    let body = get_ok(&client, &url).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 10);
    // /api/me is not a data request: never faulted.
    let body = get_ok(&client, &format!("{}/api/me", api.base_url())).await;
    assert_eq!(body, json!({"ok": true}));
    let stats = api.stats();
    assert_eq!(stats.faults.too_many_requests, 2);
    assert_eq!(stats.faults.total(), 2);
    assert_eq!(stats.data_requests, 3);
    assert_eq!(stats.pages.offset, 1);
    api.shutdown().await;
}

#[tokio::test]
async fn retry_after_as_http_date_or_omitted() {
    let mut faults = Faults::fail_first(1, FaultKind::TooManyRequests);
    faults.retry_after = RetryAfter::HttpDate(30);
    let api = start(faults).await;
    let client = client();
    let (status, headers, _) = get(&client, &format!("{}/api/users/page", api.base_url())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let date = headers["retry-after"].to_str().unwrap();
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
    assert_eq!(date.len(), 29, "{date}");
    assert!(date.ends_with(" GMT"), "{date}");
    assert_eq!(&date[3..5], ", ", "{date}");
    assert!(date[12..16].parse::<u32>().unwrap() >= 2024, "{date}");
    api.shutdown().await;

    let mut faults = Faults::fail_first(1, FaultKind::TooManyRequests);
    faults.retry_after = RetryAfter::Omitted;
    let api = start(faults).await;
    let (status, headers, _) = get(&client, &format!("{}/api/users/page", api.base_url())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.get("retry-after").is_none());
    api.shutdown().await;
}

#[tokio::test]
async fn server_errors_then_success() {
    let api = start(Faults::fail_first(3, FaultKind::ServerError)).await;
    let client = client();
    let url = format!("{}/api/groups/cursor", api.base_url());
    for _ in 0..3 {
        let (status, _, body) = get(&client, &url).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal");
    }
    let body = get_ok(&client, &url).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 20);
    assert_eq!(api.stats().faults.server_error, 3);
    api.shutdown().await;
}

#[tokio::test]
async fn reset_closes_the_connection_without_a_response() {
    let api = start(Faults::fail_first(1, FaultKind::Reset)).await;
    let client = client();
    let url = format!("{}/api/users/offset", api.base_url());
    let err = client.get(&url).send().await.unwrap_err();
    assert!(err.status().is_none(), "{err:?}");
    // The next request gets a fresh connection and an answer.
    let body = get_ok(&client, &url).await;
    assert_eq!(body["total"], 100);
    let stats = api.stats();
    assert_eq!(stats.faults.reset, 1);
    assert_eq!(stats.connections, 2);
    api.shutdown().await;
}

#[tokio::test]
async fn reset_sends_no_bytes_at_all() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = start(Faults::fail_first(1, FaultKind::Reset)).await;
    let mut stream = tokio::net::TcpStream::connect(api.addr()).await.unwrap();
    stream
        .write_all(b"GET /api/users/offset HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    // EOF or a reset error: either way nothing was sent.
    let _ = stream.read_to_end(&mut received).await;
    assert_eq!(String::from_utf8_lossy(&received), "");
    // A second raw request on a new connection gets a full HTTP answer.
    let mut stream = tokio::net::TcpStream::connect(api.addr()).await.unwrap();
    stream
        .write_all(b"GET /api/users/offset?limit=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await.unwrap();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("content-type: application/json"), "{text}");
    assert!(text.ends_with("]}"), "{text}");
    api.shutdown().await;
}

#[tokio::test]
async fn slow_responses_are_delayed() {
    let mut faults = Faults::fail_first(1, FaultKind::Slow);
    faults.slow_delay = Duration::from_millis(300);
    let api = start(faults).await;
    let client = client();
    let url = format!("{}/api/users/next?limit=3", api.base_url());
    let started = Instant::now();
    let slow = get_ok(&client, &url).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let normal = get_ok(&client, &url).await;
    assert_eq!(slow, normal);
    assert_eq!(api.stats().faults.slow, 1);
    api.shutdown().await;
}

#[tokio::test]
async fn malformed_bodies_are_cut_json() {
    let api = start(Faults::fail_first(1, FaultKind::Malformed)).await;
    let client = client();
    let url = format!("{}/api/users/offset?limit=7", api.base_url());
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cut = resp.bytes().await.unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&cut).is_err());
    let full = client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&full).is_ok());
    assert_eq!(cut.len(), full.len() / 2);
    assert!(full.starts_with(&cut));
    assert_eq!(api.stats().faults.malformed, 1);
    api.shutdown().await;
}

#[tokio::test]
async fn error_object_in_a_200() {
    let api = start(Faults::fail_first(1, FaultKind::ErrorInBody)).await;
    let client = client();
    let (status, _, body) = get(&client, &format!("{}/api/users/link", api.base_url())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["error"]["code"], "internal");
    assert!(body.get("items").is_none());
    assert_eq!(api.stats().faults.error_in_body, 1);
    assert_eq!(api.stats().pages.total(), 0);
    api.shutdown().await;
}

/// What a client sees for one request, as a comparable label.
async fn outcome(client: &reqwest::Client, url: &str) -> &'static str {
    match client.get(url).send().await {
        Err(_) => "reset",
        Ok(resp) => {
            let status = resp.status();
            let body = resp.bytes().await.unwrap();
            match (
                status.as_u16(),
                serde_json::from_slice::<serde_json::Value>(&body),
            ) {
                (429, _) => "429",
                (500, _) => "500",
                (200, Err(_)) => "malformed",
                (200, Ok(v)) if v.get("error").is_some() => "error_in_body",
                (200, Ok(_)) => "ok",
                _ => "other",
            }
        }
    }
}

#[tokio::test]
async fn random_faults_are_deterministic_and_counted() {
    let faults = Faults {
        rate_429: 0.1,
        rate_500: 0.1,
        rate_reset: 0.1,
        rate_slow: 0.05,
        slow_delay: Duration::from_millis(1),
        rate_malformed: 0.1,
        rate_error_in_body: 0.1,
        seed: 1234,
        ..Faults::default()
    };
    let a = start(faults.clone()).await;
    let b = start(faults.clone()).await;
    let c = start(Faults {
        seed: 4321,
        ..faults
    })
    .await;
    let client = client();
    let mut runs = Vec::new();
    for api in [&a, &b, &c] {
        let url = format!("{}/api/users/offset?limit=5", api.base_url());
        let mut seen = Vec::new();
        for _ in 0..300 {
            seen.push(outcome(&client, &url).await);
        }
        runs.push(seen);
    }
    assert_eq!(runs[0], runs[1], "same seed, same faults");
    assert_ne!(runs[0], runs[2], "another seed, other faults");

    let count = |label: &str| runs[0].iter().filter(|&&o| o == label).count() as u64;
    let stats = a.stats();
    assert_eq!(count("429"), stats.faults.too_many_requests);
    assert_eq!(count("500"), stats.faults.server_error);
    assert_eq!(count("reset"), stats.faults.reset);
    assert_eq!(count("malformed"), stats.faults.malformed);
    assert_eq!(count("error_in_body"), stats.faults.error_in_body);
    assert_eq!(count("other"), 0);
    // Slow answers are normal answers.
    assert_eq!(count("ok"), 300 - stats.faults.total() + stats.faults.slow);
    assert_eq!(stats.data_requests, 300);
    for label in ["429", "500", "reset", "malformed", "error_in_body"] {
        let n = count(label);
        assert!((10..=60).contains(&n), "{label}: {n}");
    }
    assert!(stats.faults.slow > 0);
    // Resets cost connections.
    assert_eq!(stats.connections, 1 + stats.faults.reset);
    for api in [a, b, c] {
        api.shutdown().await;
    }
}

#[tokio::test]
async fn latency_delays_data_requests() {
    let config = SyntheticConfig::new(10).with_latency(Duration::from_millis(150));
    let api = SyntheticApi::start(config).await.unwrap();
    let client = client();
    let started = Instant::now();
    get_ok(&client, &format!("{}/api/users/offset", api.base_url())).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    api.shutdown().await;
}

#[tokio::test]
async fn concurrent_clients_are_served_and_counted() {
    let config = SyntheticConfig::new(2000).with_latency(Duration::from_millis(400));
    let api = SyntheticApi::start(config).await.unwrap();
    let client = client();
    let base = api.base_url();
    let mut tasks = Vec::new();
    for page in 1..=8 {
        let client = client.clone();
        let url = format!("{base}/api/users/page?page={page}&per_page=250");
        tasks.push(tokio::spawn(async move { get_ok(&client, &url).await }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let body = task.await.unwrap();
        for item in body["items"].as_array().unwrap() {
            assert!(ids.insert(item["id"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(ids.len(), 2000);
    let stats = api.stats();
    // All eight were sleeping at the same time.
    assert_eq!(stats.max_in_flight, 8);
    assert_eq!(stats.in_flight, 0);
    assert_eq!(stats.connections, 8);
    api.shutdown().await;
}

#[tokio::test]
async fn invalid_configs_and_shutdown() {
    let bad = [
        SyntheticConfig::new(10).with_max_page_size(0),
        SyntheticConfig::new(10).with_default_page_size(0),
        SyntheticConfig::new(10).with_faults(Faults::only(FaultKind::ServerError, 1.5)),
        SyntheticConfig::new(10).with_faults(Faults {
            rate_429: 0.6,
            rate_500: 0.6,
            ..Faults::default()
        }),
    ];
    for config in bad {
        assert!(matches!(
            SyntheticApi::start(config).await,
            Err(Error::InvalidConfig(_))
        ));
    }

    let api = SyntheticApi::start(SyntheticConfig::new(10)).await.unwrap();
    let port = api.addr().port();
    assert_eq!(api.base_url(), format!("http://127.0.0.1:{port}"));
    assert!(matches!(
        SyntheticApi::start_on_port(SyntheticConfig::new(1), port).await,
        Err(Error::Bind { .. })
    ));
    let client = client();
    get_ok(&client, &format!("{}/api/me", api.base_url())).await;
    api.shutdown().await;
    // Gone: neither the pooled connection nor a new one gets an answer.
    assert!(
        client
            .get(format!("http://127.0.0.1:{port}/api/me"))
            .send()
            .await
            .is_err()
    );
}
