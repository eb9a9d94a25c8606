//! Where each key and value of a YAML document is: an index from key paths
//! (`operations.account_aggregation.paging.kind`, `steps[0].request`) to line and column.
//!
//! serde tells *what* is wrong and at which key path; this index tells *where* that key path is
//! in the file, for errors found during deserialisation and for semantic errors found later.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
}

/// What the index knows about one node.
#[derive(Debug, Clone, Default)]
pub struct NodeInfo {
    /// Position of the key that introduces this node (absent for list items and the root).
    pub key: Option<Pos>,
    /// Position of the value.
    pub value: Pos,
    /// The scalar text, for scalar values.
    pub scalar: Option<String>,
    /// Whether the scalar was quoted (its text starts one column after `value`).
    pub quoted: bool,
    /// Child keys of a mapping, in order.
    pub children: Vec<String>,
}

impl NodeInfo {
    /// The best position to point at: the key if there is one, else the value.
    pub fn pos(&self) -> Pos {
        self.key.unwrap_or(self.value)
    }
}

/// Most nodes indexed. A larger document (real connectors have a few thousand nodes) is
/// indexed up to here; positions further on fall back to their nearest indexed ancestor, and
/// the index stays a few tens of megabytes and as fast to build whatever the document.
pub const MAX_INDEXED_NODES: usize = 100_000;

/// Key path → node information for one YAML document.
#[derive(Debug, Default)]
pub struct LocationIndex {
    nodes: HashMap<String, NodeInfo>,
    duplicates: Vec<(String, Pos)>,
}

/// Joins a key path and a map key: `a.b` + `c` → `a.b.c`.
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Joins a key path and a list index: `steps` + 0 → `steps[0]`.
pub fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

impl LocationIndex {
    /// Builds the index of the first document. A document that does not parse gives a
    /// partial index (the parse error itself is reported by the loader).
    ///
    /// Events are pulled one by one rather than through `Parser::load`, which recurses once
    /// per nesting level: no input can overflow the stack here, whatever the loader's depth
    /// limit ([`crate::limits`]). At most [`MAX_INDEXED_NODES`] nodes are indexed.
    pub fn build(source: &str) -> LocationIndex {
        let mut builder = Builder {
            index: LocationIndex::default(),
            stack: Vec::new(),
        };
        let mut parser = Parser::new_from_str(source);
        while let Ok((ev, mark)) = parser.next_token() {
            if builder.index.nodes.len() >= MAX_INDEXED_NODES {
                break;
            }
            match ev {
                Event::DocumentEnd | Event::StreamEnd | Event::Nothing => break,
                ev => builder.on_event(ev, mark),
            }
        }
        builder.index
    }

    /// The node at a key path.
    pub fn get(&self, path: &str) -> Option<&NodeInfo> {
        self.nodes.get(path)
    }

    /// Keys that appear twice in one mapping: the path and the position of the second one.
    pub fn duplicates(&self) -> &[(String, Pos)] {
        &self.duplicates
    }

    /// The node at `path`, or at the nearest ancestor that exists.
    pub fn nearest(&self, path: &str) -> Option<(&str, &NodeInfo)> {
        let mut p = path;
        loop {
            if let Some((k, n)) = self.nodes.get_key_value(p) {
                return Some((k.as_str(), n));
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
        }
    }

    /// Finds, below `path` (breadth first), a mapping key named `key`; returns its full path.
    pub fn find_key_below(&self, path: &str, key: &str) -> Option<String> {
        self.find_below(path, |p, _| last_key(p) == Some(key))
    }

    /// Finds, below `path` (breadth first), a scalar value equal to `text`.
    pub fn find_scalar_below(&self, path: &str, text: &str) -> Option<String> {
        self.find_below(path, |_, n| n.scalar.as_deref() == Some(text))
    }

    fn find_below(&self, path: &str, pred: impl Fn(&str, &NodeInfo) -> bool) -> Option<String> {
        let mut candidates: Vec<(&String, &NodeInfo)> = self
            .nodes
            .iter()
            .filter(|(p, _)| is_below(path, p))
            .filter(|(p, n)| pred(p, n))
            .collect();
        candidates.sort_by_key(|(p, n)| (depth(p), n.value.line, n.value.column));
        candidates.first().map(|(p, _)| (*p).clone())
    }
}

fn is_below(parent: &str, p: &str) -> bool {
    if parent.is_empty() {
        return !p.is_empty();
    }
    p.len() > parent.len()
        && p.starts_with(parent)
        && matches!(p.as_bytes()[parent.len()], b'.' | b'[')
}

fn depth(p: &str) -> usize {
    p.bytes().filter(|b| *b == b'.' || *b == b'[').count()
}

fn last_key(p: &str) -> Option<&str> {
    if p.ends_with(']') {
        return None;
    }
    Some(p.rsplit('.').next().unwrap_or(p))
}

/// The parent of a key path: `a.b[0].c` → `a.b[0]` → `a.b` → `a` → ``.
pub fn parent_path(p: &str) -> &str {
    match p.rfind(['.', '[']) {
        Some(i) => &p[..i],
        None => "",
    }
}

enum Frame {
    Map {
        path: String,
        key: Option<(String, Pos)>,
        /// A complex (non-scalar) key is being read; its events are ignored.
        complex_key_depth: usize,
    },
    Seq {
        path: String,
        next: usize,
    },
}

struct Builder {
    index: LocationIndex,
    stack: Vec<Frame>,
}

fn pos(m: Marker) -> Pos {
    Pos {
        line: m.line(),
        column: m.col() + 1,
    }
}

impl Builder {
    /// Where the next value goes: its path and key position, or `None` when the event is a key.
    fn slot(&mut self) -> Option<(String, Option<Pos>)> {
        match self.stack.last_mut() {
            None => Some((String::new(), None)),
            Some(Frame::Seq { path, next }) => {
                let p = join_index(path, *next);
                *next += 1;
                Some((p, None))
            }
            Some(Frame::Map { path, key, .. }) => {
                key.take().map(|(k, kpos)| (join_key(path, &k), Some(kpos)))
            }
        }
    }

