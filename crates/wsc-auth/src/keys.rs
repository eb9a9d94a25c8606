//! Private keys and certificates in PEM text: a key encrypted as PKCS#8 (PBES2: PBKDF2 or
//! scrypt with AES or 3DES, what `openssl genpkey -aes-256-cbc` and `openssl pkcs8 -topk8`
//! write) is decrypted with the password a connector names; a key under the legacy OpenSSL
//! encryption (`Proc-Type: 4,ENCRYPTED`) is refused with the command that converts it; a
//! certificate and its key may share one file.
//!
//! Every error names the connector key the PEM came from (and its file), and the key of the
//! password setting, never the password.

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;

use crate::secret::Secret;

/// Where a PEM text comes from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemOrigin {
    /// Key path in the connector, e.g. `auth.assertion.key_file` or `http.tls.client_key`.
    pub key: String,
    /// The file it was read from, when it was read from one.
    pub file: Option<PathBuf>,
}

impl PemOrigin {
    /// A PEM text given inline (a template, normally a secret setting).
    pub fn inline(key: impl Into<String>) -> PemOrigin {
        PemOrigin {
            key: key.into(),
            file: None,
        }
    }

    /// A PEM text read from `file`.
    pub fn file(key: impl Into<String>, file: impl Into<PathBuf>) -> PemOrigin {
        PemOrigin {
            key: key.into(),
            file: Some(file.into()),
        }
    }
}

impl fmt::Display for PemOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => write!(f, "`{}` ({})", self.key, p.display()),
            None => write!(f, "`{}`", self.key),
        }
    }
}

/// The command that re-encrypts any PEM private key (PKCS#1, SEC1, PKCS#8; plain, legacy
/// encrypted or PBES1) as PKCS#8 under PBES2 with AES-256-CBC, which wsc reads.
const CONVERT: &str = "openssl pkey -in KEY.pem -out KEY-pkcs8.pem -aes-256-cbc";

