//! The credential lease of the SQLite store: an exclusive lock on `state.db.lock`.

use std::fs::File;
use std::path::Path;

use crate::error::StoreError;
use crate::fs::{create_private, sibling};
use crate::store::CredentialLease;

/// An exclusive lock on the store's lock file; dropping it (closing the file) unlocks.
#[derive(Debug)]
pub(super) struct FileLease {
    file: File,
    location: String,
}

impl FileLease {
    /// Takes the lock of the database at `db`, blocking until it is free. Each call opens the
    /// lock file anew, so the lock excludes other handles and threads of this process too.
    pub(super) fn acquire(db: &Path) -> Result<FileLease, StoreError> {
        let lp = sibling(db, ".lock");
        let location = lp.display().to_string();
        let file = create_private(&lp)
            .map_err(|e| StoreError::io(&location, "opening the lock file", e))?;
        file.lock()
            .map_err(|e| StoreError::io(&location, "locking", e))?;
        Ok(FileLease { file, location })
    }
}

impl CredentialLease for FileLease {
    fn release(self: Box<Self>) -> Result<(), StoreError> {
        self.file
            .unlock()
            .map_err(|e| StoreError::io(&self.location, "unlocking", e))
    }
}
