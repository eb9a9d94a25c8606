//! Output files written atomically: to a temporary file in the same directory, renamed over
//! the target only when everything was written, removed otherwise. A failed or interrupted
//! command never leaves a partial file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::common::{Failed, fail};
use crate::exit;

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

/// Writes `bytes` to `path` atomically, creating missing parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Where records go: stdout, or a temporary file renamed over `--out` only on success.
pub(crate) struct Destination {
    tmp: Option<(PathBuf, PathBuf)>,
}

impl Destination {
    /// Opens stdout (`None`) or the temporary file of `out`, with a large write buffer.
    pub(crate) fn open(
        out: &Option<PathBuf>,
    ) -> Result<(Destination, Box<dyn Write + Send>), Failed> {
        match out {
            None => Ok((
                Destination { tmp: None },
                Box::new(std::io::BufWriter::with_capacity(
                    1 << 16,
                    std::io::stdout(),
                )),
            )),
            Some(path) => {
                let tmp = temp_path(path);
                let f = std::fs::File::create(&tmp).map_err(|e| {
                    fail(
                        exit::FAILURE,
                        format!("cannot create {}: {e}", tmp.display()),
                    )
                })?;
                Ok((
                    Destination {
                        tmp: Some((tmp, path.clone())),
                    },
                    Box::new(std::io::BufWriter::with_capacity(1 << 16, f)),
                ))
            }
        }
    }

    /// Renames the temporary file over the target (the writer must be flushed and dropped).
    pub(crate) fn commit(self) -> Result<(), Failed> {
        if let Some((tmp, path)) = &self.tmp {
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

    /// Removes the temporary file; the target is left as it was.
    pub(crate) fn abandon(self) {
        if let Some((tmp, _)) = &self.tmp {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
