//! The database file: creation, modes, schema migrations, re-opening.

mod common;

use common::{TempDir, key, token};
use wsc_store::{ExpectedVersion, SqliteStore, Store, StoreError};

/// The schema version this build writes.
const CURRENT: i64 = 3;

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn creates_private_files_and_directory() {
    let dir = TempDir::new("create");
    let db = dir.path().join("nested/wsc/state.db");
    let s = SqliteStore::open(&db, None).unwrap();
    assert_eq!(s.path(), db);
    assert_eq!(s.location(), db.display().to_string());
    assert_eq!(s.schema_version().unwrap(), CURRENT);
    s.save_token(&key(), "password", &token("a", "r"), ExpectedVersion::Any)
        .unwrap();
    let _lease = s.lock_credential(&key()).unwrap();
    #[cfg(unix)]
    {
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&db.with_file_name("state.key")), 0o600);
        assert_eq!(mode(&db.with_file_name("state.db.lock")), 0o600);
        assert_eq!(mode(db.parent().unwrap()), 0o700);
        // SQLite gives its WAL the database's mode.
        let wal = db.with_file_name("state.db-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }
    }
}

#[test]
fn migrates_an_empty_file_and_tightens_its_mode() {
    let dir = TempDir::new("empty");
    let db = dir.db();
    std::fs::write(&db, b"").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let s = SqliteStore::open(&db, None).unwrap();
    assert_eq!(s.schema_version().unwrap(), CURRENT);
    #[cfg(unix)]
    assert_eq!(mode(&db), 0o600);
    let k = key();
    s.save_token(&k, "password", &token("a", "r"), ExpectedVersion::Absent)
        .unwrap();
    s.record_run(&k, "aggregate:account", 1, 1).unwrap();
    assert!(s.load_token(&k).unwrap().is_some());
}

#[test]
fn reopening_keeps_schema_and_data() {
    let dir = TempDir::new("reopen");
    let k = key();
    let v = {
        let s = SqliteStore::open(&dir.db(), None).unwrap();
        s.save_token(&k, "password", &token("a", "r"), ExpectedVersion::Absent)
            .unwrap()
    };
    let s = SqliteStore::open(&dir.db(), None).unwrap();
    assert_eq!(s.schema_version().unwrap(), CURRENT);
    let got = s.load_token(&k).unwrap().unwrap();
    assert_eq!((got.payload, got.version), (token("a", "r"), v));
}

#[test]
fn migrates_a_database_from_before_versioning() {
    // A database as wsc wrote it before the schema had versions: user_version 0 and a token
    // row without a version column.
    let dir = TempDir::new("legacy");
    let k = key();
    SqliteStore::open(&dir.db(), None)
        .unwrap()
        .save_token(&k, "refresh_token", &token("a", "r"), ExpectedVersion::Any)
        .unwrap();
    {
        let c = rusqlite::Connection::open(dir.db()).unwrap();
        c.execute_batch("ALTER TABLE tokens DROP COLUMN version; PRAGMA user_version = 0;")
            .unwrap();
    }
    let s = SqliteStore::open(&dir.db(), None).unwrap();
    assert_eq!(s.schema_version().unwrap(), CURRENT);
    let old = s.load_token(&k).unwrap().unwrap();
    assert_eq!(old.payload, token("a", "r"));
    // Its version works for compare-and-swap like any other.
    s.save_token(
        &k,
        "refresh_token",
        &token("b", "r2"),
        ExpectedVersion::Version(old.version),
    )
    .unwrap();
    assert_eq!(s.load_token(&k).unwrap().unwrap().payload, token("b", "r2"));
}

#[test]
fn refuses_a_newer_schema() {
    let dir = TempDir::new("newer");
    drop(SqliteStore::open(&dir.db(), None).unwrap());
    {
        let c = rusqlite::Connection::open(dir.db()).unwrap();
        c.execute_batch("PRAGMA user_version = 99;").unwrap();
    }
    let e = SqliteStore::open(&dir.db(), None).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NewerSchema {
                found: 99,
                supported: CURRENT,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn concurrent_first_opens_migrate_once() {
    let dir = TempDir::new("race");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = dir.db();
            std::thread::spawn(move || SqliteStore::open(&db, None).map(|s| s.schema_version()))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap().unwrap(), CURRENT);
    }
}

#[test]
fn a_damaged_key_file_is_reported() {
    let dir = TempDir::new("badkey");
    std::fs::write(dir.path().join("state.key"), "not base64 at all").unwrap();
    let e = SqliteStore::open(&dir.db(), None).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("key file: not 32 base64-encoded bytes"),
        "{e}"
    );
}
