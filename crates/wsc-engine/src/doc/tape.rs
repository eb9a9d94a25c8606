//! A flat tape of one JSON array: every value of the array is a [`Node`] in one vector, in
//! document order, pointing into the text instead of owning anything. The compiled projection
//! (`crate::projection`) reads the records of a page from it, so a page of records costs one
//! reusable vector instead of one allocation per object, array and escaped string.
//!
//! The grammar, the nesting limit and every check are those of the [`Doc`](super::Doc) parser:
//! a text the tape accepts is one `Doc::parse` accepts, and the values read from the tape are
//! the values `Doc::parse` would give. Where the tape cannot follow (invalid JSON, too deep,
//! offsets beyond 32 bits) it declines, and the caller parses the array the ordinary way, which
//! reports the error exactly.

use super::MAX_DEPTH;
use super::number::scan_number;
use super::parse::{decode_string, skip_string_content};

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `null`.
    Null,
    /// `false`.
    False,
    /// `true`.
    True,
    /// A number: its text is the node's span.
    Number,
    /// A string: its content (without quotes, escapes as written) is the node's span.
    String,
    /// An array: its children follow it.
    Array,
    /// An object: its members follow it, each with its key.
    Object,
}

/// Flag: a string value holds escapes (its span is the raw, escaped content).
pub(crate) const ESCAPED: u8 = 1;
/// Flag: the key of this member holds escapes.
pub(crate) const KEY_ESCAPED: u8 = 2;

/// One value of the tape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    /// Start of the value's text: a string's content (after the quote), a number's first
    /// character, a container's opening bracket.
    pub(crate) start: u32,
    /// End of the value's text (exclusive): before a string's closing quote, after a
    /// container's closing bracket.
    pub(crate) end: u32,
    /// The member key's content (without quotes), for members of objects.
    pub(crate) key_start: u32,
    /// End of the key's content.
    pub(crate) key_end: u32,
    /// Index of the node after this one's subtree: its next sibling, if it has one.
    pub(crate) next: u32,
    /// Children of a container.
    pub(crate) len: u32,
    /// What the value is.
    pub(crate) kind: Kind,
    /// [`ESCAPED`], [`KEY_ESCAPED`].
    pub(crate) flags: u8,
}

/// A member key that holds escapes: it cannot be compared without decoding, so the caller
/// reads the record the ordinary way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EscapedKey;

/// The tape of one array; reusable from page to page.
#[derive(Debug, Default)]
pub(crate) struct Tape {
    nodes: Vec<Node>,
    /// Scratch for checking escaped strings.
    scratch: String,
}

impl Tape {
    /// Parses the array at `text[pos]` (an opening bracket) that sits `depth` containers deep,
    /// replacing what the tape held; node 0 is the array. Returns the offset just after it, or
    /// `None` where [`Doc::parse`](super::Doc::parse) would fail (or the text is too long for
    /// 32-bit offsets).
    pub(crate) fn parse_array(&mut self, text: &str, pos: usize, depth: usize) -> Option<usize> {
        self.nodes.clear();
        if text.len() >= u32::MAX as usize || text.as_bytes().get(pos) != Some(&b'[') {
            return None;
        }
        let mut p = TapeParser {
            text,
            b: text.as_bytes(),
            pos,
            depth,
            nodes: &mut self.nodes,
            scratch: &mut self.scratch,
        };
        p.value(0, 0, 0)?;
        Some(p.pos)
    }

    /// Node `i`.
    #[inline]
    pub(crate) fn node(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    /// The children of node `i` (nothing for scalars), in document order.
    #[inline]
    pub(crate) fn children(&self, i: u32) -> Children<'_> {
        let n = self.node(i);
        Children {
            tape: self,
            next: i + 1,
            left: if matches!(n.kind, Kind::Array | Kind::Object) {
                n.len
            } else {
                0
            },
        }
    }

    /// The member `key` of object `i` (the last one when a key is repeated, as
    /// [`Doc::get`](super::Doc::get)); `None` for other values.
    #[inline]
    pub(crate) fn get(&self, text: &str, i: u32, key: &str) -> Result<Option<u32>, EscapedKey> {
        if self.node(i).kind != Kind::Object {
            return Ok(None);
        }
        let b = text.as_bytes();
        let mut found = None;
        for c in self.children(i) {
            let n = self.node(c);
            if n.flags & KEY_ESCAPED != 0 {
                return Err(EscapedKey);
            }
            if &b[n.key_start as usize..n.key_end as usize] == key.as_bytes() {
                found = Some(c);
            }
        }
        Ok(found)
    }

