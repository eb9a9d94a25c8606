//! [`Lines`]: records already written as JSON Lines, the way the page tasks of
//! [`Engine::aggregate_lines`](crate::Engine::aggregate_lines) deliver them: one compact record
//! object per line, exactly the text [`write_record_json`] writes for the same record, so a
//! JSON Lines output only has to copy them.

use std::sync::Arc;

use crate::mapping::Record;
use crate::output::write_record_json;

/// The hasher of identities for the duplicate check: the page tasks that write lines hash
/// each identity as they write it, with the engine's hasher.
pub(crate) type IdHasher = foldhash::quality::RandomState;

/// Records written as JSON Lines (each line ends with `\n`).
#[derive(Debug, Clone, Default)]
pub struct Lines {
    bytes: Vec<u8>,
    count: usize,
    /// The hash of each record's identity, when every line has one.
    hashes: Vec<u64>,
}

/// Lines are equal when their text is.
impl PartialEq for Lines {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes && self.count == other.count
    }
}

impl Eq for Lines {}

impl Lines {
    /// No records, with room for `bytes` bytes of text.
    pub(crate) fn with_capacity(bytes: usize) -> Lines {
        Lines {
            bytes: Vec::with_capacity(bytes),
            count: 0,
            hashes: Vec::new(),
        }
    }

    /// Lines written by [`write_record_json`] for `records`.
    pub fn from_records(records: &[Record], names: &[Arc<str>]) -> Lines {
        let mut lines = Lines::with_capacity(records.len() * 256);
        for r in records {
            lines.push_record(r, names);
        }
        lines
    }

    /// Appends one record.
    pub(crate) fn push_record(&mut self, rec: &Record, names: &[Arc<str>]) {
        write_record_json(&mut self.bytes, rec, names);
        self.bytes.push(b'\n');
        self.count += 1;
    }

    /// Appends one record with the hash of its identity.
    pub(crate) fn push_record_hashed(
        &mut self,
        rec: &Record,
        names: &[Arc<str>],
        hasher: &IdHasher,
    ) {
        use std::hash::BuildHasher;
        self.push_record(rec, names);
        self.hashes.push(hasher.hash_one(rec.identity.as_str()));
    }

    /// The hash of each line's identity, when every line has one.
    pub(crate) fn hashes(&self) -> Option<&[u64]> {
        (self.hashes.len() == self.count).then_some(&self.hashes)
    }

    /// The buffer a writer appends one line to; call [`Lines::commit`] after the line (its
    /// `\n` included), or truncate the buffer back to where it was.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    /// Counts one more line, written through [`Lines::buffer`], whose identity has the hash
    /// `hash`.
    pub(crate) fn commit(&mut self, hash: u64) {
        self.count += 1;
        self.hashes.push(hash);
    }

    /// The text: every line, each ending with `\n`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The text, without copying.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Records.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Each line, without its `\n`.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.bytes
            .strip_suffix(b"\n")
            .unwrap_or(&self.bytes)
            .split(|&b| b == b'\n')
            .filter(|_| self.count > 0)
    }

    /// Keeps the lines for which `keep(index, line)` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(usize, &[u8]) -> bool) {
        let mut out = Vec::with_capacity(self.bytes.len());
        let mut hashes = Vec::new();
        let hashed = self.hashes().is_some();
        let mut count = 0;
        for (i, line) in self.iter().enumerate() {
            if keep(i, line) {
                out.extend_from_slice(line);
                out.push(b'\n');
                count += 1;
                if hashed {
                    hashes.push(self.hashes[i]);
                }
            }
        }
        self.bytes = out;
        self.count = count;
        self.hashes = hashes;
    }
}

/// The identity of one line as its JSON string text, quotes included (escaped as the
/// writers escape it, so equal identities have equal text); `None` when the line is not a
/// record object as [`write_record_json`] writes it.
pub(crate) fn identity_text(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"{\"type\":")?;
    let after_type = string_end(rest)?;
    let rest = rest[after_type..].strip_prefix(b",\"identity\":")?;
    let end = string_end(rest)?;
    Some(&rest[..end])
}

/// The length of the JSON string at the start of `s` (quotes included).
fn string_end(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while let Some(&b) = s.get(i) {
        match b {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identities_are_read_back_from_the_lines() {
        let names: Vec<Arc<str>> = vec!["a".into()];
        let rec = |id: &str| Record {
            object_type: "acc\"ount".into(),
            identity: id.into(),
            name: None,
            attributes: vec![json!({"identity": "x"})],
            members: None,
            deleted: false,
        };
        let lines = Lines::from_records(&[rec("u1"), rec("q\"\\\n é")], &names);
        assert_eq!(lines.len(), 2);
        let ids: Vec<&[u8]> = lines.iter().map(|l| identity_text(l).unwrap()).collect();
        assert_eq!(ids, [&b"\"u1\""[..], r#""q\"\\\n é""#.as_bytes()]);
        let mut kept = lines.clone();
        kept.retain(|i, _| i == 1);
        assert_eq!(kept.len(), 1);
        assert!(kept.as_bytes().starts_with(b"{\"type\""));
        assert!(kept.as_bytes().ends_with(b"}\n"));
        assert_eq!(Lines::default().iter().count(), 0);
        assert_eq!(identity_text(b"{\"type\":\"a\",\"name\":1}"), None);
    }
}
