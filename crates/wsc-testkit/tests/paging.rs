//! Every paging style walks the whole directory, over real HTTP on loopback.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use common::{STYLES, client, get, get_ok, walk};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wsc_testkit::synthetic::{
    GroupSummary, SyntheticApi, SyntheticConfig, group, group_summary, user, user_id,
};

fn expected_user(config: &SyntheticConfig, i: usize) -> Value {
    serde_json::to_value(user(config, i)).unwrap()
}

#[tokio::test]
async fn every_style_walks_all_users_in_order() {
    let config = SyntheticConfig::new(1234).with_groups(17).with_seed(2024);
    let api = SyntheticApi::start(config.clone()).await.unwrap();
    let client = client();
    for style in STYLES {
        let (items, pages) = walk(&client, &api.base_url(), "users", style, 100).await;
        assert_eq!(items.len(), 1234, "{style}");
        assert_eq!(pages, 13, "{style}");
        let ids: HashSet<&str> = items.iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 1234, "{style}: duplicate ids");
        for (i, item) in items.iter().enumerate() {
            assert_eq!(item, &expected_user(&config, i), "{style}: user {i}");
        }
    }
    let stats = api.stats();
    assert_eq!(stats.pages.offset, 13);
    assert_eq!(stats.pages.page, 13);
    assert_eq!(stats.pages.cursor, 13);
    assert_eq!(stats.pages.next, 13);
    assert_eq!(stats.pages.link, 13);
    assert_eq!(stats.user_items, 5 * 1234);
    assert_eq!(stats.data_requests, 5 * 13);
    assert_eq!(stats.requests, 5 * 13);
    // One client, sequential requests: keep-alive reuses a single connection.
    assert_eq!(stats.connections, 1);
    assert!(stats.bytes_served > 5 * 1234 * 200);
    api.shutdown().await;
}

#[tokio::test]
async fn exact_multiple_and_single_page_and_empty_directory() {
    let client = client();
    // 1000 users in pages of 100: the tenth page is the last one, no eleventh.
    let api = SyntheticApi::start(SyntheticConfig::new(1000))
        .await
        .unwrap();
    for style in STYLES {
        let (items, pages) = walk(&client, &api.base_url(), "users", style, 100).await;
        assert_eq!((items.len(), pages), (1000, 10), "{style}");
    }
    // A page size larger than the directory.
    for style in STYLES {
        let (items, pages) = walk(&client, &api.base_url(), "users", style, 1000).await;
        assert_eq!((items.len(), pages), (1000, 1), "{style}");
    }
    api.shutdown().await;

    let api = SyntheticApi::start(SyntheticConfig::new(0).with_groups(0))
        .await
        .unwrap();
    let base = api.base_url();
    for style in STYLES {
        let (items, pages) = walk(&client, &base, "users", style, 10).await;
        assert_eq!((items.len(), pages), (0, 1), "{style}");
    }
    let body = get_ok(&client, &format!("{base}/api/groups/page")).await;
    assert_eq!(
        body,
        json!({"page": 1, "per_page": 100, "total": 0, "total_pages": 0, "items": []})
    );
    api.shutdown().await;
}

#[tokio::test]
async fn page_sizes_default_and_cap() {
    let config = SyntheticConfig::new(3000)
        .with_max_page_size(250)
        .with_default_page_size(40);
    let api = SyntheticApi::start(config).await.unwrap();
    let base = api.base_url();
    let client = client();
    let body = get_ok(&client, &format!("{base}/api/users/offset")).await;
    assert_eq!(body["limit"], 40);
    assert_eq!(body["offset"], 0);
    assert_eq!(body["total"], 3000);
    assert_eq!(body["items"].as_array().unwrap().len(), 40);

    let body = get_ok(
        &client,
        &format!("{base}/api/users/offset?offset=10&limit=5000"),
    )
    .await;
    assert_eq!(body["limit"], 250);
    assert_eq!(body["items"].as_array().unwrap().len(), 250);
    assert_eq!(body["items"][0]["id"], "u0000010");

    let body = get_ok(
        &client,
        &format!("{base}/api/users/page?page=2&per_page=1000"),
    )
    .await;
    assert_eq!(body["per_page"], 250);
    assert_eq!(body["total_pages"], 12);
    assert_eq!(body["items"][0]["id"], "u0000250");

    // Past the end: empty pages, not errors.
    let body = get_ok(&client, &format!("{base}/api/users/offset?offset=5000")).await;
    assert_eq!(body["items"], json!([]));
    let body = get_ok(&client, &format!("{base}/api/users/page?page=99")).await;
    assert_eq!(body["items"], json!([]));

    // The cap walks completely too.
    let (items, pages) = walk(&client, &base, "users", "cursor", 250).await;
    assert_eq!((items.len(), pages), (3000, 12));
    api.shutdown().await;
}

