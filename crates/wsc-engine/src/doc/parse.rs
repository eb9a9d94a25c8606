//! The parser: RFC 8259 JSON (plus a leading byte-order mark) into a borrowed [`Doc`].

use std::borrow::Cow;

use super::number::scan_number;
use super::{Doc, DocError, DocErrorKind, MAX_DEPTH, Number};

type PResult<T> = Result<T, (DocErrorKind, usize)>;

impl<'a> Doc<'a> {
    /// Parses a whole body. Strings without escapes and all numbers borrow from `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Doc<'a>, DocError> {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let off = e.valid_up_to();
                return Err(make_error(bytes, DocErrorKind::InvalidUtf8, off));
            }
        };
        Doc::parse_str(text)
    }

    /// Parses a whole body given as text.
    pub fn parse_str(text: &'a str) -> Result<Doc<'a>, DocError> {
        Parser::new(text, None).run()
    }

    /// Parses a whole body like [`Doc::parse`], except that the array at the object key path
    /// `keys` (from the root; empty: the root itself) is offered to `hole`, which reads it its
    /// own way; an array the hole takes stands in the document as an empty array. An array the
    /// hole declines (see [`Hole::fill`]) is parsed as usual.
    pub(crate) fn parse_with_hole(
        bytes: &'a [u8],
        keys: &[Box<str>],
        hole: &mut dyn Hole<'a>,
    ) -> Result<Doc<'a>, DocError> {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let off = e.valid_up_to();
                return Err(make_error(bytes, DocErrorKind::InvalidUtf8, off));
            }
        };
        Parser::new(text, Some((keys, hole))).run()
    }
}

/// Reads the array a parse with a hole leaves out of its document
/// ([`Doc::parse_with_hole`]).
pub(crate) trait Hole<'a> {
    /// `text[pos]` is the `[` of an array at the hole's key path, nested `depth` levels deep
    /// (arrays and objects around it). Returns the offset just after the array, or `None` to
    /// decline it: the array is then parsed into the document as usual (which reports its
    /// syntax errors exactly as [`Doc::parse`] does).
    fn fill(&mut self, text: &'a str, pos: usize, depth: usize) -> Option<usize>;
}

impl<'a, 'h> Parser<'a, 'h> {
    fn new(text: &'a str, hole: Option<(&'h [Box<str>], &'h mut dyn Hole<'a>)>) -> Self {
        Parser {
            src: text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
            arr_stack: Vec::new(),
            obj_stack: Vec::new(),
            on_path: hole.as_ref().map(|_| 0),
            hole,
        }
    }

    fn run(mut self) -> Result<Doc<'a>, DocError> {
        let text = self.src;
        let p = &mut self;
        if p.bytes.starts_with(b"\xEF\xBB\xBF") {
            p.pos = 3;
        }
        let result = (|| {
            p.skip_ws();
            if p.pos >= p.bytes.len() {
                return Err((DocErrorKind::Empty, p.pos));
            }
            let v = p.value()?;
            p.skip_ws();
            if p.pos < p.bytes.len() {
                return Err((DocErrorKind::TrailingCharacters, p.pos));
            }
            Ok(v)
        })();
        result.map_err(|(kind, off)| make_error(text.as_bytes(), kind, off))
    }

    /// Offers the array at `self.pos` to the hole when it is at the hole's key path.
    #[inline]
    fn try_hole(&mut self) -> Option<Doc<'a>> {
        let (keys, hole) = self.hole.as_mut()?;
        if self.on_path != Some(keys.len()) {
            return None;
        }
        let end = hole.fill(self.src, self.pos, self.depth)?;
        self.pos = end;
        Some(Doc::Array(Vec::new()))
    }

    /// Before a member value: whether it lies on the hole's key path.
    #[inline]
    fn member_on_path(&mut self, parent: Option<usize>, key: &str) {
        if let Some((keys, _)) = &self.hole {
            self.on_path = match parent {
                Some(i) if keys.get(i).is_some_and(|k| k.as_ref() == key) => Some(i + 1),
                _ => None,
            };
        }
    }
}

/// Decodes and checks the JSON string whose content starts at `start` in `text` (just after
/// its opening quote), exactly as the parser does, appending the text to `out`; returns the
/// offset just after the closing quote. `None` where the parser would report an error.
pub(crate) fn decode_string(text: &str, start: usize, out: &mut String) -> Option<usize> {
    let mut p = Parser::new(text, None);
    p.string_escaped_into(start, start, out).ok()?;
    Some(p.pos)
}

