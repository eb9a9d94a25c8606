//! [`RecordStream`]: how callers read the records of a run.
//!
//! A run works in background tasks that hand record batches, in order, to a bounded channel.
//! Callers never see the channel or the tasks: they read batches with
//! [`RecordStream::next_batch`] and end with [`RecordStream::finish`], which gives the
//! [`Summary`] or the run's error. The same rules hold for every caller:
//! - the first error ends the stream; `finish` returns it again;
//! - a task that panics is [`EngineError::Internal`] (a bug in wsc, never blamed on the
//!   connector), and a stream never ends quietly after one: the panic is reported where the
//!   records stop;
//! - dropping a stream, or [`RecordStream::cancel`], stops the run (its tasks are aborted);
//!   a run that did not reach its end is never reported as a success.

use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};

use crate::dedup::Dedup;
use crate::engine::{Engine, Summary};
use crate::error::EngineError;
use crate::lines::Lines;
use crate::mapping::Record;

/// One message of a run: a chunk of records in order, or the error that ended it.
pub(crate) type Batch = Result<Chunk, EngineError>;

/// Records of a run, in order: as values, or already written as JSON Lines (from
/// [`Engine::aggregate_lines`](crate::Engine::aggregate_lines)).
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// Mapped records.
    Records(Vec<Record>),
    /// Mapped records, written as JSON Lines.
    Lines(Lines),
}

