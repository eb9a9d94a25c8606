//! YAML → [`Connector`], with every error located (file, line, column, key path).
//!
//! This is the only module that touches `serde_yaml` (deprecated upstream), so replacing the
//! YAML library means changing this file alone. [`parse_document`] gives other crates a
//! located way to read other YAML documents (plans, settings files, cases, cassettes) through
//! the same code, and every document passes the size and nesting limits of [`crate::limits`]
//! before a parser sees it.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Report, Severity, did_you_mean};
use crate::limits::Limits;
use crate::load_hints::{auth_kind_with_key, first_tab_indent, has_merge_key, is_syntax_error};
pub use crate::locate::locate;
use crate::locate::{LocationIndex, Pos, join_key};
use crate::model::Connector;
use crate::structural::{self, related};
use crate::validate;

/// A connector read and validated.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The connector.
    pub connector: Connector,
    /// The file it came from (as given).
    pub file: PathBuf,
    /// The directory hook scripts and key files are relative to.
    pub dir: PathBuf,
    /// Warnings (the connector is usable).
    pub warnings: Report,
}

/// Why a connector could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid connector; the report has every problem found.
    #[error("{} is not a valid connector ({} error(s))\n{}", .0.file, .0.error_count(), .0.render())]
    Invalid(Report),
}

/// Reads, parses and validates a connector file.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let bytes =
        crate::limits::read_limited(path, &Limits::CONNECTOR).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    load_bytes(&bytes, &path.display().to_string(), &dir)
}

/// Parses and validates connector text. `file` names it in messages; `dir` is where relative
/// hook and key files are looked up.
pub fn load_bytes(bytes: &[u8], file: &str, dir: &Path) -> Result<Loaded, LoadError> {
    let parse = || parse_tolerant::<Connector>(bytes, file, CONNECTOR_HINT, &Limits::CONNECTOR);
    // serde's derived deserializers take one frame per level of the format, and unoptimised
    // frames are large: a connector with steps needs more than the 2 MiB of a spawned thread
    // (a test, a worker) in a debug build. Parse on a thread with a stack of its own.
    let parsed = std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("wsc-load".into())
            .stack_size(16 << 20)
            .spawn_scoped(s, parse)
        {
            Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            Err(_) => parse(),
        }
    })
    .map_err(LoadError::Invalid)?;
    let mut diagnostics = parsed.structural;
    if let Some(connector) = &parsed.value {
        // Semantic findings on what is left of a document with structural errors, except
        // those about the keys taken out (consequences of the repair).
        diagnostics.extend(
            validate::validate(connector, dir, &parsed.index)
                .into_iter()
                .filter(|d| {
                    d.path.is_empty() || !parsed.removed.iter().any(|r| related(r, &d.path))
                }),
        );
    }
    diagnostics.sort_by_key(|d| (std::cmp::Reverse(d.severity), d.line, d.column));
    let report = Report {
        file: file.to_string(),
        source: parsed.source,
        diagnostics,
    };
    match parsed.value {
        Some(connector) if report.error_count() == 0 => Ok(Loaded {
            connector,
            file: PathBuf::from(file),
            dir: dir.to_path_buf(),
            warnings: report,
        }),
        _ => Err(LoadError::Invalid(report)),
    }
}

const CONNECTOR_HINT: &str = "a connector file is a YAML mapping with at least `connector:` and \
`base_url:`; see connectors/demo.yaml and docs/connector-reference.md";

/// Parses any YAML document into `T` with located errors (used for connectors, plans,
/// settings files, cases, cassettes). Returns the value, the source text and its location
/// index; the report has every independent structural error. The document's size and nesting
/// are checked against `limits` first, in linear time, so no parser ever sees a document
/// beyond them.
pub fn parse_document<T: DeserializeOwned>(
    bytes: &[u8],
    file: &str,
    what_hint: &str,
    limits: &Limits,
) -> Result<(T, String, LocationIndex), Report> {
    let parsed = parse_tolerant::<T>(bytes, file, what_hint, limits)?;
    match parsed.value {
        Some(v) if parsed.structural.is_empty() => Ok((v, parsed.source, parsed.index)),
        _ => Err(Report {
            file: file.to_string(),
            source: parsed.source,
            diagnostics: parsed.structural,
        }),
    }
}

