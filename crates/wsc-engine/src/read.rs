//! Read operations: test the connection, list partitions, aggregate an object type (all
//! partitions, or one), and read one object.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::{Semaphore, mpsc};

use wsc_spec::model::OperationKey;

use crate::dedup::Dedup;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::exec::operation::run_operation;
use crate::exec::{Emit, origin};
use crate::mapping::Record;
use crate::stream::{Batch, RecordStream, join};

impl Engine {
    /// Runs an operation once with `ctx`, as a stream of its records (`emit` false: requests
    /// and checks only).
    pub(crate) fn run_once(
        &self,
        key: &str,
        ctx: Map<String, Value>,
        emit: bool,
    ) -> Result<RecordStream, EngineError> {
        let emit = if emit { Emit::Records } else { Emit::Nothing };
        self.run_once_as(key, ctx, emit)
    }

    fn run_once_as(
        &self,
        key: &str,
        ctx: Map<String, Value>,
        emit: Emit,
    ) -> Result<RecordStream, EngineError> {
        let op = self.op(key)?;
        let inner = self.inner.clone();
        Ok(RecordStream::spawn(self.clone(), 4, move |tx| {
            run_operation(inner, op, Arc::new(ctx), tx, emit)
        }))
    }

    /// Runs test_connection.
    pub async fn test_connection(&self) -> Result<(), EngineError> {
        self.run_once("test_connection", self.base_ctx(None, None), false)?
            .finish()
            .await
            .map(|_| ())
    }

    /// The partitions of an aggregation (static or from get_partitions); empty when the
    /// aggregation is not partitioned.
    pub async fn partitions(&self, object: &str) -> Result<Vec<Value>, EngineError> {
        let op = self.op(&Self::aggregation_key(object))?;
        let Some(p) = &op.spec.partitions else {
            return Ok(Vec::new());
        };
        let mut parts: Vec<(Value, &'static str)> = Vec::new();
        if let Some(list) = &p.list {
            parts.extend(list.iter().map(|m| {
                (
                    Value::Object(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                    "partitions.list",
                )
            }));
        }
        if let Some(name) = &p.from_setting {
            parts.extend(
                self.partitions_from_setting(name)?
                    .into_iter()
                    .map(|v| (v, "partitions.from_setting")),
            );
        }
        if p.from_get_partitions {
            let names = self.attribute_names("get_partitions")?;
            let (records, _) = self
                .run_once("get_partitions", self.base_ctx(None, None), true)?
                .collect()
                .await?;
            parts.extend(records.into_iter().map(|r| {
                let mut m = Map::new();
                m.insert("name".into(), Value::String(r.identity.clone()));
                for (n, v) in names.iter().zip(r.attributes) {
                    m.insert(n.to_string(), v);
                }
                (Value::Object(m), "get_partitions")
            }));
        }
        // A name twice would run (and deliver) the same records twice; none at all would run
        // nothing and succeed: both are errors, never a silent result.
        let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
        for (v, from) in &parts {
            let name = v
                .get("name")
                .map(crate::template::value_to_string)
                .unwrap_or_default();
            if let Some(first) = seen.insert(name.clone(), from) {
                return Err(EngineError::Config(format!(
                    "partition `{name}` comes twice (from {first} and from {from}): partition names must be unique, or records would be read twice"
                )));
            }
        }
        if parts.is_empty() {
            return Err(EngineError::Config(format!(
                "the {object} aggregation has `partitions` but they are empty this run (an empty list setting, or get_partitions returned nothing): nothing would be read"
            )));
        }
        Ok(parts.into_iter().map(|(v, _)| v).collect())
    }

    /// The partitions a list setting holds.
    fn partitions_from_setting(&self, name: &str) -> Result<Vec<Value>, EngineError> {
        let items = match self.inner.settings.get(name) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => {
                return Err(EngineError::Settings(format!(
                    "setting {name} has no value, and `partitions.from_setting` needs its list"
                )));
            }
            Some(other) => {
                return Err(EngineError::Settings(format!(
                    "setting {name} is {other}, and `partitions.from_setting` needs a list"
                )));
            }
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(_) | Value::Number(_) => {
                    let text = crate::template::value_to_string(item);
                    Ok(serde_json::json!({ "name": text, "value": item }))
                }
                Value::Object(m) if m.get("name").is_some_and(|n| n.is_string() || n.is_number()) => {
                    Ok(item.clone())
                }
                _ => Err(EngineError::Settings(format!(
                    "setting {name}, item {i}: a partition is a text, a number or an object with a `name`; found {item}"
                ))),
            })
            .collect()
    }

    /// Aggregates an object type (`account` or a group type), optionally one partition only.
    /// Records arrive in order on the returned stream; partitions run concurrently and are
    /// delivered one after the other.
    pub async fn aggregate(
        &self,
        object: &str,
        partition: Option<&str>,
    ) -> Result<RecordStream, EngineError> {
        self.aggregate_as(object, partition, Emit::Records).await
    }

    /// [`Engine::aggregate`] for a JSON Lines output: read the stream with
    /// [`RecordStream::next_chunk`], which gives records already written as JSON Lines
    /// ([`crate::Chunk::Lines`], exactly the text [`crate::output::write_record_json`] writes
    /// for them) where the mapping allows it, and records otherwise (records marked deleted,
    /// `for_each` steps). Where the operation's mapping compiles to a projection, the lines are
    /// written straight from the response pages, without building records (see
    /// docs/performance.md). Every check of [`Engine::aggregate`] applies.
    pub async fn aggregate_lines(
        &self,
        object: &str,
        partition: Option<&str>,
    ) -> Result<RecordStream, EngineError> {
        self.aggregate_as(object, partition, Emit::Lines).await
    }

