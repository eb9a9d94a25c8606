//! The PostgreSQL store of a fleet: `--state postgres://…` (or `WSC_STATE`) and its key, the
//! same on every worker: `WSC_STATE_KEY`, else the content of the file `WSC_STATE_KEY_FILE`
//! names (a mounted secret).

use std::sync::Arc;

use wsc_auth::Secret;
use wsc_store::PgStore;

/// Why the PostgreSQL store could not be opened.
pub(crate) type OpenError = Box<dyn std::error::Error + Send + Sync>;

/// The store key from outside the state directory: `WSC_STATE_KEY`, else the content of the
/// file `WSC_STATE_KEY_FILE` names (surrounding whitespace trimmed); `None` when neither is
/// set. The same for the SQLite store and a fleet's PostgreSQL store.
pub(crate) fn store_key() -> Result<Option<Secret>, OpenError> {
    if let Some(k) = std::env::var("WSC_STATE_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    {
        return Ok(Some(Secret::new(k)));
    }
    match std::env::var_os("WSC_STATE_KEY_FILE") {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "reading the store key from WSC_STATE_KEY_FILE={}: {e}",
                    std::path::Path::new(&path).display()
                )
            })?;
            let key = text.trim();
            if key.is_empty() {
                return Err(format!(
                    "the store key file WSC_STATE_KEY_FILE={} is empty",
                    std::path::Path::new(&path).display()
                )
                .into());
            }
            Ok(Some(Secret::new(key.to_string())))
        }
        None => Ok(None),
    }
}

/// Opens (and migrates) the PostgreSQL store at `url`.
pub(crate) fn open_pg(url: &str) -> Result<Arc<PgStore>, OpenError> {
    let key = store_key()?;
    Ok(Arc::new(PgStore::open(
        url,
        key.as_ref().map(Secret::expose),
    )?))
}
