//! Ctrl-C (SIGINT) and SIGTERM (what `timeout`, systemd and Kubernetes send) end a run the
//! same way: the temporary output file is removed, `--out` is left as it was, and the exit
//! code says which signal it was (130 or 143, as a shell reports them).
//!
//! A token request in flight is never cut off: a server that rotates refresh tokens has spent
//! the old one the moment it answers, and the new one exists only in that answer until wsc
//! stores it. So when a signal comes during a refresh, no new token request starts, and the
//! one in flight runs until its token is stored (at most [`REFRESH_WAIT`]; a second signal
//! stops at once).

use std::future::Future;
use std::time::Duration;

use crate::common::{Failed, fail};
use crate::exit;

/// The longest wait for a token request in flight: the token client's 30 s timeout, and the
/// store's.
pub(crate) const REFRESH_WAIT: Duration = Duration::from_secs(40);

/// SIGINT and SIGTERM as one stream of exit codes.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                streams: signal(SignalKind::interrupt())
                    .ok()
                    .zip(signal(SignalKind::terminate()).ok()),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next signal's exit code.
    async fn next(&mut self) -> u8 {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.streams {
            return tokio::select! {
                _ = int.recv() => exit::INTERRUPTED,
                _ = term.recv() => exit::TERMINATED,
            };
        }
        let _ = tokio::signal::ctrl_c().await;
        exit::INTERRUPTED
    }
}

/// Waits for SIGINT or SIGTERM, then for the token request in flight, if any, to store its
/// token; returns the exit code the command ends with. The caller keeps running its work
/// meanwhile (a `select!` does), which is what lets that request finish.
pub(crate) async fn interrupted() -> u8 {
    let mut signals = Signals::new();
    let code = signals.next().await;
    wsc_auth::inflight::stop();
    if wsc_auth::inflight::count() > 0 {
        errln!(
            "{}: waiting for the token request in flight to store its new token before stopping (at most {} s; a second signal stops at once, which can lose a rotated refresh token)",
            name(code),
            REFRESH_WAIT.as_secs()
        );
        tokio::select! {
            _ = wsc_auth::inflight::settled() => {}
            _ = signals.next() => errln!("stopping without waiting for the token request"),
            _ = tokio::time::sleep(REFRESH_WAIT) => errln!(
                "the token request did not finish within {} s; stopping",
                REFRESH_WAIT.as_secs()
            ),
        }
    }
    code
}

/// Runs `work` on `rt` until it ends, or until SIGINT or SIGTERM (see [`interrupted`]): then
/// the failure with the signal's exit code, after `what_was_cut` (if any) is said.
pub(crate) fn run_or_interrupted<T>(
    rt: &tokio::runtime::Runtime,
    work: impl Future<Output = T>,
    what_was_cut: &str,
) -> Result<T, Failed> {
    rt.block_on(async {
        tokio::select! {
            biased;
            code = interrupted() => Err(code),
            r = work => Ok(r),
        }
    })
    .map_err(|code| {
        let cut = if what_was_cut.is_empty() {
            String::new()
        } else {
            format!("; {what_was_cut}")
        };
        fail(code, format!("{}{cut}", name(code)))
    })
}

/// The name of the signal behind an exit code of [`interrupted`].
pub(crate) fn name(code: u8) -> &'static str {
    if code == exit::TERMINATED {
        "terminated (SIGTERM)"
    } else {
        "interrupted (Ctrl-C)"
    }
}
