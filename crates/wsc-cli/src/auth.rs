//! `wsc auth status` and `wsc auth logout`.

use wsc_auth::Obtained;
use wsc_auth::next::{NextRun, NextStep};
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
    let chosen = wsc_engine::alternative::chosen_auth(&loaded.connector, &settings)
        .map_err(|e| fail(exit::INVALID, e))?;
    let alternative = chosen.describe();
    let grant = match chosen.auth {
        Auth::OAuth2(o) => o.grant.name(),
        Auth::Custom(_) => "custom",
        other => {
            outln!(
                "{}: {}auth type `{}` has no managed tokens; nothing is stored",
                loaded.connector.connector,
                alternative
                    .as_ref()
                    .map(|a| format!("auth alternative {a}: "))
                    .unwrap_or_default(),
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
    let key =
        wsc_engine::auth::token_key(&loaded, &settings).map_err(|e| fail(exit::INVALID, e))?;
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
    // The manager answers what the next run does; it makes no request here.
    let manager = wsc_engine::auth::token_manager(&loaded, &settings, None)
        .map_err(|e| fail(exit::INVALID, e))?
        .ok_or_else(|| fail(exit::INVALID, "this connector has no managed tokens"))?;
    outln!("connector: {}", key.connector);
    outln!("instance:  {}", key.instance);
    outln!("store:     {}", path.display());
    if let Some(a) = &alternative {
        outln!("auth:      alternative {a}");
    }
    outln!("grant:     {grant} (configured)");
    let login = format!("wsc auth login {}", args.connector.display());
    let now = wsc_auth::token::now_ms();
    let token = stored.as_ref().map(|s| &s.token);
    match &stored {
        None => outln!("token:     none stored"),
        Some(s) => {
            let t = &s.token;
            let state = if t.expires_at_ms <= now {
                "expired"
            } else {
                "valid"
            };
            outln!(
                "token:     {state}, obtained {} {}",
                ms_to_rfc3339(t.obtained_at_ms),
                obtained_how(t.obtained.as_ref(), &s.grant)
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
                    (Some(_), Some(at)) if at <= now =>
                        format!("refresh token held, expired {}", ms_to_rfc3339(at)),
                    (Some(_), Some(at)) =>
                        format!("refresh token held, expires {}", ms_to_rfc3339(at)),
                }
            );
            if t.cookies.is_some() {
                outln!("cookies:   session cookies held (sent with every request)");
            }
            if let Some(scope) = &t.scope {
                outln!("scope:     {scope}");
            }
        }
    }
    outln!(
        "next run:  {}",
        next_run_text(&manager.next_run(token, now), &login)
    );
    Ok(())
}

/// How a stored token was obtained, after "obtained <time>".
fn obtained_how(how: Option<&Obtained>, flow_grant: &str) -> String {
    match how {
        Some(Obtained::Grant(g)) if g == "custom" => "by the login request (`auth.request`)".into(),
        Some(Obtained::Grant(g)) if g == "authorization_code" || g == "device_code" => {
            format!("with the {g} grant (a sign-in with `wsc auth login`)")
        }
        Some(Obtained::Grant(g)) => format!("with the {g} grant"),
        Some(Obtained::Refresh(r)) => match r.as_str() {
            "refresh_token" => "by a refresh (refresh_token grant)".into(),
            "custom_refresh" => "by a refresh (`auth.custom_refresh`)".into(),
            "refresh_request" => "by a refresh (`auth.refresh_request`)".into(),
            other => format!("by a refresh ({other})"),
        },
        None => format!(
            "by the {flow_grant} flow (stored by an older wsc, which did not record whether with its grant or by a refresh)"
        ),
    }
}

/// The `next run:` line.
fn next_run_text(next: &NextRun, login: &str) -> String {
    let step = match &next.then {
        NextStep::Refresh { with } => match *with {
            "refresh_token" => "refreshes it with the refresh token held (refresh_token grant)".to_string(),
            "custom_refresh" => "refreshes it with the refresh token held (`auth.custom_refresh`)".to_string(),
            _ => "refreshes it with the refresh token held (`auth.refresh_request`)".to_string(),
        },
        NextStep::RefreshWithSeed => {
            "gets one with the refresh token that `auth.refresh_token` gives (its setting)".to_string()
        }
        NextStep::Obtain { grant } => format!("obtains a new one with the {grant} grant"),
        NextStep::Login => "logs in with `auth.request`".to_string(),
        NextStep::SignIn { grant } => {
            format!("fails: the {grant} grant needs a sign-in: `{login}`")
        }
        NextStep::NoRefreshToken => "fails: no refresh token is held and `auth.refresh_token` gives none: set its setting, or use `grant: authorization_code` and sign in with `wsc auth login`".to_string(),
    };
    let expired = next
        .refresh_expired_at_ms
        .map(|at| format!(" (the refresh token held expired {})", ms_to_rfc3339(at)))
        .unwrap_or_default();
    match next.uses_until_ms {
        Some(until) => format!(
            "uses the stored token until {}, then {step}{expired}",
            ms_to_rfc3339(until)
        ),
        None => format!("{step}{expired}"),
    }
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
