//! Keyed content hashes of delta snapshots ([`RecordHasher`]).
//!
//! A snapshot keeps, per identity, a hash of the record's content. A plain hash (SHA-256, what
//! wsc stored before) lets anyone who can read the database confirm a guess of a record's
//! content (a department, a manager, an e-mail address) by hashing the guess. These hashes are
//! HMAC-SHA256 under a key derived from the store key, so a guess can be confirmed only with
//! the key.
//!
//! Stored form: `1` (the format), four bytes that identify the key (the first bytes of an HMAC
//! of a fixed text under the hash key), then the 32-byte HMAC: 37 bytes. The key identifier
//! tells a snapshot written under another store key from one whose records all changed: without
//! it, a changed `WSC_STATE_KEY` would report every record as updated. A 32-byte value is a
//! plain SHA-256 written by an older wsc ([`StoredHash::Legacy`]).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The format byte of a keyed hash.
const FORMAT: u8 = 1;
/// Length of a keyed hash as stored.
pub const KEYED_HASH_LEN: usize = 1 + 4 + 32;
/// Length of a plain SHA-256 content hash, as older wsc versions stored them.
pub const LEGACY_HASH_LEN: usize = 32;

/// What a stored snapshot hash is, seen from a store key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredHash {
    /// A keyed hash under this store's key.
    Keyed,
    /// A keyed hash under another key (the store key changed since it was written).
    OtherKey,
    /// A plain SHA-256 of the content, written by an older wsc.
    Legacy,
    /// Neither: a damaged value.
    Unknown,
}

/// Computes and recognises the keyed content hashes of one store (see the
/// [module](self) documentation). Cheap to clone.
#[derive(Clone)]
pub struct RecordHasher {
    mac: HmacSha256,
    key_id: [u8; 4],
}

impl std::fmt::Debug for RecordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordHasher").finish_non_exhaustive()
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

impl RecordHasher {
    /// The hasher of the store whose (32-byte) key is `store_key`: its hash key is an HMAC of
    /// a fixed label under the store key, so it is never the encryption key itself.
    pub(crate) fn new(store_key: &[u8; 32]) -> RecordHasher {
        let hash_key = hmac(store_key, b"wsc delta snapshot record hash v1");
        let id = hmac(&hash_key, b"key id");
        RecordHasher {
            mac: <HmacSha256 as Mac>::new_from_slice(&hash_key).expect("any key length"),
            key_id: [id[0], id[1], id[2], id[3]],
        }
    }

    /// The keyed hash of `content`, as stored ([`KEYED_HASH_LEN`] bytes).
    pub fn hash(&self, content: &[u8]) -> Vec<u8> {
        let mut m = self.mac.clone();
        m.update(content);
        let mut out = Vec::with_capacity(KEYED_HASH_LEN);
        out.push(FORMAT);
        out.extend_from_slice(&self.key_id);
        out.extend_from_slice(&m.finalize().into_bytes());
        out
    }

    /// What `stored` is.
    pub fn kind(&self, stored: &[u8]) -> StoredHash {
        match stored.len() {
            KEYED_HASH_LEN if stored[0] == FORMAT => {
                if stored[1..5] == self.key_id {
                    StoredHash::Keyed
                } else {
                    StoredHash::OtherKey
                }
            }
            LEGACY_HASH_LEN => StoredHash::Legacy,
            _ => StoredHash::Unknown,
        }
    }

    /// Whether `stored` is the hash of `content`, whose keyed hash is `keyed` (from
    /// [`RecordHasher::hash`]): compared as a keyed hash, or as a plain SHA-256 when `stored`
    /// is [`StoredHash::Legacy`].
    pub fn matches(&self, stored: &[u8], content: &[u8], keyed: &[u8]) -> bool {
        if stored.len() == LEGACY_HASH_LEN {
            return stored == Sha256::digest(content).as_slice();
        }
        stored == keyed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hashes_depend_on_the_key_and_are_recognised() {
        let a = RecordHasher::new(&[1; 32]);
        let b = RecordHasher::new(&[2; 32]);
        let content = br#"{"department":"Finance"}"#;
        let ha = a.hash(content);
        assert_eq!(ha.len(), KEYED_HASH_LEN);
        assert_ne!(ha, b.hash(content));
        assert_eq!(ha, a.hash(content));
        // Not the plain hash: a guess cannot be confirmed without the key.
        assert!(!ha.ends_with(Sha256::digest(content).as_slice()));
        assert_eq!(a.kind(&ha), StoredHash::Keyed);
        assert_eq!(b.kind(&ha), StoredHash::OtherKey);
        let legacy = Sha256::digest(content).to_vec();
        assert_eq!(a.kind(&legacy), StoredHash::Legacy);
        assert_eq!(a.kind(b"short"), StoredHash::Unknown);
        assert!(a.matches(&legacy, content, &ha));
        assert!(a.matches(&ha, content, &ha));
        assert!(!a.matches(&legacy, b"other", &a.hash(b"other")));
    }
}
