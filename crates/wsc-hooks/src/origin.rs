//! Where a hook comes from: its kind, its connector, its file or its place in the connector.

use std::fmt;
use std::path::{Path, PathBuf};

use wsc_spec::locate::LocationIndex;

/// Which of the four hook points a script is compiled for. It decides which variables the
/// script sees (see [`HookKind::variables`]); a script that uses a variable its kind does not
/// have fails to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookKind {
    /// `hooks.before`: runs before each request.
    Before,
    /// `hooks.after`: runs after each response.
    After,
    /// `hooks.before_operation`: runs once before the operation.
    BeforeOperation,
    /// `hooks.after_operation`: runs once after the operation.
    AfterOperation,
}

impl HookKind {
    /// The key of this hook in a connector's `hooks` block.
    pub fn key(self) -> &'static str {
        match self {
            HookKind::Before => "before",
            HookKind::After => "after",
            HookKind::BeforeOperation => "before_operation",
            HookKind::AfterOperation => "after_operation",
        }
    }

    /// The variables a script of this kind sees, in the order they are defined.
    pub fn variables(self) -> &'static [&'static str] {
        match self {
            HookKind::Before => &[
                "operation",
                "settings",
                "plan",
                "page",
                "prev",
                "state",
                "request",
            ],
            HookKind::After => &[
                "operation",
                "settings",
                "plan",
                "page",
                "prev",
                "state",
                "response",
                "records",
            ],
            HookKind::BeforeOperation => &["operation", "settings", "state", "plan"],
            HookKind::AfterOperation => &["operation", "settings", "plan", "state", "result"],
        }
    }
}

impl fmt::Display for HookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourcePos {
    /// Line, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
}

impl SourcePos {
    /// A position.
    pub fn new(line: usize, column: usize) -> SourcePos {
        SourcePos { line, column }
    }
}

impl Default for SourcePos {
    fn default() -> Self {
        SourcePos { line: 1, column: 1 }
    }
}

/// Where a hook comes from, for compiling it and for naming it in errors and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookOrigin {
    /// The connector file (as it should appear in messages).
    pub connector_file: PathBuf,
    /// The hook's name in messages and logs, usually its key path:
    /// `operations.account_aggregation.hooks.after`.
    pub name: String,
    /// Which hook point the script is for.
    pub kind: HookKind,
    /// For a file hook: the file to read. When `None`, the hook's `file` is taken relative to
    /// the connector file's directory.
    pub hook_file: Option<PathBuf>,
    /// For an inline hook: where the first character of the script is in the connector file,
    /// so errors point into the connector. The column is added to every line of the script,
    /// which is right for YAML block scalars (`script: |`), whose lines share one indentation.
    /// See [`inline_position`]. Default 1:1 (positions relative to the script).
    pub inline_start: SourcePos,
}

impl HookOrigin {
    /// An origin for hook `name` of kind `kind` in `connector_file`.
    pub fn new(
        connector_file: impl Into<PathBuf>,
        name: impl Into<String>,
        kind: HookKind,
    ) -> HookOrigin {
        HookOrigin {
            connector_file: connector_file.into(),
            name: name.into(),
            kind,
            hook_file: None,
            inline_start: SourcePos::default(),
        }
    }

    /// Sets the path of the hook file to read (already resolved against the connector's
    /// directory).
    pub fn with_hook_file(mut self, path: impl Into<PathBuf>) -> HookOrigin {
        self.hook_file = Some(path.into());
        self
    }

    /// Sets where an inline script starts in the connector file.
    pub fn with_inline_start(mut self, start: SourcePos) -> HookOrigin {
        self.inline_start = start;
        self
    }

    /// The file a `file:` hook refers to: [`HookOrigin::hook_file`], or `file` relative to the
    /// connector file's directory.
    pub fn resolve_file(&self, file: &str) -> PathBuf {
        if let Some(p) = &self.hook_file {
            return p.clone();
        }
        let dir = self
            .connector_file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        dir.join(file)
    }
}

/// Where the text of the inline script at `key_path` (e.g.
/// `operations.account_aggregation.hooks.after.script`) starts in `connector_source`, the YAML
/// text of the connector. Handles plain, quoted and block (`|`, `>`) scalars; `None` when the
/// key is not found.
///
/// For a block scalar the result is the first non-blank content line and its indentation, so
/// every script line maps to the right connector line and column. For a quoted scalar with
/// escapes, columns after the first escape may be off.
pub fn inline_position(connector_source: &str, key_path: &str) -> Option<SourcePos> {
    let index = LocationIndex::build(connector_source);
    let node = index.get(key_path)?;
    let value = node.value;
    let lines: Vec<&str> = connector_source.lines().collect();
    let line_text = lines.get(value.line.checked_sub(1)?)?;
    let rest: String = line_text
        .chars()
        .skip(value.column.saturating_sub(1))
        .collect();
    let rest = rest.trim_start();
    if rest.starts_with('|') || rest.starts_with('>') {
        // Block scalar: content starts on the first non-blank line below the indicator.
        for (i, l) in lines.iter().enumerate().skip(value.line) {
            if l.trim().is_empty() {
                continue;
            }
            let indent = l.chars().take_while(|c| *c == ' ').count();
            return Some(SourcePos::new(i + 1, indent + 1));
        }
        return None;
    }
    Some(SourcePos::new(
        value.line,
        value.column + usize::from(node.quoted),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_scalar_position() {
        let src = "name: x\noperations:\n  a:\n    hooks:\n      after:\n        script: |\n          let x = 1;\n          records\n";
        let p = inline_position(src, "operations.a.hooks.after.script").unwrap();
        assert_eq!(p, SourcePos::new(7, 11));
    }

    #[test]
    fn plain_and_quoted_scalar_position() {
        let src = "hooks:\n  after: { script: \"records\" }\n  before:\n    script: request\n";
        assert_eq!(
            inline_position(src, "hooks.after.script").unwrap(),
            SourcePos::new(2, 21)
        );
        assert_eq!(
            inline_position(src, "hooks.before.script").unwrap(),
            SourcePos::new(4, 13)
        );
    }

    #[test]
    fn resolves_relative_to_connector() {
        let o = HookOrigin::new("connectors/acme.yaml", "h", HookKind::After);
        assert_eq!(
            o.resolve_file("hooks/a.rhai"),
            PathBuf::from("connectors/hooks/a.rhai")
        );
        let o = HookOrigin::new("acme.yaml", "h", HookKind::After);
        assert_eq!(o.resolve_file("a.rhai"), PathBuf::from("./a.rhai"));
    }
}
