//! Compiled XPath 1.0 expressions (sxd-xpath) and their values as JSON.
//!
//! sxd-xpath's compiled expressions are not `Send`, while a compiled connector is shared by
//! every worker thread: an [`XPathExpr`] keeps the checked source, and each thread compiles it
//! once, on first use, into a thread-local cache (the loader has already checked that it
//! compiles, so a failure here is a bug).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use sxd_xpath::nodeset::{Node, Nodeset};
use sxd_xpath::{Context, Factory, XPath};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static COMPILED: RefCell<HashMap<u64, Rc<XPath>>> = RefCell::new(HashMap::new());
}

/// An XPath checked when the connector was compiled; compiled once per thread.
#[derive(Debug, Clone)]
pub(crate) struct XPathExpr {
    id: u64,
    src: Arc<str>,
}

impl XPathExpr {
    /// Checks that `src` compiles.
    pub(crate) fn new(src: &str) -> Result<XPathExpr, String> {
        build(src)?;
        Ok(XPathExpr {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            src: src.into(),
        })
    }

    /// The source text.
    pub(crate) fn as_str(&self) -> &str {
        &self.src
    }

    fn compiled(&self) -> Result<Rc<XPath>, String> {
        COMPILED.with(|c| {
            if let Some(x) = c.borrow().get(&self.id) {
                return Ok(x.clone());
            }
            let x = Rc::new(build(&self.src)?);
            c.borrow_mut().insert(self.id, x.clone());
            Ok(x)
        })
    }

    /// Evaluates the expression with `node` as the context node.
    pub(crate) fn eval<'d>(
        &self,
        ctx: &Context<'d>,
        node: Node<'d>,
    ) -> Result<sxd_xpath::Value<'d>, String> {
        self.compiled()?
            .evaluate(ctx, node)
            .map_err(|e| format!("XPath `{}` failed: {e}", self.src))
    }

    /// The nodes the expression selects, in document order; an expression whose value is not
    /// a node-set is an error (for `records`).
    pub(crate) fn nodes<'d>(
        &self,
        ctx: &Context<'d>,
        node: Node<'d>,
    ) -> Result<Vec<Node<'d>>, String> {
        match self.eval(ctx, node)? {
            sxd_xpath::Value::Nodeset(ns) => Ok(ns.document_order()),
            other => Err(format!(
                "XPath `{}` selects no nodes but a {} value: `records` must select the record elements",
                self.src,
                kind(&other)
            )),
        }
    }

    /// The value as JSON: a node-set gives the string value of its first node (`multi`: of
    /// every node, as a list), a number a JSON number (whole numbers as integers), a boolean a
    /// JSON boolean, a string a string. `None` when a node-set is empty.
    pub(crate) fn json<'d>(
        &self,
        ctx: &Context<'d>,
        node: Node<'d>,
        multi: bool,
    ) -> Result<Option<Value>, String> {
        let v = match self.eval(ctx, node)? {
            sxd_xpath::Value::Nodeset(ns) => {
                let nodes = in_order(&ns, node);
                if nodes.is_empty() {
                    return Ok(None);
                }
                if multi {
                    return Ok(Some(Value::Array(
                        nodes
                            .iter()
                            .map(|n| Value::String(n.string_value()))
                            .collect(),
                    )));
                }
                Value::String(nodes[0].string_value())
            }
            sxd_xpath::Value::String(s) => Value::String(s),
            sxd_xpath::Value::Boolean(b) => Value::Bool(b),
            sxd_xpath::Value::Number(n) => number(n),
        };
        Ok(Some(if multi { Value::Array(vec![v]) } else { v }))
    }
}

fn build(src: &str) -> Result<XPath, String> {
    match Factory::new().build(src) {
        Ok(Some(x)) => Ok(x),
        Ok(None) => Err(format!("invalid XPath `{src}`: it is empty")),
        Err(e) => Err(format!("invalid XPath `{src}`: {e}")),
    }
}

/// The nodes of a node-set in document order. sxd-xpath's own sort walks the whole document
/// each time (once per record and attribute, quadratic in the page): nodes at or below the
/// context node (what a record's paths select) are sorted by their positions under it, and
/// only others fall back to the whole-document order.
// Nodes hash and compare by identity (the DOM's storage behind them is what is mutable), as in
// sxd-xpath's own document order map.
#[allow(clippy::mutable_key_type)]
fn in_order<'d>(ns: &Nodeset<'d>, context: Node<'d>) -> Vec<Node<'d>> {
    if ns.size() <= 1 {
        return ns.iter().collect();
    }
    // Each node with its ancestors up to (not including) the context node.
    let mut chains: Vec<Vec<Node<'d>>> = Vec::with_capacity(ns.size());
    for n in ns.iter() {
        let mut chain = Vec::new();
        let mut cur = n;
        while cur != context {
            chain.push(cur);
            match cur.parent() {
                Some(p) => cur = p,
                None => return ns.document_order(),
            }
        }
        chains.push(chain);
    }
    // Positions under each parent met: attributes first, then children.
    let mut index: HashMap<Node<'d>, usize> = HashMap::new();
    let mut scanned: HashSet<Node<'d>> = HashSet::new();
    let mut keyed: Vec<(Vec<usize>, Node<'d>)> = chains
        .into_iter()
        .map(|chain| {
            let key = chain
                .iter()
                .rev()
                .map(|&c| {
                    if let Some(p) = c.parent()
                        && scanned.insert(p)
                    {
                        let mut i = 0;
                        if let Node::Element(e) = p {
                            for a in e.attributes() {
                                index.insert(Node::Attribute(a), i);
                                i += 1;
                            }
                        }
                        for child in p.children() {
                            index.insert(child, i);
                            i += 1;
                        }
                    }
                    index.get(&c).copied().unwrap_or(0)
                })
                .collect();
            (key, chain.first().copied().unwrap_or(context))
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, n)| n).collect()
}

/// An XPath number as JSON: whole numbers as integers (`count()` gives `3`, not `3.0`), NaN
/// and infinities as `null`.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

fn kind(v: &sxd_xpath::Value<'_>) -> &'static str {
    match v {
        sxd_xpath::Value::Boolean(_) => "boolean",
        sxd_xpath::Value::Number(_) => "number",
        sxd_xpath::Value::String(_) => "string",
        sxd_xpath::Value::Nodeset(_) => "node-set",
    }
}
