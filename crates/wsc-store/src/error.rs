//! Why a store operation failed.

use std::sync::Arc;

/// Why a store operation failed. Every variant names the store (`location`: the database path
/// for SQLite) and, where there is one, what was being done, so the message stands alone:
/// `state store /home/u/.local/share/wsc/state.db: reading a token: database is locked`.
///
/// Cheap to clone (underlying errors are shared), so it can travel inside cloneable errors of
/// the crates above.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file could not be created, read, written or locked.
    #[error("state store {location}: {what}: {source}")]
    Io {
        /// The file concerned (the database, its key file or its lock file).
        location: String,
        /// What was being done, e.g. `creating the file`.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The database refused or failed an operation.
    #[error("state store {location}: {what}: {source}")]
    Database {
        /// The store.
        location: String,
        /// What was being done, e.g. `writing a token`.
        what: &'static str,
        /// The database's error.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A sealed value does not open with this store's key.
    #[error(
        "state store {location}: {what}: wrong key (WSC_STATE_KEY or the key file changed?){hint}"
    )]
    WrongKey {
        /// The store.
        location: String,
        /// What was being done, e.g. `decrypting a token`.
        what: &'static str,
        /// What to do about it (starts with `; ` when not empty).
        hint: &'static str,
    },
    /// A stored value (or the key file) is damaged or not in the expected form.
    #[error("state store {location}: {what}: {detail}")]
    Corrupt {
        /// The store, or the key file.
        location: String,
        /// What was being read, e.g. `reading state`.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A value could not be encoded or sealed for storage.
    #[error("state store {location}: {what}: {detail}")]
    Encoding {
        /// The store.
        location: String,
        /// What was being written, e.g. `encrypting a token`.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// A compare-and-swap token write lost: another writer changed the token since the
    /// version the caller passed was read. Re-read the token and decide again.
    #[error(
        "state store {location}: the token of {connector} (instance {instance}) was changed by another writer since it was read"
    )]
    Conflict {
        /// The store.
        location: String,
        /// The connector of the token.
        connector: String,
        /// The instance of the token.
        instance: String,
    },
    /// The credential lease could not be obtained.
    #[error("state store {location}: waiting for the credential lease: {detail}")]
    Lease {
        /// The store.
        location: String,
        /// What went wrong.
        detail: String,
    },
    /// A job-queue request that cannot be done: an unknown run, a run that is not complete,
    /// a partition whose lease this worker lost, a record another partition also returned.
    #[error("state store {location}: {detail}")]
    Job {
        /// The store.
        location: String,
        /// What is wrong, for the user.
        detail: String,
    },
    /// The database was written by a newer wsc whose schema this one does not know.
    #[error(
        "state store {location}: schema version {found} is newer than this wsc knows ({supported}); use a newer wsc or another --state file"
    )]
    NewerSchema {
        /// The store.
        location: String,
        /// The schema version found in the database.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
}

impl StoreError {
    /// Whether this is a lost compare-and-swap ([`StoreError::Conflict`]).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    pub(crate) fn job(location: &str, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Job {
            location: location.to_string(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn io(location: &str, what: &'static str, e: std::io::Error) -> StoreError {
        StoreError::Io {
            location: location.to_string(),
            what,
            source: Arc::new(e),
        }
    }

    pub(crate) fn db(
        location: &str,
        what: &'static str,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Database {
            location: location.to_string(),
            what,
            source: Arc::new(e),
        }
    }

    /// A [`StoreError::Corrupt`] for `location`: a stored value read as `what` is damaged.
    /// Also for callers that decode what the store returned (a token payload).
    pub fn corrupt(
        location: &str,
        what: &'static str,
        detail: impl std::fmt::Display,
    ) -> StoreError {
        StoreError::Corrupt {
            location: location.to_string(),
            what,
            detail: detail.to_string(),
        }
    }

    pub(crate) fn encoding(
        location: &str,
        what: &'static str,
        detail: impl std::fmt::Display,
    ) -> StoreError {
        StoreError::Encoding {
            location: location.to_string(),
            what,
            detail: detail.to_string(),
        }
    }
}
