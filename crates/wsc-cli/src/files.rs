//! Output files. A regular file (or a path that does not exist yet) is written atomically: to a
//! temporary file in the same folder, renamed over the target only when everything was written,
//! removed otherwise, so a failed or interrupted command never leaves a partial file. Anything
//! else (a character device such as `/dev/null`, a FIFO, `/dev/stdout`) is written directly and
//! never renamed over or removed: replacing `/dev/null` with a regular file would break the
//! machine. Missing parent folders are created.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::common::{Failed, fail};
use crate::exit;

/// How a target path is written.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Through a temporary file renamed over this path (a regular file, or a new path; a
    /// symbolic link to a regular file is resolved, so the link stays a link).
    Atomic(PathBuf),
    /// Opened and written in place (a device, FIFO, socket, `/dev/stdout`, a dangling link).
    Direct,
}

/// Decides how `path` is written.
fn plan(path: &Path) -> std::io::Result<Plan> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        // Not there (or a parent is not a folder): creating it reports what is wrong.
        Err(_) => return Ok(Plan::Atomic(path.to_path_buf())),
    };
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(Plan::Atomic(path.to_path_buf()));
    }
    if kind.is_dir() {
        return Err(std::io::Error::other("it is a folder; name a file"));
    }
    if kind.is_symlink() {
        // `/dev/stdout` is a link to `/proc/self/fd/1`: written in place whatever it points
        // to. A link to a regular file elsewhere is resolved, so the link stays a link.
        if let Ok(target) = std::fs::metadata(path) {
            if target.is_dir() {
                return Err(std::io::Error::other("it is a folder; name a file"));
            }
            if target.is_file()
                && !links_through_system_folders(path)
                && let Ok(real) = std::fs::canonicalize(path)
            {
                return Ok(Plan::Atomic(real));
            }
        }
    }
    Ok(Plan::Direct)
}

/// Whether `path` or a link on the way to its target lies in `/dev` or `/proc` (where a link
/// names an open file, not a place to create one).
fn links_through_system_folders(path: &Path) -> bool {
    let system = |p: &Path| p.starts_with("/dev") || p.starts_with("/proc");
    let mut p = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    for _ in 0..40 {
        if system(&p) {
            return true;
        }
        match std::fs::read_link(&p) {
            Ok(next) => {
                p = match p.parent() {
                    Some(dir) if next.is_relative() => dir.join(next),
                    _ => next,
                }
            }
            Err(_) => return false,
        }
    }
    true
}

/// The temporary file beside `path` that becomes `path` on success.
fn temp_path(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    dir.join(format!(".{name}.wsc-tmp-{}", std::process::id()))
}

/// Creates the missing parent folders of `path`, naming the one that could not be made.
fn create_parent(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !dir.is_dir()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot create the folder {}: {e}", dir.display()),
            )
        })?;
    }
    Ok(())
}

/// Opens a non-regular target for writing in place.
fn open_direct(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
}

/// Creates the temporary file of `real` (creating missing parent folders).
fn create_temp(real: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    create_parent(real)?;
    let tmp = temp_path(real);
    let f = std::fs::File::create(&tmp)?;
    Ok((tmp, f))
}

/// Writes `bytes` to `path`: atomically for a regular file or a new path (creating missing
/// parent folders), in place for a device or FIFO.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let real = match plan(path)? {
        Plan::Direct => return open_direct(path)?.write_all(bytes),
        Plan::Atomic(real) => real,
    };
    let (tmp, mut f) = create_temp(&real)?;
    let result = (|| {
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &real)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Where records go: stdout, a temporary file renamed over `--out` only on success, or (for
/// a device or FIFO) `--out` itself.
pub(crate) struct Destination {
    target: Target,
}

enum Target {
    Stdout,
    Atomic { tmp: PathBuf, path: PathBuf },
    Direct(PathBuf),
}

impl Destination {
    /// Opens stdout (`None`) or `out`, with a large write buffer.
    pub(crate) fn open(
        out: &Option<PathBuf>,
    ) -> Result<(Destination, Box<dyn Write + Send>), Failed> {
        let Some(path) = out else {
            return Ok((
                Destination {
                    target: Target::Stdout,
                },
                Box::new(std::io::BufWriter::with_capacity(
                    1 << 16,
                    std::io::stdout(),
                )),
            ));
        };
        let cannot = |e: std::io::Error| {
            fail(
                exit::FAILURE,
                format!("cannot write {}: {e}", path.display()),
            )
        };
        let (target, file) = match plan(path).map_err(cannot)? {
            Plan::Atomic(real) => {
                let (tmp, f) = create_temp(&real).map_err(cannot)?;
                (Target::Atomic { tmp, path: real }, f)
            }
            Plan::Direct => (
                Target::Direct(path.clone()),
                open_direct(path).map_err(cannot)?,
            ),
        };
        Ok((
            Destination { target },
            Box::new(std::io::BufWriter::with_capacity(1 << 16, file)),
        ))
    }

    /// Renames the temporary file over the target (the writer must be flushed and dropped).
    pub(crate) fn commit(self) -> Result<(), Failed> {
        if let Target::Atomic { tmp, path } = &self.target {
            std::fs::rename(tmp, path).map_err(|e| {
                let _ = std::fs::remove_file(tmp);
                fail(
                    exit::FAILURE,
                    format!("cannot write {}: {e}", path.display()),
                )
            })?;
        }
        Ok(())
    }

    /// Removes the temporary file; a regular target is left as it was. Returns what became of
    /// the target, for the error message (`; FILE was left as it was`).
    pub(crate) fn abandon(self) -> String {
        match &self.target {
            Target::Stdout => String::new(),
            Target::Atomic { tmp, path } => {
                let _ = std::fs::remove_file(tmp);
                format!("; {} was left as it was", path.display())
            }
            Target::Direct(path) => format!(
                "; {} is not a regular file and was written in place: what it received is incomplete",
                path.display()
            ),
        }
    }
}

impl Drop for Destination {
    /// A destination dropped without [`commit`](Destination::commit) (an early return, a
    /// cancelled run) leaves no temporary file behind.
    fn drop(&mut self) {
        if let Target::Atomic { tmp, .. } = &self.target {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Plan, plan};
    use std::path::Path;

    #[test]
    fn devices_and_links_to_them_are_written_in_place() {
        assert_eq!(plan(Path::new("/dev/null")).unwrap(), Plan::Direct);
        assert_eq!(plan(Path::new("/dev/stdout")).unwrap(), Plan::Direct);
        assert!(plan(Path::new("/")).is_err());
        let new = Path::new("/nonexistent-wsc/x.jsonl");
        assert_eq!(plan(new).unwrap(), Plan::Atomic(new.to_path_buf()));
    }
}