impl Chunk {
    /// How many records.
    pub fn len(&self) -> usize {
        match self {
            Chunk::Records(r) => r.len(),
            Chunk::Lines(l) => l.len(),
        }
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The ordered records of a run, read batch by batch.
#[derive(Debug)]
pub struct RecordStream {
    rx: mpsc::Receiver<Batch>,
    task: Option<JoinHandle<()>>,
    engine: Engine,
    /// The error that ended the run, once seen.
    error: Option<EngineError>,
    /// The run reached its end (all batches read, or an error).
    ended: bool,
    /// Checks identities for repeats (aggregations).
    dedup: Option<Dedup>,
}

impl RecordStream {
    /// Starts `run` on the runtime; it sends its batches on the channel it is given and
    /// reports its own failure on it as well.
    pub(crate) fn spawn<F>(
        engine: Engine,
        capacity: usize,
        run: impl FnOnce(mpsc::Sender<Batch>) -> F,
    ) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let task = tokio::spawn(run(tx));
        RecordStream {
            rx,
            task: Some(task),
            engine,
            error: None,
            ended: false,
            dedup: None,
        }
    }

    /// Checks the records for repeated identities as they are read.
    pub(crate) fn with_dedup(mut self, dedup: Dedup) -> Self {
        self.dedup = Some(dedup);
        self
    }

    /// The next batch of records, in order; `Some(Err)` once when the run fails; `None` after
    /// the last batch of a successful run (and after an error). A stream of
    /// [`Engine::aggregate_lines`](crate::Engine::aggregate_lines) is read with
    /// [`RecordStream::next_chunk`] instead.
    pub async fn next_batch(&mut self) -> Option<Result<Vec<Record>, EngineError>> {
        match self.next_chunk().await? {
            Ok(Chunk::Records(r)) => Some(Ok(r)),
            Ok(Chunk::Lines(_)) => {
                let e = EngineError::Internal(
                    "a stream of JSON Lines was read as records (read it with next_chunk)".into(),
                );
                self.ended = true;
                self.error = Some(e.clone());
                self.stop();
                Some(Err(e))
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// The next chunk of records, in order: records, or records written as JSON Lines; as
    /// [`RecordStream::next_batch`] otherwise.
    pub async fn next_chunk(&mut self) -> Option<Result<Chunk, EngineError>> {
        if self.ended {
            return None;
        }
        if let Some(e) = &self.error {
            self.ended = true;
            return Some(Err(e.clone()));
        }
        match self.rx.recv().await {
            Some(Ok(mut chunk)) => {
                if let Some(d) = &mut self.dedup {
                    let stats = &self.engine.inner.stats;
                    let checked = match &mut chunk {
                        Chunk::Records(batch) => d.check(batch, stats),
                        Chunk::Lines(lines) => d.check_lines(lines, stats),
                    };
                    if let Err(e) = checked {
                        self.ended = true;
                        self.error = Some(e.clone());
                        self.stop();
                        return Some(Err(e));
                    }
                }
                Some(Ok(chunk))
            }
            Some(Err(e)) => {
                self.ended = true;
                self.error = Some(e.clone());
                self.stop();
                Some(Err(e))
            }
            None => {
                // Every sender is gone: the run ended. A panic ends it too, without an
                // error on the channel; the task tells which.
                self.ended = true;
                match self.task.take() {
                    Some(t) => match join_unit(t).await {
                        Ok(()) => {
                            // Every record arrived: the duplicate check's last word.
                            let e = self.dedup.as_mut()?.finish().err()?;
                            self.error = Some(e.clone());
                            Some(Err(e))
                        }
                        Err(e) => {
                            self.error = Some(e.clone());
                            Some(Err(e))
                        }
                    },
                    None => None,
                }
            }
        }
    }

    /// Reads the rest of the run and returns every record with the summary.
    pub async fn collect(mut self) -> Result<(Vec<Record>, Summary), EngineError> {
        let mut all = Vec::new();
        while let Some(batch) = self.next_batch().await {
            all.extend(batch?);
        }
        Ok((all, self.finish().await?))
    }

    /// Ends the stream: the summary of a run that reached its end, else its error. Batches
    /// not read yet are read and dropped first (call it after `next_batch` returned `None`
    /// to see every record).
    pub async fn finish(mut self) -> Result<Summary, EngineError> {
        while let Some(chunk) = self.next_chunk().await {
            chunk?;
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self.engine.summary()),
        }
    }

    /// Stops the run: its tasks are aborted and nothing more is read.
    pub fn cancel(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.rx.close();
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for RecordStream {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits for a task of a run. A panic is [`EngineError::Internal`]; a task cancelled before
/// it finished is [`EngineError::Cancelled`] (never a success: its records are missing).
pub(crate) async fn join<T>(task: JoinHandle<Result<T, EngineError>>) -> Result<T, EngineError> {
    task.await.unwrap_or_else(|e| Err(join_error(e)))
}

/// What a failed join means for the run.
pub(crate) fn join_error(e: JoinError) -> EngineError {
    if e.is_cancelled() {
        return EngineError::Cancelled;
    }
    let what = match e.try_into_panic() {
        Ok(p) => p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a task panicked".into()),
        Err(e) => e.to_string(),
    };
    EngineError::Internal(what)
}

/// [`join`] for tasks that report their errors on a channel and return nothing.
async fn join_unit(task: JoinHandle<()>) -> Result<(), EngineError> {
    task.await.map_err(join_error)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::RunContext;

    /// An engine that is never asked to send a request.
    fn engine() -> Engine {
        let yaml = "connector: streamtest\nbase_url: http://127.0.0.1:9\nauth: { type: none }\noperations:\n  test_connection:\n    request: { method: GET, path: /ping }\n";
        let loaded = wsc_spec::load_bytes(yaml.as_bytes(), "t.yaml", std::path::Path::new("."))
            .expect("the test connector loads");
        let settings = crate::settings::resolve(
            &loaded.connector,
            &Default::default(),
            &Default::default(),
            &|_| None,
        )
        .expect("no settings");
        let auth = crate::static_authenticator(&loaded, &settings).expect("auth none");
        Engine::new(&loaded, &settings, auth, RunContext::default()).expect("the engine builds")
    }

    fn record(id: &str) -> Record {
        Record {
            object_type: "account".into(),
            identity: id.into(),
            name: None,
            attributes: Vec::new(),
            members: None,
            deleted: false,
        }
    }

    /// Sets its flag when dropped: tells whether a task's future was dropped (aborted).
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_panicking_task_is_internal_not_the_end_of_the_records() {
        let mut s = RecordStream::spawn(engine(), 4, |tx| async move {
            tx.send(Ok(Chunk::Records(vec![record("a")])))
                .await
                .unwrap();
            panic!("boom in a page task");
        });
        let first = s.next_batch().await.expect("a batch").expect("records");
        assert_eq!(first[0].identity, "a");
        let err = s
            .next_batch()
            .await
            .expect("the panic is reported")
            .unwrap_err();
        assert!(
            matches!(&err, EngineError::Internal(m) if m.contains("boom")),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("bug in wsc, not in the connector"), "{text}");
        assert!(s.next_batch().await.is_none(), "nothing after the error");
        let err = s.finish().await.unwrap_err();
        assert!(matches!(err, EngineError::Internal(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_panic_is_reported_by_finish_without_reading() {
        let s = RecordStream::spawn(engine(), 4, |_tx| async move {
            panic!("boom before any record");
        });
        assert!(matches!(s.finish().await, Err(EngineError::Internal(_))));
    }

    #[tokio::test]
    async fn the_first_error_ends_the_stream_and_finish_returns_it() {
        let mut s = RecordStream::spawn(engine(), 4, |tx| async move {
            tx.send(Ok(Chunk::Records(vec![record("a")])))
                .await
                .unwrap();
            tx.send(Err(EngineError::Plan("broken".into())))
                .await
                .unwrap();
            // Anything after the error is never delivered.
            let _ = tx.send(Ok(Chunk::Records(vec![record("b")]))).await;
        });
        assert!(s.next_batch().await.unwrap().is_ok());
        assert!(matches!(
            s.next_batch().await,
            Some(Err(EngineError::Plan(_)))
        ));
        assert!(s.next_batch().await.is_none());
        assert!(matches!(s.finish().await, Err(EngineError::Plan(_))));
    }

    #[tokio::test]
    async fn finish_of_a_complete_run_is_the_summary() {
        let s = RecordStream::spawn(engine(), 4, |tx| async move {
            tx.send(Ok(Chunk::Records(vec![record("a"), record("b")])))
                .await
                .unwrap();
        });
        let (records, summary) = s.collect().await.unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(summary.requests, 0);
    }

    #[tokio::test]
    async fn dropping_or_cancelling_a_stream_stops_its_run() {
        for cancel in [false, true] {
            let dropped = Arc::new(AtomicBool::new(false));
            let flag = Dropped(dropped.clone());
            let mut s = RecordStream::spawn(engine(), 1, move |tx| async move {
                let _flag = flag;
                for i in 0.. {
                    if tx
                        .send(Ok(Chunk::Records(vec![record(&i.to_string())])))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
            assert!(s.next_batch().await.unwrap().is_ok());
            if cancel {
                s.cancel();
            } else {
                drop(s);
            }
            for _ in 0..100 {
                if dropped.load(Ordering::SeqCst) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            assert!(
                dropped.load(Ordering::SeqCst),
                "the run stopped (cancel: {cancel})"
            );
        }
    }

    #[tokio::test]
    async fn a_cancelled_task_is_never_a_success() {
        let t = tokio::spawn(async {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            Ok::<(), EngineError>(())
        });
        t.abort();
        assert!(matches!(join(t).await, Err(EngineError::Cancelled)));
    }
}