/// A document parsed as far as its structure allows.
struct Parsed<T> {
    /// The value; with structural errors, the document without the keys that did not fit
    /// (when the rest fits).
    value: Option<T>,
    source: String,
    index: LocationIndex,
    /// Every independent structural error.
    structural: Vec<Diagnostic>,
    /// Key paths taken out to find them.
    removed: Vec<String>,
}

/// [`parse_document`], going on past the first structural error (see [`crate::structural`]).
/// `Err`: the document cannot be read as YAML at all.
fn parse_tolerant<T: DeserializeOwned>(
    bytes: &[u8],
    file: &str,
    what_hint: &str,
    limits: &Limits,
) -> Result<Parsed<T>, Report> {
    let fail = |source: String, d: Diagnostic| Report {
        file: file.to_string(),
        source,
        diagnostics: vec![d],
    };
    if bytes.len() > limits.max_bytes {
        let shown = String::from_utf8_lossy(&bytes[..limits.max_bytes]).into_owned();
        let pos = pos_of_offset(&shown, shown.len());
        let d = Diagnostic {
            line: pos.line,
            column: pos.column,
            ..Diagnostic::error(format!(
                "the {} is larger than {}, the most wsc reads",
                limits.what,
                size_text(limits.max_bytes)
            ))
        }
        .found(format!("more than {} bytes", limits.max_bytes))
        .hint(format!(
            "the limits on input files are listed under \"Input limits\" in \
docs/connector-reference.md; is this the file you meant? ({what_hint})"
        ));
        return Err(fail(shown, d));
    }
    let source = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) => {
            let lossy = String::from_utf8_lossy(bytes).into_owned();
            let good = &bytes[..e.valid_up_to()];
            let pos = pos_of_offset(&String::from_utf8_lossy(good), e.valid_up_to());
            let d = Diagnostic {
                line: pos.line,
                column: pos.column,
                ..Diagnostic::error("the file is not UTF-8 text (is it a binary file?)")
            }
            .found(format!(
                "byte 0x{:02x} at offset {}",
                bytes[e.valid_up_to()],
                e.valid_up_to()
            ))
            .hint(what_hint.to_string());
            return Err(fail(lossy, d));
        }
    };
    if let Some(i) = source.find('\0') {
        let pos = pos_of_offset(&source, i);
        let d = Diagnostic {
            line: pos.line,
            column: pos.column,
            ..Diagnostic::error("the file contains NUL bytes (is it a binary file?)")
        }
        .hint(what_hint.to_string());
        return Err(fail(source, d));
    }
    if let Err(e) = crate::limits::scan(&source, limits.max_depth, limits.max_values) {
        let pos = pos_of_offset(&source, e.offset);
        let (message, found, much) = match e.limit {
            crate::limits::Exceeds::Depth(max) => (
                format!(
                    "the {} nests collections deeper than {max} levels, the most wsc reads",
                    limits.what
                ),
                format!("level {} opens here", max + 1),
                "this much nesting",
            ),
            crate::limits::Exceeds::Values(max) => (
                format!(
                    "the {} holds more than {max} values, the most wsc reads",
                    limits.what
                ),
                format!("value {} starts here", max + 1),
                "this many values",
            ),
        };
        let d = Diagnostic {
            line: pos.line,
            column: pos.column,
            ..Diagnostic::error(message)
        }
        .found(found)
        .hint(format!(
            "no connector, plan or fixture needs {much}: is the file generated or corrupted? \
The limits on input files are listed under \"Input limits\" in docs/connector-reference.md"
        ));
        return Err(fail(source, d));
    }
    if source
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
    {
        let d = Diagnostic {
            line: 1,
            column: 1,
            ..Diagnostic::error("the file is empty")
        }
        .hint(what_hint.to_string());
        return Err(fail(source, d));
    }
    let index = LocationIndex::build(&source);
    let (result, tree) = if has_merge_key(&source) {
        // YAML merge keys (`<<: *anchor`) are applied on a value tree first; errors then carry
        // no position of their own and are located through the key path alone.
        match serde_yaml::from_str::<serde_yaml::Value>(&source).and_then(|mut v| {
            v.apply_merge()?;
            Ok(v)
        }) {
            Ok(v) => (serde_path_to_error::deserialize::<_, T>(v.clone()), Some(v)),
            Err(e) => {
                let location = e.location().map(|l| Pos {
                    line: l.line(),
                    column: l.column(),
                });
                let message = strip_location(&e.to_string(), "");
                let d = explain(&source, &index, "", &message, location, what_hint);
                return Err(fail(source, d));
            }
        }
    } else {
        (
            serde_path_to_error::deserialize::<_, T>(serde_yaml::Deserializer::from_str(&source)),
            None,
        )
    };
    match result {
        Ok(v) => Ok(Parsed {
            value: Some(v),
            source,
            index,
            structural: Vec::new(),
            removed: Vec::new(),
        }),
        Err(err) => {
            let segs = structural::segments(err.path());
            let path = structural::path_text(&segs);
            let inner = err.into_inner();
            let location = inner.location().map(|l| Pos {
                line: l.line(),
                column: l.column(),
            });
            let message = strip_location(&inner.to_string(), &path);
            let mut diagnostics = vec![explain(
                &source, &index, &path, &message, location, what_hint,
            )];
            // The next errors, found by taking each offending key out (a YAML syntax error
            // has no tree to repair).
            let tree = tree.or_else(|| serde_yaml::from_str::<serde_yaml::Value>(&source).ok());
            let (mut value, mut removed) = (None, Vec::new());
            if let Some(tree) = tree {
                let r = structural::repair::<T>(tree, segs, &message);
                for (p, m) in &r.errors {
                    let m = strip_location(m, p);
                    diagnostics.push(explain(&source, &index, p, &m, None, what_hint));
                }
                value = r.value;
                removed = r.removed;
            }
            Ok(Parsed {
                value,
                source,
                index,
                structural: diagnostics,
                removed,
            })
        }
    }
}

