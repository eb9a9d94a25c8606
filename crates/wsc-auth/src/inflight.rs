//! Token requests in flight, counted for the whole process, so that a process asked to stop
//! (Ctrl-C, SIGTERM) can wait until the token it is getting has been stored.
//!
//! A refresh with rotation spends the old refresh token on the server the moment the server
//! answers; the new one exists only in that answer until wsc stores it. A process that ends
//! between the two loses it, and a server with reuse detection then revokes the whole grant.
//! The token manager holds an [`InFlight`] from just before it sends a token request until the
//! new token is committed to the state store; the CLI's signal handling calls [`stop`] and
//! then waits for [`settled`] (bounded) before it ends the process.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Notify;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static STOPPING: AtomicBool = AtomicBool::new(false);
static SETTLED: Notify = Notify::const_new();

/// One token request from send to store; dropping it ends it.
#[derive(Debug)]
pub struct InFlight(());

impl InFlight {
    /// Begins a token request, unless the process is stopping ([`stop`]).
    pub fn begin() -> Option<InFlight> {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        if STOPPING.load(Ordering::SeqCst) {
            drop(InFlight(()));
            return None;
        }
        Some(InFlight(()))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if IN_FLIGHT.fetch_sub(1, Ordering::SeqCst) == 1 {
            SETTLED.notify_waiters();
        }
    }
}

/// Token requests in flight now.
pub fn count() -> usize {
    IN_FLIGHT.load(Ordering::SeqCst)
}

/// From now on no new token request begins ([`InFlight::begin`] answers `None`); those in
/// flight go on until their token is stored.
pub fn stop() {
    STOPPING.store(true, Ordering::SeqCst);
}

/// Waits until no token request is in flight.
pub async fn settled() {
    loop {
        let notified = SETTLED.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if count() == 0 {
            return;
        }
        notified.await;
    }
}