#[tokio::test]
async fn link_header_names_next_and_last() {
    let api = SyntheticApi::start(SyntheticConfig::new(250))
        .await
        .unwrap();
    let base = api.base_url();
    let client = client();
    let (_, headers, body) = get(
        &client,
        &format!("{base}/api/users/link?page=1&per_page=100"),
    )
    .await;
    assert_eq!(body.as_array().unwrap().len(), 100);
    assert_eq!(
        headers["link"].to_str().unwrap(),
        format!(
            "<{base}/api/users/link?page=2&per_page=100>; rel=\"next\", \
             <{base}/api/users/link?page=3&per_page=100>; rel=\"last\""
        )
    );
    let (_, headers, body) = get(
        &client,
        &format!("{base}/api/users/link?page=3&per_page=100"),
    )
    .await;
    assert_eq!(body.as_array().unwrap().len(), 50);
    assert!(headers.get("link").is_none());
    api.shutdown().await;
}

#[tokio::test]
async fn groups_and_users_agree() {
    let config = SyntheticConfig::new(1500).with_groups(23).with_seed(9);
    let api = SyntheticApi::start(config.clone()).await.unwrap();
    let base = api.base_url();
    let client = client();

    let (users, _) = walk(&client, &base, "users", "offset", 500).await;
    let mut from_users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut memberships = 0;
    for u in &users {
        let groups = u["groups"].as_array().unwrap();
        assert!(groups.len() <= config.memberships_per_user);
        for g in groups {
            memberships += 1;
            from_users
                .entry(g.as_str().unwrap().to_owned())
                .or_default()
                .insert(u["id"].as_str().unwrap().to_owned());
        }
    }
    assert!(memberships > 1000, "{memberships}");

    for style in STYLES {
        let mut remaining = from_users.clone();
        let (groups, _) = walk(&client, &base, "groups", style, 5).await;
        assert_eq!(groups.len(), 23, "{style}");
        for (i, g) in groups.iter().enumerate() {
            let members: BTreeSet<String> = g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_owned())
                .collect();
            let id = g["id"].as_str().unwrap();
            assert_eq!(
                members,
                remaining.remove(id).unwrap_or_default(),
                "{style} {id}"
            );
            assert_eq!(g, &serde_json::to_value(group(&config, i)).unwrap());
            assert_eq!(g, &serde_json::to_value(api.group(i)).unwrap());
        }
        // Every group a user named exists.
        assert!(remaining.is_empty(), "{style}: {:?}", remaining.keys());
    }

    // /api/users/{id}/groups lists the user's groups without members.
    let mut listed = 0;
    for i in [0, 1, 2, 3, 4, 5, 777, 1499] {
        let body = get_ok(&client, &format!("{base}/api/users/{}/groups", user_id(i))).await;
        let items = body["items"].as_array().unwrap();
        let expected: Vec<GroupSummary> = user(&config, i)
            .groups
            .iter()
            .map(|g| group_summary(&config, wsc_testkit::synthetic::group_index(g).unwrap()))
            .collect();
        assert_eq!(items.len(), expected.len());
        listed += items.len();
        for (item, summary) in items.iter().zip(&expected) {
            assert_eq!(item, &serde_json::to_value(summary).unwrap());
            assert!(item.get("members").is_none());
        }
    }
    assert!(listed >= 4, "{listed}");
    api.shutdown().await;
}

