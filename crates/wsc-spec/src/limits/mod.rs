//! Input limits: the size and nesting depth of every YAML or JSON document wsc reads
//! (connectors, plans, settings files, fixture cases, cassettes), checked before any parser
//! sees the text.
//!
//! The YAML libraries are not safe on hostile input: their scanners keep per-level state that
//! makes time grow with depth², and a recursive loader overflows the stack. [`scan`] is one
//! linear pass without recursion that bounds the nesting of flow collections (`[`, `{`) and of
//! block collections (indentation, `- - -` on one line) while skipping quoted strings,
//! comments and block scalars, so `"[[["` in a string is fine. It errs on the side of counting
//! a level too many (a multi-line plain scalar, `- scalar`), never much too few; real files
//! stay far below the limits, which are documented under "Input limits" in
//! docs/connector-reference.md.

use std::io::Read;
use std::path::Path;

mod expressions;

pub use expressions::{MAX_EXPRESSION_DEPTH, check_jsonpath, check_template};

/// Deepest nesting accepted in connectors, plans, settings files and fixture cases. Real
/// connectors nest about ten levels.
pub const MAX_DEPTH: usize = 64;

/// Deepest nesting accepted in cassettes, whose bodies are recorded API responses: the
/// recursion limit of the YAML and JSON parsers behind them.
pub const MAX_CASSETTE_DEPTH: usize = 128;

/// A mebibyte.
const MIB: usize = 1024 * 1024;

/// Most values (scalars and collections) in a connector, a settings file or a case. The YAML
/// library holds about 200 bytes per value, so this bounds the memory a file can take
/// whatever its size; the largest shipped connector has about 1,500.
pub const MAX_VALUES: usize = 250_000;

/// Most values in a plan or a cassette (bulk requests, recorded pages).
pub const MAX_BULK_VALUES: usize = 1_000_000;

/// The limits of one kind of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// What the input is, for messages: `connector file`, `plan`, ...
    pub what: &'static str,
    /// Largest accepted size in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of collections (the top-level collection is level 1).
    pub max_depth: usize,
    /// Most values (scalars and collections), as counted by [`scan`].
    pub max_values: usize,
}

impl Limits {
    /// Connector files: 4 MiB, [`MAX_DEPTH`] levels, [`MAX_VALUES`] values.
    pub const CONNECTOR: Limits = Limits {
        what: "connector file",
        max_bytes: 4 * MIB,
        max_depth: MAX_DEPTH,
        max_values: MAX_VALUES,
    };
    /// Provisioning plans: 16 MiB, [`MAX_DEPTH`] levels, [`MAX_BULK_VALUES`] values.
    pub const PLAN: Limits = Limits {
        what: "plan",
        max_bytes: 16 * MIB,
        max_depth: MAX_DEPTH,
        max_values: MAX_BULK_VALUES,
    };
    /// `--settings` files: 1 MiB, [`MAX_DEPTH`] levels, [`MAX_VALUES`] values.
    pub const SETTINGS: Limits = Limits {
        what: "settings file",
        max_bytes: MIB,
        max_depth: MAX_DEPTH,
        max_values: MAX_VALUES,
    };
    /// Fixture case files: 4 MiB, [`MAX_DEPTH`] levels, [`MAX_VALUES`] values.
    pub const CASE: Limits = Limits {
        what: "case file",
        max_bytes: 4 * MIB,
        max_depth: MAX_DEPTH,
        max_values: MAX_VALUES,
    };
    /// Cassettes: 16 MiB, [`MAX_CASSETTE_DEPTH`] levels, [`MAX_BULK_VALUES`] values.
    pub const CASSETTE: Limits = Limits {
        what: "cassette",
        max_bytes: 16 * MIB,
        max_depth: MAX_CASSETTE_DEPTH,
        max_values: MAX_BULK_VALUES,
    };
}

