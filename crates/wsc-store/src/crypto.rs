//! Encryption at rest: the store key and sealing values with ChaCha20-Poly1305 under
//! associated data that names their owner.
//!
//! The store key comes from the key file beside the database (32 random bytes, created on first
//! use), or from outside the state directory (`WSC_STATE_KEY`, or a file named by
//! `WSC_STATE_KEY_FILE`, read by the caller): 32 bytes written as 64 hex digits or in base64
//! are the key itself; any other text is a passphrase, stretched with Argon2id under a random
//! salt kept in the store ([`Kdf`]). Stores written before the key derivation sealed their
//! values under the SHA-256 of the text ([`legacy_key`]); opening one re-seals them.

use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::fs::create_new_private;
use crate::hash::RecordHasher;

/// Length of a ChaCha20-Poly1305 nonce.
pub(crate) const NONCE_LEN: usize = 12;

/// Fills `buf` with random bytes from the operating system.
pub(crate) fn random_bytes(buf: &mut [u8]) {
    use chacha20poly1305::aead::OsRng;
    use chacha20poly1305::aead::rand_core::RngCore;
    OsRng.fill_bytes(buf);
}

/// A value could not be sealed or opened (wrong key, tampered or moved value).
#[derive(Debug)]
pub(crate) struct AeadFailure;

/// What the caller gave as the store key.
#[derive(Clone, Copy)]
pub(crate) enum KeyInput<'a> {
    /// Nothing: the key file beside the database.
    Beside,
    /// 32 bytes written as 64 hex digits or in base64: the key itself. `text` as given.
    Raw { key: [u8; 32], text: &'a str },
    /// Any other text: a passphrase, stretched with Argon2id under the store's salt.
    Passphrase(&'a str),
}

impl<'a> KeyInput<'a> {
    /// Tells what `given` is (`None` or empty: the key file beside the database).
    pub(crate) fn classify(given: Option<&'a str>) -> KeyInput<'a> {
        let Some(text) = given.filter(|t| !t.is_empty()) else {
            return KeyInput::Beside;
        };
        let t = text.trim();
        let hex = (t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
            let mut k = [0u8; 32];
            for (i, pair) in t.as_bytes().chunks(2).enumerate() {
                let d = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                k[i] = d(pair[0]) << 4 | d(pair[1]);
            }
            k
        });
        let b64 = || -> Option<[u8; 32]> {
            [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE,
            ]
            .iter()
            .find_map(|e| e.decode(t).ok())?
            .try_into()
            .ok()
        };
        match hex.or_else(b64) {
            Some(key) => KeyInput::Raw { key, text },
            None => KeyInput::Passphrase(text),
        }
    }

    /// The text given, if any (for the key of stores written before the key derivation).
    pub(crate) fn text(&self) -> Option<&'a str> {
        match self {
            KeyInput::Beside => None,
            KeyInput::Raw { text, .. } | KeyInput::Passphrase(text) => Some(text),
        }
    }
}

/// The key of stores written before the key derivation (schema 2 and older): the SHA-256 of
/// the text of `WSC_STATE_KEY`, whatever it was.
pub(crate) fn legacy_key(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Argon2id parameters and salt of a store, kept in it as text:
/// `argon2id$v=19$m=19456,t=2,p=1$SALT` (salt in base64). The cost is OWASP's recommended
/// minimum (19 MiB, two passes, one lane): tens of milliseconds on a server, once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kdf {
    m_kib: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
}

impl Kdf {
    /// Parameters for a new store, with a random 16-byte salt.
    pub(crate) fn generate() -> Kdf {
        let mut salt = vec![0u8; 16];
        random_bytes(&mut salt);
        Kdf {
            m_kib: 19 * 1024,
            t: 2,
            p: 1,
            salt,
        }
    }

    /// The text kept in the store.
    pub(crate) fn encode(&self) -> String {
        format!(
            "argon2id$v=19$m={},t={},p={}${}",
            self.m_kib,
            self.t,
            self.p,
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(&self.salt)
        )
    }

    /// Reads [`Kdf::encode`]'s text.
    pub(crate) fn decode(text: &str) -> Result<Kdf, String> {
        let bad = || {
            format!("key derivation parameters `{text}` are not argon2id$v=19$m=..,t=..,p=..$SALT")
        };
        let mut parts = text.split('$');
        if parts.next() != Some("argon2id") || parts.next() != Some("v=19") {
            return Err(bad());
        }
        let (mut m_kib, mut t, mut p) = (None, None, None);
        for kv in parts.next().ok_or_else(bad)?.split(',') {
            let (k, v) = kv.split_once('=').ok_or_else(bad)?;
            let v: u32 = v.parse().map_err(|_| bad())?;
            match k {
                "m" => m_kib = Some(v),
                "t" => t = Some(v),
                "p" => p = Some(v),
                _ => return Err(bad()),
            }
        }
        let salt = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(parts.next().ok_or_else(bad)?)
            .map_err(|_| bad())?;
        match (m_kib, t, p, parts.next()) {
            (Some(m_kib), Some(t), Some(p), None) if salt.len() >= 8 => {
                Ok(Kdf { m_kib, t, p, salt })
            }
            _ => Err(bad()),
        }
    }

