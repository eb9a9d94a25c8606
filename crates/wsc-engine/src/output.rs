//! Record writers: JSON Lines, a JSON array, CSV.
//!
//! Every writer serialises straight into its own buffer (flushed to the underlying writer in
//! 64 KiB chunks), without building `serde_json::Value`s; pass an unbuffered writer such as
//! `std::io::stdout().lock()` or a `File`. Records look like
//! `{"type":"account","identity":"u1","name":"Ann","attributes":{..},"members":[..]}`, with
//! `members` only on records that have it and `name` `null` when absent. [`RecordJson`] is the
//! same object as a `serde::Serialize` value.

use std::io::{self, Write};
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use crate::doc::write_json_str;
use crate::mapping::Record;

/// Bytes buffered before they are written to the underlying writer.
const FLUSH_AT: usize = 64 * 1024;

/// A destination for records.
pub trait Sink {
    /// Writes one record; `names` are the mapper's attribute names.
    fn write(&mut self, rec: &Record, names: &[Arc<str>]) -> io::Result<()>;
    /// Completes the output (closing brackets) and flushes it.
    fn finish(self: Box<Self>) -> io::Result<()>;

    /// Whether the sink takes records already written as JSON Lines
    /// ([`Sink::write_lines`]); such a sink's records can come from
    /// [`Engine::aggregate_lines`](crate::Engine::aggregate_lines).
    fn takes_lines(&self) -> bool {
        false
    }

    /// Writes records already written as JSON Lines (each line the text of
    /// [`write_record_json`], ending with `\n`), as [`Sink::write`] would write them. Sinks
    /// that do not take lines ([`Sink::takes_lines`]) refuse.
    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        let _ = lines;
        Err(io::Error::other(
            "this output format needs records, not JSON Lines",
        ))
    }
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    JsonLines,
    /// One JSON array, compact.
    Json,
    /// One JSON array, indented.
    JsonPretty,
    /// CSV with a header line.
    Csv,
}

/// A boxed sink of `format` writing to `w`.
pub fn sink<W: Write + Send + 'static>(format: Format, w: W) -> Box<dyn Sink + Send> {
    match format {
        Format::JsonLines => Box::new(JsonLines::new(w)),
        Format::Json => Box::new(JsonArray::new(w, false)),
        Format::JsonPretty => Box::new(JsonArray::new(w, true)),
        Format::Csv => Box::new(Csv::new(w)),
    }
}

/// Appends `v` as compact JSON, formatted exactly as `serde_json::to_writer` would.
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_json_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

fn write_number(out: &mut Vec<u8>, n: &serde_json::Number) {
    if let Some(u) = n.as_u64() {
        out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
    } else if let Some(i) = n.as_i64() {
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    } else {
        // Floats are formatted by serde_json itself so the text is identical.
        let _ = serde_json::to_writer(out, n);
    }
}

/// Appends the record as one compact JSON object (no newline).
pub fn write_record_json(out: &mut Vec<u8>, rec: &Record, names: &[Arc<str>]) {
    out.extend_from_slice(b"{\"type\":");
    write_json_str(out, &rec.object_type);
    out.extend_from_slice(b",\"identity\":");
    write_json_str(out, &rec.identity);
    out.extend_from_slice(b",\"name\":");
    match &rec.name {
        Some(n) => write_json_str(out, n),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"attributes\":{");
    for (i, (n, v)) in names.iter().zip(&rec.attributes).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(out, n);
        out.push(b':');
        write_value(out, v);
    }
    out.push(b'}');
    if let Some(members) = &rec.members {
        out.extend_from_slice(b",\"members\":[");
        for (i, m) in members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_str(out, m);
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// A record as the JSON object the writers produce, for `serde` serialisers.
#[derive(Debug, Clone, Copy)]
pub struct RecordJson<'r> {
    /// The record.
    pub record: &'r Record,
    /// The mapper's attribute names.
    pub names: &'r [Arc<str>],
}