fn strip_location(msg: &str, path: &str) -> String {
    let mut m = msg.to_string();
    if let Some(i) = m.find(" at line ") {
        let rest = &m[i..];
        if rest.contains(" column ") {
            m.truncate(i);
        }
    }
    if !path.is_empty()
        && let Some(stripped) = m.strip_prefix(&format!("{path}: "))
    {
        m = stripped.to_string();
    }
    // serde_yaml also prefixes its own path (which may be shorter inside buffered content).
    if let Some((head, tail)) = m.split_once(": ")
        && !head.contains(' ')
        && (head.contains('.') || head.contains('[') || path.starts_with(head))
    {
        m = tail.to_string();
    }
    m
}

fn pos_of_offset(source: &str, offset: usize) -> Pos {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    Pos { line, column: col }
}

/// The backquoted words of a serde "expected one of `a`, `b`" list.
fn backquoted(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

fn first_backquoted(s: &str) -> Option<&str> {
    backquoted(s).into_iter().next()
}

/// Turns one serde / YAML error into a located, explained diagnostic.
fn explain(
    source: &str,
    index: &LocationIndex,
    path: &str,
    message: &str,
    location: Option<Pos>,
    what_hint: &str,
) -> Diagnostic {
    let mut d = Diagnostic::error(message.to_string()).at_path(path);
    let mut at: Option<(Pos, usize)> = None;

    if let Some(rest) = message.strip_prefix("unknown field ") {
        let field = first_backquoted(rest).unwrap_or_default().to_string();
        let expected_part = rest.split_once(", expected ").map(|x| x.1).unwrap_or("");
        let candidates = backquoted(expected_part);
        let path = match path.strip_suffix(field.as_str()) {
            Some(p) if p.is_empty() || p.ends_with('.') => p.trim_end_matches('.'),
            _ => path,
        };
        let key_path = if index.get(&join_key(path, &field)).is_some() {
            Some(join_key(path, &field))
        } else {
            index.find_key_below(path, &field)
        };
        let full = key_path.clone().unwrap_or_else(|| join_key(path, &field));
        let parent = crate::locate::parent_path(&full).to_string();
        d.message = if parent.is_empty() {
            format!("unknown key `{field}` at the top level")
        } else {
            format!("unknown key `{field}` in `{parent}`")
        };
        d.path = full.clone();
        d.found = Some(format!("`{field}`"));
        if candidates.is_empty() {
            d.expected = Some("no keys here".into());
        } else {
            d.expected = Some(format!("one of {}", quote_list(&candidates)));
        }
        if let Some(best) = did_you_mean(&field, candidates.iter().copied()) {
            d.hint = Some(format!("did you mean `{best}`?"));
        } else if path == "auth"
            && let Some(kind) = auth_kind_with_key(&field)
        {
            d.hint = Some(format!("`{field}` belongs to `type: {kind}`"));
        }
        if let Some(kp) = key_path {
            at = locate(index, &kp).map(|(p, _)| (p, field.chars().count()));
        }
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        let value = first_backquoted(rest).unwrap_or_default().to_string();
        let expected_part = rest.split_once(", expected ").map(|x| x.1).unwrap_or("");
        let candidates = backquoted(expected_part);
        let vpath = if index.get(path).and_then(|n| n.scalar.as_deref()) == Some(value.as_str()) {
            Some(path.to_string())
        } else {
            index.find_scalar_below(path, &value)
        };
        if let Some(vp) = &vpath {
            d.path = vp.clone();
            if let Some(n) = index.get(vp) {
                at = Some((n.value, value.chars().count().max(1)));
            }
        }
        d.message = format!("unknown value `{value}` for `{}`", last_segment(&d.path));
        d.found = Some(format!("`{value}`"));
        d.expected = Some(format!("one of {}", quote_list(&candidates)));
        if let Some(best) = did_you_mean(&value, candidates.iter().copied()) {
            d.hint = Some(format!("did you mean `{best}`?"));
        }
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        let field = first_backquoted(rest).unwrap_or_default();
        d.message = if path.is_empty() {
            format!("missing required key `{field}` at the top level")
        } else {
            format!("missing required key `{field}` in `{path}`")
        };
        d.expected = Some(format!("a `{field}:` key"));
        d.hint = Some(missing_hint(path, field));
        at = locate(index, path).or_else(|| index.get("").map(|n| (n.value, 1)));
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        d.found = Some(found.to_string());
        d.expected = Some(friendly_expected(expected));
        d.message = if path.is_empty() {
            format!("the file must be a mapping of connector keys, found {found}")
        } else {
            format!(
                "wrong type for `{}`: expected {}, found {found}",
                last_segment(path),
                friendly_expected(expected)
            )
        };
        if path.is_empty() {
            at = index.get("").map(|n| (n.value, 1));
        }
        if let (Some(v), Some(n)) = (scalar_of(found), index.get(path))
            && n.scalar.as_deref() == Some(v)
        {
            at = Some((n.value, v.chars().count().max(1)));
        }
        // Inside buffered content (tagged enums) the path stops early: find the value.
        if let Some(v) = scalar_of(found)
            && index.get(path).and_then(|n| n.scalar.as_deref()) != Some(v)
            && let Some(vp) = index.find_scalar_below(path, v)
        {
            d.path = vp.clone();
            d.message = format!(
                "wrong type for `{}`: expected {}, found {found}",
                last_segment(&vp),
                friendly_expected(expected)
            );
            at = index.get(&vp).map(|n| (n.value, v.chars().count().max(1)));
        }
        if path.is_empty() {
            d.hint = Some(what_hint.to_string());
        }
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        d.found = Some(found.to_string());
        d.expected = Some(friendly_expected(expected));
        d.message = format!("invalid value for `{}`", last_segment(path));
    } else if let Some(key) = message
        .strip_prefix("duplicate entry with key ")
        .map(|r| r.trim_matches('"'))
        .or_else(|| {
            message
                .strip_prefix("duplicate field ")
                .and_then(first_backquoted)
        })
    {
        d.message = format!("duplicate key `{key}`");
        d.hint = Some(format!(
            "each key may appear once in a mapping; remove or merge the second `{key}`"
        ));
        let mut dups: Vec<&(String, Pos)> = index
            .duplicates()
            .iter()
            .filter(|(p, _)| p.rsplit('.').next() == Some(key))
            .collect();
        dups.sort_by_key(|(p, _)| !p.starts_with(path));
        if let Some((p, pos)) = dups.first() {
            d.path = p.clone();
            at = Some((*pos, key.chars().count()));
        }
    } else if message.contains("more than one document") {
        d.message = "the file holds more than one YAML document (`---`)".into();
        d.hint = Some("put one connector per file".into());
    } else if is_syntax_error(message) {
        d.message = format!("YAML syntax error: {message}");
        let unclosed = location
            .filter(|_| message.contains("did not find expected ',' or"))
            .and_then(|stop| Some((stop, crate::load_hints::unclosed_flow(source, stop)?)));
        if let Some(tab) = first_tab_indent(source) {
            d.message = "tab character used for indentation".into();
            d.hint =
                Some("YAML indentation must use spaces; replace the tab(s) with spaces".into());
            at = Some((tab, 1));
        } else if let Some((stop, (open, pos))) = unclosed {
            let close = if open == '{' { '}' } else { ']' };
            d.message = format!(
                "YAML syntax error: this `{open}` is not closed (the parser stopped at line {}, column {}: {message})",
                stop.line, stop.column
            );
            d.hint = Some(format!(
                "close it with `{close}` on the same line, or write the {} in block style, one entry per line",
                if open == '{' { "mapping" } else { "list" }
            ));
            at = Some((pos, 1));
        } else {
            d.hint = Some(
                "check the indentation and quoting near this line; quote values that contain `: ` or start with `{`, `[`, `*`, `&`, `!`, `%` or `@`"
                    .into(),
            );
        }
    } else if message.contains("EOF while parsing") {
        d.message = "the file ends where a value was expected".into();
        d.hint = Some(what_hint.to_string());
    }

    if at.is_none() && d.hint.is_none() {
        // A custom message (e.g. a bad duration) raised inside buffered content: find the
        // offending scalar, which such messages quote in backticks.
        for q in backquoted(message) {
            let here = index.get(&d.path).and_then(|n| n.scalar.as_deref()) == Some(q);
            let found = if here {
                Some(d.path.clone())
            } else {
                index.find_scalar_below(&d.path, q)
            };
            if let Some(vp) = found {
                if let Some(n) = index.get(&vp) {
                    at = Some((n.value, q.chars().count().max(1)));
                }
                d.path = vp;
                break;
            }
        }
    }
    let (pos, width) = at
        .or_else(|| location.map(|p| (p, 1)))
        .or_else(|| locate(index, &d.path))
        .unwrap_or((Pos { line: 1, column: 1 }, 1));
    d.line = pos.line;
    d.column = pos.column;
    d.width = width;
    d.severity = Severity::Error;
    d
}

fn last_segment(path: &str) -> &str {
    if path.is_empty() {
        return "the file";
    }
    path.rsplit('.').next().unwrap_or(path)
}

/// The text of a scalar in a serde "found" description: `string "abc"` → `abc`.
fn scalar_of(found: &str) -> Option<&str> {
    if let Some(s) = found.strip_prefix("string ") {
        return Some(s.trim_matches('"'));
    }
    for p in ["integer ", "floating point ", "boolean "] {
        if let Some(s) = found.strip_prefix(p) {
            return Some(s.trim_matches('`'));
        }
    }
    None
}

fn quote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn friendly_expected(e: &str) -> String {
    let t = e.trim();
    match t {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number (0 or more)".into(),
        "i32" | "i64" => "a whole number".into(),
        "f64" | "f32" => "a number".into(),
        "a boolean" | "bool" => "`true` or `false`".into(),
        "a string" => "a string".into(),
        "a sequence" => "a list".into(),
        "a map" => "a mapping (key: value)".into(),
        _ if t.starts_with("struct ") => {
            format!("a mapping of `{}` keys", t.trim_start_matches("struct "))
        }
        _ if t.starts_with("internally tagged enum ") => "a mapping with a `type:` key".into(),
        _ if t.starts_with("enum ") => format!("one of the `{}` values", &t[5..]),
        _ => t.to_string(),
    }
}

fn missing_hint(path: &str, field: &str) -> String {
    match (path, field) {
        ("", "connector") => "name the connector: `connector: my-api`".into(),
        ("", "base_url") => {
            "give the API's base URL, e.g. `base_url: \"{{settings.base_url}}\"`".into()
        }
        ("auth", "type") => {
            "say which kind of auth: `type: none | basic | api_key | bearer | oauth2 | custom`"
                .into()
        }
        ("auth", "grant") => "OAuth2 needs a grant: `grant: client_credentials` (or authorization_code, refresh_token, password, jwt_bearer, device_code)".into(),
        _ => format!("add `{field}:`; see docs/connector-reference.md for what it takes"),
    }
}

/// Parses a YAML document as JSON (a settings file, say) with located errors, within
/// `limits`.
pub fn parse_yaml_value(
    bytes: &[u8],
    file: &str,
    limits: &Limits,
) -> Result<serde_json::Value, Report> {
    parse_document::<serde_json::Value>(bytes, file, "expected a YAML or JSON document", limits)
        .map(|(v, _, _)| v)
}

/// A byte count for messages: `4 MiB`, `512 KiB`, `100 bytes`.
pub fn size_text(bytes: usize) -> String {
    const KIB: usize = 1024;
    if bytes >= KIB * KIB && bytes.is_multiple_of(KIB * KIB) {
        format!("{} MiB", bytes / (KIB * KIB))
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Serialises a value as YAML (for files wsc writes: recorded cassettes).
pub fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"))
}
