//! Files of the store: the default path, private (0600) files and directories.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// The default database path: `$XDG_DATA_HOME/wsc/state.db`, else
/// `$HOME/.local/share/wsc/state.db`; `None` without either variable.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        })?;
    Some(base.join("wsc").join("state.db"))
}

/// Opens `path` for reading and writing, creating it with mode 0600 if it does not exist.
#[cfg(unix)]
pub(crate) fn create_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Opens `path` for reading and writing, creating it if it does not exist.
#[cfg(not(unix))]
pub(crate) fn create_private(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Creates `path` for writing with mode 0600; fails if it exists.
pub(crate) fn create_new_private(path: &Path) -> std::io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    }
    #[cfg(not(unix))]
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Sets mode 0600 on an existing file.
#[cfg(unix)]
pub(crate) fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Sets mode 0600 on an existing file (nothing to do on this platform).
#[cfg(not(unix))]
pub(crate) fn restrict(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Creates `dir` and its parents; the directory itself gets mode 0700 (best effort).
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// `db` with `suffix` appended to its file name: `state.db` → `state.db.lock`.
pub(crate) fn sibling(db: &Path, suffix: &str) -> PathBuf {
    db.with_file_name(format!(
        "{}{suffix}",
        db.file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("state.db")
    ))
}
