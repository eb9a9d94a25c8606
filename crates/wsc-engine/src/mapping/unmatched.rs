//! Attribute paths that name a key no record has: almost always a typo (`$.emial`), which
//! would otherwise map `null` on every record without a word. Checked on the first page of a
//! run only, so it costs nothing per record afterwards.
//!
//! Only the leading plain names of a path are followed (`$.name.givenName`,
//! `$['urn:…:User'].manager`); a path is reported when, on every record, one of those names is
//! missing from an object that exists. A value that is `null`, an empty list, or not an object
//! where the path goes on is not a typo and is not reported.

use crate::doc::Doc;

/// An attribute path no record of a page matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The attribute (or `name`).
    pub attribute: String,
    /// Its path.
    pub path: String,
    /// The name that no record has.
    pub missing: String,
    /// The closest name the records have there.
    pub suggestion: Option<String>,
}

/// What following a path's leading names through one record found.
enum Walk {
    /// Every name was there (or the path goes on through something that is not an object).
    Reached,
    /// Name `level` was missing from an object with these keys.
    Missing(usize, Vec<String>),
}

/// The leading plain names of a JSONPath: `["name", "givenName"]` for `$.name.givenName[0]`.
pub(crate) fn leading_names(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(mut rest) = path.strip_prefix('$') else {
        return out;
    };
    loop {
        if let Some(r) = rest.strip_prefix('.') {
            if r.starts_with('.') {
                break;
            }
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() || name == "*" {
                break;
            }
            out.push(name.to_string());
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("['").or_else(|| rest.strip_prefix("[\"")) {
            let quote = if rest.starts_with("['") { "']" } else { "\"]" };
            let Some(end) = r.find(quote) else { break };
            out.push(r[..end].to_string());
            rest = &r[end + 2..];
        } else {
            break;
        }
    }
    out
}

fn walk(names: &[String], record: &Doc<'_>) -> Walk {
    let mut at = record;
    for (level, name) in names.iter().enumerate() {
        let Doc::Object(fields) = at else {
            return Walk::Reached;
        };
        match fields.iter().find(|(k, _)| k.as_ref() == name.as_str()) {
            Some((_, v)) => at = v,
            None => {
                return Walk::Missing(level, fields.iter().map(|(k, _)| k.to_string()).collect());
            }
        }
    }
    Walk::Reached
}

/// The `(attribute, path)` pairs that no record of `records` matched.
pub fn unmatched<'p>(
    paths: impl IntoIterator<Item = (&'p str, &'p str)>,
    records: &[&Doc<'_>],
) -> Vec<Unmatched> {
    if records.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    'paths: for (attribute, path) in paths {
        let names = leading_names(path);
        if names.is_empty() {
            continue;
        }
        let mut first: Option<(usize, Vec<String>)> = None;
        for r in records {
            match walk(&names, r) {
                Walk::Reached => continue 'paths,
                Walk::Missing(level, keys) => {
                    if first.is_none() {
                        first = Some((level, keys));
                    }
                }
            }
        }
        if let Some((level, keys)) = first {
            let missing = names[level].clone();
            let suggestion =
                wsc_spec::diagnostic::did_you_mean(&missing, keys.iter().map(String::as_str))
                    .map(str::to_string);
            out.push(Unmatched {
                attribute: attribute.to_string(),
                path: path.to_string(),
                missing,
                suggestion,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_names_stop_at_the_first_non_name() {
        assert_eq!(leading_names("$.name.givenName"), ["name", "givenName"]);
        assert_eq!(leading_names("$.emails[0].value"), ["emails"]);
        assert_eq!(
            leading_names("$['urn:x:User'].manager"),
            ["urn:x:User", "manager"]
        );
        assert_eq!(leading_names("$..id"), Vec::<String>::new());
        assert_eq!(leading_names("$.*"), Vec::<String>::new());
        assert_eq!(leading_names("$"), Vec::<String>::new());
    }

    #[test]
    fn only_names_missing_on_every_record_are_reported() {
        let a = Doc::parse(br#"{"email":"a@x","manager":null,"groups":[],"name":{"given":"A"}}"#)
            .unwrap();
        let b = Doc::parse(br#"{"email":"b@x","name":{"given":"B"}}"#).unwrap();
        let found = unmatched(
            [
                ("mail", "$.emial"),
                ("email", "$.email"),
                ("manager", "$.manager.id"),
                ("groups", "$.groups[*]"),
                ("given", "$.name.givn"),
                ("deep", "$..x"),
            ],
            &[&a, &b],
        );
        let got: Vec<(&str, &str, Option<&str>)> = found
            .iter()
            .map(|u| {
                (
                    u.attribute.as_str(),
                    u.missing.as_str(),
                    u.suggestion.as_deref(),
                )
            })
            .collect();
        // `manager` is null on a and missing on b: not reported (a has the key).
        assert_eq!(
            got,
            [
                ("mail", "emial", Some("email")),
                ("given", "givn", Some("given"))
            ]
        );
    }
}