/// Reads a file, but never more than one byte beyond `limits.max_bytes` (so an oversized file
/// is reported by the parser without being read whole).
pub fn read_limited(path: &Path, limits: &Limits) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let cap = limits.max_bytes as u64 + 1;
    let hint = file.metadata().map(|m| m.len().min(cap)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint as usize);
    file.take(cap).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Which limit [`scan`] found exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeds {
    /// Nesting deeper than this many levels.
    Depth(usize),
    /// More than this many values.
    Values(usize),
}

/// Where [`scan`] found a limit exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// Byte offset of the collection that opens the level beyond the limit, or of the value
    /// beyond the count.
    pub offset: usize,
    /// Which limit.
    pub limit: Exceeds,
}

/// Checks the nesting depth and the number of values of YAML (or JSON) text in one linear
/// pass, without recursion. Values are counted by their separators (lines, `- `, `: `, `,`,
/// brackets), which is close to the parser's count. Text that is not valid YAML is scanned as
/// well as it can be; the parser reports it.
pub fn scan(source: &str, max_depth: usize, max_values: usize) -> Result<(), Exceeded> {
    let mut s = Scanner {
        b: source.as_bytes(),
        max_depth,
        max_values,
        values: 0,
        blocks: Vec::new(),
        pending: None,
        flow: 0,
        quote: None,
        block_scalar: None,
    };
    let mut start = usize::from(source.starts_with('\u{feff}')) * 3;
    while start < s.b.len() {
        let (end, next) = line_end(s.b, start);
        s.line(start, end)?;
        start = next;
    }
    Ok(())
}

/// The end of the line starting at `start` (before `\n`, `\r\n` or a lone `\r`) and the start
/// of the next one.
fn line_end(b: &[u8], start: usize) -> (usize, usize) {
    match memchr2(b, start) {
        Some(i) if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') => (i, i + 2),
        Some(i) => (i, i + 1),
        None => (b.len(), b.len()),
    }
}

fn memchr2(b: &[u8], from: usize) -> Option<usize> {
    b[from..]
        .iter()
        .position(|c| *c == b'\n' || *c == b'\r')
        .map(|i| i + from)
}

fn is_space(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Whether the byte at `i` (before `end`) is followed by a separator: a space, a tab or the
/// end of the line.
fn separated(b: &[u8], i: usize, end: usize) -> bool {
    i + 1 >= end || is_space(b[i + 1])
}

/// What a block collection is: a mapping or a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
}

struct Scanner<'a> {
    b: &'a [u8],
    max_depth: usize,
    max_values: usize,
    /// Values seen so far.
    values: usize,
    /// Columns and kinds of the open block collections, innermost last.
    blocks: Vec<(usize, Kind)>,
    /// The column of a node that opens a block collection if it turns out to be one (a
    /// `key:` or a `- ` follows); a scalar or a flow collection there opens none.
    pending: Option<usize>,
    /// Open flow collections.
    flow: usize,
    /// Inside a quoted scalar that continues on the next line: its quote character.
    quote: Option<u8>,
    /// Inside a block scalar (`|`, `>`): lines indented more than this column belong to it
    /// (`None` for a top-level one, which takes every line).
    block_scalar: Option<Option<usize>>,
}

