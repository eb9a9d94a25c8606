//! The compiled projection: an operation's mapping compiled, when the connector loads, into a
//! plan that writes each record's JSON Lines output straight from the page's bytes.
//!
//! A page is parsed once: the envelope (totals, cursors, what error rules read) into a
//! [`Doc`] as before, and the array of records into a [`Tape`] (one reusable vector, no
//! allocation per record). Each record is then written from the tape by [`Projection`]:
//! strings, numbers and booleans copied as they are where that gives the text the ordinary
//! mapping would write, normalised where it would not (see `emit.rs`), converted where the
//! attribute has a type. No [`Record`](crate::Record) is built.
//!
//! Exactness comes first: a record the projection cannot write exactly (any mapping error, a
//! key with escapes) is mapped the ordinary way, by [`RecordMapper::map`], from a document of
//! that record alone, and written by [`crate::output::write_record_json`]; its error is the
//! ordinary error. A page the tape cannot read (invalid JSON, records not in an array) is
//! parsed whole and mapped the ordinary way.
//!
//! A mapping compiles to a projection only when every part of it is exact without the ordinary
//! path: JSONPaths of direct field access (no filters, descendants, slices), no templates, no
//! `delta.deleted`, records in an array at a key path (`$.items[*]`, `$.data.users`, `$`), and
//! nothing else of the page reading inside that array or needing the whole page as a value
//! (`stop_when`, `expression` error rules). The engine also keeps the ordinary path for
//! pages with an `after` hook and for the first page (whose records the path check reads).

mod emit;
mod eval;
mod writer;

pub use writer::{PageError, PageWriter};

use std::sync::{Arc, Mutex};

use serde_json::Value;
use wsc_spec::model::AttributeType;

use self::emit::{Fallback, Src};
use self::eval::{Field, Roots};
use crate::doc::tape::{Kind, Tape};
use crate::doc::{Doc, DocError, Hole, write_json_str};
use crate::lines::{IdHasher, Lines};
use crate::mapping::{MapError, RecordMapper, Source};
use crate::output::write_value;
use crate::path::{CompiledPath, Step};

/// An operation's mapping compiled for writing JSON Lines straight from pages.
#[derive(Debug)]
pub(crate) struct Projection {
    /// The object key path of the records array (empty: the page is the array).
    container: Box<[Box<str>]>,
    /// `{"type":"<object type>","identity":`.
    prefix: Box<[u8]>,
    /// The first keys of the paths, looked up once per record.
    roots: Roots,
    identity: Option<Field>,
    name: Option<Field>,
    attrs: Box<[Attr]>,
    members: Option<Field>,
}

#[derive(Debug)]
struct Attr {
    name: Arc<str>,
    /// `"name":`.
    key: Box<[u8]>,
    source: AttrSource,
    ty: AttributeType,
    multi: bool,
    /// The text of an absent value (default, `null` or `[]`); `None` when it is required.
    absent: Option<Box<[u8]>>,
}

#[derive(Debug)]
enum AttrSource {
    Path(Field),
    /// A constant's text.
    Const(Box<[u8]>),
}

fn json_text(v: &Value) -> Box<[u8]> {
    let mut out = Vec::new();
    write_value(&mut out, v);
    out.into()
}

/// Whether `p` reads only outside the array at `container` (it leaves the container's key path
/// at an index or another key before reaching it).
fn outside(p: &CompiledPath, container: &[Box<str>]) -> bool {
    let Some((steps, _)) = p.steps() else {
        return false;
    };
    for (i, k) in container.iter().enumerate() {
        match steps.get(i) {
            Some(Step::Key(s)) if s == k => continue,
            Some(Step::Key(_) | Step::Index(_)) => return true,
            Some(Step::Wildcard) | None => return false,
        }
    }
    false
}

