//! `wsc auth status` and `wsc auth logout`.

use wsc_spec::model::Auth;

use crate::cli::AuthCommand;
use crate::common::{Failed, fail, load, open_store, process_env, resolve_settings, store_path};
use crate::exit;

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
        AuthCommand::Login(_) => unreachable!("main dispatches `auth login` to login.rs"),
    };
    let loaded = load(&args.connector)?;
    let settings = resolve_settings(&loaded, args, &process_env)?;
    let grant = match &loaded.connector.auth {
        Auth::OAuth2(o) => o.grant.name(),
        Auth::Custom(_) => "custom",
        other => {
            outln!(
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
    let store = open_store(&path)?;
    if logout {
        let n = store
            .delete_tokens(&key.connector, Some(&key.instance))
            .map_err(|e| fail(exit::FAILURE, e))?;
        outln!(
            "{}: {} stored token{} deleted from {}",
            key.connector,
            n,
            if n == 1 { "" } else { "s" },
            path.display()
        );
        return Ok(());
    }
    let stored = wsc_auth::load_token(&*store, &key).map_err(|e| fail(exit::FAILURE, e))?;
    outln!("connector: {}", key.connector);
    outln!("instance:  {}", key.instance);
    outln!("store:     {}", path.display());
    outln!("grant:     {grant} (configured)");
    let interactive = matches!(grant, "authorization_code" | "device_code");
    let login = format!("wsc auth login {}", args.connector.display());
    match stored {
        None if interactive => {
            outln!("token:     none stored");
            outln!("next run:  fails: the {grant} grant needs a sign-in first: `{login}`");
        }
        None => {
            outln!("token:     none stored");
            outln!("next run:  obtains one with the {grant} grant");
        }
        Some(s) => {
            let now = wsc_auth::token::now_ms();
            let t = &s.token;
            let state = if t.expires_at_ms <= now {
                "expired"
            } else {
                "valid"
            };
            // The store keeps the flow's grant, also for tokens a refresh obtained.
            outln!(
                "token:     {state}, stored at {} by the {} flow (its grant or a refresh)",
                ms_to_rfc3339(t.obtained_at_ms),
                s.grant
            );
            outln!(
                "expires:   {} (from {})",
                ms_to_rfc3339(t.expires_at_ms),
                t.expiry_source
            );
            outln!(
                "refresh:   {}",
                match (&t.refresh_token, t.refresh_expires_at_ms) {
                    (None, _) => "no refresh token held".to_string(),
                    (Some(_), None) => "refresh token held".to_string(),
                    (Some(_), Some(at)) =>
                        format!("refresh token held, expires {}", ms_to_rfc3339(at)),
                }
            );
            if let Some(scope) = &t.scope {
                outln!("scope:     {scope}");
            }
            let refresh_valid =
                t.refresh_token.is_some() && t.refresh_expires_at_ms.is_none_or(|at| at > now);
            let next = if state == "valid" {
                format!(
                    "uses it until {}, then {}",
                    ms_to_rfc3339(t.expires_at_ms),
                    if refresh_valid {
                        "refreshes it".to_string()
                    } else if interactive {
                        format!("fails: sign in again with `{login}`")
                    } else {
                        format!("obtains a new one with the {grant} grant")
                    }
                )
            } else if refresh_valid {
                "refreshes it".to_string()
            } else if interactive {
                format!("fails: sign in again with `{login}`")
            } else {
                format!("obtains a new one with the {grant} grant")
            };
            outln!("next run:  {next}");
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
