//! The [`Store`] trait and the values that cross it.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::hash::RecordHasher;
use crate::key::InstanceKey;

/// The version of a stored token, returned by [`Store::load_token`] and
/// [`Store::save_token`] and passed back to `save_token` to write only over that version.
///
/// Opaque: versions are compared for equality only. Every write produces a new one, and a
/// token deleted and written again does not get an old version back, so a writer holding a
/// version read before the delete loses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenVersion(i64);

impl TokenVersion {
    /// A version as an implementation stores it.
    pub fn from_raw(raw: i64) -> TokenVersion {
        TokenVersion(raw)
    }

    /// The value an implementation stores.
    pub fn raw(self) -> i64 {
        self.0
    }
}

/// What [`Store::save_token`] requires of the stored token before it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Write unconditionally (a sign-in replaces whatever is there).
    Any,
    /// Write only if no token is stored for the instance.
    Absent,
    /// Write only if the stored token still has this version.
    Version(TokenVersion),
}

/// A token as stored: the grant that obtained it and its payload, decrypted.
///
/// The payload is the token holder's JSON form of its token (the store does not interpret
/// it); `Debug` does not show it.
#[derive(Clone, PartialEq)]
pub struct StoredToken {
    /// Grant (or `custom`) that obtained it.
    pub grant: String,
    /// The token, in its holder's JSON form. Holds secrets.
    pub payload: Value,
    /// The version to pass to [`Store::save_token`] to replace exactly this token.
    pub version: TokenVersion,
    /// When the row was written (ms since the epoch).
    pub updated_at_ms: u64,
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("grant", &self.grant)
            .field("payload", &"[redacted]")
            .field("version", &self.version)
            .field("updated_at_ms", &self.updated_at_ms)
            .finish()
    }
}

/// The right to refresh one instance's token, held from before the token is re-read until
/// the new one is saved. Dropping the lease releases it.
///
/// A lease is advisory and keeps processes from refreshing the same token at once (which,
/// with rotating refresh tokens, would spend one refresh token twice). It is not what keeps
/// the stored token consistent: a networked lease can be lost (a dropped session, an expired
/// time limit) while its holder still works, so token writes are compare-and-swap
/// ([`Store::save_token`]) as well.
pub trait CredentialLease: Send + fmt::Debug {
    /// Releases the lease now and reports a failure to do so (dropping releases it as well,
    /// ignoring failures).
    fn release(self: Box<Self>) -> Result<(), StoreError>;
}

/// Persistence of wsc's state: tokens, connector state, delta snapshots and run history,
/// keyed by connector instance ([`InstanceKey`]). Callers hold an `Arc<dyn Store>`.
///
/// # Sharing
/// A store may be shared by many processes, on one machine (the SQLite store: one
/// database file) or on many (a networked database). Every method is atomic on its own:
/// a reader sees a write entirely or not at all, and a failed write changes nothing.
/// Between methods nothing is held, except a [`CredentialLease`].
///
/// # Tokens
/// A token refresh goes: [`lock_credential`](Store::lock_credential), then
/// [`load_token`](Store::load_token) (another process may have refreshed meanwhile: use its
/// token if it is fresh), then obtain a new token, then [`save_token`](Store::save_token)
/// with the version that was loaded (or [`ExpectedVersion::Absent`]), then use the token.
/// The save is durable before it returns, so a rotated refresh token survives a crash right
/// after. If it fails with [`StoreError::Conflict`], another writer won: re-read and decide
/// again; never retry the write blindly with the old version.
///
/// # Secrets
/// Token payloads and connector state values are secrets: an implementation keeps them
/// encrypted at rest, bound to their instance (a value copied to another instance's row does
/// not decrypt), and never puts them in errors or logs.
///
/// # Blocking
/// The methods are synchronous and may block (on disk, on the network, on a lease held by
/// another process). SQLite is synchronous, every caller outside the token manager is a
/// plain command, and the engine's request path never touches the store (only refreshes and
/// run boundaries do), so an async trait would buy nothing but boxed futures and a runtime
/// dependency. A networked implementation runs its client on a thread (or a small runtime)
/// of its own and hands each call to it over a channel, blocking the caller until the answer
/// arrives: that keeps it independent of the caller's runtime (no `block_on` inside a tokio
/// worker) and keeps the trait object-safe. Async callers wrap calls that can wait long,
/// like [`lock_credential`](Store::lock_credential), in `spawn_blocking`.
pub trait Store: Send + Sync + fmt::Debug {
    /// Where the store is, for messages: a file path, or a URL without credentials.
    fn location(&self) -> &str;