impl Projection {
    /// The projection of `mapper`, for pages whose other readers use the paths `envelope`
    /// (paging values, saved values, error rules); `None` when it could not be exact, or when
    /// `whole_page` (something needs the page as one value).
    pub(crate) fn compile(
        mapper: &RecordMapper,
        envelope: &[&CompiledPath],
        whole_page: bool,
    ) -> Option<Projection> {
        if whole_page || mapper.reads_deleted() {
            return None;
        }
        let (steps, _) = mapper.records_path().steps()?;
        let keys = match steps.split_last() {
            Some((Step::Wildcard, keys)) => keys,
            _ => steps,
        };
        let container: Box<[Box<str>]> = keys
            .iter()
            .map(|s| match s {
                Step::Key(k) => Some(k.clone()),
                _ => None,
            })
            .collect::<Option<_>>()?;
        if !envelope.iter().all(|p| outside(p, &container)) {
            return None;
        }
        let (identity, name, members) = mapper.scalar_paths();
        let mut roots = Roots::default();
        let mut field = |p: Option<&CompiledPath>| match p {
            None => Some(None),
            Some(p) => Field::of(p, &mut roots).map(Some),
        };
        let (identity, name, members) = (field(identity)?, field(name)?, field(members)?);
        let mut attrs = Vec::new();
        for a in mapper.attr_plans() {
            let source = match &a.source {
                Source::Path(p) => AttrSource::Path(Field::of(p, &mut roots)?),
                Source::Value(v) => AttrSource::Const(json_text(v)),
                Source::Template(..) => return None,
            };
            let absent = match (&a.default, a.required, a.multi) {
                (Some(d), _, _) => Some(json_text(d)),
                (None, true, _) => None,
                (None, false, true) => Some(b"[]"[..].into()),
                (None, false, false) => Some(b"null"[..].into()),
            };
            let mut key = Vec::new();
            write_json_str(&mut key, &a.name);
            key.push(b':');
            attrs.push(Attr {
                name: a.name.clone(),
                key: key.into(),
                source,
                ty: a.ty,
                multi: a.multi,
                absent,
            });
        }
        let mut prefix = b"{\"type\":".to_vec();
        write_json_str(&mut prefix, mapper.object_type());
        prefix.extend_from_slice(b",\"identity\":");
        Some(Projection {
            container,
            prefix: prefix.into(),
            roots,
            identity,
            name,
            attrs: attrs.into(),
            members,
        })
    }

