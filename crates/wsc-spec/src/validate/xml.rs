//! `format: xml` operations: their XPaths compile (XPath 1.0), name only declared namespace
//! prefixes, and the operation uses only what XML reading supports.

use indexmap::IndexMap;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::locate::join_key;
use crate::model::{BodyFormat, Operation};

use super::validator::Validator;

impl Validator<'_> {
    /// Checks an operation's XML keys, and sets the namespace prefixes its XPaths may use
    /// while the rest of the operation is validated (`None` for a JSON operation).
    pub(super) fn xml_operation(&mut self, path: &str, op: &Operation) {
        self.xml_prefixes = None;
        let any_xml = BodyFormat::is_xml(&op.format)
            || op.steps.iter().any(|s| BodyFormat::is_xml(&s.format));
        if !op.steps.is_empty() && any_xml && !op.errors.is_empty() {
            self.error(
                &join_key(path, "errors"),
                "operation-level `errors` are not read in a multi-step operation with XML steps",
                Some(
                    "put the error rules on the steps (`steps[i].errors`), in each step's format"
                        .into(),
                ),
            );
        }
        if !op.namespaces.is_empty() && !any_xml {
            self.error(
                &join_key(path, "namespaces"),
                "`namespaces` applies to `format: xml` operations only",
                Some("add `format: xml`, or remove `namespaces`".into()),
            );
        }
        // A multi-step operation's mapping paths are in its primary step's format.
        let primary = op.steps.iter().rev().find(|s| s.for_each.is_none());
        let (format, step_ns) = match primary {
            Some(s) => (s.format.or(op.format), Some(&s.namespaces)),
            None => (op.format, None),
        };
        self.namespaces(&join_key(path, "namespaces"), op.namespaces.map());
        if !BodyFormat::is_xml(&format) {
            return;
        }
        let mut all: IndexMap<String, String> = self.c.namespaces.map().clone();
        all.extend(op.namespaces.map().clone());
        if let Some(ns) = step_ns {
            all.extend(ns.map().clone());
        }
        self.xml_prefixes = Some(all.keys().cloned().collect());
    }

    /// Checks a step's XML keys, and sets the namespace prefixes its XPaths may use (`None`
    /// for a JSON step); returns the operation's, to restore after the step.
    pub(super) fn xml_step(
        &mut self,
        path: &str,
        op: &Operation,
        s: &crate::model::Step,
    ) -> Option<Vec<String>> {
        let outer = self.xml_prefixes.take();
        let format = s.format.or(op.format);
        if !s.namespaces.is_empty() && !BodyFormat::is_xml(&format) {
            self.error(
                &join_key(path, "namespaces"),
                "`namespaces` applies to `format: xml` steps only",
                Some(
                    "add `format: xml` to the step (or the operation), or remove `namespaces`"
                        .into(),
                ),
            );
        }
        self.namespaces(&join_key(path, "namespaces"), s.namespaces.map());
        if BodyFormat::is_xml(&format) {
            let mut all: IndexMap<String, String> = self.c.namespaces.map().clone();
            all.extend(op.namespaces.map().clone());
            all.extend(s.namespaces.map().clone());
            self.xml_prefixes = Some(all.keys().cloned().collect());
        }
        outer
    }

    /// Checks the prefixes and URIs of a `namespaces` map at `owner`.
    pub(super) fn namespaces(&mut self, owner: &str, map: &IndexMap<String, String>) {
        for (prefix, uri) in map {
            if !is_ncname(prefix) || prefix.eq_ignore_ascii_case("xml") {
                self.error(
                    &join_key(owner, prefix),
                    format!("`{prefix}` is not a namespace prefix"),
                    Some("a prefix is a name such as `u` or `soap` (letters, digits, `-`, `_`, `.`; not `xml`)".into()),
                );
            }
            if uri.trim().is_empty() {
                self.error(
                    &join_key(owner, prefix),
                    format!("namespace prefix `{prefix}` has an empty URI"),
                    Some("give the namespace URI the response declares with `xmlns`".into()),
                );
            }
        }
    }

    /// Checks one XPath (in place of a JSONPath in a `format: xml` operation).
    pub(super) fn xpath(&mut self, path: &str, src: &str, prefixes: &[String]) {
        if src.trim().is_empty() {
            self.push(
                path,
                Diagnostic::error("an empty XPath")
                    .expected("an XPath 1.0 expression such as `/users/user` or `@id`"),
            );
            return;
        }
        if let Err(offset) = crate::limits::check_jsonpath(src) {
            let start: String = src.chars().take(60).collect();
            self.push(
                path,
                Diagnostic::error(format!("invalid XPath `{start}…`"))
                    .found(format!(
                        "`(` and `[` nested deeper than {} levels (at character {})",
                        crate::limits::MAX_EXPRESSION_DEPTH,
                        src[..offset].chars().count() + 1
                    ))
                    .expected("an XPath 1.0 expression such as `/users/user[@active='true']`")
                    .hint("is the file generated or corrupted?"),
            );
            return;
        }
        if src.starts_with('$') {
            self.push(
                path,
                Diagnostic::error(format!(
                    "`{src}` is a JSONPath, but the operation reads XML"
                ))
                .expected("an XPath 1.0 expression such as `/users/user`, `@id` or `name`")
                .found(format!("`{src}`"))
                .hint(
                    "`format: xml` operations select with XPath; remove `format: xml` to read JSON",
                ),
            );
            return;
        }
        let built = match sxd_xpath::Factory::new().build(src) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err("an empty expression".to_string()),
            Err(e) => Err(describe_parse_error(&e.to_string())),
        };
        if let Err(e) = built {
            self.push(
                path,
                Diagnostic::error(format!("invalid XPath `{src}`"))
                    .found(e)
                    .expected("an XPath 1.0 expression such as `/u:users/u:user`, `@id`, `u:groups/u:group` or `count(u:item)`")
                    .hint("check brackets and quotes; attribute values in predicates are quoted: `[@type='admin']`"),
            );
            return;
        }
        for prefix in qname_prefixes(src) {
            if !prefixes.iter().any(|p| p == prefix) {
                let hint = match did_you_mean(prefix, prefixes.iter().map(String::as_str)) {
                    Some(b) => format!("did you mean `{b}`?"),
                    None => format!(
                        "declare it: `namespaces: {{ {prefix}: \"urn:...\" }}` (the URI the response declares with `xmlns`)"
                    ),
                };
                self.push(
                    path,
                    Diagnostic::error(format!(
                        "XPath `{src}` uses the namespace prefix `{prefix}`, which is not declared"
                    ))
                    .hint(hint),
                );
            }
        }
    }
}

