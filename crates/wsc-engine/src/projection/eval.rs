//! The mapping's paths evaluated on a [`Tape`], with the semantics of
//! [`CompiledPath`](crate::path::CompiledPath) on a [`Doc`](crate::doc::Doc): a key selects the
//! last member of that name, an index counts from the end when negative, a wildcard selects
//! every element of an array or every member value of an object, in document order.

use std::ops::ControlFlow;

use crate::doc::tape::{EscapedKey, Tape};
use crate::path::{CompiledPath, Step};

/// A path of the mapping, compiled for the tape (simple paths only).
#[derive(Debug, Clone)]
pub(super) struct Field {
    steps: Box<[Step]>,
    singular: bool,
}

impl Field {
    /// The path for the tape; `None` for paths only the general JSONPath engine evaluates.
    pub(super) fn of(p: &CompiledPath) -> Option<Field> {
        let (steps, singular) = p.steps()?;
        Some(Field {
            steps: steps.into(),
            singular,
        })
    }

    /// The first node the path selects under `node` (as `CompiledPath::first`).
    #[inline]
    pub(super) fn first(&self, t: &Tape, text: &str, node: u32) -> Result<Option<u32>, EscapedKey> {
        if self.singular {
            let mut n = node;
            for s in self.steps.iter() {
                match step_one(t, text, s, n)? {
                    Some(next) => n = next,
                    None => return Ok(None),
                }
            }
            return Ok(Some(n));
        }
        let mut found = None;
        let _ = visit(t, text, &self.steps, node, &mut |n| {
            found = Some(n);
            ControlFlow::Break(())
        })?;
        Ok(found)
    }

    /// Appends every node the path selects under `node`, in document order (as
    /// `CompiledPath::for_each`).
    pub(super) fn all(
        &self,
        t: &Tape,
        text: &str,
        node: u32,
        out: &mut Vec<u32>,
    ) -> Result<(), EscapedKey> {
        visit(t, text, &self.steps, node, &mut |n| {
            out.push(n);
            ControlFlow::Continue(())
        })
        .map(|_| ())
    }
}

#[inline]
fn step_one(t: &Tape, text: &str, step: &Step, node: u32) -> Result<Option<u32>, EscapedKey> {
    match step {
        Step::Key(k) => t.get(text, node, k),
        Step::Index(i) => Ok(t.index(node, *i)),
        Step::Wildcard => Ok(None),
    }
}

fn visit(
    t: &Tape,
    text: &str,
    steps: &[Step],
    node: u32,
    f: &mut dyn FnMut(u32) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, EscapedKey> {
    let Some((step, rest)) = steps.split_first() else {
        return Ok(f(node));
    };
    if *step == Step::Wildcard {
        for c in t.children(node) {
            if visit(t, text, rest, c, f)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        return Ok(ControlFlow::Continue(()));
    }
    match step_one(t, text, step, node)? {
        Some(next) => visit(t, text, rest, next, f),
        None => Ok(ControlFlow::Continue(())),
    }
}