impl Serialize for RecordJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Attrs<'r>(&'r [Arc<str>], &'r [Value]);
        impl Serialize for Attrs<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len().min(self.1.len())))?;
                for (n, v) in self.0.iter().zip(self.1) {
                    m.serialize_entry(n.as_ref(), v)?;
                }
                m.end()
            }
        }
        let r = self.record;
        let len = if r.members.is_some() { 5 } else { 4 };
        let mut m = s.serialize_map(Some(len))?;
        m.serialize_entry("type", r.object_type.as_ref())?;
        m.serialize_entry("identity", &r.identity)?;
        m.serialize_entry("name", &r.name)?;
        m.serialize_entry("attributes", &Attrs(self.names, &r.attributes))?;
        if let Some(members) = &r.members {
            m.serialize_entry("members", members)?;
        }
        m.end()
    }
}

/// Buffer + writer shared by the sinks.
#[derive(Debug)]
struct Out<W: Write> {
    w: W,
    buf: Vec<u8>,
}

impl<W: Write> Out<W> {
    fn new(w: W) -> Self {
        Out {
            w,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
        }
    }

    #[inline]
    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.w.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        self.w.flush()
    }
}

/// JSON Lines: one compact object per line.
#[derive(Debug)]
pub struct JsonLines<W: Write> {
    out: Out<W>,
}

impl<W: Write> JsonLines<W> {
    /// A JSON Lines writer.
    pub fn new(w: W) -> Self {
        JsonLines { out: Out::new(w) }
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.finish()?;
        Ok(self.out.w)
    }
}

impl<W: Write> Sink for JsonLines<W> {
    fn write(&mut self, rec: &Record, names: &[Arc<str>]) -> io::Result<()> {
        write_record_json(&mut self.out.buf, rec, names);
        self.out.buf.push(b'\n');
        self.out.maybe_flush()
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.out.finish()
    }

    fn takes_lines(&self) -> bool {
        true
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        if self.out.buf.len() + lines.len() < FLUSH_AT {
            self.out.buf.extend_from_slice(lines);
            return Ok(());
        }
        // A large chunk goes to the writer as it is, after what is buffered.
        if !self.out.buf.is_empty() {
            self.out.w.write_all(&self.out.buf)?;
            self.out.buf.clear();
        }
        self.out.w.write_all(lines)
    }
}

/// A JSON array of records (`[]` for an empty run), compact or indented.
#[derive(Debug)]
pub struct JsonArray<W: Write> {
    out: Out<W>,
    pretty: bool,
    count: u64,
}

impl<W: Write> JsonArray<W> {
    /// A JSON array writer; `pretty` indents with two spaces.
    pub fn new(w: W, pretty: bool) -> Self {
        JsonArray {
            out: Out::new(w),
            pretty,
            count: 0,
        }
    }

    fn close(&mut self) -> io::Result<()> {
        match (self.count, self.pretty) {
            (0, _) => self.out.buf.extend_from_slice(b"[]\n"),
            (_, true) => self.out.buf.extend_from_slice(b"\n]\n"),
            (_, false) => self.out.buf.extend_from_slice(b"]\n"),
        }
        self.out.finish()
    }

    /// Closes the array, flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.close()?;
        Ok(self.out.w)
    }
}

impl<W: Write> JsonArray<W> {
    fn open_item(&mut self) {
        self.out
            .buf
            .extend_from_slice(match (self.count, self.pretty) {
                (0, true) => b"[\n  ",
                (0, false) => b"[",
                (_, true) => b",\n  ",
                (_, false) => b",",
            });
        self.count += 1;
    }
}

