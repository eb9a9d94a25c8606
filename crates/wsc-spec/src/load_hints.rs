//! Small readings of YAML text and of the model used by the loader's error messages: which
//! auth kind has a key, merge keys, syntax errors, tab indentation.

use crate::locate::Pos;

/// The auth kind that has a key, for "this key belongs elsewhere" hints.
pub(crate) fn auth_kind_with_key(key: &str) -> Option<&'static str> {
    use schemars::JsonSchema as _;
    let mut generator = schemars::SchemaGenerator::default();
    let kinds = [
        (
            "basic",
            crate::model::BasicAuth::json_schema(&mut generator),
        ),
        (
            "api_key",
            crate::model::ApiKeyAuth::json_schema(&mut generator),
        ),
        (
            "bearer",
            crate::model::BearerAuth::json_schema(&mut generator),
        ),
        (
            "oauth2",
            crate::model::OAuth2Auth::json_schema(&mut generator),
        ),
        (
            "custom",
            crate::model::CustomAuth::json_schema(&mut generator),
        ),
        (
            "alternatives",
            crate::model::AuthAlternatives::json_schema(&mut generator),
        ),
    ];
    kinds.into_iter().find_map(|(name, schema)| {
        schema
            .get("properties")
            .and_then(|p| p.as_object())
            .filter(|p| p.contains_key(key))
            .map(|_| name)
    })
}

/// Whether the document uses a YAML merge key (`<<:`) outside comments.
pub(crate) fn has_merge_key(source: &str) -> bool {
    source.lines().any(|l| {
        let t = l.trim_start().trim_start_matches("- ");
        t.starts_with("<<:") || t.contains("{ <<:") || t.contains(", <<:")
    })
}

pub(crate) fn is_syntax_error(message: &str) -> bool {
    [
        "found character",
        "mapping values are not allowed",
        "did not find expected",
        "could not find expected",
        "found unexpected",
        "while scanning",
        "while parsing",
        "control characters",
        "found undefined tag",
        "block sequence entries are not allowed",
        "invalid leading UTF-8",
        "found incompatible",
        "unknown anchor",
    ]
    .iter()
    .any(|p| message.contains(p))
}

pub(crate) fn first_tab_indent(source: &str) -> Option<Pos> {
    for (i, line) in source.lines().enumerate() {
        let lead: String = line
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        if let Some(col) = lead.find('\t')
            && line.len() > lead.len()
        {
            return Some(Pos {
                line: i + 1,
                column: col + 1,
            });
        }
    }
    None
}

/// The innermost flow collection (`{` or `[`) still open at `upto` (the place a YAML parser
/// gave up, usually the next line or the end of the file): where an unclosed `{ ...` or
/// `[ ...` starts. Quoted text and comments are skipped.
pub(crate) fn unclosed_flow(source: &str, upto: Pos) -> Option<(char, Pos)> {
    let mut open: Vec<(char, Pos)> = Vec::new();
    for (li, line) in source.lines().enumerate().take(upto.line) {
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        let mut escaped = false;
        for (ci, c) in line.chars().enumerate() {
            let pos = Pos {
                line: li + 1,
                column: ci + 1,
            };
            if pos.line == upto.line && pos.column >= upto.column {
                break;
            }
            match quote {
                Some('"') if escaped => escaped = false,
                Some('"') if c == '\\' => escaped = true,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '"' | '\'' if matches!(prev, ' ' | '{' | '[' | ',' | ':') => quote = Some(c),
                    '#' if prev == ' ' || ci == 0 => break,
                    '{' | '[' => open.push((c, pos)),
                    '}' | ']' => {
                        open.pop();
                    }
                    _ => {}
                },
            }
            prev = c;
        }
    }
    open.pop()
}

#[cfg(test)]
mod flow_tests {
    use super::{Pos, unclosed_flow};

    #[test]
    fn finds_the_unclosed_brace() {
        let src = "a:\n  request: { path: \"/u{x}\", q: [1, 2]\n  records: x\n";
        let (c, at) = unclosed_flow(
            src,
            Pos {
                line: 3,
                column: 10,
            },
        )
        .unwrap();
        assert_eq!((c, at.line, at.column), ('{', 2, 12));
        assert!(unclosed_flow("a: { b: 1 }\nc: 2\n", Pos { line: 2, column: 2 }).is_none());
    }
}
