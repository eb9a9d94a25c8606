//! One PostgreSQL connection on a thread of its own. Callers hand it closures over a channel
//! and block until the answer comes back, so the store works the same from a plain thread
//! and from inside a tokio runtime (the sync `postgres` client runs a runtime of its own and
//! must not be driven from another one's worker).

use std::sync::Mutex;
use std::sync::mpsc;

use postgres::{Client, NoTls};

use crate::error::StoreError;

type Job = Box<dyn FnOnce(&mut Client) + Send>;

/// A connection thread. Dropping it ends the thread and closes the connection (which
/// releases the session's advisory locks).
pub(super) struct Conn {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// The store, for messages (URL without credentials).
    pub(super) location: String,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A database error of `location` while doing `what`.
pub(super) fn db_err(
    location: &str,
    what: &'static str,
) -> impl Fn(postgres::Error) -> StoreError + use<> {
    let location = location.to_string();
    move |e| pg_error(&location, what, e)
}

/// A PostgreSQL error with what the server said (the client's own text is only "db error").
#[derive(Debug)]
pub(super) struct ServerSaid {
    text: String,
    source: postgres::Error,
}

impl std::fmt::Display for ServerSaid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for ServerSaid {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// [`StoreError::db`] with the server's message, detail and SQLSTATE when there is one.
pub(super) fn pg_error(location: &str, what: &'static str, e: postgres::Error) -> StoreError {
    let text = match e.as_db_error() {
        Some(d) => {
            let mut t = format!("{} ({})", d.message(), d.code().code());
            if let Some(detail) = d.detail() {
                t.push_str(&format!(": {detail}"));
            }
            t
        }
        None => e.to_string(),
    };
    StoreError::db(location, what, ServerSaid { text, source: e })
}

/// The connection thread ended (it panicked, or could not start).
fn stopped(location: &str, what: &'static str) -> StoreError {
    StoreError::io(
        location,
        what,
        std::io::Error::other("the connection thread stopped"),
    )
}

impl Conn {
    /// Connects (on the new thread) and waits for the outcome. A connection that is lost
    /// later is opened again before the next call.
    pub(super) fn open(config: &postgres::Config, location: &str) -> Result<Conn, StoreError> {
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), StoreError>>(1);
        let config = config.clone();
        let loc = location.to_string();
        std::thread::Builder::new()
            .name("wsc-postgres".into())
            .spawn(move || {
                let mut client = match config.connect(NoTls) {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(pg_error(&loc, "connecting", e)));
                        return;
                    }
                };
                while let Ok(job) = jobs_rx.recv() {
                    if client.is_closed()
                        && let Ok(c) = config.connect(NoTls)
                    {
                        client = c;
                    }
                    job(&mut client);
                }
            })
            .map_err(|e| StoreError::io(location, "starting the connection thread", e))?;
        ready_rx
            .recv()
            .map_err(|_| stopped(location, "connecting"))??;
        Ok(Conn {
            jobs: Mutex::new(jobs_tx),
            location: location.to_string(),
        })
    }

    /// Runs `f` on the connection and returns what it returns.
    pub(super) fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |c| {
            let _ = tx.send(f(c));
        });
        let stopped = || stopped(&self.location, "talking to the database");
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .map_err(|_| stopped())?;
        rx.recv().map_err(|_| stopped())?
    }
}
