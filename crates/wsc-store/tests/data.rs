//! Connector state, delta snapshots and run history through the `Store` trait.

mod common;

use common::{TempDir, key, open};
use serde_json::{Map, Value, json};
use wsc_store::{InstanceKey, Store};

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

#[test]
fn state_round_trip_update_and_delete() {
    let dir = TempDir::new("state");
    let s = open(&dir.db());
    let k = key();
    assert!(s.load_state(&k).unwrap().is_empty());
    s.save_state(
        &k,
        &map(json!({"cursor": "c-SECRET-1", "count": 3, "nested": {"a": [1, 2]}})),
    )
    .unwrap();
    assert_eq!(
        Value::Object(s.load_state(&k).unwrap()),
        json!({"count": 3, "cursor": "c-SECRET-1", "nested": {"a": [1, 2]}})
    );
    // Keys not named stay; null deletes.
    s.save_state(&k, &map(json!({"count": 4, "cursor": null})))
        .unwrap();
    assert_eq!(
        Value::Object(s.load_state(&k).unwrap()),
        json!({"count": 4, "nested": {"a": [1, 2]}})
    );
    // Per instance.
    let other = InstanceKey::new("acme", [("tenant", "t2")]);
    assert!(s.load_state(&other).unwrap().is_empty());
    // Sealed at rest.
    s.save_state(&k, &map(json!({"token": "c-SECRET-2"})))
        .unwrap();
    drop(s);
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!bytes.windows(6).any(|w| w == b"SECRET"));
    }
    // Re-opened, still there.
    assert_eq!(open(&dir.db()).load_state(&k).unwrap()["count"], 4);
}

#[test]
fn snapshot_replace_is_whole_and_records_the_run() {
    let dir = TempDir::new("snap");
    let s = open(&dir.db());
    let k = key();
    assert!(!s.has_snapshot(&k, "account").unwrap());
    assert!(s.load_snapshot(&k, "account").unwrap().is_empty());
    let first = vec![
        ("u1".to_string(), vec![1u8; 32]),
        ("u2".to_string(), vec![2u8; 32]),
    ];
    s.replace_snapshot(&k, "account", &first, 1_000).unwrap();
    assert!(s.has_snapshot(&k, "account").unwrap());
    assert!(!s.has_snapshot(&k, "group").unwrap());
    let got = s.load_snapshot(&k, "account").unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got["u2"], vec![2u8; 32]);
    let (started, finished, records) = s.last_run(&k, "snapshot:account").unwrap().unwrap();
    assert_eq!((started, records), (1_000, 2));
    assert!(finished >= started);
    // Replaced whole: u1 is gone, u3 is new.
    s.replace_snapshot(&k, "account", &[("u3".to_string(), vec![3u8; 32])], 2_000)
        .unwrap();
    let got = s.load_snapshot(&k, "account").unwrap();
    assert_eq!(got.keys().collect::<Vec<_>>(), ["u3"]);
    // An empty snapshot still counts as one.
    s.replace_snapshot(&k, "group", &[], 3_000).unwrap();
    assert!(s.has_snapshot(&k, "group").unwrap());
    assert!(s.load_snapshot(&k, "group").unwrap().is_empty());
    // Other object types and instances are untouched.
    assert_eq!(s.load_snapshot(&k, "account").unwrap().len(), 1);
    let other = InstanceKey::new("acme", [("tenant", "t2")]);
    assert!(!other_has(&*s, &other));
}

fn other_has(s: &dyn Store, k: &InstanceKey) -> bool {
    s.has_snapshot(k, "account").unwrap()
}

#[test]
fn run_history_last_run_is_the_newest() {
    let dir = TempDir::new("runs");
    let s = open(&dir.db());
    let k = key();
    assert_eq!(s.last_run(&k, "aggregate:account").unwrap(), None);
    s.record_run(&k, "aggregate:account", 10_000, 5).unwrap();
    s.record_run(&k, "aggregate:account", 20_000, 7).unwrap();
    s.record_run(&k, "aggregate:group", 30_000, 1).unwrap();
    let (started, finished, records) = s.last_run(&k, "aggregate:account").unwrap().unwrap();
    assert_eq!((started, records), (20_000, 7));
    assert!(finished > 20_000);
    assert_eq!(
        s.last_run(&k, "aggregate:group").unwrap().map(|r| r.2),
        Some(1)
    );
    // Another handle (another process) sees it.
    let t = open(&dir.db());
    assert_eq!(
        t.last_run(&k, "aggregate:account").unwrap().map(|r| r.0),
        Some(20_000)
    );
}
