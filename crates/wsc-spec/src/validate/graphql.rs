//! GraphQL requests: the query document checked lightly (it is not parsed against a schema:
//! wsc has none), the variables as a template tree, and no other body beside them.

use crate::locate::join_key;
use crate::model::{GraphQlRequest, Method, RequestSpec};

use super::validator::{Ctx, Validator};

impl Validator<'_> {
    pub(super) fn graphql(&mut self, path: &str, r: &RequestSpec, g: &GraphQlRequest, ctx: Ctx) {
        let at = join_key(path, "graphql");
        if r.body.is_some() || !r.form.is_empty() || !r.multipart.is_empty() || r.raw.is_some() {
            self.error(
                &at,
                "a `graphql` request builds its own JSON body; it cannot also have `body`, `form`, `multipart` or `raw`",
                Some("put the values in `graphql.variables`".into()),
            );
        }
        if !matches!(r.method, Method::Get | Method::Post) {
            self.error(
                &join_key(path, "method"),
                format!(
                    "a `graphql` request is POSTed, not sent with {}",
                    r.method.as_str()
                ),
                Some("leave `method` out (or write `method: POST`)".into()),
            );
        }
        let q = join_key(&at, "query");
        if let Err((message, hint)) = check_document(&g.query) {
            self.error(&q, message, hint);
        }
        if let Some(name) = &g.operation_name {
            let named = operation_names(&g.query);
            if !named.iter().any(|n| n == name) {
                self.error(
                    &join_key(&at, "operation_name"),
                    format!("the query has no operation named `{name}`"),
                    Some(if named.is_empty() {
                        "name the operation in the query, e.g. `query ListUsers($after: String) { ... }`".into()
                    } else {
                        format!("the query names: {}", named.join(", "))
                    }),
                );
            }
        }
        if let Some(v) = &g.variables {
            if !v.is_object() {
                self.error(
                    &join_key(&at, "variables"),
                    "`variables` is a mapping of variable names to values",
                    Some("e.g. `variables: { first: 100, after: \"{{page.cursor}}\" }`".into()),
                );
            }
            self.tree(&join_key(&at, "variables"), v, ctx);
        }
    }
}

/// The document without comments and string contents: what the brace and keyword checks see.
fn strip(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    let mut chars = doc.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let block = chars.peek() == Some(&'"') && {
                    let rest: String = chars.clone().take(2).collect();
                    rest == "\"\""
                };
                out.push_str("\"\"");
                if block {
                    chars.next();
                    chars.next();
                    let mut quotes = 0;
                    for c in chars.by_ref() {
                        quotes = if c == '"' { quotes + 1 } else { 0 };
                        if quotes == 3 {
                            break;
                        }
                    }
                } else {
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        match c {
                            '\\' if !escaped => escaped = true,
                            '"' if !escaped => break,
                            _ => escaped = false,
                        }
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A light check of a GraphQL document: not empty, brackets balanced, and made of operations
/// (`query`, `mutation`, or a bare `{ ... }`) and fragments.
pub(crate) fn check_document(doc: &str) -> Result<(), (String, Option<String>)> {
    let text = strip(doc);
    if text.trim().is_empty() {
        return Err((
            "the GraphQL query is empty".into(),
            Some("e.g. `query: \"query { viewer { id } }\"`".into()),
        ));
    }
    let mut stack: Vec<(char, usize)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for c in line.chars() {
            match c {
                '{' | '(' | '[' => stack.push((c, i + 1)),
                '}' | ')' | ']' => {
                    let open = match c {
                        '}' => '{',
                        ')' => '(',
                        _ => '[',
                    };
                    match stack.pop() {
                        Some((o, _)) if o == open => {}
                        Some((o, l)) => {
                            return Err((
                                format!(
                                    "the GraphQL query closes `{o}` (line {l} of the query) with `{c}` on line {}",
                                    i + 1
                                ),
                                None,
                            ));
                        }
                        None => {
                            return Err((
                                format!(
                                    "the GraphQL query has a `{c}` on line {} that closes nothing",
                                    i + 1
                                ),
                                None,
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if let Some((o, l)) = stack.pop() {
        return Err((
            format!("the GraphQL query never closes the `{o}` of its line {l}"),
            None,
        ));
    }
    // Top level: each definition starts with a keyword (or `{`, the shorthand query).
    let mut depth = 0usize;
    let mut word = String::new();
    let mut expect_definition = true;
    let mut ops = 0;
    for c in text.chars().chain(std::iter::once(' ')) {
        if depth == 0 && (c.is_alphanumeric() || c == '_') {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            if expect_definition {
                match word.as_str() {
                    "query" | "mutation" => ops += 1,
                    "fragment" => {}
                    "subscription" => {
                        return Err((
                            "a GraphQL subscription cannot be sent as a request".into(),
                            Some("use a `query` (reads) or a `mutation` (writes)".into()),
                        ));
                    }
                    w => {
                        return Err((
                            format!(
                                "the GraphQL query starts a definition with `{w}`, not `query`, `mutation`, `fragment` or `{{`"
                            ),
                            Some("e.g. `query ListUsers($after: String) { users(after: $after) { ... } }`".into()),
                        ));
                    }
                }
                expect_definition = false;
            }
            word.clear();
        }
        match c {
            '{' | '(' | '[' => {
                if depth == 0 && c == '{' && expect_definition {
                    ops += 1;
                }
                depth += 1;
            }
            '}' | ')' | ']' => {
                depth -= 1;
                if depth == 0 && c == '}' {
                    expect_definition = true;
                }
            }
            _ => {}
        }
    }
    if ops == 0 {
        return Err((
            "the GraphQL query has no operation, only fragments".into(),
            Some("add a `query { ... }` or `mutation { ... }`".into()),
        ));
    }
    Ok(())
}

/// The names of the operations in a document (`query ListUsers` → `ListUsers`).
fn operation_names(doc: &str) -> Vec<String> {
    let text = strip(doc);
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| matches!(w[0], "query" | "mutation"))
        .map(|w| w[1].to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        assert!(check_document("query { viewer { id } }").is_ok());
        assert!(check_document("{ viewer { id } }").is_ok());
        assert!(
            check_document(
                "# list\nquery List($after: String) {\n  users(after: $after, q: \"}{\") { id }\n}\nfragment F on User { id }"
            )
            .is_ok()
        );
        assert!(check_document("mutation M($i: [ID!]!) { a(ids: $i) { b } }").is_ok());
        let e = |d: &str| check_document(d).unwrap_err().0;
        assert!(e("  ").contains("empty"));
        assert!(
            e("query { users { id }").contains("never closes"),
            "{}",
            e("query { users { id }")
        );
        assert!(e("query { users { id ) }").contains("closes `{`"));
        assert!(e("users { id }").contains("`users`"));
        assert!(e("subscription { x }").contains("subscription"));
        assert!(e("fragment F on User { id }").contains("no operation"));
        assert_eq!(
            operation_names("query A { x } mutation B($x: Int) { y }"),
            ["A", "B"]
        );
    }
}
