//! Writing tape values as output JSON: the text [`crate::output`] writes for the value the
//! ordinary mapping would produce, straight from the page's bytes.
//!
//! A string without escapes is copied as it is (with its quotes): its text is already what
//! `serde_json`'s escaping gives, since JSON cannot hold an unescaped quote, backslash or
//! control character and the writers escape nothing else. A string with escapes is decoded and
//! escaped again (`\u00e9` becomes `é`, `\/` becomes `/`). An integer of up to 18 digits is
//! copied; other numbers go through the same classification and formatting as
//! `serde_json::Value` (`1.50` becomes `1.5`, `1e3` becomes `1000.0`, `-0` becomes `-0.0`).
//! Objects repeat no key (the last value, at the first key's place), as a
//! `serde_json::Map` would. Anything else the ordinary mapping would treat as an error is
//! [`Fallback`]: the record is then mapped the ordinary way, which reports it.

use serde_json::Value;
use wsc_spec::model::AttributeType;

use crate::doc::tape::{ESCAPED, KEY_ESCAPED, Kind, Node, Tape};
use crate::doc::{Number, decode_string, write_json_str};
use crate::lines::IdHasher;
use crate::mapping::{Scalar, convert_scalar};
use crate::output::write_value;

/// The record is written the ordinary way instead (an error, or a value the projection does
/// not write itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fallback;

impl From<crate::doc::tape::EscapedKey> for Fallback {
    fn from(_: crate::doc::tape::EscapedKey) -> Self {
        Fallback
    }
}

/// The page text and its tape, with a scratch string for decoding escapes.
pub(super) struct Src<'t> {
    pub(super) text: &'t str,
    pub(super) tape: &'t Tape,
    pub(super) scratch: &'t mut String,
}

