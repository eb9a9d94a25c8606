//! JSON syntax errors, with line and column.

use super::MAX_DEPTH;

/// Where and why a body is not valid JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at line {line} column {column}")]
pub struct DocError {
    /// What is wrong.
    pub kind: DocErrorKind,
    /// 1-based line of the offending character.
    pub line: usize,
    /// 1-based column (in characters) of the offending character.
    pub column: usize,
    /// Byte offset of the offending character.
    pub offset: usize,
}

impl DocError {
    /// Whether the body ended too early (a truncated response).
    pub fn is_eof(&self) -> bool {
        self.kind == DocErrorKind::Eof
    }
}

/// The kinds of JSON syntax errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocErrorKind {
    /// The body ended before the value did (truncated body).
    #[error("unexpected end of JSON (truncated body?)")]
    Eof,
    /// The body is empty or only whitespace.
    #[error("empty body where JSON was expected")]
    Empty,
    /// A token that cannot start or continue the value here.
    #[error("unexpected `{0}`, expected {1}")]
    Unexpected(String, &'static str),
    /// The body is not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A bad escape sequence in a string.
    #[error("invalid escape sequence in string")]
    InvalidEscape,
    /// A `\u` escape that is half of a UTF-16 surrogate pair.
    #[error("lone UTF-16 surrogate in \\u escape")]
    LoneSurrogate,
    /// An unescaped control character (U+0000..U+001F) inside a string.
    #[error("control character inside a string (must be escaped)")]
    ControlCharacter,
    /// Malformed number.
    #[error("invalid number")]
    InvalidNumber,
    /// Text after the end of the value.
    #[error("trailing characters after the JSON value")]
    TrailingCharacters,
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}
