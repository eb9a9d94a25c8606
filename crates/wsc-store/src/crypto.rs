//! Encryption at rest: the store key (from `WSC_STATE_KEY` or a key file) and sealing values
//! with ChaCha20-Poly1305 under associated data that names their owner.

use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::fs::create_new_private;

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

/// The store's cipher.
#[derive(Clone)]
pub(crate) struct Cipher(ChaCha20Poly1305);

impl Cipher {
    /// The cipher for `passphrase` (`WSC_STATE_KEY`) when it is set and not empty, else for
    /// the key file beside `db` (read, or created with 32 random bytes).
    pub(crate) fn open(db: &Path, passphrase: Option<&str>) -> Result<Cipher, StoreError> {
        let key: [u8; 32] = match passphrase {
            Some(k) if !k.is_empty() => Sha256::digest(k.as_bytes()).into(),
            _ => key_file(db)?,
        };
        Ok(Cipher(ChaCha20Poly1305::new(Key::from_slice(&key))))
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

/// Reads the key file beside `db` (`state.key` for `state.db`), creating it with 32 random
/// bytes (mode 0600) when it does not exist. When two processes create it at once, the one
/// that loses reads the winner's key.
fn key_file(db: &Path) -> Result<[u8; 32], StoreError> {
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
