//! Templates: they parse, call known helpers and read contexts that exist where they are; secrets are not written literally.

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::locate::{join_index, join_key};
use crate::model::Template;
use crate::template::{self, CONTEXTS, Context, HELPERS};

use super::validator::{Ctx, Secrecy, Validator};

impl Validator<'_> {
    pub(super) fn template(&mut self, path: &str, t: &Template, ctx: Ctx, secrecy: Secrecy) {
        let src = t.as_str();
        let uses = match template::analyze(src) {
            Ok(u) => u,
            Err(e) => {
                let reason = if e.message.contains("invalid handlebars syntax") {
                    "unclosed or malformed `{{...}}` expression".to_string()
                } else {
                    e.message.clone()
                };
                let mut d = Diagnostic::error(format!("template does not parse: {reason}"))
                    .found(format!("`{}`", shorten(src)));
                d = d.hint(if src.matches("{{").count() != src.matches("}}").count() {
                    "every `{{` needs a matching `}}`".to_string()
                } else {
                    "check the Handlebars syntax: `{{settings.name}}`, `{{#if x}}...{{/if}}`"
                        .to_string()
                });
                self.push(path, d);
                if let (Some((1, col)), Some(n)) = (e.pos, self.index.get(&self.in_file(path)))
                    && let Some(last) = self.diags.last_mut()
                {
                    last.line = n.value.line;
                    last.column = n.value.column + col - 1 + usize::from(n.quoted);
                }
                return;
            }
        };
        for h in &uses.helpers {
            if !HELPERS.contains(&h.as_str()) {
                let hint = did_you_mean(h, HELPERS.iter().copied())
                    .map(|b| format!("did you mean `{b}`?"))
                    .unwrap_or_else(|| format!("available helpers: {}", HELPERS.join(", ")));
                self.push(
                    path,
                    Diagnostic::error(format!("unknown template helper `{h}`")).hint(hint),
                );
            }
        }
        for lit in &uses.json_literals {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(lit) {
                self.push(
                    path,
                    Diagnostic::error(format!(
                        "`json` reads a quoted literal as JSON text, but `{}` is not JSON ({e})",
                        shorten(lit)
                    ))
                    .hint("write JSON inside the quotes, e.g. `(json '[]')` or `(json '{\"a\": 1}')`; to insert text, leave out `json`"),
                );
            }
        }
        for u in &uses.paths {
            let root = u.root.as_str();
            let Some(context) = u.context() else {
                let hint = match did_you_mean(root, CONTEXTS.iter().copied()) {
                    Some(b) => format!("did you mean `{b}`?"),
                    None if self.c.settings.contains_key(root) => {
                        format!("settings are read as `settings.{root}`")
                    }
                    None => format!("templates read: {}", CONTEXTS.join(", ")),
                };
                self.push(
                    path,
                    Diagnostic::error(format!(
                        "unknown template context `{root}` in `{}`",
                        shorten(src)
                    ))
                    .expected(format!("one of {}", CONTEXTS.join(", ")))
                    .hint(hint),
                );
                continue;
            };
            if let Err(why) = ctx.allows(context) {
                self.push(
                    path,
                    Diagnostic::error(format!(
                        "`{root}` is not available here (in `{}`)",
                        shorten(src)
                    ))
                    .hint(why.to_string()),
                );
                continue;
            }
            if context == Context::Page
                && let Some(kind) = ctx.paging_kind
            {
                self.page_variable(path, src, u.rest.as_str(), kind);
            }
            if context == Context::Settings {
                let name = u.rest.split(['.', '[', '/']).next().unwrap_or("");
                if name.is_empty() {
                    self.error(
                        path,
                        "`settings` must be followed by a setting name, e.g. `settings.base_url`",
                        None,
                    );
                } else {
                    self.setting_ref(path, name);
                    if secrecy == Secrecy::Secret
                        && let Some(s) = self.c.settings.get(name)
                        && !s.secret
                    {
                        self.push(
                                    path,
                                    Diagnostic::warning(format!("`{path}` holds a secret but setting `{name}` is not marked secret"))
                                        .hint(format!("add `secret: true` to `settings.{name}` so it is redacted from logs, errors and fixtures")),
                                );
                    }
                }
            }
        }
        if secrecy == Secrecy::Secret && uses.paths.is_empty() && !src.trim().is_empty() {
            self.push(
                path,
                Diagnostic::error("a secret is written literally in the connector file")
                    .hint("declare a secret setting (`settings: { NAME: { secret: true } }`) and refer to it: `\"{{settings.NAME}}\"`"),
            );
        }
    }

    /// Checks every string leaf of a body tree as a template.
    pub(super) fn tree(&mut self, path: &str, v: &serde_json::Value, ctx: Ctx) {
        match v {
            serde_json::Value::String(s) => {
                self.template(path, &Template(s.clone()), ctx, Secrecy::Plain)
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.tree(&join_index(path, i), x, ctx);
                }
            }
            serde_json::Value::Object(o) => {
                for (k, x) in o {
                    self.tree(&join_key(path, k), x, ctx);
                }
            }
            _ => {}
        }
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

impl Validator<'_> {
    /// `page.<name>` must be a variable the paging kind sets: the others render empty, and a
    /// query parameter built from one silently disappears.
    fn page_variable(&mut self, path: &str, src: &str, rest: &str, kind: crate::model::PagingKind) {
        use crate::model::PagingKind as K;
        let name = rest.split(['.', '[', '/']).next().unwrap_or("");
        let set: &[&str] = match kind {
            K::Offset => &["index", "offset", "limit"],
            K::Page => &["index", "number", "limit"],
            K::Cursor => &["index", "cursor", "limit"],
            K::NextUrl | K::LinkHeader => &["index", "limit"],
        };
        if name.is_empty() || set.contains(&name) {
            return;
        }
        let kind_name = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let known = ["index", "offset", "number", "limit", "cursor"].contains(&name);
        let message = if known {
            format!(
                "`page.{name}` has no value with `paging.kind: {kind_name}` (in `{}`): it would render empty and the parameter would disappear",
                shorten(src)
            )
        } else {
            format!(
                "`page.{name}` is not a page variable (in `{}`)",
                shorten(src)
            )
        };
        self.push(
            path,
            Diagnostic::error(message)
                .expected(format!(
                    "one of {}",
                    set.iter()
                        .map(|v| format!("page.{v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .hint(format!(
                    "`paging.kind: {kind_name}` sets {}",
                    set.join(", ")
                )),
        );
    }
}