    async fn aggregate_as(
        &self,
        object: &str,
        partition: Option<&str>,
        emit: Emit,
    ) -> Result<RecordStream, EngineError> {
        let key = Self::aggregation_key(object);
        let op = self.op(&key)?;
        let parts = self.partitions(object).await?;
        let dedup = Dedup::new(
            op.spec.on_duplicate.unwrap_or_default(),
            origin(&self.inner, &op, None, None),
            self.inner.id_hasher.clone(),
        );
        if parts.is_empty() {
            if let Some(name) = partition {
                return Err(EngineError::NoPartition {
                    name: name.to_string(),
                    known: "none: this aggregation is not partitioned".into(),
                });
            }
            return Ok(self
                .run_once_as(&key, self.base_ctx(None, None), emit)?
                .with_dedup(dedup));
        }
        let selected = select_partitions(parts, partition)?;
        let concurrency = op.partition_concurrency;
        let engine = self.clone();
        Ok(RecordStream::spawn(self.clone(), 8, move |tx| {
            run_partitions(engine, key, selected, concurrency, emit, tx)
        })
        .with_dedup(dedup))
    }

    /// Aggregates one partition given by its value (as [`Engine::partitions`] listed it,
    /// e.g. when a job was submitted), without listing the partitions again; `None` runs an
    /// unpartitioned aggregation whole.
    pub async fn aggregate_partition(
        &self,
        object: &str,
        partition: Option<Value>,
    ) -> Result<RecordStream, EngineError> {
        let key = Self::aggregation_key(object);
        let op = self.op(&key)?;
        let dedup = Dedup::new(
            op.spec.on_duplicate.unwrap_or_default(),
            origin(&self.inner, &op, None, None),
            self.inner.id_hasher.clone(),
        );
        Ok(self
            .run_once(&key, self.base_ctx(None, partition), true)?
            .with_dedup(dedup))
    }

    /// Reads one object (`account` or a group type) by identity.
    pub async fn get_object(&self, object: &str, identity: &str) -> Result<Record, EngineError> {
        let key = OperationKey::get_object(object).into_string();
        let ctx = self.base_ctx(Some(json!({ "identity": identity })), None);
        let mut stream = self.run_once(&key, ctx, true)?;
        let mut found = Vec::new();
        while let Some(batch) = stream.next_batch().await {
            match batch {
                Ok(b) => found.extend(b),
                Err(e) if e.http_status() == Some(404) => {
                    return Err(EngineError::NotFound(format!(
                        "{object} `{identity}` was not found (HTTP 404)"
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        stream.finish().await?;
        match found.len() {
            0 => Err(EngineError::NotFound(format!(
                "{object} `{identity}` was not found (no record in the response)"
            ))),
            _ => Ok(found.swap_remove(0)),
        }
    }
}

/// The partitions to run: all, or the one named.
fn select_partitions(parts: Vec<Value>, name: Option<&str>) -> Result<Vec<Value>, EngineError> {
    let Some(name) = name else { return Ok(parts) };
    let name_of = |p: &Value| p.get("name").and_then(|n| n.as_str()).map(str::to_owned);
    let found: Vec<Value> = parts
        .iter()
        .filter(|p| name_of(p).as_deref() == Some(name))
        .cloned()
        .collect();
    if found.is_empty() {
        return Err(EngineError::NoPartition {
            name: name.to_string(),
            known: parts
                .iter()
                .filter_map(name_of)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(found)
}

/// Runs the partitions of an aggregation, `concurrency` at a time, forwarding each one's
/// batches in partition order. The first error ends the run.
async fn run_partitions(
    engine: Engine,
    key: String,
    partitions: Vec<Value>,
    concurrency: usize,
    emit: Emit,
    tx: mpsc::Sender<Batch>,
) {
    let op = match engine.op(&key) {
        Ok(op) => op,
        Err(e) => {
            let _ = tx.send(Err(e)).await;
            return;
        }
    };
    // Permits are taken in partition order by one spawner, never by the partition tasks
    // themselves: a later partition holding a permit while it waits for the reader (its
    // channel full) would otherwise starve the partition the reader is waiting for (a
    // deadlock, every time with `concurrency: 1` and 16 partitions).
    let sem = Arc::new(Semaphore::new(concurrency));
    let (qtx, mut qrx) = mpsc::unbounded_channel();
    let spawner = {
        let engine = engine.clone();
        tokio::spawn(async move {
            for p in partitions {
                let Ok(permit) = sem.clone().acquire_owned().await else {
                    return;
                };
                let (ptx, prx) = mpsc::channel(2);
                let ctx = Arc::new(engine.base_ctx(None, Some(p)));
                let inner = engine.inner.clone();
                let op = op.clone();
                let handle = tokio::spawn(async move {
                    let _permit = permit;
                    run_operation(inner, op, ctx, ptx, emit).await;
                    Ok::<(), EngineError>(())
                });
                if qtx.send((prx, handle)).is_err() {
                    return;
                }
            }
        })
    };
    while let Some((mut prx, handle)) = qrx.recv().await {
        let mut stop = false;
        while let Some(batch) = prx.recv().await {
            let failed = batch.is_err();
            if tx.send(batch).await.is_err() || failed {
                stop = true;
                break;
            }
        }
        if stop {
            handle.abort();
        } else if let Err(e) = join(handle).await {
            // A partition task that panicked: its channel closed without an error.
            let _ = tx.send(Err(e)).await;
            stop = true;
        }
        if stop {
            spawner.abort();
            qrx.close();
            while let Ok((_, h)) = qrx.try_recv() {
                h.abort();
            }
            return;
        }
    }
}
