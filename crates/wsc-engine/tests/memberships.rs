//! Memberships seen from both sides agree: the `groups` attribute of accounts and the
//! `members` of groups give the same (user, group) pairs, which are the directory's.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;
use wsc_testkit::synthetic::{group_id, group_summary, user, user_id};

const GROUPS: &str = r#"  group_aggregation:
    group:
      request:
        path: /groups/page
        query: { page: "{{page.number}}", per_page: "{{page.limit}}" }
      paging: { kind: page, limit: 4, total: "$.total" }
      records: "$.items[*]"
      identity: "$.id"
      name: "$.displayName"
      attributes:
        description: "$.description"
      members: "$.members[*]"
"#;

#[tokio::test]
async fn account_groups_and_group_members_agree() {
    let cfg = config(333);
    let api = start(cfg.clone()).await;
    let yaml = format!(
        "{}{GROUPS}",
        users_connector(FAST_HTTP, &users_request("offset", 50, true, 4))
    );
    let engine = engine(&yaml, &api.base_url());

    let accounts = aggregate(&engine, "account", None).await.unwrap();
    assert_users(&engine, &accounts, &cfg, 333);
    let mut from_accounts = BTreeSet::new();
    for a in &accounts {
        let Value::Array(groups) = attr(&engine, "account_aggregation", a, "groups") else {
            panic!("groups is not a list: {a:?}");
        };
        for g in groups {
            from_accounts.insert((a.identity.clone(), g.as_str().unwrap().to_string()));
        }
    }

    let groups = aggregate(&engine, "group", None).await.unwrap();
    assert_eq!(groups.len(), 13);
    assert!(engine.has_members("group_aggregation.group").unwrap());
    let mut from_groups = BTreeSet::new();
    for (g, rec) in groups.iter().enumerate() {
        let s = group_summary(&cfg, g);
        assert_eq!(rec.object_type.as_ref(), "group");
        assert_eq!(rec.identity, group_id(g));
        assert_eq!(rec.name.as_deref(), Some(s.display_name.as_str()));
        assert_eq!(
            attr(&engine, "group_aggregation.group", rec, "description"),
            &Value::String(s.description)
        );
        let members = rec.members.as_ref().expect("groups carry members");
        assert!(members.windows(2).all(|w| w[0] < w[1]), "sorted, distinct");
        for m in members {
            from_groups.insert((m.clone(), rec.identity.clone()));
        }
    }

    let expected: BTreeSet<(String, String)> = (0..333)
        .flat_map(|i| {
            user(&cfg, i)
                .groups
                .into_iter()
                .map(move |g| (user_id(i), g))
        })
        .collect();
    assert!(expected.len() > 333, "a directory with memberships");
    assert_eq!(from_accounts, from_groups);
    assert_eq!(from_accounts, expected);
    api.shutdown().await;
}
