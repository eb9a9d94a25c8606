//! Every independent structural error of a document at once. Deserializing into the typed
//! model stops at the first key that does not fit; to find the next one, that key is taken out
//! of the document tree and the tree is deserialized again, until it fits or no key can be
//! taken out (a required key that is missing from the top, a list item). The repaired value is
//! kept, so semantic validation can still run on the rest of the document; the paths taken out
//! tell which semantic findings to leave out as consequences of the repair.

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use crate::locate::{join_index, join_key};

/// Most structural errors reported for one document.
const MAX_ERRORS: usize = 50;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A mapping key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// The steps of a serde path, up to the first one that cannot be followed in a YAML tree.
pub(crate) fn segments(path: &serde_path_to_error::Path) -> Vec<Seg> {
    use serde_path_to_error::Segment;
    let mut out = Vec::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push(Seg::Index(*index)),
            Segment::Map { key } => out.push(Seg::Key(key.clone())),
            Segment::Enum { variant } => out.push(Seg::Key(variant.clone())),
            Segment::Unknown => break,
        }
    }
    out
}

/// `a.b[0].c` for a list of steps.
pub(crate) fn path_text(segs: &[Seg]) -> String {
    segs.iter().fold(String::new(), |acc, s| match s {
        Seg::Key(k) => join_key(&acc, k),
        Seg::Index(i) => join_index(&acc, *i),
    })
}

/// The key an error is about: the unknown key itself for `unknown field`, else the path.
fn target(mut segs: Vec<Seg>, message: &str) -> Vec<Seg> {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some(field) = rest.split('`').next()
        && segs.last() != Some(&Seg::Key(field.to_string()))
    {
        segs.push(Seg::Key(field.to_string()));
    }
    segs
}

/// Takes the key at `segs` out of `tree`; `false` when it cannot (the root, a list item, a
/// path that is not in the tree).
fn remove(tree: &mut Value, segs: &[Seg]) -> bool {
    let Some((last, parents)) = segs.split_last() else {
        return false;
    };
    let mut at = tree;
    for s in parents {
        at = match (s, at) {
            (Seg::Key(k), Value::Mapping(m)) => match m.get_mut(k.as_str()) {
                Some(v) => v,
                None => return false,
            },
            (Seg::Index(i), Value::Sequence(items)) => match items.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, at) {
        (Seg::Key(k), Value::Mapping(m)) => m.shift_remove(k.as_str()).is_some(),
        _ => false,
    }
}

/// The key an `unknown field` message most likely meant, among those it lists.
fn meant_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    crate::diagnostic::did_you_mean(field, candidates).map(str::to_string)
}

