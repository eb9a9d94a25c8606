//! Ctrl-C (SIGINT) and SIGTERM (what `timeout`, systemd and Kubernetes send) end a run the
//! same way: the temporary output file is removed, `--out` is left as it was, and the exit
//! code says which signal it was (130 or 143, as a shell reports them).

use crate::exit;

/// Waits for SIGINT or SIGTERM; returns the exit code the command ends with.
pub(crate) async fn interrupted() -> u8 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => exit::INTERRUPTED,
                _ = term.recv() => exit::TERMINATED,
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    exit::INTERRUPTED
}

/// The name of the signal behind an exit code of [`interrupted`].
pub(crate) fn name(code: u8) -> &'static str {
    if code == exit::TERMINATED {
        "terminated (SIGTERM)"
    } else {
        "interrupted (Ctrl-C)"
    }
}
