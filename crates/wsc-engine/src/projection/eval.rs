//! The mapping's paths evaluated on a [`Tape`], with the semantics of
//! [`CompiledPath`](crate::path::CompiledPath) on a [`Doc`](crate::doc::Doc): a key selects the
//! last member of that name, an index counts from the end when negative, a wildcard selects
//! every element of an array or every member value of an object, in document order.
//!
//! The first key of every path is looked up once per record for all paths together
//! ([`Roots::fill`]: one pass over the record's members), instead of one pass per path.

use std::ops::ControlFlow;

use crate::doc::tape::{EscapedKey, KEY_ESCAPED, Kind, Tape};
use crate::path::{CompiledPath, Step};

/// No member: the slot of a key the record does not have.
const NONE: u32 = u32::MAX;

/// The distinct first keys of the mapping's paths.
#[derive(Debug, Default)]
pub(super) struct Roots {
    keys: Vec<Box<str>>,
}

impl Roots {
    /// The slot of `key`, added if new.
    fn slot(&mut self, key: &str) -> usize {
        match self.keys.iter().position(|k| k.as_ref() == key) {
            Some(i) => i,
            None => {
                self.keys.push(key.into());
                self.keys.len() - 1
            }
        }
    }

    /// Fills `slots` with the last member of each key in record `node` (`NONE` where there is
    /// none, or where the record is not an object).
    #[inline]
    pub(super) fn fill(
        &self,
        t: &Tape,
        text: &str,
        node: u32,
        slots: &mut Vec<u32>,
    ) -> Result<(), EscapedKey> {
        slots.clear();
        slots.resize(self.keys.len(), NONE);
        if t.node(node).kind != Kind::Object {
            return Ok(());
        }
        let b = text.as_bytes();
        for c in t.children(node) {
            let n = t.node(c);
            if n.flags & KEY_ESCAPED != 0 {
                return Err(EscapedKey);
            }
            let key = &b[n.key_start as usize..n.key_end as usize];
            for (i, k) in self.keys.iter().enumerate() {
                if k.len() == key.len() && k.as_bytes() == key {
                    slots[i] = c;
                    break;
                }
            }
        }
        Ok(())
    }
}

/// A path of the mapping, compiled for the tape (simple paths only).
#[derive(Debug, Clone)]
pub(super) struct Field {
    /// The slot of the first key, when the path starts with one.
    root: Option<usize>,
    /// The steps after it (all of them without a root).
    steps: Box<[Step]>,
    singular: bool,
}

impl Field {
    /// The path for the tape; `None` for paths only the general JSONPath engine evaluates.
    pub(super) fn of(p: &CompiledPath, roots: &mut Roots) -> Option<Field> {
        let (steps, singular) = p.steps()?;
        Some(match steps.split_first() {
            Some((Step::Key(k), rest)) => Field {
                root: Some(roots.slot(k)),
                steps: rest.into(),
                singular,
            },
            _ => Field {
                root: None,
                steps: steps.into(),
                singular,
            },
        })
    }

    /// Where the path starts in record `node`: the node of its first key, or the record.
    #[inline]
    fn start(&self, node: u32, slots: &[u32]) -> Option<u32> {
        match self.root {
            Some(r) => Some(slots[r]).filter(|&s| s != NONE),
            None => Some(node),
        }
    }

    /// The first node the path selects in record `node` (as `CompiledPath::first`); `slots`
    /// from [`Roots::fill`] for that record.
    #[inline]
    pub(super) fn first(
        &self,
        t: &Tape,
        text: &str,
        node: u32,
        slots: &[u32],
    ) -> Result<Option<u32>, EscapedKey> {
        let Some(mut n) = self.start(node, slots) else {
            return Ok(None);
        };
        if self.singular {
            for s in self.steps.iter() {
                match step_one(t, text, s, n)? {
                    Some(next) => n = next,
                    None => return Ok(None),
                }
            }
            return Ok(Some(n));
        }
        let mut found = None;
        let _ = visit(t, text, &self.steps, n, &mut |n| {
            found = Some(n);
            ControlFlow::Break(())
        })?;
        Ok(found)
    }

    /// Appends every node the path selects in record `node`, in document order (as
    /// `CompiledPath::for_each`).
    pub(super) fn all(
        &self,
        t: &Tape,
        text: &str,
        node: u32,
        slots: &[u32],
        out: &mut Vec<u32>,
    ) -> Result<(), EscapedKey> {
        let Some(n) = self.start(node, slots) else {
            return Ok(());
        };
        visit(t, text, &self.steps, n, &mut |n| {
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
