//! `wsc auth status` and `wsc auth logout`, and opening the state store for runs.

use std::path::PathBuf;
use std::sync::Arc;

use wsc_auth::Secret;
use wsc_spec::Loaded;
use wsc_spec::model::Auth;
use wsc_store::{SqliteStore, Store};

use crate::cli::{AuthCommand, ConnectorArgs};
use crate::exit;
use crate::run::{Failed, fail, load, settings_sources};

/// `--state none` keeps tokens in memory only.
pub const NO_STORE: &str = "none";

/// The store path for these arguments: `--state`/`WSC_STATE`, else the default.
pub(crate) fn store_path(args: &ConnectorArgs) -> Option<PathBuf> {
    match &args.state {
        Some(p) if p.as_os_str() == NO_STORE => None,
        Some(p) => Some(p.clone()),
        None => wsc_store::default_path(),
    }
}

pub(crate) fn open(path: &std::path::Path) -> Result<Arc<dyn Store>, Failed> {
    let key = std::env::var("WSC_STATE_KEY").ok().map(Secret::new);
    SqliteStore::open(path, key.as_ref().map(Secret::expose))
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| fail(exit::FAILURE, e))
}

/// The state store a run of `loaded` uses: only connectors with managed tokens open one.
pub fn store_for(loaded: &Loaded, args: &ConnectorArgs) -> Result<Option<Arc<dyn Store>>, Failed> {
    if !matches!(loaded.connector.auth, Auth::OAuth2(_) | Auth::Custom(_)) {
        return Ok(None);
    }
    match store_path(args) {
        Some(p) => open(&p).map(Some),
        None => {
            if args.state.is_none() {
                tracing::warn!(
                    "no home or XDG_DATA_HOME directory: tokens are kept in memory only (use --state FILE)"
                );
            }
            Ok(None)
        }
    }
}

/// `ms` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, UTC).
pub(crate) fn ms_to_rfc3339(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::MAX)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `wsc auth ...`.
pub fn run(cmd: &AuthCommand) -> Result<(), Failed> {
    let (args, logout) = match cmd {
        AuthCommand::Status(a) => (a, false),
        AuthCommand::Logout(a) => (a, true),
        AuthCommand::Login(a) => return crate::login::run(a),
    };
    let loaded = load(&args.connector)?;
    let (explicit, file) = settings_sources(args)?;
    let settings =
        wsc_engine::settings::resolve(&loaded.connector, &explicit, &file, &|k: &str| {
            std::env::var(k).ok()
        })
        .map_err(|errs| {
            for e in &errs {
                eprintln!("error: {e}");
            }
            Failed(exit::INVALID)
        })?;
    let grant = match &loaded.connector.auth {
        Auth::OAuth2(o) => o.grant.name(),
        Auth::Custom(_) => "custom",
        other => {
            println!(
                "{}: auth type `{}` has no managed tokens; nothing is stored",
                loaded.connector.connector,
                other.kind_name()
            );
            return Ok(());
        }
    };
    let Some(path) = store_path(args) else {
        return Err(fail(
            exit::INVALID,
            "no state store (`--state none`, or no home directory)",
        ));
    };
    let key = wsc_engine::auth::instance_key(&loaded, &settings);
    let store = open(&path)?;
    if logout {
        let n = store
            .delete_tokens(&key.connector, Some(&key.instance))
            .map_err(|e| fail(exit::FAILURE, e))?;
        println!(
            "{}: {} stored token{} deleted from {}",
            key.connector,
            n,
            if n == 1 { "" } else { "s" },
            path.display()
        );
        return Ok(());
    }
    let stored = wsc_auth::load_token(&*store, &key).map_err(|e| fail(exit::FAILURE, e))?;
    println!("connector: {}", key.connector);
    println!("instance:  {}", key.instance);
    println!("store:     {}", path.display());
    println!("grant:     {grant} (configured)");
    match stored {
        None => println!("token:     none stored (the next run obtains one)"),
        Some(s) => {
            let now = wsc_auth::token::now_ms();
            let t = &s.token;
            let state = if t.expires_at_ms <= now {
                "expired"
            } else {
                "valid"
            };
            println!(
                "token:     {state}, obtained with {} at {}",
                s.grant,
                ms_to_rfc3339(t.obtained_at_ms)
            );
            println!(
                "expires:   {} (from {})",
                ms_to_rfc3339(t.expires_at_ms),
                t.expiry_source
            );
            println!(
                "refresh:   {}",
                match (&t.refresh_token, t.refresh_expires_at_ms) {
                    (None, _) => "no refresh token held".to_string(),
                    (Some(_), None) => "refresh token held".to_string(),
                    (Some(_), Some(at)) =>
                        format!("refresh token held, expires {}", ms_to_rfc3339(at)),
                }
            );
            if let Some(scope) = &t.scope {
                println!("scope:     {scope}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ms_to_rfc3339;

    #[test]
    fn rfc3339_of_ms() {
        assert_eq!(ms_to_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(ms_to_rfc3339(1_714_557_600_999), "2024-05-01T10:00:00Z");
        assert_eq!(ms_to_rfc3339(1_709_164_800_000), "2024-02-29T00:00:00Z");
        assert_eq!(ms_to_rfc3339(951_868_799_000), "2000-02-29T23:59:59Z");
    }
}