impl Src<'_> {
    #[inline]
    fn span(&self, n: &Node) -> &str {
        &self.text[n.start as usize..n.end as usize]
    }

    /// The decoded text of a string node (in the scratch string when it has escapes).
    #[inline]
    fn string(&mut self, n: &Node) -> &str {
        if n.flags & ESCAPED == 0 {
            return &self.text[n.start as usize..n.end as usize];
        }
        self.scratch.clear();
        // The tape checked the string: decoding cannot fail.
        let _ = decode_string(self.text, n.start as usize, self.scratch);
        self.scratch
    }

    /// Appends a string node as a JSON string.
    #[inline]
    pub(super) fn write_str(&mut self, out: &mut Vec<u8>, n: &Node) {
        if n.flags & ESCAPED == 0 {
            let b = self.text.as_bytes();
            // The quotes around the content are in the text.
            out.extend_from_slice(&b[n.start as usize - 1..n.end as usize + 1]);
        } else {
            let s = self.string(n);
            write_json_str(out, s);
        }
    }

    /// Appends node `i` as the JSON the ordinary mapping writes for an untyped value.
    pub(super) fn write_json(&mut self, out: &mut Vec<u8>, i: u32) -> Result<(), Fallback> {
        let n = *self.tape.node(i);
        match n.kind {
            Kind::Null => out.extend_from_slice(b"null"),
            Kind::True => out.extend_from_slice(b"true"),
            Kind::False => out.extend_from_slice(b"false"),
            Kind::String => self.write_str(out, &n),
            Kind::Number => write_number(out, self.span(&n)),
            Kind::Array => {
                out.push(b'[');
                let tape = self.tape;
                for (k, c) in tape.children(i).enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    self.write_json(out, c)?;
                }
                out.push(b']');
            }
            Kind::Object => {
                out.push(b'{');
                let mut first = true;
                let (tape, b) = (self.tape, self.text.as_bytes());
                for (k, c) in tape.children(i).enumerate() {
                    let m = tape.node(c);
                    if m.flags & KEY_ESCAPED != 0 {
                        return Err(Fallback);
                    }
                    let key = &b[m.key_start as usize..m.key_end as usize];
                    let same = |o: &u32| {
                        let x = tape.node(*o);
                        &b[x.key_start as usize..x.key_end as usize] == key
                    };
                    // A key seen before was written at its first place, with its last value.
                    if tape.children(i).take(k).any(|o| same(&o)) {
                        continue;
                    }
                    let last = tape.children(i).skip(k).filter(same).last().unwrap_or(c);
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.extend_from_slice(&b[m.key_start as usize - 1..m.key_end as usize + 1]);
                    out.push(b':');
                    self.write_json(out, last)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }

    /// Appends non-null node `i` converted to `ty`, as the ordinary mapping converts it.
    pub(super) fn write_typed(
        &mut self,
        out: &mut Vec<u8>,
        i: u32,
        ty: AttributeType,
        attr: &str,
    ) -> Result<(), Fallback> {
        let n = *self.tape.node(i);
        match (ty, n.kind) {
            (AttributeType::Json, _) => return self.write_json(out, i),
            (AttributeType::String, Kind::String) => {
                self.write_str(out, &n);
                return Ok(());
            }
            (AttributeType::String, Kind::Number) => {
                out.push(b'"');
                out.extend_from_slice(self.span(&n).as_bytes());
                out.push(b'"');
                return Ok(());
            }
            (AttributeType::Bool, Kind::True) => {
                out.extend_from_slice(b"true");
                return Ok(());
            }
            (AttributeType::Bool, Kind::False) => {
                out.extend_from_slice(b"false");
                return Ok(());
            }
            _ => {}
        }
        let v = {
            let number;
            let scalar = match n.kind {
                Kind::True => Scalar::Bool(true),
                Kind::False => Scalar::Bool(false),
                Kind::Number => {
                    let text = self.span(&n);
                    number = Number::borrowed(text);
                    Scalar::Num(number.kind(), text)
                }
                Kind::String => Scalar::Str(self.string(&n)),
                Kind::Null | Kind::Array | Kind::Object => Scalar::Composite,
            };
            convert_scalar(attr, ty, scalar, String::new).map_err(|_| Fallback)?
        };
        write_value(out, &v);
        Ok(())
    }

    /// Appends node `i` as identity, name or member text (a JSON string): strings as they are,
    /// numbers as their text, booleans as words where `bools` allows them.
    #[inline]
    pub(super) fn write_scalar_string(
        &mut self,
        out: &mut Vec<u8>,
        i: u32,
        bools: bool,
    ) -> Result<(), Fallback> {
        let n = *self.tape.node(i);
        match n.kind {
            Kind::String => self.write_str(out, &n),
            Kind::Number => {
                out.push(b'"');
                out.extend_from_slice(self.span(&n).as_bytes());
                out.push(b'"');
            }
            Kind::True if bools => out.extend_from_slice(b"\"true\""),
            Kind::False if bools => out.extend_from_slice(b"\"false\""),
            _ => return Err(Fallback),
        }
        Ok(())
    }
}

impl Src<'_> {
    /// The hash of the identity of a record written by the projection: of its text as the
    /// ordinary mapping makes it (a string decoded, a number's text, `""` without a path).
    pub(super) fn identity_hash(
        &mut self,
        identity: Option<&super::eval::Field>,
        rec: u32,
        slots: &[u32],
        hasher: &IdHasher,
    ) -> u64 {
        use std::hash::BuildHasher;
        let node = identity.and_then(|f| f.first(self.tape, self.text, rec, slots).ok().flatten());
        match node.map(|i| *self.tape.node(i)) {
            Some(n) if n.kind == Kind::String => {
                let s = self.string(&n);
                hasher.hash_one(s)
            }
            Some(n) => hasher.hash_one(self.span(&n)),
            None => hasher.hash_one(""),
        }
    }
}

/// Appends a number as `serde_json::Value` would write it after parsing `text`.
#[inline]
fn write_number(out: &mut Vec<u8>, text: &str) {
    let b = text.as_bytes();
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    // Integers of up to 18 digits fit 64 bits and are written as they are (JSON has no
    // leading zeros); `-0` is a float.
    if !digits.is_empty()
        && digits.len() <= 18
        && digits.iter().all(u8::is_ascii_digit)
        && b != b"-0"
    {
        out.extend_from_slice(b);
        return;
    }
    let v = Number::borrowed(text)
        .to_json_number()
        .map_or(Value::Null, Value::Number);
    write_value(out, &v);
}
