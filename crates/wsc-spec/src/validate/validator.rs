//! The validator's state and where a template is (which contexts it may read).

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::locate::{LocationIndex, locate};
use crate::model::Connector;
use crate::template::Context;

/// Where a template is, and so which contexts it may read.
#[derive(Clone, Copy, Default)]
pub(super) struct Ctx {
    pub(super) page: bool,
    /// The paging kind, when `page` is set: which `page.*` variables have values.
    pub(super) paging_kind: Option<crate::model::PagingKind>,
    pub(super) plan: bool,
    pub(super) record: bool,
    pub(super) parent: bool,
    pub(super) response: bool,
    pub(super) saved: bool,
    pub(super) auth: bool,
    pub(super) last_run: bool,
    pub(super) partition: bool,
    pub(super) change: bool,
    pub(super) headers: bool,
    pub(super) window: bool,
    /// Attribute templates: they render per record, while `state` changes during a run.
    pub(super) no_state: bool,
}

impl Ctx {
    pub(super) fn allows(&self, root: Context) -> Result<(), &'static str> {
        let (ok, why) = match root {
            Context::Settings | Context::Now => (true, ""),
            Context::State => (
                !self.no_state,
                "`state` is not set in attribute templates: they render per record while state changes during a run (map the value with a `path`, or set it in an `after` hook)",
            ),
            Context::Page => (
                self.page,
                "`page` is set only in requests that have `paging`",
            ),
            Context::Plan => (
                self.plan,
                "`plan` is set only in operations that take a provisioning plan (get_object, the write operations, authenticate)",
            ),
            Context::Record => (
                self.record,
                "`record` is set only in `for_each` steps, attribute templates, partition requests and `per_record` setup requests",
            ),
            Context::Parent => (
                self.parent,
                "`parent` is set only in nested `for_each` steps",
            ),
            Context::Response => (
                self.response,
                "`response` is set only in error-rule expressions, `stop_when` and steps after the first",
            ),
            Context::Saved => (
                self.saved,
                "`saved` is set only in steps after a step with `save`",
            ),
            Context::Auth => (
                self.auth,
                "`auth` is set only in token refresh requests (`refresh_request`, `custom_refresh`), as `auth.refresh_token`; operation requests get their credentials from `auth` itself (`token: { in: header | query, name }`)",
            ),
            Context::LastRun => (
                self.last_run,
                "`last_run` is set only in aggregations (it is empty on a first run)",
            ),
            Context::Partition => (
                self.partition,
                "`partition` is set only in the requests, steps and attribute templates of an aggregation that has `partitions` (not in error rules, `stop_when` or other operations)",
            ),
            Context::Headers => (
                self.headers,
                "`headers` (the response's headers) is set only in error-rule expressions and `stop_when`",
            ),
            Context::Window => (
                self.window,
                "`window` is set only in the requests, steps and attribute templates of an aggregation that has `windows`",
            ),
            Context::Change => (
                self.change,
                "`change` is set only in the item templates of a write operation's `changes`",
            ),
        };
        if ok { Ok(()) } else { Err(why) }
    }
}

/// Fields that carry secrets: a literal value there is a secret written into the file.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Secrecy {
    Plain,
    Secret,
}

pub(super) struct Validator<'a> {
    pub(super) c: &'a Connector,
    pub(super) dir: &'a Path,
    pub(super) index: &'a LocationIndex,
    pub(super) diags: Vec<Diagnostic>,
    /// While an auth alternative is validated: where it is (`auth.alternatives.oauth`). The
    /// auth checks name their keys from `auth`; diagnostics are moved there.
    pub(super) auth_base: Option<String>,
    /// While a `format: xml` operation is validated: the namespace prefixes its XPaths may
    /// use (its paths are XPaths, not JSONPaths).
    pub(super) xml_prefixes: Option<Vec<String>>,
}

impl Validator<'_> {
    /// `path` as it is in the file: paths under `auth` moved under the alternative being
    /// validated, if any.
    pub(super) fn in_file(&self, path: &str) -> String {
        match &self.auth_base {
            Some(base) if path == "auth" => base.clone(),
            Some(base) if path.starts_with("auth.") || path.starts_with("auth[") => {
                format!("{base}{}", &path[4..])
            }
            _ => path.to_string(),
        }
    }

    pub(super) fn push(&mut self, path: &str, mut d: Diagnostic) {
        let path = &self.in_file(path);
        d.path = path.to_string();
        if let Some((pos, width)) = locate(self.index, path) {
            d.line = pos.line;
            d.column = pos.column;
            d.width = width;
        }
        self.diags.push(d);
    }

    /// [`push`](Self::push), pointing at character `at` (from 1) of the scalar value at
    /// `path` when its text stands in the file as it is (one line, no escapes), else at the
    /// key.
    pub(super) fn push_at_char(&mut self, path: &str, d: Diagnostic, at: usize) {
        let node = self.index.get(&self.in_file(path)).cloned();
        self.push(path, d);
        let Some(node) = node else { return };
        let Some(text) = &node.scalar else { return };
        let verbatim = !text.contains('\n')
            && !(node.quoted && (text.contains('\\') || text.contains('"') || text.contains('\'')));
        if verbatim
            && at >= 1
            && at <= text.chars().count() + 1
            && let Some(last) = self.diags.last_mut()
        {
            last.line = node.value.line;
            last.column = node.value.column + usize::from(node.quoted) + at - 1;
            last.width = 1;
        }
    }

    pub(super) fn error(&mut self, path: &str, msg: impl Into<String>, hint: Option<String>) {
        let mut d = Diagnostic::error(msg);
        d.hint = hint;
        self.push(path, d);
    }
}

pub(super) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