impl<W: Write> Sink for JsonArray<W> {
    fn write(&mut self, rec: &Record, names: &[Arc<str>]) -> io::Result<()> {
        self.open_item();
        let buf = &mut self.out.buf;
        if self.pretty {
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"  ");
            let mut tmp = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(&mut tmp, fmt);
            RecordJson { record: rec, names }
                .serialize(&mut ser)
                .map_err(io::Error::other)?;
            // Indent the nested lines one level (the record sits inside the array).
            for (i, line) in tmp.split(|b| *b == b'\n').enumerate() {
                if i > 0 {
                    buf.extend_from_slice(b"\n  ");
                }
                buf.extend_from_slice(line);
            }
        } else {
            write_record_json(buf, rec, names);
        }
        self.out.maybe_flush()
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.close()
    }

    fn takes_lines(&self) -> bool {
        !self.pretty
    }

    fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        if self.pretty {
            return Err(io::Error::other(
                "indented JSON needs records, not JSON Lines",
            ));
        }
        let body = lines.strip_suffix(b"\n").unwrap_or(lines);
        if body.is_empty() {
            return Ok(());
        }
        for line in body.split(|&b| b == b'\n') {
            self.open_item();
            self.out.buf.extend_from_slice(line);
            self.out.maybe_flush()?;
        }
        Ok(())
    }
}

/// CSV (RFC 4180 quoting, `\n` line ends): header `type,identity,name,<attributes...>` plus
/// `members` when records have members. Lists are joined with `;`, objects written as compact
/// JSON, `null` as an empty cell.
#[derive(Debug)]
pub struct Csv<W: Write> {
    out: Out<W>,
    header_done: bool,
    scratch: Vec<u8>,
}

impl<W: Write> Csv<W> {
    /// A CSV writer whose header comes from the first record (an empty run writes nothing).
    pub fn new(w: W) -> Self {
        Csv {
            out: Out::new(w),
            header_done: false,
            scratch: Vec::new(),
        }
    }

    /// A CSV writer that writes its header now, so an empty run still has one.
    pub fn with_header(w: W, names: &[Arc<str>], members: bool) -> Self {
        let mut csv = Csv::new(w);
        csv.header(names, members);
        csv
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.finish()?;
        Ok(self.out.w)
    }

    fn header(&mut self, names: &[Arc<str>], members: bool) {
        let buf = &mut self.out.buf;
        buf.extend_from_slice(b"type,identity,name");
        for n in names {
            buf.push(b',');
            push_cell(buf, n.as_bytes());
        }
        if members {
            buf.extend_from_slice(b",members");
        }
        buf.push(b'\n');
        self.header_done = true;
    }
}

/// Appends `text` as one CSV cell, quoted when it holds `,`, `"`, CR or LF.
fn push_cell(buf: &mut Vec<u8>, text: &[u8]) {
    if text
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        buf.push(b'"');
        for &b in text {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(text);
    }
}

/// The unquoted text of a cell: scalars as text, lists joined with `;`, objects as JSON.
fn cell_text(out: &mut Vec<u8>, v: &Value, top: bool) {
    match v {
        Value::Null => {}
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        Value::Array(items) if top => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b';');
                }
                cell_text(out, item, false);
            }
        }
        Value::Bool(_) | Value::Number(_) => write_value(out, v),
        Value::Array(_) | Value::Object(_) => write_value(out, v),
    }
}

impl<W: Write> Sink for Csv<W> {
    fn write(&mut self, rec: &Record, names: &[Arc<str>]) -> io::Result<()> {
        if !self.header_done {
            self.header(names, rec.members.is_some());
        }
        let buf = &mut self.out.buf;
        push_cell(buf, rec.object_type.as_bytes());
        buf.push(b',');
        push_cell(buf, rec.identity.as_bytes());
        buf.push(b',');
        if let Some(n) = &rec.name {
            push_cell(buf, n.as_bytes());
        }
        for v in &rec.attributes {
            buf.push(b',');
            self.scratch.clear();
            cell_text(&mut self.scratch, v, true);
            push_cell(buf, &self.scratch);
        }
        if let Some(members) = &rec.members {
            buf.push(b',');
            self.scratch.clear();
            for (i, m) in members.iter().enumerate() {
                if i > 0 {
                    self.scratch.push(b';');
                }
                self.scratch.extend_from_slice(m.as_bytes());
            }
            push_cell(buf, &self.scratch);
        }
        buf.push(b'\n');
        self.out.maybe_flush()
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.out.finish()
    }
}

#[cfg(test)]
mod tests;