    /// Takes the credential lease of `key`, waiting while another holder (in this or another
    /// process) has it. While the lease is held, no other caller of this method for the same
    /// key gets one; an implementation may lease more than the one key (SQLite locks the
    /// whole store). Released when the returned lease drops.
    fn lock_credential(&self, key: &InstanceKey) -> Result<Box<dyn CredentialLease>, StoreError>;

    /// The stored token of an instance and its version, decrypted; `None` when there is none.
    /// Fails with [`StoreError::WrongKey`] when it does not decrypt with this store's key.
    fn load_token(&self, key: &InstanceKey) -> Result<Option<StoredToken>, StoreError>;

    /// Writes the token of an instance, encrypted, if the stored token matches `expected`;
    /// else changes nothing and fails with [`StoreError::Conflict`]. Durable before it returns.
    /// Returns the new version.
    fn save_token(
        &self,
        key: &InstanceKey,
        grant: &str,
        payload: &Value,
        expected: ExpectedVersion,
    ) -> Result<TokenVersion, StoreError>;

    /// Readies the store for a [`save_token`](Store::save_token) that must be quick: called
    /// under the credential lease right before a token request is sent, since the token its
    /// answer brings (a rotated refresh token) exists nowhere else until it is saved. Work
    /// that a save would otherwise do before writing (syncs, creating files) is done here.
    /// Best effort: it never fails; the default does nothing.
    fn ready_token_write(&self) {}

    /// Deletes the token of one instance of `connector` (`None`: of every instance). Returns
    /// how many were deleted.
    fn delete_tokens(&self, connector: &str, instance: Option<&str>) -> Result<usize, StoreError>;

    /// The connector state of an instance (`state.*` in templates), decrypted; empty when
    /// none is stored.
    fn load_state(&self, key: &InstanceKey) -> Result<Map<String, Value>, StoreError>;

    /// Writes state values of an instance, all or none: a `null` value deletes its key, keys
    /// not named are left as they are.
    fn save_state(&self, key: &InstanceKey, values: &Map<String, Value>) -> Result<(), StoreError>;

    /// The hasher of delta snapshot records: HMAC-SHA256 under a key derived from the store
    /// key, so a stored hash cannot be checked against a guess of a record without the key.
    fn record_hasher(&self) -> RecordHasher;

    /// The delta snapshot of an object type: identity → content hash (see
    /// [`Store::record_hasher`]; plain SHA-256 in snapshots written by older versions); empty
    /// when there is none.
    fn load_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
    ) -> Result<HashMap<String, Vec<u8>>, StoreError>;

    /// Whether a delta snapshot of an object type was ever written (an empty snapshot
    /// counts: the previous aggregation found nothing).
    fn has_snapshot(&self, key: &InstanceKey, object_type: &str) -> Result<bool, StoreError>;

    /// Replaces the delta snapshot of an object type, all or none, and records the run
    /// (operation `snapshot:OBJECT_TYPE`, started at `started_at_ms`) with it. Called only
    /// when an aggregation completed.
    fn replace_snapshot(
        &self,
        key: &InstanceKey,
        object_type: &str,
        entries: &[(String, Vec<u8>)],
        started_at_ms: u64,
    ) -> Result<(), StoreError>;

    /// Records a completed run of an operation, started at `started_at_ms` and finishing
    /// now, that produced `records` records.
    fn record_run(
        &self,
        key: &InstanceKey,
        operation: &str,
        started_at_ms: u64,
        records: u64,
    ) -> Result<(), StoreError>;

    /// The last completed run of an operation, the most recently recorded one:
    /// (started_at ms, finished_at ms, records).
    fn last_run(
        &self,
        key: &InstanceKey,
        operation: &str,
    ) -> Result<Option<(u64, u64, u64)>, StoreError>;
}
