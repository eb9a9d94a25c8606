//! Located diagnostics and their compiler-style rendering.

use std::fmt;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The connector is usable but something is probably wrong.
    Warning,
    /// The connector cannot be used.
    Error,
}

/// One problem in a connector file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Line, from 1 (0 when unknown).
    pub line: usize,
    /// Column, from 1 (0 when unknown).
    pub column: usize,
    /// Characters to underline from `column` (at least 1).
    pub width: usize,
    /// Key path, e.g. `operations.account_aggregation.paging.kind` (empty at the top level).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// What was expected, when known.
    pub expected: Option<String>,
    /// What was found, when known.
    pub found: Option<String>,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A new error with no location yet.
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            line: 0,
            column: 0,
            width: 1,
            path: String::new(),
            message: message.into(),
            expected: None,
            found: None,
            hint: None,
        }
    }

    /// A new warning with no location yet.
    pub fn warning(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    /// Sets the key path.
    pub fn at_path(mut self, path: impl Into<String>) -> Diagnostic {
        self.path = path.into();
        self
    }

    /// Sets the expectation.
    pub fn expected(mut self, e: impl Into<String>) -> Diagnostic {
        self.expected = Some(e.into());
        self
    }

    /// Sets what was found.
    pub fn found(mut self, f: impl Into<String>) -> Diagnostic {
        self.found = Some(f.into());
        self
    }

    /// Sets the hint.
    pub fn hint(mut self, h: impl Into<String>) -> Diagnostic {
        self.hint = Some(h.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// All diagnostics of one file, with the source text needed to render them.
#[derive(Debug, Clone)]
pub struct Report {
    /// The file as the user named it.
    pub file: String,
    /// The file's text (possibly lossy for non-UTF-8 input).
    pub source: String,
    /// Diagnostics, errors first, each group in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// Renders every diagnostic like a compiler: header, `--> file:line:col`, the offending
    /// line with a caret, then expected / found / hint notes.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            render_one(&mut out, &self.file, &self.source, d);
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

fn render_one(out: &mut String, file: &str, source: &str, d: &Diagnostic) {
    use std::fmt::Write;
    let label = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{label}: {}", visible(&d.message));
    if d.line > 0 {
        let _ = writeln!(out, "  --> {file}:{}:{}", d.line, d.column.max(1));
    } else {
        let _ = writeln!(out, "  --> {file}");
    }
    if !d.path.is_empty() {
        let _ = writeln!(out, "   = at: {}", visible(&d.path));
    }
    if d.line > 0
        && let Some(text) = source.lines().nth(d.line - 1)
    {
        let num = d.line.to_string();
        let pad = " ".repeat(num.len());
        // A long line is shown as a window of 200 characters around the column.
        let col = d.column.max(1);
        let skip = if col > 150 { col - 100 } else { 0 };
        let mut shown: String = if skip > 0 {
            "…".into()
        } else {
            String::new()
        };
        // The caret's column in the shown line: invisible characters are shown as `<U+FEFF>`,
        // wider than the one column they take in the file.
        let mut caret = if skip > 0 { 1 } else { 0 };
        for (i, c) in text.chars().skip(skip).take(200).enumerate() {
            let piece = match c {
                '\t' => "→".to_string(),
                c if is_invisible(c) => format!("<U+{:04X}>", c as u32),
                c if c.is_control() => "�".to_string(),
                c => c.to_string(),
            };
            if i + 1 < col - skip {
                caret += piece.chars().count();
            }
            shown.push_str(&piece);
        }
        let col = caret + 1;
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{num} | {shown}");
        let width = d
            .width
            .max(1)
            .min(shown.chars().count().saturating_sub(col - 1).max(1));
        let _ = writeln!(out, "{pad} | {}{}", " ".repeat(col - 1), "^".repeat(width));
    }
    if let Some(e) = &d.expected {
        let _ = writeln!(out, "   = expected: {}", visible(e));
    }
    if let Some(f) = &d.found {
        let _ = writeln!(out, "   = found: {}", visible(f));
    }
    if let Some(h) = &d.hint {
        let _ = writeln!(out, "   = help: {}", visible(h));
    }
    out.push('\n');
}

/// Characters that show nothing (or look like a space) but make a name differ: a byte-order
/// mark inside a file, zero-width spaces and joiners, direction marks, soft hyphens.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{00A0}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Text with invisible characters written as `<U+FEFF>`, so `de\u{FEFF}mo` does not look
/// like `demo`.
pub fn visible(text: &str) -> String {
    if !text.chars().any(is_invisible) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if is_invisible(c) {
                format!("<U+{:04X}>", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The closest candidate to `word`, if it is close enough to be a likely misspelling: among
/// the candidates similar enough (Jaro-Winkler), the one fewest edits away (`atributes` →
/// `attributes`, not `attribute`).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let lc = c.to_ascii_lowercase();
            let score = strsim::jaro_winkler(&lower, &lc);
            (c, score, strsim::damerau_levenshtein(&lower, &lc))
        })
        .filter(|(c, s, d)| {
            *s >= 0.82 || c.eq_ignore_ascii_case(word) || (*d <= 1 && word.chars().count() >= 3)
        })
        .min_by(|a, b| a.2.cmp(&b.2).then(b.1.total_cmp(&a.1)))
        .map(|(c, _, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let c = ["paging", "request", "records"];
        assert_eq!(did_you_mean("pagin", c), Some("paging"));
        assert_eq!(did_you_mean("recrods", c), Some("records"));
        assert_eq!(did_you_mean("zzz", c), None);
        let plan_keys = ["attribute", "attributes", "identity"];
        assert_eq!(did_you_mean("atributes", plan_keys), Some("attributes"));
        assert_eq!(did_you_mean("atribute", plan_keys), Some("attribute"));
        // One transposition in a short word.
        assert_eq!(did_you_mean("nwe", ["new", "old"]), Some("new"));
    }

    #[test]
    fn renders_caret_under_column() {
        let r = Report {
            file: "x.yaml".into(),
            source: "a: 1\nbb: 2\n".into(),
            diagnostics: vec![
                Diagnostic {
                    line: 2,
                    column: 1,
                    width: 2,
                    ..Diagnostic::error("unknown key `bb`")
                }
                .hint("did you mean `b`?"),
            ],
        };
        let text = r.render();
        assert!(text.contains("  --> x.yaml:2:1\n"), "{text}");
        assert!(text.contains("2 | bb: 2\n  | ^^\n"), "{text}");
        assert!(text.contains("= help: did you mean `b`?"), "{text}");
    }

    #[test]
    fn long_lines_are_shown_around_the_column() {
        let line = format!("{}X{}", "a".repeat(999), "b".repeat(100_000));
        let r = Report {
            file: "x.yaml".into(),
            source: line,
            diagnostics: vec![Diagnostic {
                line: 1,
                column: 1000,
                ..Diagnostic::error("here")
            }],
        };
        let text = r.render();
        let shown = text.lines().nth(3).unwrap();
        let caret = text.lines().nth(4).unwrap();
        assert!(shown.starts_with("1 | …aaa"), "{text}");
        assert!(shown.chars().count() < 210, "{text}");
        let at = caret.find('^').unwrap();
        assert_eq!(
            shown.chars().nth(caret[..at].chars().count()),
            Some('X'),
            "{text}"
        );
    }
}
