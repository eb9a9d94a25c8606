//! The real third-party servers of the interop tests, installed on first use so that
//! `cargo test --workspace` is the one test command on a machine with Rust, Node.js 20+ and
//! Python 3:
//!
//! - [`scim2_server`]: `scim2-server` in a Python virtual environment under the target
//!   directory, from the pinned `tests/scim/requirements.txt` (a system-wide `pip install` is
//!   refused on Debian 12 and others: "externally managed environment");
//! - [`oidc_provider`]: `npm ci --prefix tests/oidc`, from its lock file;
//! - [`graphql_server`]: `npm ci --prefix tests/graphql` (graphql-yoga), from its lock file.
//! - [`soap_server`]: spyne (a SOAP server) in a Python virtual environment under the target
//!   directory, from the pinned `tests/soap/requirements.txt`, running `tests/soap/server.py`.
//!
//! Each is installed once (a file lock keeps concurrent test processes from installing
//! twice) and reinstalled when its lock file changes. A missing `python3`, `venv` module,
//! `node` or `npm` is a clear error naming what to install, never a skipped test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cmd`, returning its stderr (and stdout) as the error when it fails.
fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Holds an exclusive lock on `path` (created) until dropped.
fn lock(path: &Path) -> Result<std::fs::File, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.lock().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(f)
}

/// The `scim2-server` program, installed on first use into `tools/scim-venv` (`tools`: a
/// directory under the target directory, e.g. a test's `CARGO_TARGET_TMPDIR`) from
/// `root/tests/scim/requirements.txt`.
pub fn scim2_server(root: &Path, tools: &Path) -> Result<PathBuf, String> {
    let bin = python_venv(
        root,
        tools,
        "scim-venv",
        "tests/scim/requirements.txt",
        "scim2-server",
        "SCIM",
        |_| Ok(()),
    )?;
    Ok(bin.join("scim2-server"))
}

/// A Python virtual environment `tools/NAME` with `root/REQUIREMENTS` installed: built on
/// first use and again when the requirements change (a marker in the venv holds the ones it
/// was built from), under a lock so parallel tests build it once. `program` must be in its
/// `bin` directory afterwards and `check` (given that directory) must pass. Returns the
/// `bin` directory.
fn python_venv(
    root: &Path,
    tools: &Path,
    name: &str,
    requirements: &str,
    program: &str,
    suite: &str,
    check: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let file = root.join(requirements);
    let wanted = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let venv = tools.join(name);
    let bin = venv.join(if cfg!(windows) { "Scripts" } else { "bin" });
    let marker = venv.join("wsc-installed.txt");
    let _guard = lock(&tools.join(format!("{name}.lock")))?;
    if bin.join(program).is_file() && std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return Ok(bin);
    }
    run(
        Command::new("python3").arg("--version"),
        &format!("`python3 --version` (the {suite} interop tests need Python 3 on PATH)"),
    )?;
    let _ = std::fs::remove_dir_all(&venv);
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "`python3 -m venv` (on Debian and Ubuntu: `apt install python3-venv`)",
    )?;
    run(
        Command::new(bin.join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&file),
        &format!("`pip install -r {requirements}` into the test venv (needs access to PyPI)"),
    )?;
    if !bin.join(program).is_file() {
        return Err(format!(
            "{} is missing after installing {}",
            bin.join(program).display(),
            file.display()
        ));
    }
    check(&bin)?;
    std::fs::write(&marker, &wanted).map_err(|e| format!("{}: {e}", marker.display()))?;
    Ok(bin)
}

/// The oidc-provider directory (`root/tests/oidc`), with `npm ci` run on first use (and
/// again when `package-lock.json` changes). `tools` holds the lock file and the marker.
pub fn oidc_provider(root: &Path, tools: &Path) -> Result<PathBuf, String> {
    npm_project(
        root,
        tools,
        "oidc",
        "oidc-provider",
        "the OIDC interop tests",
    )
}

/// The GraphQL server directory (`root/tests/graphql`, graphql-yoga), with `npm ci` run on
/// first use (and again when `package-lock.json` changes). `tools` holds the lock file.
pub fn graphql_server(root: &Path, tools: &Path) -> Result<PathBuf, String> {
    npm_project(
        root,
        tools,
        "graphql",
        "graphql-yoga",
        "the GraphQL interop tests",
    )
}

/// `root/tests/<name>` with `npm ci` run in it unless `package` is installed from the current
/// lock file; `who` names the tests in errors.
fn npm_project(
    root: &Path,
    tools: &Path,
    name: &str,
    package: &str,
    who: &str,
) -> Result<PathBuf, String> {
    let dir = root.join("tests").join(name);
    let lockfile = dir.join("package-lock.json");
    let wanted =
        std::fs::read_to_string(&lockfile).map_err(|e| format!("{}: {e}", lockfile.display()))?;
    let marker = dir.join("node_modules/.wsc-installed.json");
    let _guard = lock(&tools.join(format!("{name}-npm.lock")))?;
    let installed = dir
        .join("node_modules")
        .join(package)
        .join("package.json")
        .is_file();
    if installed && std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return Ok(dir);
    }
    let version = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run `node` ({e}): {who} need Node.js 20 or later on PATH"))?;
    let v = String::from_utf8_lossy(&version.stdout);
    let major: u32 = v
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        return Err(format!(
            "{who} need Node.js 20 or later; `node --version` says {}",
            v.trim()
        ));
    }
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir),
        &format!(
            "`npm ci --prefix tests/{name}` (npm comes with Node.js; needs access to the npm registry)"
        ),
    )?;
    std::fs::write(&marker, &wanted).map_err(|e| format!("{}: {e}", marker.display()))?;
    Ok(dir)
}

/// The SOAP directory service of the interop tests: the Python of a virtual environment
/// under `tools/soap-venv` with spyne installed from `root/tests/soap/requirements.txt`, and
/// the server script `root/tests/soap/server.py` it runs (installed on first use, again when
/// the requirements change).
pub fn soap_server(root: &Path, tools: &Path) -> Result<(PathBuf, PathBuf), String> {
    let bin = python_venv(
        root,
        tools,
        "soap-venv",
        "tests/soap/requirements.txt",
        "python",
        "SOAP",
        |bin| {
            run(
                Command::new(bin.join("python")).args(["-c", "import spyne, lxml"]),
                "importing spyne and lxml in the SOAP test venv",
            )
        },
    )?;
    Ok((bin.join("python"), root.join("tests/soap/server.py")))
}
