//! `wsc authenticate`: pass-through authentication. Runs the connector's `authenticate`
//! operation for one user, with the password read from stdin (or typed at a prompt on a
//! terminal, not echoed), never from an argument, where other users of the machine could see
//! it. Exit 0: accepted; 1: rejected, or the check failed.

use std::io::{IsTerminal, Read};

use wsc_auth::Secret;
use wsc_engine::Engine;
use wsc_engine::authenticate::Verdict;

use crate::cli::AuthenticateArgs;
use crate::common::{
    Failed, engine_error, fail, load, process_env, resolve_settings, run_context, runtime,
    token_store,
};
use crate::exit;

/// The longest password read from stdin.
const MAX_PASSWORD: u64 = 64 * 1024;

/// The password: a line typed at a prompt on a terminal, else all of stdin without its
/// final line break.
fn read_password(identity: &str) -> Result<Secret, Failed> {
    let mut text = if std::io::stdin().is_terminal() {
        err!("Password for {identity}: ");
        console::Term::stderr()
            .read_secure_line()
            .map_err(|e| fail(exit::INVALID, format!("cannot read the password: {e}")))?
    } else {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(MAX_PASSWORD + 1)
            .read_to_end(&mut buf)
            .map_err(|e| {
                fail(
                    exit::INVALID,
                    format!("cannot read the password from stdin: {e}"),
                )
            })?;
        if buf.len() as u64 > MAX_PASSWORD {
            return Err(fail(
                exit::INVALID,
                format!("stdin holds more than {MAX_PASSWORD} bytes: it is not a password"),
            ));
        }
        String::from_utf8(buf)
            .map_err(|_| fail(exit::INVALID, "the password on stdin is not UTF-8 text"))?
    };
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(fail(
            exit::INVALID,
            "no password: give it on stdin (`wsc authenticate ... < file`, or a pipe), or type it at the prompt on a terminal",
        ));
    }
    Ok(Secret::new(text))
}

/// `wsc authenticate CONNECTOR --identity ID`.
pub fn run(args: &AuthenticateArgs) -> Result<(), Failed> {
    let cargs = &args.connector;
    let loaded = load(&cargs.connector)?;
    if loaded.connector.operations.authenticate.is_none() {
        return Err(fail(
            exit::INVALID,
            format!(
                "{}: the connector has no `authenticate` operation (pass-through authentication): add `operations.authenticate`, a request that sends `{{{{plan.identity}}}}` and `{{{{plan.password}}}}` to the target's login check",
                cargs.connector.display()
            ),
        ));
    }
    let settings = resolve_settings(&loaded, cargs, &process_env)?;
    let password = read_password(&args.identity)?;
    let store = token_store(&loaded, cargs)?;
    let auth =
        wsc_engine::authenticator(&loaded, &settings, store).map_err(|e| fail(exit::INVALID, e))?;
    let (mut run, state) = run_context(&loaded, cargs, &settings)?;
    // The password is a secret of this run: no message, log line or error shows it.
    run.secrets.push(password.expose().to_string());
    let engine = Engine::new(&loaded, &settings, auth, run).map_err(|e| fail(exit::INVALID, e))?;
    crate::logging::set_redactor(engine.redactor());
    let rt = runtime();
    let verdict = crate::signals::run_or_interrupted(
        &rt,
        engine.authenticate(&args.identity, &password),
        "",
    )?
    .map_err(engine_error)?;
    drop(password);
    match verdict {
        Verdict::Accepted(user) => {
            if let Some(t) = &state {
                t.persist(&engine)?;
            }
            outln!("ok: `{}` authenticated", args.identity);
            if let Some((record, names)) = user {
                let v = record.to_json(&names);
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
                );
            }
            Ok(())
        }
        Verdict::Rejected { status } => Err(fail(
            exit::FAILURE,
            format!(
                "rejected: `{}` did not authenticate: the authenticate operation answered HTTP {status}, which its `rejected` statuses read as a refused password (a wrong password, an unknown user, or a locked account)",
                args.identity
            ),
        )),
    }
}
