//! GraphQL requests (`request.graphql`): the JSON body built from the query document (sent as
//! written, never a template) and the variables (a template tree), and the `errors` of a
//! response, which fail the page even when the status is 200 and `data` is partly there.

use serde_json::Value;
use wsc_spec::model::GraphQlRequest;

use crate::doc::Doc;
use crate::path::CompiledPath;
use crate::template::tree::TemplateTree;
use crate::template::{Escape, Template, TemplateError, Templates};

/// The `Accept` header of a GraphQL request unless the connector sets one: the GraphQL over
/// HTTP media type first, so servers that know it answer a request error with a 4xx status.
pub(crate) const ACCEPT: &str = "application/graphql-response+json, application/json";

/// The body tree of the GraphQL request at `location` (e.g. `operations.x.request`):
/// `query` and `operationName` constant, `variables` compiled as a template tree (`{}` when
/// there are none). Adds the `Accept` header to `headers` unless they have one.
pub(crate) fn compile(
    t: &mut Templates,
    location: &str,
    g: &GraphQlRequest,
    headers: &mut Vec<(String, Template)>,
) -> Result<TemplateTree, TemplateError> {
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("accept"))
    {
        let accept = t.compile(&format!("{location}.headers.accept"), ACCEPT, Escape::None)?;
        headers.push(("accept".into(), accept));
    }
    let location = format!("{location}.graphql");
    let mut fields = vec![(
        "query".to_string(),
        TemplateTree::Const(Value::String(g.query.clone())),
    )];
    if let Some(name) = &g.operation_name {
        fields.push((
            "operationName".to_string(),
            TemplateTree::Const(Value::String(name.clone())),
        ));
    }
    let variables = match &g.variables {
        Some(v) => TemplateTree::compile(t, &format!("{location}.variables"), v)?,
        None => TemplateTree::Const(Value::Object(serde_json::Map::new())),
    };
    fields.push(("variables".to_string(), variables));
    Ok(TemplateTree::Object(fields))
}

/// `$.errors`, which the compiled projection must keep for the check of a GraphQL page.
pub(crate) fn errors_path() -> CompiledPath {
    CompiledPath::compile("$.errors").expect("a valid JSONPath")
}

/// The GraphQL errors of a response, when its `errors` list is not empty.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Errors {
    /// Each error's message with its path and code: `no user with id "x" (at deleteUser;
    /// NOT_FOUND)`, joined with `; `.
    pub(crate) message: String,
    /// A hint from the codes (`UNAUTHENTICATED`, `FORBIDDEN`) and from partial data.
    pub(crate) hint: String,
}

/// The errors of a GraphQL response body, or `None` when `errors` is absent, null or empty.
/// An `errors` value that is not a list is an error too (it says something went wrong).
pub(crate) fn errors(doc: &Doc<'_>) -> Option<Errors> {
    let errors = doc.get("errors").filter(|e| !e.is_null())?;
    let list: Vec<&Doc<'_>> = match errors {
        Doc::Array(items) if items.is_empty() => return None,
        Doc::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut parts = Vec::new();
    let mut codes: Vec<String> = Vec::new();
    for e in list.iter().take(5) {
        let message = e
            .get("message")
            .and_then(Doc::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| e.snippet(200));
        let mut notes = Vec::new();
        if let Some(Doc::Array(path)) = e.get("path") {
            let p: Vec<String> = path
                .iter()
                .map(|s| match s {
                    Doc::String(s) => s.to_string(),
                    other => other.snippet(20),
                })
                .collect();
            notes.push(format!("at {}", p.join(".")));
        }
        if let Some(code) = e
            .get("extensions")
            .and_then(|x| x.get("code"))
            .and_then(Doc::as_str)
        {
            notes.push(code.to_string());
            if !codes.iter().any(|c| c == code) {
                codes.push(code.to_string());
            }
        }
        parts.push(if notes.is_empty() {
            message
        } else {
            format!("{message} ({})", notes.join("; "))
        });
    }
    if list.len() > 5 {
        parts.push(format!("and {} more", list.len() - 5));
    }
    let mut hint = String::new();
    let has = |c: &str| codes.iter().any(|x| x.eq_ignore_ascii_case(c));
    if has("UNAUTHENTICATED") || has("UNAUTHORIZED") {
        hint.push_str(" The API did not accept the credentials: check the token (or the settings it comes from) and that it has not expired or been revoked.");
    } else if has("FORBIDDEN") {
        hint.push_str(" The credentials were accepted but lack a permission this query or mutation needs: check the token's scopes or the account's role.");
    }
    let data = doc.get("data").filter(|d| !d.is_null());
    if data.is_some() {
        hint.push_str(" The response also has `data`, but partial data is not success: what it holds is incomplete, so it is not used.");
    }
    Some(Errors {
        message: parts.join("; "),
        hint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Option<Errors> {
        let doc = Doc::parse(body.as_bytes()).unwrap();
        errors(&doc)
    }

    #[test]
    fn errors_in_a_response() {
        assert_eq!(check(r#"{"data":{"a":1}}"#), None);
        assert_eq!(check(r#"{"data":{"a":1},"errors":[]}"#), None);
        assert_eq!(check(r#"{"data":{"a":1},"errors":null}"#), None);
        let e = check(
            r#"{"errors":[{"message":"boom","path":["users","edges",2,"node","email"],"extensions":{"code":"INTERNAL_SERVER_ERROR"}}],"data":{"users":{}}}"#,
        )
        .unwrap();
        assert_eq!(
            e.message,
            "boom (at users.edges.2.node.email; INTERNAL_SERVER_ERROR)"
        );
        assert!(e.hint.contains("partial data is not success"), "{}", e.hint);
        let e = check(
            r#"{"errors":[{"message":"no token","extensions":{"code":"UNAUTHENTICATED"}}],"data":null}"#,
        )
        .unwrap();
        assert!(
            e.hint.contains("did not accept the credentials"),
            "{}",
            e.hint
        );
        assert!(!e.hint.contains("partial"), "{}", e.hint);
        let e = check(r#"{"errors":"rate limited"}"#).unwrap();
        assert_eq!(e.message, "\"rate limited\"");
    }
}
