//! The open PostgreSQL store: connection settings, connection thread and cipher, shared by
//! the concept modules.

use super::conn::Conn;
use crate::crypto::Cipher;
use crate::hash::RecordHasher;

/// Milliseconds since the Unix epoch.
pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One open store.
pub(super) struct Db {
    /// How to connect (the credential lease opens connections of its own).
    pub(super) config: postgres::Config,
    /// The store's connection.
    pub(super) conn: Conn,
    /// Seals and opens secrets.
    pub(super) cipher: Cipher,
    /// Hashes delta snapshot records under a key derived from the store key.
    pub(super) hasher: RecordHasher,
}