    /// The 32-byte key of `passphrase`.
    pub(crate) fn derive(&self, passphrase: &str) -> Result<[u8; 32], String> {
        use argon2::{Algorithm, Argon2, Params, Version};
        let params =
            Params::new(self.m_kib, self.t, self.p, Some(32)).map_err(|e| e.to_string())?;
        let mut out = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &self.salt, &mut out)
            .map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// The keys of an open store: the cipher of its secrets and the hasher of its snapshots.
#[derive(Clone)]
pub(crate) struct StoreKeys {
    pub(crate) cipher: Cipher,
    pub(crate) hasher: RecordHasher,
}

impl StoreKeys {
    /// The keys of the 32-byte store key `key`.
    pub(crate) fn new(key: &[u8; 32]) -> StoreKeys {
        StoreKeys {
            cipher: Cipher::new(key),
            hasher: RecordHasher::new(key),
        }
    }
}

/// The store's cipher.
#[derive(Clone)]
pub(crate) struct Cipher(ChaCha20Poly1305);

impl Cipher {
    /// The cipher of the 32-byte key `key`.
    pub(crate) fn new(key: &[u8; 32]) -> Cipher {
        Cipher(ChaCha20Poly1305::new(Key::from_slice(key)))
    }

    /// Seals `plain` under a fresh random nonce: (nonce, ciphertext with tag).
    pub(crate) fn seal(
        &self,
        aad: &[u8],
        plain: &[u8],
    ) -> Result<([u8; NONCE_LEN], Vec<u8>), AeadFailure> {
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| AeadFailure)?;
        Ok((nonce, sealed))
    }

    /// Opens what [`Cipher::seal`] sealed; `nonce` must be [`NONCE_LEN`] bytes.
    pub(crate) fn open_sealed(
        &self,
        aad: &[u8],
        nonce: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, AeadFailure> {
        if nonce.len() != NONCE_LEN {
            return Err(AeadFailure);
        }
        self.0
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
            .map_err(|_| AeadFailure)
    }

    /// Seals `plain` into one base64 text: nonce followed by ciphertext.
    pub(crate) fn seal_text(&self, aad: &[u8], plain: &[u8]) -> Result<String, AeadFailure> {
        let (nonce, sealed) = self.seal(aad, plain)?;
        let mut all = nonce.to_vec();
        all.extend(sealed);
        Ok(base64::engine::general_purpose::STANDARD.encode(all))
    }
}

/// Opens `sealed` (nonce and ciphertext) with `old` and seals it again with `new`: `None`
/// when it does not open with `old`.
pub(crate) fn reseal(
    old: &Cipher,
    new: &Cipher,
    aad: &[u8],
    nonce: &[u8],
    sealed: &[u8],
) -> Option<([u8; NONCE_LEN], Vec<u8>)> {
    let plain = old.open_sealed(aad, nonce, sealed).ok()?;
    new.seal(aad, &plain).ok()
}

/// [`reseal`] of a [`Cipher::seal_text`] text.
pub(crate) fn reseal_text(old: &Cipher, new: &Cipher, aad: &[u8], text: &str) -> Option<String> {
    let (nonce, sealed) = decode_text(text).ok()?;
    let plain = old.open_sealed(aad, &nonce, &sealed).ok()?;
    new.seal_text(aad, &plain).ok()
}

/// Reads the key file beside `db` (`state.key` for `state.db`), creating it with 32 random
/// bytes (mode 0600) when it does not exist. When two processes create it at once, the one
/// that loses reads the winner's key.
pub(crate) fn key_file(db: &Path) -> Result<[u8; 32], StoreError> {
    let kp = db.with_file_name(format!(
        "{}.key",
        db.file_stem().and_then(|s| s.to_str()).unwrap_or("state")
    ));
    let loc = kp.display().to_string();
    let decode = |text: &str| -> Option<[u8; 32]> {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()?
            .try_into()
            .ok()
    };
    if let Some(text) = read_key_text(&kp) {
        return decode(&text).ok_or_else(|| {
            StoreError::corrupt(
                &loc,
                "key file",
                "not 32 base64-encoded bytes (delete it and the database to start over, or set WSC_STATE_KEY)",
            )
        });
    }
    let mut k = [0u8; 32];
    random_bytes(&mut k);
    match create_new_private(&kp) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(
                base64::engine::general_purpose::STANDARD
                    .encode(k)
                    .as_bytes(),
            )
            .and_then(|()| f.sync_all())
            .map_err(|e| StoreError::io(&loc, "writing the key file", e))?;
            Ok(k)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = match read_key_text(&kp) {
                Some(t) => t,
                None => std::fs::read_to_string(&kp)
                    .map_err(|e| StoreError::io(&loc, "reading the key file", e))?,
            };
            decode(&text)
                .ok_or_else(|| StoreError::corrupt(&loc, "key file", "not 32 base64-encoded bytes"))
        }
        Err(e) => Err(StoreError::io(&loc, "creating the key file", e)),
    }
}

/// The text of the key file, if it exists. A file that is still empty is being written by
/// the process that created it (create, then write): wait up to a second for its content.
fn read_key_text(kp: &Path) -> Option<String> {
    for _ in 0..20 {
        let text = std::fs::read_to_string(kp).ok()?;
        if !text.trim().is_empty() {
            return Some(text);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::fs::read_to_string(kp).ok()
}

/// Splits a [`Cipher::seal_text`] text into nonce and ciphertext.
pub(crate) fn decode_text(text: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut all = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| e.to_string())?;
    if all.len() < NONCE_LEN {
        return Err("corrupt value".into());
    }
    let sealed = all.split_off(NONCE_LEN);
    Ok((all, sealed))
}
