//! `wsc auth login`: runs the interactive sign-in of wsc-auth (authorization_code with PKCE
//! through a loopback redirect, or the device code flow) and reports where the tokens went.
//! Other grants obtain one token without a user, which checks the credentials.

use wsc_auth::TokenSet;
use wsc_auth::login::{CodeLogin, DevicePrompt, LoginError, device_login};
use wsc_spec::model::{Auth, Grant};

use crate::auth::ms_to_rfc3339;
use crate::cli::LoginArgs;
use crate::common::{
    Failed, fail, load, open_store, process_env, resolve_settings, runtime, store_path,
};
use crate::exit;

fn login_failed(e: LoginError) -> Failed {
    let code = match e {
        LoginError::RedirectUri { .. } | LoginError::NotInteractive { .. } => exit::INVALID,
        _ => exit::FAILURE,
    };
    fail(code, e)
}

/// Starts the platform's browser on `url` without waiting for it; failures only log.
fn open_browser(url: &str) {
    let (program, args): (String, Vec<&str>) = match std::env::var("BROWSER") {
        Ok(b) if !b.trim().is_empty() => (b.trim().to_string(), vec![]),
        _ if cfg!(target_os = "macos") => ("open".into(), vec![]),
        _ if cfg!(windows) => ("rundll32".into(), vec!["url.dll,FileProtocolHandler"]),
        _ => ("xdg-open".into(), vec![]),
    };
    let spawned = std::process::Command::new(&program)
        .args(args)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            // Reap it in the background so it does not linger as a zombie.
            std::thread::spawn(move || child.wait());
        }
        Err(e) => {
            errln!("(could not start a browser with `{program}`: {e}; open the URL yourself)")
        }
    }
}

fn show_device_prompt(p: &DevicePrompt) {
    errln!(
        "To sign in, open {} and enter the code: {}",
        p.verification_uri,
        p.user_code
    );
    if let Some(c) = &p.verification_uri_complete {
        errln!("Or open this URL, which carries the code: {c}");
    }
    errln!(
        "Waiting for the approval (the code is valid for {} s; polling every {} s)...",
        p.expires_in.as_secs(),
        p.interval.as_secs()
    );
}

/// `wsc auth login CONNECTOR`.
pub fn run(args: &LoginArgs) -> Result<(), Failed> {
    let cargs = &args.connector;
    let loaded = load(&cargs.connector)?;
    let settings = resolve_settings(&loaded, cargs, &process_env)?;
    let chosen = wsc_engine::alternative::chosen_auth(&loaded.connector, &settings)
        .map_err(|e| fail(exit::INVALID, e))?;
    let grant = match chosen.auth {
        Auth::OAuth2(o) => Some(o.grant),
        Auth::Custom(_) => None,
        other => {
            return Err(fail(
                exit::INVALID,
                format!(
                    "{}: auth type `{}` has no sign-in and no managed tokens; its credentials come from settings",
                    loaded.connector.connector,
                    other.kind_name()
                ),
            ));
        }
    };
    let Some(path) = store_path(cargs) else {
        return Err(fail(
            exit::INVALID,
            "`wsc auth login` stores the tokens it gets, and there is no state store (`--state none`, or no home directory): pass --state FILE",
        ));
    };
    let store = open_store(&path)?;
    let manager = wsc_engine::auth::token_manager(&loaded, &settings, Some(store))
        .map_err(|e| fail(exit::INVALID, e))?
        .ok_or_else(|| fail(exit::INVALID, "this connector has no managed tokens"))?;
    let rt = runtime();
    let token: TokenSet = match grant {
        Some(Grant::AuthorizationCode) => rt.block_on(async {
            let login = CodeLogin::start(&manager, args.port).await?;
            errln!("Open this URL in a browser: {}", login.authorize_url());
            if !args.no_browser {
                open_browser(login.authorize_url().as_str());
            }
            errln!(
                "Waiting up to {} s for the redirect to {} ...",
                args.timeout.as_secs(),
                login.redirect_uri()
            );
            login.finish(&manager, args.timeout).await
        }),
        Some(Grant::DeviceCode) => {
            rt.block_on(device_login(&manager, args.timeout, show_device_prompt))
        }
        other => {
            let name = other.map(|g| g.name()).unwrap_or("custom");
            errln!(
                "The {name} grant needs no interactive sign-in; getting a new token now, which checks the credentials."
            );
            rt.block_on(async {
                if let Some(t) = manager.obtain_primary().await? {
                    return Ok(t);
                }
                // A refresh-token-only flow: the refresh is the check.
                manager.refresh(None).await?;
                manager
                    .current_token()
                    .ok_or_else(|| wsc_auth::AuthError::Config("no token after a refresh".into()))
            })
            .map_err(LoginError::from)
        }
    }
    .map_err(login_failed)?;
    outln!(
        "{}: signed in; token stored in {} (expires {}, {})",
        loaded.connector.connector,
        path.display(),
        ms_to_rfc3339(token.expires_at_ms),
        if token.refresh_token.is_some() {
            "refresh token held"
        } else {
            "no refresh token"
        }
    );
    if token.refresh_token.is_none()
        && matches!(grant, Some(Grant::AuthorizationCode | Grant::DeviceCode))
    {
        errln!(
            "warning: the authorization server sent no refresh token: runs work until {}, then need `wsc auth login` again. \
Servers issue one only when asked: the `offline_access` scope (OpenID Connect), often with `prompt: consent` \
in `auth.authorize_params` (oidc-provider drops `offline_access` without it), or `access_type: offline` (Google)",
            ms_to_rfc3339(token.expires_at_ms)
        );
    }
    Ok(())
}
