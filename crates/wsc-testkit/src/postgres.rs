//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory, a server on
//! a free loopback port (its unix socket in that directory too), stopped and the directory
//! removed when the [`PgCluster`] drops, also when a test panics.
//!
//! The binaries are Debian's (`postgresql` package): `pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/*/bin`, else `WSC_PG_BINDIR`. `initdb` and `postgres` refuse to run as
//! root, and tests run as root in CI: as root, the directory is given to `nobody` and the
//! server runs as that user through `setpriv`; as anyone else it runs directly.
//!
//! No client library: databases are created with `psql`, so this crate stays free of a
//! PostgreSQL driver. Tests connect with the URL of [`PgCluster::url`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Why a cluster could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// No PostgreSQL server binaries were found.
    #[error(
        "no PostgreSQL server binaries (initdb, postgres): install Debian's `postgresql` package (apt-get install -y postgresql) or set WSC_PG_BINDIR"
    )]
    NoBinaries,
    /// A command failed.
    #[error("{what}: {detail}")]
    Command {
        /// What was being done.
        what: String,
        /// Its output or error.
        detail: String,
    },
}

/// The directory of the PostgreSQL server binaries, if any are installed.
pub fn bindir() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("WSC_PG_BINDIR").map(PathBuf::from)
        && has(&d)
    {
        return Some(d);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has(&d) {
            return Some(d);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let d = e.path().join("bin");
            has(&d).then_some((v, d))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, d)| d)
}

/// Whether this process runs as root (uid 0), read from `/proc/self/status` (or `id -u`).
fn is_root() -> bool {
    if let Ok(s) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = s.lines().find(|l| l.starts_with("Uid:"))
    {
        return line.split_whitespace().nth(1) == Some("0");
    }
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A running throwaway cluster; dropping it stops the server and removes its directory. Keep
/// it in the test that uses it (not in a `static`, which is never dropped).
#[derive(Debug)]
pub struct PgCluster {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    server: Option<Child>,
}

static CLUSTERS: AtomicU64 = AtomicU64::new(0);

fn command_error(what: &str, out: &std::process::Output) -> PgError {
    PgError::Command {
        what: what.to_string(),
        detail: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

impl PgCluster {
    /// Creates and starts a cluster (superuser `postgres`, trust authentication on
    /// loopback only, fsync off), and waits until it accepts connections.
    pub fn start() -> Result<PgCluster, PgError> {
        let bindir = bindir().ok_or(PgError::NoBinaries)?;
        let root = is_root();
        let dir = std::env::temp_dir().join(format!(
            "wsc-pg-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| PgError::Command {
            what: format!("creating {}", dir.display()),
            detail: e.to_string(),
        })?;
        // From here on, Drop removes the directory whatever happens.
        let mut cluster = PgCluster {
            dir,
            bindir,
            port: 0,
            server: None,
        };
        if root {
            let out = Command::new("chown")
                .args(["-R", "nobody:"])
                .arg(&cluster.dir)
                .output()
                .map_err(|e| PgError::Command {
                    what: "chown".into(),
                    detail: e.to_string(),
                })?;
            if !out.status.success() {
                return Err(command_error("chown of the cluster directory", &out));
            }
        }
        let data = cluster.dir.join("data");
        let out = cluster
            .as_owner("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .map_err(|e| PgError::Command {
                what: "running initdb".into(),
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(command_error("initdb", &out));
        }
        // A free port can be taken by someone else between the probe and the bind: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .map_err(|e| PgError::Command {
                    what: "finding a free port".into(),
                    detail: e.to_string(),
                })?;
            let log = std::fs::File::create(cluster.dir.join("server.log")).map_err(|e| {
                PgError::Command {
                    what: "creating the server log".into(),
                    detail: e.to_string(),
                }
            })?;
            let child = cluster
                .as_owner("postgres")
                .arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-k"])
                .arg(&cluster.dir)
                .args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=100",
                    "-c",
                    "shared_buffers=16MB",
                ])
                .stdin(Stdio::null())
                .stdout(log.try_clone().map_err(|e| PgError::Command {
                    what: "server log".into(),
                    detail: e.to_string(),
                })?)
                .stderr(log)
                .spawn()
                .map_err(|e| PgError::Command {
                    what: "starting postgres".into(),
                    detail: e.to_string(),
                })?;
            cluster.server = Some(child);
            cluster.port = port;
            match cluster.wait_ready() {
                Ok(()) => return Ok(cluster),
                Err(e) => {
                    last = e.to_string();
                    cluster.stop();
                }
            }
        }
        Err(PgError::Command {
            what: "starting postgres".into(),
            detail: last,
        })
    }

    /// A command for `binary` of the cluster, run as the cluster's owner.
    fn as_owner(&self, binary: &str) -> Command {
        let path = self.bindir.join(binary);
        if is_root() {
            // --pdeathsig: the server dies with the thread that started it, so a test process
            // killed before Drop runs leaves no server behind.
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "--reset-env",
                "--pdeathsig=KILL",
            ])
            .arg(path);
            c.current_dir(&self.dir);
            c
        } else {
            let mut c = Command::new(path);
            c.current_dir(&self.dir);
            c
        }
    }

    fn wait_ready(&mut self) -> Result<(), PgError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.server.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                return Err(PgError::Command {
                    what: format!("postgres exited ({status})"),
                    detail: log,
                });
            }
            let ok = Command::new(self.bindir.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(PgError::Command {
                    what: "waiting for postgres".into(),
                    detail: "not ready after 60 s".into(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` for the superuser `postgres`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs one SQL command with `psql` on database `db`; returns its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, PgError> {
        let out = Command::new(self.bindir.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", db, "-c", sql])
            .output()
            .map_err(|e| PgError::Command {
                what: "running psql".into(),
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(command_error(&format!("psql: {sql}"), &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, PgError> {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""))?;
        Ok(self.url(name))
    }

    /// Stops the server now (immediate shutdown) and waits for it.
    fn stop(&mut self) {
        if let Some(mut child) = self.server.take() {
            // SIGQUIT: immediate shutdown of the postmaster and its children.
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_starts_answers_and_is_removed() {
        let Some(_) = bindir() else {
            panic!("{}", PgError::NoBinaries);
        };
        let c = PgCluster::start().unwrap();
        let dir = c.dir.clone();
        let url = c.create_database("t1").unwrap();
        assert!(url.ends_with("/t1"), "{url}");
        assert_eq!(c.psql("t1", "SELECT 40 + 2").unwrap(), "42");
        drop(c);
        assert!(!dir.exists());
    }
}