/// Why a PEM key or certificate cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No private key block in the text.
    #[error(
        "{origin}: no PEM private key found (expected `-----BEGIN PRIVATE KEY-----`, `-----BEGIN ENCRYPTED PRIVATE KEY-----`, `-----BEGIN RSA PRIVATE KEY-----` or `-----BEGIN EC PRIVATE KEY-----`)"
    )]
    NoKey {
        /// Where the text came from.
        origin: PemOrigin,
    },
    /// More than one private key block.
    #[error(
        "{origin}: holds {count} private keys; keep only the one that goes with the certificate"
    )]
    SeveralKeys {
        /// Where the text came from.
        origin: PemOrigin,
        /// How many.
        count: usize,
    },
    /// An encrypted key without a password.
    #[error(
        "{origin}: the private key is encrypted (`-----BEGIN ENCRYPTED PRIVATE KEY-----`) and `{password}` is not set\n  hint: set `{password}: \"{{{{settings.key_password}}}}\"` with a secret setting that holds the key's password"
    )]
    NeedsPassword {
        /// Where the key came from.
        origin: PemOrigin,
        /// The connector key of its password.
        password: String,
    },
    /// Decryption failed: the password is wrong (or the key damaged).
    #[error(
        "{origin}: the private key could not be decrypted with the password from `{password}`: wrong password (or a damaged key)\n  hint: check the setting `{password}` names; `openssl pkey -in KEY.pem -noout` asks for the password and tells whether it is right"
    )]
    WrongPassword {
        /// Where the key came from.
        origin: PemOrigin,
        /// The connector key of its password.
        password: String,
    },
    /// Encrypted with a scheme wsc does not implement (PBES1, an unknown cipher).
    #[error(
        "{origin}: the private key is encrypted with {scheme}, which wsc cannot decrypt\n  hint: re-encrypt it with PBES2 and AES: `{CONVERT}`"
    )]
    UnsupportedEncryption {
        /// Where the key came from.
        origin: PemOrigin,
        /// What the key is encrypted with.
        scheme: String,
    },
    /// Encrypted with OpenSSL's legacy PEM encryption (`Proc-Type: 4,ENCRYPTED`).
    #[error(
        "{origin}: the private key uses OpenSSL's legacy PEM encryption (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: {cipher}`), which wsc does not read\n  hint: convert it to an encrypted PKCS#8 key, keeping a password: `{CONVERT}` (`openssl pkcs8` cannot read this format; `openssl pkey` can)"
    )]
    LegacyEncryption {
        /// Where the key came from.
        origin: PemOrigin,
        /// The `DEK-Info` cipher.
        cipher: String,
    },
    /// A PEM block whose content is not what its label says.
    #[error("{origin}: the `{label}` PEM block is damaged: {detail}")]
    Malformed {
        /// Where the text came from.
        origin: PemOrigin,
        /// The block's label.
        label: String,
        /// What is wrong.
        detail: String,
    },
    /// No certificate in a client certificate file.
    #[error("{origin}: no PEM certificate found (expected `-----BEGIN CERTIFICATE-----`)")]
    NoCertificate {
        /// Where the text came from.
        origin: PemOrigin,
    },
    /// A client certificate file holds a key and another key is given as well.
    #[error(
        "{cert} holds a private key and {key} names another one\n  hint: keep the key in one place: remove `client_key`, or the key from the certificate file"
    )]
    TwoKeys {
        /// The certificate's origin.
        cert: PemOrigin,
        /// The other key's origin.
        key: PemOrigin,
    },
    /// A client certificate without any private key.
    #[error(
        "{cert} holds no private key and `client_key` is not set\n  hint: set `client_key` to the certificate's key file, or put the key in the certificate file after the certificate"
    )]
    MissingKey {
        /// The certificate's origin.
        cert: PemOrigin,
    },
    /// The key is not one TLS can use (unknown type, damaged).
    #[error("{origin}: the private key cannot be used for TLS: {detail}")]
    UnusableKey {
        /// Where the key came from.
        origin: PemOrigin,
        /// Why.
        detail: String,
    },
    /// The certificate cannot be read.
    #[error("{origin}: the certificate cannot be read: {detail}")]
    BadCertificate {
        /// Where the certificate came from.
        origin: PemOrigin,
        /// Why.
        detail: String,
    },
    /// The private key is not the certificate's.
    #[error(
        "{key} does not match the certificate in {cert}: its public key is not the certificate's\n  hint: the key and the certificate must be a pair (compare `openssl x509 -in CERT.pem -noout -pubkey` with `openssl pkey -in KEY.pem -pubout`)"
    )]
    KeyMismatch {
        /// The certificate's origin.
        cert: PemOrigin,
        /// The key's origin.
        key: PemOrigin,
    },
}

/// One PEM block: its label, its headers (legacy encryption) and its decoded content.
pub(crate) struct PemBlock {
    pub(crate) label: String,
    headers: Vec<(String, String)>,
    pub(crate) der: Vec<u8>,
}

impl fmt::Debug for PemBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemBlock")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl PemBlock {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the block is a private key of any kind.
    pub(crate) fn is_private_key(&self) -> bool {
        self.label.ends_with("PRIVATE KEY")
    }

    /// The block as PEM text again (plain blocks only).
    fn to_pem(&self) -> String {
        block_pem(&self.label, &self.der)
    }
}