#[tokio::test]
async fn single_reads_and_not_found() {
    let config = SyntheticConfig::new(50).with_groups(4);
    let api = SyntheticApi::start(config.clone()).await.unwrap();
    let base = api.base_url();
    let client = client();
    let body = get_ok(&client, &format!("{base}/api/users/u0000049")).await;
    assert_eq!(body, serde_json::to_value(user(&config, 49)).unwrap());
    let body = get_ok(&client, &format!("{base}/api/groups/g00003")).await;
    assert_eq!(body, serde_json::to_value(group(&config, 3)).unwrap());

    for path in [
        "/api/users/u0000050",
        "/api/users/u50",
        "/api/users/nobody",
        "/api/groups/g00004",
        "/api/users/u0000050/groups",
        "/api/groups/g00001/members",
        "/api/things/offset",
        "/nothing",
    ] {
        let (status, _, body) = get(&client, &format!("{base}{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
        assert!(body["error"]["message"].is_string());
    }
    let body = get_ok(&client, &format!("{base}/api/me")).await;
    assert_eq!(body, json!({"ok": true}));

    let resp = client
        .post(format!("{base}/api/users/offset"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "GET");

    // No token endpoint without OAuth2.
    let resp = client
        .post(format!("{base}/oauth/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let stats = api.stats();
    assert_eq!(stats.single_reads, 2);
    assert_eq!(stats.not_found, 9);
    api.shutdown().await;
}

#[tokio::test]
async fn bad_parameters_are_400() {
    let api = SyntheticApi::start(SyntheticConfig::new(100))
        .await
        .unwrap();
    let base = api.base_url();
    let client = client();
    let cases = [
        "/api/users/offset?limit=abc",
        "/api/users/offset?limit=0",
        "/api/users/offset?offset=-1",
        "/api/users/offset?offset=1.5",
        "/api/users/page?page=0",
        "/api/users/page?per_page=0",
        "/api/users/page?page=x",
        "/api/users/cursor?cursor=not-a-cursor",
        "/api/users/cursor?cursor=0123456789abcdef",
        "/api/users/next?after=zzz",
        "/api/users/next?after=u0000100",
        "/api/groups/next?after=u0000001",
        "/api/groups/link?per_page=",
    ];
    for path in cases {
        let (status, _, body) = get(&client, &format!("{base}{path}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{path}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(api.stats().bad_requests, cases.len() as u64);
    assert_eq!(api.stats().pages.total(), 0);
    api.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_data_across_servers() {
    let config = SyntheticConfig::new(300).with_seed(77);
    let a = SyntheticApi::start(config.clone()).await.unwrap();
    let b = SyntheticApi::start(config).await.unwrap();
    let c = SyntheticApi::start(SyntheticConfig::new(300).with_seed(78))
        .await
        .unwrap();
    let client = client();
    let (ua, _) = walk(&client, &a.base_url(), "users", "offset", 300).await;
    let (ub, _) = walk(&client, &b.base_url(), "users", "offset", 300).await;
    let (uc, _) = walk(&client, &c.base_url(), "users", "offset", 300).await;
    assert_eq!(ua, ub);
    assert_ne!(ua, uc);
    // Cursors are opaque and seed-bound: b's cursor works on a, not on c.
    let body = get_ok(
        &client,
        &format!("{}/api/users/cursor?limit=10", b.base_url()),
    )
    .await;
    let cursor = body["next_cursor"].as_str().unwrap();
    let url = |api: &SyntheticApi| {
        format!(
            "{}/api/users/cursor?limit=10&cursor={cursor}",
            api.base_url()
        )
    };
    assert_eq!(
        get_ok(&client, &url(&a)).await["items"][0]["id"],
        "u0000010"
    );
    assert_eq!(get(&client, &url(&c)).await.0, StatusCode::BAD_REQUEST);
    for api in [a, b, c] {
        api.shutdown().await;
    }
}
