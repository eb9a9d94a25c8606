//! The state store of wsc: tokens per connector instance (encrypted at rest), connector state
//! (`state.*` in templates, also encrypted), delta snapshots and run history.
//!
//! Callers hold an `Arc<dyn` [`Store`]`>`; [`SqliteStore`] is the implementation for one
//! machine (processes on it share one database file), [`PgStore`] the one for a fleet
//! (processes on many machines share one PostgreSQL database; see docs/scale-out.md). The trait is shaped for a store shared
//! by many processes on many machines as well: token writes are compare-and-swap on a
//! [`TokenVersion`], and a token refresh runs under a [`CredentialLease`].
//!
//! The SQLite store:
//! - Path: `--state`, else `WSC_STATE`, else `$XDG_DATA_HOME/wsc/state.db`, else
//!   `~/.local/share/wsc/state.db` ([`default_path`]).
//! - The database file (and its directory, when wsc creates it) is mode 0600 (0700); SQLite
//!   creates its `-wal` and `-shm` files with the database's mode. WAL journal, 5 s busy
//!   timeout. The schema is versioned (`PRAGMA user_version`) and migrated on open.
//! - Token rows and state values are sealed with ChaCha20-Poly1305; the associated data names
//!   the connector and instance, so a row cannot be moved to another instance. The key is the
//!   one the caller passes (`WSC_STATE_KEY` or the content of `WSC_STATE_KEY_FILE`: 32 bytes as
//!   hex or base64 used as they are, any other text stretched with Argon2id under a salt kept
//!   in the store), else 32 random bytes in `state.key` beside the database (created 0600 on
//!   first use). Delta snapshot hashes are keyed ([`RecordHasher`]).
//! - Processes sharing a database serialise token refreshes with an exclusive lock on
//!   `state.db.lock` ([`Store::lock_credential`]).

mod crypto;
mod error;
mod fs;
mod hash;
mod key;
mod migrate;
mod postgres;
mod sqlite;
mod store;

pub use error::StoreError;
pub use fs::default_path;
pub use hash::{KEYED_HASH_LEN, LEGACY_HASH_LEN, RecordHasher, StoredHash};
pub use key::InstanceKey;
pub use postgres::{
    Change, ChangeKind, Claim, ClaimId, Completion, FailOutcome, JobInfo, JobState, NewJob,
    PG_SCHEMA_VERSION, PartitionInfo, PgStore, RecordBatches, RecordWriter, ShrinkCheck,
    is_postgres_url,
};
pub use sqlite::SqliteStore;
pub use store::{CredentialLease, ExpectedVersion, Store, StoredToken, TokenVersion};
