//! Running one operation: its hooks and setup steps (`operation.rs`), `for_each` steps that
//! read per record of another step (`multistep.rs`), the paging drivers (`paging.rs`), one
//! page from request to records (`page.rs`) and the error rules applied to response bodies
//! (`rules.rs`); `head.rs` holds what paging knows of a page.
//!
//! Everything here is internal: callers go through [`crate::Engine`] and read records from a
//! [`crate::RecordStream`].

pub(crate) mod head;
pub(crate) mod multistep;
pub(crate) mod operation;
pub(crate) mod page;
pub(crate) mod paging;
pub(crate) mod paths;
pub(crate) mod rules;
pub(crate) mod setup;
pub(crate) mod windows;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::compile::{CompiledOperation, CompiledStep};
use crate::engine::Inner;
use crate::http::Origin;
use crate::lines::Lines;
use crate::mapping::Record;

/// Everything a run of one step needs: the engine, the operation, which step, and the
/// template context it renders with.
#[derive(Clone)]
pub(crate) struct StepRun {
    pub(crate) inner: Arc<Inner>,
    pub(crate) op: Arc<CompiledOperation>,
    /// Index of the step in `op.steps`.
    pub(crate) si: usize,
    pub(crate) ctx: Arc<Map<String, Value>>,
}

impl StepRun {
    /// The step this run executes.
    pub(crate) fn step(&self) -> &CompiledStep {
        &self.op.steps[self.si]
    }

    /// Where an error of this step (on `page`, counted from 1) happened.
    pub(crate) fn origin(&self, page: Option<u64>) -> Origin {
        origin(&self.inner, &self.op, Some(self.si), page)
    }
}

/// Where an error happened: the connector, the operation, the step when the operation has
/// several, and the page when it pages.
pub(crate) fn origin(
    inner: &Inner,
    op: &CompiledOperation,
    si: Option<usize>,
    page: Option<u64>,
) -> Origin {
    Origin {
        connector: inner.name.clone(),
        operation: op.key.clone(),
        step: si
            .filter(|_| op.steps.len() > 1 || op.spec.request.is_none())
            .map(|i| op.steps[i].name.clone()),
        page,
    }
}

/// What a page produces: records mapped by the operation's mapping (as records, or written
/// as JSON Lines), or the step's raw JSON records (for `for_each` steps, merges and setup
/// steps, which map later or not at all).
pub(crate) enum Items {
    /// Mapped records.
    Records(Vec<Record>),
    /// Mapped records, written as JSON Lines.
    Lines(Lines),
    /// Raw records.
    Raw(Vec<Value>),
}

impl Items {
    /// No records, in the shape `mode` produces.
    pub(crate) fn empty(mode: Mode) -> Items {
        match mode {
            Mode::Map => Items::Records(Vec::new()),
            Mode::Lines => Items::Lines(Lines::default()),
            Mode::Raw => Items::Raw(Vec::new()),
        }
    }

    /// How many records.
    pub(crate) fn len(&self) -> usize {
        match self {
            Items::Records(r) => r.len(),
            Items::Lines(l) => l.len(),
            Items::Raw(r) => r.len(),
        }
    }
}

/// Which [`Items`] a page produces.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Map with the operation's mapping.
    Map,
    /// Map with the operation's mapping and write JSON Lines (through the compiled projection
    /// where the operation has one).
    Lines,
    /// Keep the step's raw records.
    Raw,
}

/// What a run of an operation hands on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Emit {
    /// Nothing: requests and checks only (test_connection).
    Nothing,
    /// Mapped records.
    Records,
    /// Mapped records written as JSON Lines where the mapping allows it (records otherwise).
    Lines,
}
