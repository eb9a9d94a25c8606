//! The open SQLite database: connection, cipher and location, shared by the concept modules.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::crypto::Cipher;
use crate::error::StoreError;
use crate::fs::{create_private, create_private_dir, restrict};
use crate::hash::RecordHasher;
use crate::migrate::migrate;

/// Milliseconds since the Unix epoch.
pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Switches the database to write-ahead logging. SQLite answers `SQLITE_BUSY` at once, without
/// the busy handler, when another connection opens the same new file at the same moment (the
/// switch needs an exclusive lock), so this retries for up to five seconds.
fn enable_wal(conn: &Connection) -> Result<(), rusqlite::Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// SQLite's default: a commit that leaves the write-ahead log this long checkpoints it.
const AUTOCHECKPOINT_PAGES: i64 = 1000;

/// One open database.
pub(super) struct Db {
    pub(super) path: PathBuf,
    pub(super) location: String,
    conn: Mutex<Connection>,
    pub(super) cipher: Cipher,
    /// Hashes delta snapshot records under a key derived from the store key.
    pub(super) hasher: RecordHasher,
}

impl Db {
    /// Opens (creating if needed, mode 0600) and migrates the database at `path`, with the
    /// store key from `key` (see [`crate::crypto::KeyInput`]).
    pub(super) fn open(path: &Path, passphrase: Option<&str>) -> Result<Db, StoreError> {
        let location = path.display().to_string();
        let loc = location.as_str();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            create_private_dir(dir)
                .map_err(|e| StoreError::io(loc, "creating its directory", e))?;
        }
        create_private(path).map_err(|e| StoreError::io(loc, "creating the file", e))?;
        restrict(path).map_err(|e| StoreError::io(loc, "setting mode 0600", e))?;
        let mut conn = Connection::open(path).map_err(|e| StoreError::db(loc, "opening", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| StoreError::db(loc, "busy timeout", e))?;
        enable_wal(&conn).map_err(|e| StoreError::db(loc, "enabling WAL", e))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| StoreError::db(loc, "synchronous", e))?;
        migrate(&mut conn, loc)?;
        let keys = super::keys::open_keys(&mut conn, path, loc, passphrase)?;
        Ok(Db {
            path: path.to_path_buf(),
            location,
            conn: Mutex::new(conn),
            cipher: keys.cipher,
            hasher: keys.hasher,
        })
    }

    /// Readies the write-ahead log for a commit that must be quick (see
    /// [`Store::ready_token_write`](crate::Store::ready_token_write)).
    ///
    /// The log is removed when the last connection to the database closes, and restarted from
    /// its beginning once everything in it has been copied into the database; the first
    /// commit after either writes the log's header and syncs it (and, for a new file, the
    /// directory) before it writes its own pages. Done here, by one small commit
    /// (`user_version` rewritten with its own value), those syncs come before the token
    /// request is sent; the token's commit then appends its pages and syncs once, after
    /// writing them. The small commit does not checkpoint (that could leave the log to restart
    /// at the token's commit); the token's commit may, after its pages are written.
    pub(super) fn ready_wal(&self) {
        let mut conn = self.conn();
        // Best effort: a failure (a busy database) only costs speed.
        let _ = conn.pragma_update(None, "wal_autocheckpoint", 0);
        let _ = (|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let v: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            tx.pragma_update(None, "user_version", v)?;
            tx.commit()
        })();
        let _ = conn.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES);
    }

    /// The connection (one statement or transaction at a time).
    pub(super) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A database error while doing `what`.
    pub(super) fn err(&self, what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| StoreError::db(&self.location, what, e)
    }
}