    /// Element `k` of array `i` (negative: from the end); `None` for other values.
    #[inline]
    pub(crate) fn index(&self, i: u32, k: i64) -> Option<u32> {
        let n = self.node(i);
        if n.kind != Kind::Array {
            return None;
        }
        let at = if k >= 0 {
            u32::try_from(k).ok()?
        } else {
            n.len.checked_sub(u32::try_from(k.unsigned_abs()).ok()?)?
        };
        if at >= n.len {
            return None;
        }
        self.children(i).nth(at as usize)
    }
}

/// The children of a container node.
#[derive(Debug, Clone)]
pub(crate) struct Children<'t> {
    tape: &'t Tape,
    next: u32,
    left: u32,
}

impl Iterator for Children<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let i = self.next;
        self.next = self.tape.node(i).next;
        Some(i)
    }
}

struct TapeParser<'t> {
    text: &'t str,
    b: &'t [u8],
    pos: usize,
    depth: usize,
    nodes: &'t mut Vec<Node>,
    scratch: &'t mut String,
}

impl TapeParser<'_> {
    #[inline]
    fn skip_ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn push(&mut self, kind: Kind, start: usize, end: usize, key: (u32, u32, u8)) -> usize {
        let i = self.nodes.len();
        self.nodes.push(Node {
            start: start as u32,
            end: end as u32,
            key_start: key.0,
            key_end: key.1,
            next: i as u32 + 1,
            len: 0,
            kind,
            flags: key.2,
        });
        i
    }

    /// One value; `key_*` describe the member key it belongs to (zeros in arrays).
    fn value(&mut self, key_start: u32, key_end: u32, key_flags: u8) -> Option<()> {
        let key = (key_start, key_end, key_flags);
        let start = self.pos;
        match *self.b.get(self.pos)? {
            b'"' => {
                let (end, escaped) = self.string()?;
                let i = self.push(Kind::String, start + 1, end - 1, key);
                if escaped {
                    self.nodes[i].flags |= ESCAPED;
                }
            }
            b'{' | b'[' => self.container(key)?,
            b't' => self.literal(b"true", Kind::True, key)?,
            b'f' => self.literal(b"false", Kind::False, key)?,
            b'n' => self.literal(b"null", Kind::Null, key)?,
            b'-' | b'0'..=b'9' => {
                let end = scan_number(self.b, start).ok()?;
                self.pos = end;
                self.push(Kind::Number, start, end, key);
            }
            _ => return None,
        }
        Some(())
    }

    fn literal(&mut self, word: &[u8], kind: Kind, key: (u32, u32, u8)) -> Option<()> {
        let start = self.pos;
        if self.b.get(start..start + word.len())? != word {
            return None;
        }
        self.pos += word.len();
        self.push(kind, start, self.pos, key);
        Some(())
    }

    /// A string at `self.pos` (its opening quote): the offset after its closing quote, and
    /// whether it holds escapes.
    #[inline]
    fn string(&mut self) -> Option<(usize, bool)> {
        let start = self.pos + 1;
        let i = skip_string_content(self.b, start);
        match self.b.get(i)? {
            b'"' => {
                self.pos = i + 1;
                Some((self.pos, false))
            }
            b'\\' => {
                self.scratch.clear();
                self.pos = decode_string(self.text, start, self.scratch)?;
                Some((self.pos, true))
            }
            _ => None,
        }
    }

    fn container(&mut self, key: (u32, u32, u8)) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let open = self.b[self.pos];
        let (close, kind) = if open == b'[' {
            (b']', Kind::Array)
        } else {
            (b'}', Kind::Object)
        };
        let me = self.push(kind, self.pos, self.pos, key);
        self.pos += 1;
        self.skip_ws();
        let mut len = 0u32;
        if self.b.get(self.pos) == Some(&close) {
            self.pos += 1;
        } else {
            loop {
                if kind == Kind::Array {
                    self.value(0, 0, 0)?;
                } else {
                    if self.b.get(self.pos) != Some(&b'"') {
                        return None;
                    }
                    let ks = self.pos + 1;
                    let (end, escaped) = self.string()?;
                    self.skip_ws();
                    if self.b.get(self.pos) != Some(&b':') {
                        return None;
                    }
                    self.pos += 1;
                    self.skip_ws();
                    let flags = if escaped { KEY_ESCAPED } else { 0 };
                    self.value(ks as u32, (end - 1) as u32, flags)?;
                }
                len += 1;
                self.skip_ws();
                match self.b.get(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_ws();
                    }
                    Some(&c) if c == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        let next = self.nodes.len() as u32;
        let n = &mut self.nodes[me];
        n.end = self.pos as u32;
        n.len = len;
        n.next = next;
        Some(())
    }
}
