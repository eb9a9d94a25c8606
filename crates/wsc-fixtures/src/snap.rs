//! Snapshot files in insta's `.snap` format, read and written without insta so `wsc test`
//! and `cargo test` (which uses insta) share the same files.
//!
//! A file is a YAML metadata block between `---` lines, then the snapshot text. Two snapshots
//! are equal when their texts are equal after trailing whitespace is trimmed and CRLF becomes
//! LF (insta's rule).

use std::path::{Path, PathBuf};

/// The test source recorded in snapshot metadata (the insta test that owns the files).
pub const SOURCE: &str = "crates/wsc-fixtures/tests/snapshots.rs";

/// The two snapshots of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The records (or result) the operation produced.
    Records,
    /// The requests it sent.
    Requests,
}

impl Kind {
    /// `records` or `requests`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Records => "records",
            Kind::Requests => "requests",
        }
    }

    /// Both kinds.
    pub const ALL: [Kind; 2] = [Kind::Records, Kind::Requests];
}

/// The snapshot name of a case's snapshot: `<case>.<kind>` (insta's name, with the file
/// `<case>.<kind>.snap` in the fixture directory's `snapshots/`).
pub fn name(case: &str, kind: Kind) -> String {
    format!("{case}.{}", kind.as_str())
}

/// The snapshot file of a case in a fixture directory.
pub fn path(fixture_dir: &Path, case: &str, kind: Kind) -> PathBuf {
    fixture_dir
        .join("snapshots")
        .join(format!("{}.snap", name(case, kind)))
}

/// Normalizes snapshot text for comparison.
pub fn normalize(s: &str) -> String {
    s.trim_end().replace("\r\n", "\n")
}

/// Reads the snapshot text of a `.snap` file (`None` when the file does not exist).
pub fn read(path: &Path) -> std::io::Result<Option<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(contents_of(&text)))
}

/// The snapshot text of a `.snap` file's content.
pub fn contents_of(text: &str) -> String {
    let mut lines = text.split_inclusive('\n');
    let first = lines.clone().next().unwrap_or("");
    if first.trim_end() != "---" {
        return normalize(text);
    }
    lines.next();
    let mut offset = first.len();
    for l in lines {
        offset += l.len();
        if l.trim_end() == "---" {
            return normalize(&text[offset..]);
        }
    }
    String::new()
}

/// Metadata written with a snapshot.
#[derive(Debug, Clone)]
pub struct Meta {
    /// What the snapshot shows (connector, case, operation).
    pub description: String,
    /// The case file, relative to the workspace or the current directory.
    pub input_file: String,
    /// The kind.
    pub kind: Kind,
}

/// The full text of a `.snap` file.
pub fn render(meta: &Meta, contents: &str) -> String {
    format!(
        "---\nsource: {SOURCE}\ndescription: {}\nexpression: {}\ninput_file: {}\n---\n{}\n",
        yaml_scalar(&meta.description),
        meta.kind.as_str(),
        yaml_scalar(&meta.input_file),
        normalize(contents)
    )
}

fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._/-".contains(c))
        && !s.starts_with([' ', '-'])
        && !s.ends_with(' ');
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// Writes a `.snap` file atomically (a temporary file renamed over the old one).
pub fn write(path: &Path, meta: &Meta, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("snap.tmp");
    std::fs::write(&tmp, render(meta, contents))?;
    std::fs::rename(&tmp, path)
}

/// A unified diff of two snapshot texts (old → new), with `-`/`+` lines and 3 lines of
/// context; empty when they are equal.
pub fn diff(old: &str, new: &str) -> String {
    let (old, new) = (normalize(old), normalize(new));
    if old == new {
        return String::new();
    }
    let d = similar::TextDiff::from_lines(&old, &new);
    let mut out = String::new();
    for group in d.grouped_ops(3) {
        for op in group {
            for change in d.iter_changes(&op) {
                let (sign, n) = match change.tag() {
                    similar::ChangeTag::Delete => ('-', change.old_index()),
                    similar::ChangeTag::Insert => ('+', change.new_index()),
                    similar::ChangeTag::Equal => (' ', change.new_index()),
                };
                let line = n.map(|n| (n + 1).to_string()).unwrap_or_default();
                out.push_str(&format!("{line:>5} {sign} {}", change.value()));
                if change.missing_newline() {
                    out.push('\n');
                }
            }
        }
        out.push_str("  ...\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let meta = Meta {
            description: "connector okta, case users: account_aggregation".into(),
            input_file: "fixtures/okta/users.case.yaml".into(),
            kind: Kind::Records,
        };
        let text = render(&meta, "[\n  1\n]\n\n");
        assert!(text.starts_with("---\nsource: "));
        assert_eq!(contents_of(&text), "[\n  1\n]");
    }

    #[test]
    fn diff_shows_changed_lines() {
        let d = diff("a\nb\nc\n", "a\nB\nc\n");
        assert!(d.contains("- b"), "{d}");
        assert!(d.contains("+ B"), "{d}");
        assert_eq!(diff("a\n", "a"), "");
    }
}