/// Renames the key at `segs` to `to`, unless its mapping has `to` already.
fn rename(tree: &mut Value, segs: &[Seg], to: &str) -> bool {
    let Some((Seg::Key(from), parents)) = segs.split_last() else {
        return false;
    };
    let mut at = tree;
    for s in parents {
        at = match (s, at) {
            (Seg::Key(k), Value::Mapping(m)) => match m.get_mut(k.as_str()) {
                Some(v) => v,
                None => return false,
            },
            (Seg::Index(i), Value::Sequence(items)) => match items.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    let Value::Mapping(m) = at else { return false };
    if m.contains_key(to) {
        return false;
    }
    match m.shift_remove(from.as_str()) {
        Some(v) => {
            m.insert(Value::String(to.to_string()), v);
            true
        }
        None => false,
    }
}

/// What the repair found after the first error.
pub(crate) struct Repaired<T> {
    /// Further errors: (key path, message), in the order found.
    pub(crate) errors: Vec<(String, String)>,
    /// The document without the keys taken out, when it then fits the model.
    pub(crate) value: Option<T>,
    /// Where findings of semantic validation would be consequences of the repair: an
    /// unknown key taken out, or the mapping that lost a key of the wrong type.
    pub(crate) removed: Vec<String>,
}

/// Starting from the first error (`first`, `first_message`), takes keys out of `tree` one by
/// one and collects the errors that follow.
pub(crate) fn repair<T: DeserializeOwned>(
    mut tree: Value,
    first: Vec<Seg>,
    first_message: &str,
) -> Repaired<T> {
    let mut out = Repaired {
        errors: Vec::new(),
        value: None,
        removed: Vec::new(),
    };
    // The key paths taken out.
    let mut taken: Vec<String> = Vec::new();
    let mut message = first_message.to_string();
    let mut next = target(first, &message);
    loop {
        if out.errors.len() >= MAX_ERRORS {
            return out;
        }
        // A misspelt key (`pagination`, `identiy`) is read as the key it was meant to be, so
        // what depends on it (`page.*` needs `paging`) is not reported as well; findings
        // inside it wait for the name to be fixed. Any other unknown key means nothing and is
        // taken out. A key of the wrong type is taken out, and findings about the mapping that
        // lost it follow from that.
        if let Some(meant) = meant_key(&message)
            && rename(&mut tree, &next, &meant)
        {
            let mut renamed = next.clone();
            renamed.pop();
            renamed.push(Seg::Key(meant));
            out.removed.push(path_text(&renamed));
            out.removed.push(path_text(&next));
        } else if remove(&mut tree, &next) {
            taken.push(path_text(&next));
            out.removed.push(if message.starts_with("unknown field `") {
                path_text(&next)
            } else {
                path_text(&next[..next.len() - 1])
            });
        } else {
            return out;
        }
        match serde_path_to_error::deserialize::<_, T>(tree.clone()) {
            Ok(v) => {
                out.value = Some(v);
                return out;
            }
            Err(e) => {
                let segs = segments(e.path());
                let path = path_text(&segs);
                let text = e.into_inner().to_string();
                message = match text.strip_prefix(&format!("{path}: ")) {
                    Some(m) => m.to_string(),
                    None => text,
                };
                // A required key missing because it was taken out: a consequence of the
                // repair, not a finding, and nothing more can be taken out to go on.
                if let Some(rest) = message.strip_prefix("missing field `")
                    && let Some(field) = rest.split('`').next()
                    && taken.contains(&join_key(&path, field))
                {
                    return out;
                }
                next = target(segs, &message);
                out.errors.push((path, message.clone()));
            }
        }
    }
}

/// Whether two key paths are the same key or one holds the other.
pub(crate) fn related(a: &str, b: &str) -> bool {
    let holds = |outer: &str, inner: &str| {
        inner == outer
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    holds(a, b) || holds(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        a: u32,
        #[serde(default)]
        b: Option<u32>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
    }

    fn first(y: &str) -> (Value, Vec<Seg>, String) {
        let tree: Value = serde_yaml::from_str(y).unwrap();
        let e = serde_path_to_error::deserialize::<_, Outer>(tree.clone()).unwrap_err();
        let segs = segments(e.path());
        let path = path_text(&segs);
        let m = e.into_inner().to_string();
        let m = m
            .strip_prefix(&format!("{path}: "))
            .map(str::to_string)
            .unwrap_or(m);
        (tree, segs, m)
    }

    #[test]
    fn independent_errors_are_all_found_and_the_rest_is_kept() {
        let (tree, segs, m) =
            first("name: x\nextra: 1\ninner: { a: 1, b: nope }\nlist: [ { a: 1, c: 2 } ]\n");
        assert!(m.starts_with("unknown field `extra`"), "{m}");
        let r = repair::<Outer>(tree, segs, &m);
        let paths: Vec<&str> = r.errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["inner.b", "list[0].c"], "{:?}", r.errors);
        assert!(r.errors[1].1.starts_with("unknown field `c`"));
        assert!(r.value.is_some());
        assert_eq!(r.removed, ["extra", "inner", "list[0].c"]);
    }

    #[test]
    fn a_missing_required_key_caused_by_the_repair_is_not_reported() {
        let (tree, segs, m) = first("name: x\ninner: { a: nope }\n");
        let r = repair::<Outer>(tree, segs, &m);
        // `inner.a` taken out leaves `inner` without its required `a`: not a finding.
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert!(r.value.is_none());
    }

    #[test]
    fn related_paths_respect_key_boundaries() {
        assert!(related("a.b", "a.b.c"));
        assert!(related("a.b[0]", "a.b"));
        assert!(!related("a.b", "a.bc"));
    }
}