impl Scanner<'_> {
    fn check(&self, offset: usize) -> Result<(), Exceeded> {
        if self.blocks.len() + self.flow > self.max_depth {
            return Err(Exceeded {
                offset,
                limit: Exceeds::Depth(self.max_depth),
            });
        }
        Ok(())
    }

    /// Counts one more value, starting at `offset`.
    fn count(&mut self, offset: usize) -> Result<(), Exceeded> {
        self.values += 1;
        if self.values > self.max_values {
            return Err(Exceeded {
                offset,
                limit: Exceeds::Values(self.max_values),
            });
        }
        Ok(())
    }

    /// Opens a block collection at `column` (in the line starting at `ls`).
    fn push(&mut self, ls: usize, column: usize, kind: Kind) -> Result<(), Exceeded> {
        self.blocks.push((column, kind));
        self.check(ls + column)
    }

    /// The pending node turned out to be a collection of `kind`: opens it.
    fn open(&mut self, ls: usize, kind: Kind) -> Result<(), Exceeded> {
        match self.pending.take() {
            Some(column) => self.push(ls, column, kind),
            None => Ok(()),
        }
    }

    fn line(&mut self, ls: usize, end: usize) -> Result<(), Exceeded> {
        let b = self.b;
        let indent = b[ls..end].iter().take_while(|c| **c == b' ').count();
        let first = b[ls..end]
            .iter()
            .position(|c| !is_space(*c))
            .map(|i| ls + i);
        if let Some(threshold) = self.block_scalar {
            let inside = match (first, threshold) {
                (None, _) | (_, None) => true,
                (Some(_), Some(t)) => indent > t,
            };
            if inside && !(indent == 0 && is_document_marker(b, ls, end)) {
                return Ok(());
            }
            self.block_scalar = None;
        }
        if let Some(q) = self.quote {
            let Some(after) = self.skip_quoted(q, ls, end) else {
                return Ok(());
            };
            return self.rest(ls, after, end);
        }
        if self.flow > 0 {
            return self.flow_text(ls, ls, end);
        }
        let Some(first) = first else {
            return Ok(());
        };
        match b[first] {
            b'#' => return Ok(()),
            b'%' if first == ls => return Ok(()),
            _ => {}
        }
        if indent == 0 && is_document_marker(b, ls, end) {
            self.blocks.clear();
            self.pending = None;
            return self.node(ls, ls + 3, end);
        }
        self.count(first)?;
        while self.blocks.last().is_some_and(|(c, _)| *c > indent) {
            self.blocks.pop();
        }
        // A sequence written at the indentation of its mapping key ends with the first line
        // there that is not an entry.
        let dash = b[first] == b'-' && separated(b, first, end);
        if self.blocks.last() == Some(&(indent, Kind::Seq)) && !dash {
            self.blocks.pop();
        }
        self.pending = match self.blocks.last() {
            Some((c, _)) if *c == indent => None,
            _ => Some(indent),
        };
        self.node(ls, first, end)
    }

    /// Scans from a position where a node may start: block indicators (`- `, `? `, `: `),
    /// properties, then a flow collection, a block scalar, a quoted or a plain scalar.
    fn node(&mut self, ls: usize, mut i: usize, end: usize) -> Result<(), Exceeded> {
        let b = self.b;
        loop {
            while i < end && is_space(b[i]) {
                i += 1;
            }
            if i >= end {
                return Ok(());
            }
            match b[i] {
                c @ (b'-' | b'?' | b':') if separated(b, i, end) => {
                    self.count(i)?;
                    let kind = if c == b'-' { Kind::Seq } else { Kind::Map };
                    if self.pending.is_some() {
                        self.open(ls, kind)?;
                    } else if kind == Kind::Seq && self.blocks.last() == Some(&(i - ls, Kind::Map))
                    {
                        // `key:` followed by `- ` entries at the key's indentation.
                        self.push(ls, i - ls, Kind::Seq)?;
                    }
                    let mut j = i + 1;
                    while j < end && is_space(b[j]) {
                        j += 1;
                    }
                    if j >= end || b[j] == b'#' {
                        return Ok(());
                    }
                    if !starts_block_scalar(b, j, end) {
                        self.pending = Some(j - ls);
                    }
                    i = j;
                }
                b'&' | b'!' => {
                    while i < end && !is_space(b[i]) {
                        i += 1;
                    }
                }
                b'[' | b'{' => return self.flow_text(ls, i, end),
                b'|' | b'>' => {
                    self.pending = None;
                    self.block_scalar = Some(self.blocks.last().map(|(c, _)| *c));
                    return Ok(());
                }
                b'#' => return Ok(()),
                q @ (b'"' | b'\'') => {
                    let Some(after) = self.skip_quoted(q, i + 1, end) else {
                        return Ok(());
                    };
                    return self.rest(ls, after, end);
                }
                _ => return self.rest(ls, i, end),
            }
        }
    }

    /// The rest of a block-context line after the start of a scalar: a `: ` makes it a
    /// mapping key and what follows a new node, ` #` starts a comment; everything else is
    /// scalar text.
    fn rest(&mut self, ls: usize, mut i: usize, end: usize) -> Result<(), Exceeded> {
        if self.flow > 0 {
            return self.flow_text(ls, i, end);
        }
        let b = self.b;
        while i < end {
            match b[i] {
                b':' if separated(b, i, end) => {
                    self.count(i)?;
                    self.open(ls, Kind::Map)?;
                    return self.node(ls, i + 1, end);
                }
                b'#' if i == ls || is_space(b[i - 1]) => return Ok(()),
                _ => i += 1,
            }
        }
        Ok(())
    }

    /// Scans flow-context text: every bracket outside quotes and comments is structure.
    fn flow_text(&mut self, ls: usize, mut i: usize, end: usize) -> Result<(), Exceeded> {
        let b = self.b;
        // Whether a quote here would start a quoted scalar (it does after an indicator or a
        // separator, not inside a plain scalar like `it's`).
        let mut token_start = true;
        while i < end {
            let c = b[i];
            match c {
                b'[' | b'{' => {
                    self.flow += 1;
                    self.check(i)?;
                    self.count(i)?;
                    token_start = true;
                }
                b']' | b'}' => {
                    self.flow = self.flow.saturating_sub(1);
                    if self.flow == 0 {
                        return self.rest(ls, i + 1, end);
                    }
                    token_start = false;
                }
                b',' | b':' => {
                    self.count(i)?;
                    token_start = true;
                }
                b'?' | b' ' | b'\t' => token_start = true,
                b'#' if i == ls || is_space(b[i - 1]) => return Ok(()),
                b'"' | b'\'' if token_start => {
                    let Some(after) = self.skip_quoted(c, i + 1, end) else {
                        return Ok(());
                    };
                    i = after;
                    token_start = false;
                    continue;
                }
                _ => token_start = false,
            }
            i += 1;
        }
        Ok(())
    }

    /// Skips the inside of a quoted scalar from `i`; returns the position after the closing
    /// quote, or `None` (remembering the quote) when the scalar continues on the next line.
    fn skip_quoted(&mut self, q: u8, mut i: usize, end: usize) -> Option<usize> {
        let b = self.b;
        while i < end {
            match b[i] {
                b'\\' if q == b'"' => i += 2,
                c if c == q => {
                    if q == b'\'' && i + 1 < end && b[i + 1] == b'\'' {
                        i += 2;
                        continue;
                    }
                    self.quote = None;
                    return Some(i + 1);
                }
                _ => i += 1,
            }
        }
        self.quote = Some(q);
        None
    }
}