/// PEM text of one block.
pub(crate) fn block_pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The PEM blocks of a text, in order; text between blocks is ignored (OpenSSL writes
/// `Bag Attributes` and `subject=` lines there).
pub(crate) fn pem_blocks(text: &str, origin: &PemOrigin) -> Result<Vec<PemBlock>, KeyError> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut headers = Vec::new();
        let mut body = String::new();
        let mut closed = false;
        for l in lines.by_ref() {
            let l = l.trim();
            if l == end {
                closed = true;
                break;
            }
            match l.split_once(':') {
                Some((k, v)) if body.is_empty() => {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
                _ => body.push_str(l),
            }
        }
        let malformed = |detail: String| KeyError::Malformed {
            origin: origin.clone(),
            label: label.to_string(),
            detail,
        };
        if !closed {
            return Err(malformed(format!("no `{end}` line")));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| malformed(format!("not base64 ({e})")))?;
        out.push(PemBlock {
            label: label.to_string(),
            headers,
            der,
        });
    }
    Ok(out)
}

/// A private key ready to use: PEM text of a plain key (PKCS#8 `PRIVATE KEY` after
/// decryption, else as given) and its DER content.
#[derive(Clone)]
pub struct PlainKey {
    /// The key as PEM text.
    pub pem: Secret,
    /// The PEM label (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`).
    pub label: String,
    /// The decoded content (DER).
    pub(crate) der: SecretBytes,
}

impl fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainKey")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Bytes that are a secret (a decrypted key); cleared when dropped.
#[derive(Clone, Default)]
pub(crate) struct SecretBytes(pub(crate) Vec<u8>);

impl Drop for SecretBytes {
    fn drop(&mut self) {
        use pkcs8::der::zeroize::Zeroize;
        self.0.zeroize();
    }
}

/// The one private key among `blocks`, decrypted with `password` when it is encrypted.
/// `password_key` names the connector key of the password, for messages. `Ok(None)` when
/// there is no private key block.
pub(crate) fn key_of_blocks(
    blocks: &[PemBlock],
    password: Option<&Secret>,
    origin: &PemOrigin,
    password_key: &str,
) -> Result<Option<PlainKey>, KeyError> {
    let keys: Vec<&PemBlock> = blocks.iter().filter(|b| b.is_private_key()).collect();
    let block = match keys.as_slice() {
        [] => return Ok(None),
        [one] => *one,
        _ => {
            return Err(KeyError::SeveralKeys {
                origin: origin.clone(),
                count: keys.len(),
            });
        }
    };
    let password = password.filter(|p| !p.is_empty());
    if block
        .header("Proc-Type")
        .is_some_and(|v| v.contains("ENCRYPTED"))
    {
        return Err(KeyError::LegacyEncryption {
            origin: origin.clone(),
            cipher: block
                .header("DEK-Info")
                .and_then(|v| v.split(',').next())
                .unwrap_or("unknown")
                .to_string(),
        });
    }
    if block.label != "ENCRYPTED PRIVATE KEY" {
        if password.is_some() {
            // As SailPoint's "Private Key Password": needed only when the key is encrypted.
            tracing::warn!(target: "wsc::auth", "{origin}: `{password_key}` is set but the private key is not encrypted; the password is not used");
        }
        return Ok(Some(PlainKey {
            pem: Secret::new(block.to_pem()),
            label: block.label.clone(),
            der: SecretBytes(block.der.clone()),
        }));
    }
    let Some(password) = password else {
        return Err(KeyError::NeedsPassword {
            origin: origin.clone(),
            password: password_key.to_string(),
        });
    };
    decrypt(&block.der, password, origin, password_key).map(Some)
}