    fn add(&mut self, path: String, node: NodeInfo) {
        let parent = parent_path(&path).to_string();
        if !path.is_empty()
            && !path.ends_with(']')
            && let Some(p) = self.index.nodes.get_mut(&parent)
        {
            let k = path.rsplit('.').next().unwrap_or(&path).to_string();
            p.children.push(k);
        }
        match self.index.nodes.entry(path) {
            std::collections::hash_map::Entry::Occupied(e) => {
                self.index.duplicates.push((e.key().clone(), node.pos()));
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(node);
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        // Inside a complex key: count nesting and ignore everything.
        if let Some(Frame::Map {
            complex_key_depth, ..
        }) = self.stack.last_mut()
            && *complex_key_depth > 0
        {
            match ev {
                Event::MappingStart(..) | Event::SequenceStart(..) => *complex_key_depth += 1,
                Event::MappingEnd | Event::SequenceEnd => *complex_key_depth -= 1,
                _ => {}
            }
            if *complex_key_depth == 0
                && let Some(Frame::Map { key, .. }) = self.stack.last_mut()
            {
                *key = Some(("?".to_string(), pos(mark)));
            }
            return;
        }
        match ev {
            Event::Scalar(text, style, ..) => {
                if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some((text, pos(mark)));
                    }
                    return;
                }
                if let Some((path, key)) = self.slot() {
                    let quoted = matches!(
                        style,
                        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
                    );
                    self.add(
                        path,
                        NodeInfo {
                            key,
                            value: pos(mark),
                            scalar: Some(text),
                            quoted,
                            children: Vec::new(),
                        },
                    );
                }
            }
            Event::Alias(_) => {
                if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some(("*alias".to_string(), pos(mark)));
                    }
                    return;
                }
                if let Some((path, key)) = self.slot() {
                    self.add(
                        path,
                        NodeInfo {
                            key,
                            value: pos(mark),
                            ..NodeInfo::default()
                        },
                    );
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if let Some(Frame::Map {
                    key: None,
                    complex_key_depth,
                    ..
                }) = self.stack.last_mut()
                {
                    *complex_key_depth = 1;
                    return;
                }
                let (path, key) = self.slot().unwrap_or_default();
                self.add(
                    path.clone(),
                    NodeInfo {
                        key,
                        value: pos(mark),
                        ..NodeInfo::default()
                    },
                );
                self.stack.push(match ev {
                    Event::MappingStart(..) => Frame::Map {
                        path,
                        key: None,
                        complex_key_depth: 0,
                    },
                    _ => Frame::Seq { path, next: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

/// Locates a key path in a document: the key's position, or the value's for list items.
pub fn locate(index: &LocationIndex, path: &str) -> Option<(Pos, usize)> {
    let (found, node) = index.nearest(path)?;
    let width = if node.key.is_some() {
        found
            .rsplit(['.', '['])
            .next()
            .map(|k| k.trim_end_matches(']').chars().count())
            .unwrap_or(1)
    } else {
        node.scalar.as_ref().map(|s| s.chars().count()).unwrap_or(1)
    };
    Some((node.pos(), width.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_keys_values_and_lists() {
        let src = "a:\n  b: 1\n  list:\n    - x: \"q\"\n    - y\nc: [1, 2]\n";
        let idx = LocationIndex::build(src);
        let b = idx.get("a.b").unwrap();
        assert_eq!(b.key, Some(Pos { line: 2, column: 3 }));
        assert_eq!(b.value, Pos { line: 2, column: 6 });
        assert_eq!(b.scalar.as_deref(), Some("1"));
        let x = idx.get("a.list[0].x").unwrap();
        assert_eq!(x.key, Some(Pos { line: 4, column: 7 }));
        assert!(x.quoted);
        assert_eq!(idx.get("a.list[1]").unwrap().scalar.as_deref(), Some("y"));
        assert_eq!(idx.get("c[1]").unwrap().value, Pos { line: 6, column: 8 });
        assert_eq!(idx.get("a").unwrap().children, vec!["b", "list"]);
        assert_eq!(idx.find_key_below("a", "x").as_deref(), Some("a.list[0].x"));
        assert_eq!(idx.find_scalar_below("", "y").as_deref(), Some("a.list[1]"));
        assert_eq!(idx.nearest("a.list[0].nope").unwrap().0, "a.list[0]");
    }

    #[test]
    fn complex_keys_do_not_confuse_the_index() {
        let src = "? [a, b]\n: 1\nd: 2\n";
        let idx = LocationIndex::build(src);
        assert_eq!(idx.get("d").unwrap().key, Some(Pos { line: 3, column: 1 }));
    }

    #[test]
    fn parent_paths() {
        assert_eq!(parent_path("a.b[0].c"), "a.b[0]");
        assert_eq!(parent_path("a.b[0]"), "a.b");
        assert_eq!(parent_path("a"), "");
    }
}
#[cfg(test)]
mod dup_tests {
    #[test]
    fn records_duplicate_keys() {
        let idx = super::LocationIndex::build("connector: x\nbase_url: http://a\nconnector: y\n");
        assert_eq!(idx.duplicates().len(), 1, "{:?}", idx.duplicates());
        assert_eq!(idx.duplicates()[0].1.line, 3);
    }
}