/// The XPath parser's error in words.
fn describe_parse_error(e: &str) -> String {
    let what = if e.contains("RanOutOfInput") {
        "the expression ends too early (an unclosed `[`, `(` or quote?)"
    } else if e.contains("TrailingSlash") {
        "a trailing `/`"
    } else if e.contains("EmptyPredicate") {
        "an empty predicate `[]`"
    } else if e.contains("ExtraUnparsedTokens") {
        "text after the end of the expression"
    } else if e.contains("RightHandSideExpressionMissing") {
        "an operator without its right-hand side"
    } else if e.contains("ArgumentMissing") {
        "a function call without an argument it needs"
    } else {
        return format!("a syntax error ({e})");
    };
    what.to_string()
}

/// Whether `s` is an XML name without a colon (a namespace prefix).
fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The namespace prefixes an XPath's names use (`u` of `u:user`, `u:*`), quoted literals and
/// axes (`child::`) aside.
pub(crate) fn qname_prefixes(src: &str) -> Vec<&str> {
    let b = src.as_bytes();
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            i += 1;
            while i < b.len() && b[i] != c {
                i += 1;
            }
            i += 1;
            continue;
        }
        let name_start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80;
        let name_char = |c: u8| name_start(c) || c.is_ascii_digit() || matches!(c, b'-' | b'.');
        if name_start(c) && (i == 0 || !name_char(b[i - 1])) {
            let start = i;
            while i < b.len() && name_char(b[i]) {
                i += 1;
            }
            if i + 1 < b.len()
                && b[i] == b':'
                && b[i + 1] != b':'
                && (name_start(b[i + 1]) || b[i + 1] == b'*')
                && !(start > 0 && b[start - 1] == b'$')
            {
                let p = &src[start..i];
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            continue;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::qname_prefixes;

    #[test]
    fn prefixes_of_names_not_axes_nor_literals() {
        assert_eq!(
            qname_prefixes("/u:users/child::u:user[@a:id='x:y']/text()"),
            vec!["u", "a"]
        );
        assert_eq!(qname_prefixes("count(s:*)"), vec!["s"]);
        assert!(qname_prefixes("/users/user[name='a:b']").is_empty());
    }
}
