//! Compiled JSONPath expressions (RFC 9535), evaluated on borrowed [`Doc`]s.
//!
//! Every expression is parsed once, by `jsonpath-rust`'s parser, when a connector loads. An
//! expression made only of name, index and wildcard selectors (`$`, `.name`, `['name']`,
//! `[3]`, `[-1]`, `[*]`, `.*`) — which covers nearly every mapping — compiles to a list of
//! steps evaluated by direct field access, without allocating when the result is one node.
//! Anything else (filters, descendants, slices, unions) is evaluated by `jsonpath-rust`'s
//! query engine directly on the [`Doc`] (it implements `jsonpath-rust`'s `Queryable`), so the
//! results still borrow from the page: no conversion to `serde_json::Value` is needed.

use std::borrow::Cow;
use std::fmt;
use std::ops::ControlFlow;

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use jsonpath_rust::query::queryable::Queryable;

use crate::doc::{Doc, Number};

/// A JSONPath expression that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath `{path}`: {message}")]
pub struct PathError {
    /// The expression.
    pub path: String,
    /// What the parser said.
    pub message: String,
}

/// One step of a simple path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Member of an object.
    Key(Box<str>),
    /// Element of an array; negative counts from the end.
    Index(i64),
    /// Every element of an array or every member value of an object.
    Wildcard,
}

#[derive(Debug, Clone)]
enum Plan {
    /// Direct field access; `singular` when no step is a wildcard.
    Simple { steps: Box<[Step]>, singular: bool },
    /// Evaluated by `jsonpath-rust`.
    General(Box<JpQuery>),
}

/// A JSONPath expression compiled for repeated evaluation.
#[derive(Debug, Clone)]
pub struct CompiledPath {
    source: Box<str>,
    plan: Plan,
}

/// The nodes a path selects, borrowed from the document.
#[derive(Debug, Clone, Default)]
pub enum Selection<'d, 'a> {
    /// Nothing matched.
    #[default]
    None,
    /// Exactly one node matched.
    One(&'d Doc<'a>),
    /// Several nodes matched, in document order.
    Many(Vec<&'d Doc<'a>>),
}

impl<'d, 'a> Selection<'d, 'a> {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        match self {
            Selection::None => 0,
            Selection::One(_) => 1,
            Selection::Many(v) => v.len(),
        }
    }

    /// Whether nothing matched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first node.
    pub fn first(&self) -> Option<&'d Doc<'a>> {
        match self {
            Selection::None => None,
            Selection::One(d) => Some(d),
            Selection::Many(v) => v.first().copied(),
        }
    }

    /// The nodes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'d Doc<'a>> + '_ {
        let (one, many) = match self {
            Selection::None => (None, &[][..]),
            Selection::One(d) => (Some(*d), &[][..]),
            Selection::Many(v) => (None, v.as_slice()),
        };
        one.into_iter().chain(many.iter().copied())
    }

    /// The nodes as a vector.
    pub fn into_vec(self) -> Vec<&'d Doc<'a>> {
        match self {
            Selection::None => Vec::new(),
            Selection::One(d) => vec![d],
            Selection::Many(v) => v,
        }
    }

    fn push(&mut self, d: &'d Doc<'a>) {
        *self = match std::mem::take(self) {
            Selection::None => Selection::One(d),
            Selection::One(first) => Selection::Many(vec![first, d]),
            Selection::Many(mut v) => {
                v.push(d);
                Selection::Many(v)
            }
        };
    }
}

impl<'d, 'a> IntoIterator for Selection<'d, 'a> {
    type Item = &'d Doc<'a>;
    type IntoIter = std::vec::IntoIter<&'d Doc<'a>>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

impl CompiledPath {
    /// Parses and compiles `expr`.
    pub fn compile(expr: &str) -> Result<CompiledPath, PathError> {
        if let Err(offset) = wsc_spec::limits::check_jsonpath(expr) {
            return Err(PathError {
                path: expr.chars().take(60).collect(),
                message: format!(
                    "`(` and `[` nest deeper than {} levels (at byte {offset})",
                    wsc_spec::limits::MAX_EXPRESSION_DEPTH
                ),
            });
        }
        let query = jsonpath_rust::parser::parse_json_path(expr).map_err(|e| PathError {
            path: expr.to_string(),
            message: e.to_string(),
        })?;
        let mut steps = Vec::with_capacity(query.segments.len());
        for seg in &query.segments {
            let sel = match seg {
                Segment::Selector(s) => s,
                Segment::Selectors(v) if v.len() == 1 => &v[0],
                _ => {
                    steps.clear();
                    return Ok(CompiledPath {
                        source: expr.into(),
                        plan: Plan::General(Box::new(query)),
                    });
                }
            };
            steps.push(match sel {
                Selector::Name(n) => Step::Key(n.as_str().into()),
                Selector::Index(i) => Step::Index(*i),
                Selector::Wildcard => Step::Wildcard,
                Selector::Slice(..) | Selector::Filter(_) => {
                    return Ok(CompiledPath {
                        source: expr.into(),
                        plan: Plan::General(Box::new(query)),
                    });
                }
            });
        }
        let singular = !steps.contains(&Step::Wildcard);
        Ok(CompiledPath {
            source: expr.into(),
            plan: Plan::Simple {
                steps: steps.into_boxed_slice(),
                singular,
            },
        })
    }