/// Bytes that end the fast scan of a string: `"`, `\` and control characters.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The first offset at or after `i` holding `"`, `\\` or a control character (or the end).
/// Scans eight bytes at a time (SWAR), then byte by byte near the stop.
#[inline]
pub(super) fn skip_string_content(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    while let Some(chunk) = b.get(i..i + 8) {
        let Ok(arr) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let w = u64::from_le_bytes(arr);
        let q = w ^ QUOTES;
        let e = w ^ BACKSLASHES;
        // Standard "has a zero byte" / "has a byte less than 0x20" tests: no false negatives.
        let stop = (q.wrapping_sub(ONES) & !q)
            | (e.wrapping_sub(ONES) & !e)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        if stop & HIGH != 0 {
            break;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if STRING_STOP[c as usize] {
            break;
        }
        i += 1;
    }
    i
}

struct Parser<'a, 'h> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    arr_stack: Vec<Doc<'a>>,
    obj_stack: Vec<(Cow<'a, str>, Doc<'a>)>,
    /// The key path of a parse with a hole, and the hole.
    hole: Option<(&'h [Box<str>], &'h mut dyn Hole<'a>)>,
    /// With a hole: how many keys of its path lead to the value about to be parsed (`None`:
    /// the value is off the path).
    on_path: Option<usize>,
}

fn make_error(bytes: &[u8], kind: DocErrorKind, offset: usize) -> DocError {
    let offset = offset.min(bytes.len());
    let before = &bytes[..offset];
    let line = 1 + memchr::memchr_iter(b'\n', before).count();
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    // Count characters, not bytes: every byte that is not a UTF-8 continuation byte.
    let column = 1 + before[line_start..]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count();
    DocError {
        kind,
        line,
        column,
        offset,
    }
}

impl<'a> Parser<'a, '_> {
    #[inline]
    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// An error for the token at `self.pos`: a run of letters and digits (at most 20), or one
    /// character.
    fn unexpected(&self, expected: &'static str) -> (DocErrorKind, usize) {
        let rest = self.src.get(self.pos..).unwrap_or("");
        let mut chars = rest.chars();
        match chars.next() {
            None => (DocErrorKind::Eof, self.pos),
            Some(c) => {
                let token: String = if c.is_alphanumeric() {
                    rest.chars()
                        .take_while(|c| c.is_alphanumeric())
                        .take(20)
                        .collect()
                } else {
                    c.to_string()
                };
                (DocErrorKind::Unexpected(token, expected), self.pos)
            }
        }
    }

    fn value(&mut self) -> PResult<Doc<'a>> {
        match self.peek() {
            None => Err((DocErrorKind::Eof, self.pos)),
            Some(b'"') => Ok(Doc::String(self.string()?)),
            Some(b'{') => self.object(),
            Some(b'[') => match self.try_hole() {
                Some(d) => Ok(d),
                None => self.array(),
            },
            Some(b't') => self.literal(b"true", Doc::Bool(true)),
            Some(b'f') => self.literal(b"false", Doc::Bool(false)),
            Some(b'n') => self.literal(b"null", Doc::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.unexpected("a JSON value")),
        }
    }

    fn literal(&mut self, word: &'static [u8], v: Doc<'a>) -> PResult<Doc<'a>> {
        for (k, &w) in word.iter().enumerate() {
            match self.bytes.get(self.pos + k) {
                Some(&b) if b == w => {}
                Some(_) => return Err(self.unexpected("a JSON value")),
                None => return Err((DocErrorKind::Eof, self.bytes.len())),
            }
        }
        self.pos += word.len();
        Ok(v)
    }

    fn number(&mut self) -> PResult<Doc<'a>> {
        let start = self.pos;
        match scan_number(self.bytes, start) {
            Ok(end) => {
                self.pos = end;
                let text = self
                    .src
                    .get(start..end)
                    .ok_or((DocErrorKind::InvalidNumber, start))?;
                Ok(Doc::Number(Number(Cow::Borrowed(text))))
            }
            // A number cut by the end of the body is a truncated body.
            Err(at) if at >= self.bytes.len() => Err((DocErrorKind::Eof, at)),
            Err(_) => Err((DocErrorKind::InvalidNumber, start)),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err((DocErrorKind::TooDeep, self.pos));
        }
        Ok(())
    }

    fn array(&mut self) -> PResult<Doc<'a>> {
        self.enter()?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Doc::Array(Vec::new()));
        }
        let start = self.arr_stack.len();
        loop {
            if self.hole.is_some() {
                self.on_path = None;
            }
            let v = self.value()?;
            self.arr_stack.push(v);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
        self.depth -= 1;
        Ok(Doc::Array(self.arr_stack.drain(start..).collect()))
    }

    fn object(&mut self) -> PResult<Doc<'a>> {
        self.enter()?;
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Doc::Object(Vec::new()));
        }
        let start = self.obj_stack.len();
        let mine = self.on_path;
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("a string key"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.unexpected("`:`"));
            }
            self.pos += 1;
            self.skip_ws();
            self.member_on_path(mine, &key);
            let v = self.value()?;
            self.obj_stack.push((key, v));
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
        self.depth -= 1;
        Ok(Doc::Object(self.obj_stack.drain(start..).collect()))
    }

    /// A string; `self.pos` is at the opening quote.
    fn string(&mut self) -> PResult<Cow<'a, str>> {
        let start = self.pos + 1;
        let i = skip_string_content(self.bytes, start);
        match self.bytes.get(i) {
            None => Err((DocErrorKind::Eof, i)),
            Some(b'"') => {
                self.pos = i + 1;
                let s = self
                    .src
                    .get(start..i)
                    .ok_or((DocErrorKind::InvalidUtf8, start))?;
                Ok(Cow::Borrowed(s))
            }
            Some(b'\\') => self.string_escaped(start, i).map(Cow::Owned),
            Some(_) => Err((DocErrorKind::ControlCharacter, i)),
        }
    }

    /// The slow path of [`Parser::string`]: `i` is at the first backslash.
    fn string_escaped(&mut self, start: usize, i: usize) -> PResult<String> {
        let mut out = String::with_capacity(i - start + 16);
        self.string_escaped_into(start, i, &mut out)?;
        Ok(out)
    }

    /// Decodes the string whose content starts at `start` into `out`, from `i` on (`i` at or
    /// before the first backslash); leaves `self.pos` after the closing quote.
    fn string_escaped_into(&mut self, start: usize, mut i: usize, out: &mut String) -> PResult<()> {
        let mut run = start;
        loop {
            i = skip_string_content(self.bytes, i);
            let Some(&b) = self.bytes.get(i) else {
                return Err((DocErrorKind::Eof, i));
            };
            out.push_str(
                self.src
                    .get(run..i)
                    .ok_or((DocErrorKind::InvalidUtf8, run))?,
            );
            match b {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(());
                }
                b'\\' => {
                    let esc_at = i;
                    let Some(&e) = self.bytes.get(i + 1) else {
                        return Err((DocErrorKind::Eof, i + 1));
                    };
                    i += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4(i)?;
                            i += 4;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                match (self.bytes.get(i), self.bytes.get(i + 1)) {
                                    (Some(b'\\'), Some(b'u')) => {
                                        let lo = self.hex4(i + 2)?;
                                        if !(0xDC00..0xE000).contains(&lo) {
                                            return Err((DocErrorKind::LoneSurrogate, esc_at));
                                        }
                                        i += 6;
                                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                    }
                                    (None, _) | (Some(b'\\'), None) => {
                                        return Err((DocErrorKind::Eof, self.bytes.len()));
                                    }
                                    _ => return Err((DocErrorKind::LoneSurrogate, esc_at)),
                                }
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err((DocErrorKind::LoneSurrogate, esc_at));
                            } else {
                                hi
                            };
                            match char::from_u32(c) {
                                Some(ch) => out.push(ch),
                                None => return Err((DocErrorKind::InvalidEscape, esc_at)),
                            }
                        }
                        _ => return Err((DocErrorKind::InvalidEscape, esc_at)),
                    }
                    run = i;
                }
                _ => return Err((DocErrorKind::ControlCharacter, i)),
            }
        }
    }

    fn hex4(&self, at: usize) -> PResult<u32> {
        let mut v = 0u32;
        for k in 0..4 {
            let Some(&b) = self.bytes.get(at + k) else {
                return Err((DocErrorKind::Eof, self.bytes.len()));
            };
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err((DocErrorKind::InvalidEscape, at + k)),
            };
            v = (v << 4) | u32::from(d);
        }
        Ok(v)
    }
}