    /// Parses a page: the document (the records array left out and standing as `[]` when the
    /// tape took it) and, when the tape holds the records, the page's text.
    pub(crate) fn parse<'a>(
        &self,
        body: &'a [u8],
        tape: &mut Tape,
    ) -> Result<(Doc<'a>, Option<&'a str>), DocError> {
        let mut hole = TapeHole {
            tape,
            text: None,
            repeated: false,
        };
        let doc = Doc::parse_with_hole(body, &self.container, &mut hole)?;
        // With the records key repeated, the document has the last array (as an ordinary
        // parse would read it); the tape has the first.
        let text = if hole.repeated { None } else { hole.text };
        Ok((doc, text))
    }

    /// The number of records on a tape [`Projection::parse`] filled.
    pub(crate) fn count(tape: &Tape) -> usize {
        tape.node(0).len as usize
    }

    /// Writes every record of the tape as a line of `lines`; a record the projection cannot
    /// write exactly is mapped by `mapper` (whose error it is). Returns how many records were
    /// mapped that way.
    pub(crate) fn write_page(
        &self,
        text: &str,
        tape: &Tape,
        mapper: &RecordMapper,
        hasher: &IdHasher,
        lines: &mut Lines,
    ) -> Result<usize, PageFailure> {
        let mut ordinary = 0;
        let mut scratch = String::new();
        let mut matches = Vec::new();
        let mut slots = Vec::new();
        for rec in tape.children(0) {
            let out = lines.buffer();
            let mark = out.len();
            let mut src = Src {
                text,
                tape,
                scratch: &mut scratch,
            };
            let written = self
                .roots
                .fill(tape, text, rec, &mut slots)
                .map_err(Fallback::from)
                .and_then(|()| self.write_record(&mut src, out, rec, &slots, &mut matches));
            match written {
                Ok(()) => {
                    let hash = src.identity_hash(self.identity.as_ref(), rec, &slots, hasher);
                    lines.commit(hash);
                }
                Err(Fallback) => {
                    out.truncate(mark);
                    let n = tape.node(rec);
                    let doc =
                        Doc::parse_str(&text[n.start as usize..n.end as usize]).map_err(|e| {
                            PageFailure::Bug(format!("a record the tape read does not parse: {e}"))
                        })?;
                    let record = mapper.map(&doc).map_err(PageFailure::Map)?;
                    lines.push_record_hashed(&record, mapper.attribute_names(), hasher);
                    ordinary += 1;
                }
            }
        }
        Ok(ordinary)
    }

    fn write_record(
        &self,
        src: &mut Src<'_>,
        out: &mut Vec<u8>,
        rec: u32,
        slots: &[u32],
        matches: &mut Vec<u32>,
    ) -> Result<(), Fallback> {
        let (tape, text) = (src.tape, src.text);
        out.extend_from_slice(&self.prefix);
        match &self.identity {
            None => out.extend_from_slice(b"\"\""),
            Some(f) => {
                let i = f.first(tape, text, rec, slots)?.ok_or(Fallback)?;
                let n = tape.node(i);
                if n.kind == Kind::Null || (n.kind == Kind::String && n.start == n.end) {
                    return Err(Fallback);
                }
                src.write_scalar_string(out, i, false)?;
            }
        }
        out.extend_from_slice(b",\"name\":");
        match self
            .name
            .as_ref()
            .map(|f| f.first(tape, text, rec, slots))
            .transpose()?
            .flatten()
        {
            Some(i) if tape.node(i).kind != Kind::Null => src.write_scalar_string(out, i, true)?,
            _ => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"attributes\":{");
        for (k, a) in self.attrs.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&a.key);
            self.write_attr(src, out, rec, slots, a, matches)?;
        }
        out.push(b'}');
        if let Some(f) = &self.members {
            out.extend_from_slice(b",\"members\":[");
            matches.clear();
            f.all(tape, text, rec, slots, matches)?;
            let mut first = true;
            for i in flat(tape, matches) {
                if tape.node(i).kind == Kind::Null {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                src.write_scalar_string(out, i, false)?;
            }
            out.push(b']');
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    fn write_attr(
        &self,
        src: &mut Src<'_>,
        out: &mut Vec<u8>,
        rec: u32,
        slots: &[u32],
        a: &Attr,
        matches: &mut Vec<u32>,
    ) -> Result<(), Fallback> {
        let (tape, text) = (src.tape, src.text);
        let f = match &a.source {
            AttrSource::Const(v) => {
                out.extend_from_slice(v);
                return Ok(());
            }
            AttrSource::Path(f) => f,
        };
        if a.multi {
            matches.clear();
            f.all(tape, text, rec, slots, matches)?;
            let mark = out.len();
            out.push(b'[');
            let mut written = 0;
            for i in flat(tape, matches) {
                if tape.node(i).kind == Kind::Null {
                    continue;
                }
                if written > 0 {
                    out.push(b',');
                }
                written += 1;
                src.write_typed(out, i, a.ty, &a.name)?;
            }
            if written > 0 {
                out.push(b']');
                return Ok(());
            }
            out.truncate(mark);
        } else if let Some(i) = f.first(tape, text, rec, slots)?
            && tape.node(i).kind != Kind::Null
        {
            return src.write_typed(out, i, a.ty, &a.name);
        }
        out.extend_from_slice(a.absent.as_deref().ok_or(Fallback)?);
        Ok(())
    }
}

/// The nodes `matches` selected, with a single array match standing for its elements (as the
/// ordinary mapping flattens `$.groups` like `$.groups[*]`).
fn flat<'t>(tape: &'t Tape, matches: &'t [u32]) -> impl Iterator<Item = u32> + 't {
    let one_array = matches.len() == 1 && tape.node(matches[0]).kind == Kind::Array;
    let (direct, elements) = if one_array {
        (&[][..], Some(tape.children(matches[0])))
    } else {
        (matches, None)
    };
    direct.iter().copied().chain(elements.into_iter().flatten())
}

/// Why a page's records could not be written.
#[derive(Debug)]
pub(crate) enum PageFailure {
    /// A record's mapping error.
    Map(MapError),
    /// A bug in wsc.
    Bug(String),
}

/// Takes the records array of a parse for the tape.
struct TapeHole<'t, 'a> {
    tape: &'t mut Tape,
    text: Option<&'a str>,
    repeated: bool,
}

impl<'a> Hole<'a> for TapeHole<'_, 'a> {
    fn fill(&mut self, text: &'a str, pos: usize, depth: usize) -> Option<usize> {
        if self.text.is_some() {
            self.repeated = true;
            return None;
        }
        let end = self.tape.parse_array(text, pos, depth)?;
        self.text = Some(text);
        Some(end)
    }
}

/// Tapes kept between pages, so a page's tape reuses a vector already grown.
static TAPES: Mutex<Vec<Tape>> = Mutex::new(Vec::new());

/// Most tapes kept.
const KEEP: usize = 4;

/// A tape for one page: from the pool, or new.
pub(crate) fn take_tape() -> Tape {
    TAPES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop()
        .unwrap_or_default()
}

/// Gives a tape back to the pool.
pub(crate) fn give_back(tape: Tape) {
    let mut pool = TAPES.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < KEEP {
        pool.push(tape);
    }
}

#[cfg(test)]
mod tests;