/// Decrypts an `EncryptedPrivateKeyInfo` (RFC 5958) with `password`.
fn decrypt(
    der: &[u8],
    password: &Secret,
    origin: &PemOrigin,
    password_key: &str,
) -> Result<PlainKey, KeyError> {
    use pkcs8::der::Decode as _;
    let wrong = || KeyError::WrongPassword {
        origin: origin.clone(),
        password: password_key.to_string(),
    };
    let unsupported = |scheme: String| KeyError::UnsupportedEncryption {
        origin: origin.clone(),
        scheme,
    };
    // What does not parse names a scheme the parser does not know (PKCS#12 PBE, as
    // `openssl pkcs8 -v1 PBE-SHA1-3DES` writes) more often than a damaged file.
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der)
        .map_err(|e| unsupported(format!("a scheme wsc does not read ({e})")))?;
    let doc = info
        .decrypt(password.expose().as_bytes())
        .map_err(|e| match e {
            // A bad padding after decryption (a wrong password) is reported as
            // `EncryptFailed` by pkcs5 0.7.
            pkcs8::Error::EncryptedPrivateKey(
                pkcs8::pkcs5::Error::DecryptFailed | pkcs8::pkcs5::Error::EncryptFailed,
            ) => wrong(),
            pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::NoPbes1CryptSupport) => {
                unsupported("PBES1 (an old PKCS#5 scheme)".into())
            }
            pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm {
                oid,
            }) => unsupported(format!("the algorithm {oid}")),
            other => unsupported(other.to_string()),
        })?;
    // A wrong password passes the padding check now and then (1 in 256 with CBC): what it
    // gives is then not a private key.
    pkcs8::PrivateKeyInfo::from_der(doc.as_bytes()).map_err(|_| wrong())?;
    let der = SecretBytes(doc.as_bytes().to_vec());
    let pem = block_pem("PRIVATE KEY", &der.0);
    Ok(PlainKey {
        pem: Secret::new(pem),
        label: "PRIVATE KEY".into(),
        der,
    })
}

/// The private key in `text` (PEM), decrypted with `password` when it is an encrypted PKCS#8
/// key. `password_key` is the connector key the password comes from, for messages.
pub fn private_key(
    text: &str,
    password: Option<&Secret>,
    origin: &PemOrigin,
    password_key: &str,
) -> Result<PlainKey, KeyError> {
    let blocks = pem_blocks(text, origin)?;
    key_of_blocks(&blocks, password, origin, password_key)?.ok_or_else(|| KeyError::NoKey {
        origin: origin.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> PemOrigin {
        PemOrigin::file("auth.assertion.key_file", "keys/k.pem")
    }

    #[test]
    fn finds_blocks_between_text() {
        let text = "Bag Attributes\n  localKeyID: 01\nsubject=CN = x\n-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\nnoise\n-----BEGIN PRIVATE KEY-----\nBAUG\n-----END PRIVATE KEY-----\n";
        let b = pem_blocks(text, &origin()).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].label, "CERTIFICATE");
        assert_eq!(b[0].der, vec![1, 2, 3]);
        assert!(b[1].is_private_key());
    }

    #[test]
    fn legacy_encryption_is_named_with_the_conversion() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,0011\n\nAQID\n-----END RSA PRIVATE KEY-----\n";
        let e = private_key(text, None, &origin(), "auth.assertion.key_password").unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, KeyError::LegacyEncryption { .. }), "{m}");
        assert!(
            m.contains("AES-256-CBC") && m.contains("openssl pkey"),
            "{m}"
        );
        assert!(m.contains("`auth.assertion.key_file` (keys/k.pem)"), "{m}");
    }

    #[test]
    fn an_unclosed_block_is_malformed() {
        let e = private_key(
            "-----BEGIN PRIVATE KEY-----\nAQID\n",
            None,
            &origin(),
            "auth.assertion.key_password",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("no `-----END PRIVATE KEY-----` line"),
            "{e}"
        );
    }

    #[test]
    fn no_key_and_several_keys() {
        let o = origin();
        let e = private_key("hello", None, &o, "p").unwrap_err();
        assert!(matches!(e, KeyError::NoKey { .. }));
        let two = "-----BEGIN PRIVATE KEY-----\nAQID\n-----END PRIVATE KEY-----\n-----BEGIN EC PRIVATE KEY-----\nAQID\n-----END EC PRIVATE KEY-----\n";
        let e = private_key(two, None, &o, "p").unwrap_err();
        assert!(matches!(e, KeyError::SeveralKeys { count: 2, .. }), "{e}");
    }
}