    /// `$`: the whole document.
    pub fn root() -> CompiledPath {
        CompiledPath {
            source: "$".into(),
            plan: Plan::Simple {
                steps: Box::new([]),
                singular: true,
            },
        }
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the path is evaluated by direct field access (no general JSONPath engine).
    pub fn is_simple(&self) -> bool {
        matches!(self.plan, Plan::Simple { .. })
    }

    /// Whether the path selects at most one node whatever the document (no wildcard, filter,
    /// slice, union or descendant).
    pub fn is_singular(&self) -> bool {
        matches!(self.plan, Plan::Simple { singular: true, .. })
    }

    /// The steps of a path evaluated by direct field access, and whether it is singular;
    /// `None` for paths the general engine evaluates.
    pub(crate) fn steps(&self) -> Option<(&[Step], bool)> {
        match &self.plan {
            Plan::Simple { steps, singular } => Some((steps, *singular)),
            Plan::General(_) => None,
        }
    }

    /// Whether the path is `$` itself.
    pub fn is_root(&self) -> bool {
        matches!(&self.plan, Plan::Simple { steps, .. } if steps.is_empty())
    }

    /// Every node the path selects in `doc`, in document order.
    pub fn select<'d, 'a>(&self, doc: &'d Doc<'a>) -> Selection<'d, 'a> {
        match &self.plan {
            Plan::Simple {
                steps,
                singular: true,
            } => match walk_singular(steps, doc) {
                Some(d) => Selection::One(d),
                None => Selection::None,
            },
            Plan::Simple { steps, .. } => {
                let mut sel = Selection::None;
                let _ = visit(steps, doc, &mut |d| {
                    sel.push(d);
                    ControlFlow::Continue(())
                });
                sel
            }
            Plan::General(q) => match jsonpath_rust::query::js_path_process(q, doc) {
                Ok(refs) => {
                    let mut v: Vec<&'d Doc<'a>> = refs.into_iter().map(|r| r.val()).collect();
                    match v.len() {
                        0 => Selection::None,
                        1 => Selection::One(v.remove(0)),
                        _ => Selection::Many(v),
                    }
                }
                // The engine returns an error only when a query yields a computed value rather
                // than nodes, which RFC 9535 queries cannot do; treat it as no match.
                Err(_) => Selection::None,
            },
        }
    }

    /// The first node the path selects.
    pub fn first<'d, 'a>(&self, doc: &'d Doc<'a>) -> Option<&'d Doc<'a>> {
        match &self.plan {
            Plan::Simple {
                steps,
                singular: true,
            } => walk_singular(steps, doc),
            Plan::Simple { steps, .. } => {
                let mut found = None;
                let _ = visit(steps, doc, &mut |d| {
                    found = Some(d);
                    ControlFlow::Break(())
                });
                found
            }
            Plan::General(_) => self.select(doc).first(),
        }
    }

    /// Calls `f` with every selected node, in document order, without collecting them.
    pub fn for_each<'d, 'a>(&self, doc: &'d Doc<'a>, mut f: impl FnMut(&'d Doc<'a>)) {
        match &self.plan {
            Plan::Simple { steps, .. } => {
                let _ = visit(steps, doc, &mut |d| {
                    f(d);
                    ControlFlow::Continue(())
                });
            }
            Plan::General(_) => self.select(doc).iter().for_each(f),
        }
    }
}

impl fmt::Display for CompiledPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PartialEq for CompiledPath {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

#[inline]
fn step_one<'d, 'a>(step: &Step, node: &'d Doc<'a>) -> Option<&'d Doc<'a>> {
    match step {
        Step::Key(k) => node.get(k),
        Step::Index(i) => index(node, *i),
        Step::Wildcard => None,
    }
}

#[inline]
fn index<'d, 'a>(node: &'d Doc<'a>, i: i64) -> Option<&'d Doc<'a>> {
    let items = node.as_array()?;
    if i >= 0 {
        items.get(usize::try_from(i).ok()?)
    } else {
        let back = usize::try_from(i.unsigned_abs()).ok()?;
        items.len().checked_sub(back).and_then(|k| items.get(k))
    }
}

#[inline]
fn walk_singular<'d, 'a>(steps: &[Step], mut node: &'d Doc<'a>) -> Option<&'d Doc<'a>> {
    for s in steps {
        node = step_one(s, node)?;
    }
    Some(node)
}

fn visit<'d, 'a>(
    steps: &[Step],
    node: &'d Doc<'a>,
    f: &mut dyn FnMut(&'d Doc<'a>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let Some((step, rest)) = steps.split_first() else {
        return f(node);
    };
    match step {
        Step::Wildcard => match node {
            Doc::Array(items) => {
                for item in items {
                    visit(rest, item, f)?;
                }
                ControlFlow::Continue(())
            }
            Doc::Object(members) => {
                for (_, v) in members {
                    visit(rest, v, f)?;
                }
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        },
        _ => match step_one(step, node) {
            Some(next) => visit(rest, next, f),
            None => ControlFlow::Continue(()),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// jsonpath-rust integration: the general engine runs directly on `Doc`.
// ---------------------------------------------------------------------------------------------

impl<'a> Queryable for Doc<'a> {
    fn get(&self, key: &str) -> Option<&Self> {
        Doc::get(self, key)
    }

    fn as_array(&self) -> Option<&Vec<Self>> {
        match self {
            Doc::Array(items) => Some(items),
            _ => None,
        }
    }

    fn as_object(&self) -> Option<Vec<(&str, &Self)>> {
        match self {
            Doc::Object(members) => Some(members.iter().map(|(k, v)| (k.as_ref(), v)).collect()),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        Doc::as_str(self)
    }

    fn as_i64(&self) -> Option<i64> {
        Doc::as_i64(self)
    }

    fn as_f64(&self) -> Option<f64> {
        Doc::as_f64(self)
    }

    fn as_bool(&self) -> Option<bool> {
        Doc::as_bool(self)
    }

    fn null() -> Self {
        Doc::Null
    }

    fn extension_custom(name: &str, args: Vec<Cow<'_, Self>>) -> Self {
        // Same extensions as jsonpath-rust offers on serde_json::Value.
        let arrays = || match args.as_slice() {
            [l, r] => Some((l.as_ref(), r.as_ref())),
            _ => None,
        };
        let Some((lhs, rhs)) = arrays() else {
            return Doc::Null;
        };
        let contains = |arr: &[Doc<'a>], x: &Doc<'a>| arr.iter().any(|e| e == x);
        match name {
            "in" => rhs
                .as_array()
                .map_or(Doc::Null, |r| Doc::Bool(contains(r, lhs))),
            "nin" => rhs
                .as_array()
                .map_or(Doc::Null, |r| Doc::Bool(!contains(r, lhs))),
            "none_of" | "any_of" | "subset_of" => match (lhs.as_array(), rhs.as_array()) {
                (Some(l), Some(r)) => Doc::Bool(match name {
                    "none_of" => !l.iter().any(|x| contains(r, x)),
                    "any_of" => l.iter().any(|x| contains(r, x)),
                    _ => l.iter().all(|x| contains(r, x)),
                }),
                _ => Doc::Null,
            },
            _ => Doc::Null,
        }
    }
}

impl From<&str> for Doc<'_> {
    fn from(s: &str) -> Self {
        Doc::String(Cow::Owned(s.to_owned()))
    }
}

impl From<String> for Doc<'_> {
    fn from(s: String) -> Self {
        Doc::String(Cow::Owned(s))
    }
}

impl From<bool> for Doc<'_> {
    fn from(b: bool) -> Self {
        Doc::Bool(b)
    }
}

impl From<i64> for Doc<'_> {
    fn from(n: i64) -> Self {
        Doc::Number(Number::from_i64(n))
    }
}

impl From<f64> for Doc<'_> {
    fn from(f: f64) -> Self {
        Number::from_f64(f).map_or(Doc::Null, Doc::Number)
    }
}

impl<'a> From<Vec<Doc<'a>>> for Doc<'a> {
    fn from(v: Vec<Doc<'a>>) -> Self {
        Doc::Array(v)
    }
}

#[cfg(test)]
mod tests;