/// Whether a block scalar indicator (`|`, `>`, after properties) starts at `i`.
fn starts_block_scalar(b: &[u8], mut i: usize, end: usize) -> bool {
    while i < end && (b[i] == b'&' || b[i] == b'!') {
        while i < end && !is_space(b[i]) {
            i += 1;
        }
        while i < end && is_space(b[i]) {
            i += 1;
        }
    }
    i < end && (b[i] == b'|' || b[i] == b'>')
}

/// `---` or `...` at the start of a line, alone or followed by a separator.
fn is_document_marker(b: &[u8], ls: usize, end: usize) -> bool {
    end - ls >= 3
        && (&b[ls..ls + 3] == b"---" || &b[ls..ls + 3] == b"...")
        && (end - ls == 3 || is_space(b[ls + 3]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(src: &str, max: usize) -> bool {
        scan(src, max).is_ok()
    }

    fn scan(src: &str, max: usize) -> Result<(), Exceeded> {
        super::scan(src, max, usize::MAX)
    }

    /// The smallest limit `src` passes.
    fn depth(src: &str) -> usize {
        (0..1000).find(|m| depth_ok(src, *m)).unwrap()
    }

    #[test]
    fn counts_block_mappings_and_sequences() {
        assert_eq!(depth("a: 1\n"), 1);
        assert_eq!(depth("a:\n  b:\n    c: 1\n"), 3);
        assert_eq!(depth("a:\n  - x\n  - y\n"), 2);
        assert_eq!(depth("- - - x\n"), 3);
        assert_eq!(depth("- - - \n"), 3);
        assert_eq!(depth("a:\n  b: 1\nc:\n  d: 2\n"), 2);
        // Siblings close deeper levels.
        assert_eq!(depth("a:\n  b:\n    c: 1\n  d: 2\ne: 3\n"), 3);
    }

    #[test]
    fn counts_flow_collections_inside_blocks() {
        assert_eq!(depth("a: [1, [2, {b: 3}]]\n"), 4);
        assert_eq!(depth("[[[]]]"), 3);
        assert_eq!(depth("{\"a\": {\"b\": [1]}}"), 3);
        assert_eq!(depth("a: [\n  [1,\n   [2]],\n]\nb: 1\n"), 4);
        assert_eq!(depth("- {a: 1}\n"), 2);
        assert_eq!(depth("a:\n- b:\n  - c:\n    - d\ne: 1\n"), 6);
    }

    #[test]
    fn strings_comments_and_block_scalars_do_not_nest() {
        assert_eq!(depth("a: \"[[[[{{{{\"\n"), 1);
        assert_eq!(depth("a: '[[[[''[[[['\n"), 1);
        assert_eq!(depth("a: [\"]]]\", '[[[']\n"), 2);
        assert_eq!(depth("a: 1 # [[[[[\n# - - - - - -\n"), 1);
        assert_eq!(depth("a: $.items[*].groups[0]\n"), 1);
        assert_eq!(depth("a: \"{{settings.x}}\"\n"), 1);
        assert_eq!(depth("a: |\n  - - - - [[[[\n  {{{{\nb: 1\n"), 1);
        assert_eq!(depth("- key: >-\n    - - - - -\n    [[[[\n- b\n"), 2);
        assert_eq!(depth("a: \"multi\n  line [[[[ \\\" [[[\"\nb: 1\n"), 1);
        assert_eq!(depth("a: [it's, don't]\n"), 2);
        assert_eq!(depth("a: x#[[[[\n"), 1);
    }

    #[test]
    fn hostile_shapes_are_found_where_they_cross_the_limit() {
        let src = "- ".repeat(20_000);
        let e = scan(&src, 64).unwrap_err();
        assert_eq!(e.offset, 64 * 2);
        let src = "[".repeat(200_000);
        assert_eq!(scan(&src, 64).unwrap_err().offset, 64);
        let src = "{a: ".repeat(20_000);
        assert_eq!(scan(&src, 64).unwrap_err().offset, 64 * 4);
        let src: String = (0..100).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let e = scan(&src, 64).unwrap_err();
        assert_eq!(&src[e.offset..e.offset + 2], "k:");
        assert!(src[..e.offset].ends_with(&format!("\n{}", " ".repeat(64))));
    }

    #[test]
    fn values_are_counted() {
        let values = |src: &str| (0..100).find(|m| super::scan(src, 64, *m).is_ok()).unwrap();
        assert_eq!(values("a: 1\nb: 2\n"), 4);
        assert_eq!(values("- a\n- b\n- c\n"), 6);
        assert_eq!(values("[1, 2, 3]"), 4);
        assert_eq!(values("{\"a\": [1, 2], \"b\": \"x,y:z\"}"), 7);
        assert_eq!(values("a: \"1, 2, 3: 4\" # , , ,\n"), 2);
        let e = super::scan(&format!("[{}", "1,".repeat(1000)), 64, 100).unwrap_err();
        assert_eq!(
            e,
            Exceeded {
                offset: 2 * 99,
                limit: Exceeds::Values(100)
            }
        );
    }

    #[test]
    fn documents_and_line_endings() {
        assert_eq!(depth("---\na:\n  b: 1\n...\n---\n- x\n"), 2);
        assert_eq!(depth("a:\r\n  b: 1\r\n"), 2);
        assert_eq!(depth("- - -\r- -\r"), 3);
        assert_eq!(depth("\u{feff}[1]"), 1);
    }
}
