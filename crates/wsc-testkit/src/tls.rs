//! HTTPS for tests: a throwaway PKI made with the `openssl` command line ([`TestPki`]) and
//! an HTTPS front ([`TlsFront`]) that terminates TLS — requiring a client certificate when
//! told to (mutual TLS) — and forwards each connection to a plain loopback HTTP server (the
//! synthetic API, the replay server), so any of them can be reached over HTTPS.
//!
//! Certificates and keys are made at test time in a directory the test owns; none is
//! committed. Everything is for tests only: the CA's key lies next to its certificate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Runs `openssl` with `args` in `dir`; the error holds its output.
pub fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run openssl (install it: apt-get install openssl): {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "openssl {} failed ({}):\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// A test CA with a server certificate for `127.0.0.1` / `localhost` and a client
/// certificate, all P-256 keys, files in one directory.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The directory of the files.
    pub dir: PathBuf,
    /// The CA certificate (PEM): what a client trusts (`ca_file`), and what the front
    /// trusts for client certificates.
    pub ca_cert: PathBuf,
    /// The server certificate (PEM).
    pub server_cert: PathBuf,
    /// The server key (PEM, PKCS#8).
    pub server_key: PathBuf,
    /// The client certificate (PEM), signed by the CA.
    pub client_cert: PathBuf,
    /// The client key (PEM, PKCS#8, not encrypted).
    pub client_key: PathBuf,
}

impl TestPki {
    /// Makes the CA, the server certificate and a client certificate in `dir` (created).
    pub fn generate(dir: &Path) -> Result<TestPki, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
        let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=wsc test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &ca)?;
        let pki = TestPki {
            dir: dir.to_path_buf(),
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        };
        openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "server.key",
            ],
        )?;
        pki.sign(
            "server.key",
            &[],
            "server.pem",
            "/CN=127.0.0.1",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
        )?;
        openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "client.key",
            ],
        )?;
        pki.client_cert_for("client.key", &[], "client.pem")?;
        Ok(pki)
    }

    /// Signs a client certificate `out` (a file name in the PKI's directory) for the key
    /// file `key` (opened with `key_args`, e.g. `["-passin", "pass:PW"]` for an encrypted key).
    pub fn client_cert_for(&self, key: &str, key_args: &[&str], out: &str) -> Result<(), String> {
        self.sign(
            key,
            key_args,
            out,
            "/CN=wsc test client",
            "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n",
        )
    }

    fn sign(
        &self,
        key: &str,
        key_args: &[&str],
        out: &str,
        subject: &str,
        ext: &str,
    ) -> Result<(), String> {
        let csr = format!("{out}.csr");
        let ext_file = format!("{out}.ext");
        std::fs::write(self.dir.join(&ext_file), ext).map_err(|e| e.to_string())?;
        let mut req = vec!["req", "-new", "-key", key];
        req.extend(key_args);
        req.extend(["-subj", subject, "-out", &csr]);
        openssl(&self.dir, &req)?;
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &ext_file,
                "-out",
                out,
            ],
        )
    }
}

/// Counters of a [`TlsFront`].
#[derive(Debug, Default)]
struct Counters {
    handshakes: AtomicU64,
    refused: AtomicU64,
}

/// An HTTPS front for a loopback HTTP server (see the [module](self) documentation).
#[derive(Debug)]
pub struct TlsFront {
    addr: SocketAddr,
    counters: Arc<Counters>,
    shutdown: watch::Sender<bool>,
}

impl TlsFront {
    /// Serves HTTPS on a free loopback port with the server certificate of `pki`, forwarding
    /// to `backend`. With `require_client_cert`, a client must present a certificate
    /// signed by the PKI's CA, or the handshake fails.
    pub async fn start(
        backend: SocketAddr,
        pki: &TestPki,
        require_client_cert: bool,
    ) -> Result<TlsFront, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&pki.server_cert)
            .and_then(|i| i.collect())
            .map_err(|e| format!("{}: {e}", pki.server_cert.display()))?;
        let key = PrivateKeyDer::from_pem_file(&pki.server_key)
            .map_err(|e| format!("{}: {e}", pki.server_key.display()))?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(&pki.ca_cert)
                .map_err(|e| format!("{}: {e}", pki.ca_cert.display()))?
            {
                roots
                    .add(c.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| e.to_string())?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = builder
            .with_single_cert(certs, key)
            .map_err(|e| e.to_string())?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let counters = Arc::new(Counters::default());
        let (shutdown, mut stop) = watch::channel(false);
        let c = counters.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let acceptor = acceptor.clone();
                        let c = c.clone();
                        tokio::spawn(async move {
                            match acceptor.accept(stream).await {
                                Ok(mut tls) => {
                                    c.handshakes.fetch_add(1, Ordering::Relaxed);
                                    if let Ok(mut up) = TcpStream::connect(backend).await {
                                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                                    }
                                }
                                Err(err) => {
                                    c.refused.fetch_add(1, Ordering::Relaxed);
                                    tracing::debug!(%err, "tls front: handshake refused");
                                }
                            }
                        });
                    }
                }
            }
        });
        Ok(TlsFront {
            addr,
            counters,
            shutdown,
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// TLS handshakes completed (with a valid client certificate when one is required).
    pub fn handshakes(&self) -> u64 {
        self.counters.handshakes.load(Ordering::Relaxed)
    }

    /// TLS handshakes that failed (no client certificate, an untrusted one, a client that
    /// did not trust the server).
    pub fn refused(&self) -> u64 {
        self.counters.refused.load(Ordering::Relaxed)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
