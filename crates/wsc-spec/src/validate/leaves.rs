//! Leaves: JSONPaths compile and setting references name declared settings.

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::model::JsonPath;

use super::validator::Validator;

impl Validator<'_> {
    pub(super) fn jsonpath(&mut self, path: &str, jp: &JsonPath) {
        let s = jp.as_str();
        if let Some(prefixes) = self.xml_prefixes.take() {
            self.xpath(path, s, &prefixes);
            self.xml_prefixes = Some(prefixes);
            return;
        }
        if !s.starts_with('$') {
            let mut d =
                Diagnostic::error(format!("`{s}` is not a JSONPath: it must start with `$`"))
                    .expected("a JSONPath such as `$.id` or `$.items[*]`")
                    .found(format!("`{s}`"));
            if !s.contains("{{") && !s.is_empty() {
                d = d.hint(format!("did you mean `$.{s}`?"));
            } else {
                d = d.hint(
                    "a template (`{{...}}`) goes in `template:`, not where a JSONPath is expected",
                );
            }
            self.push(path, d);
            return;
        }
        if let Err(offset) = crate::limits::check_jsonpath(s) {
            let start: String = s.chars().take(60).collect();
            self.push(
                path,
                Diagnostic::error(format!("invalid JSONPath `{start}…`"))
                    .found(format!(
                        "`(` and `[` nested deeper than {} levels (at character {})",
                        crate::limits::MAX_EXPRESSION_DEPTH,
                        s[..offset].chars().count() + 1
                    ))
                    .expected("a JSONPath such as `$.items[*]` or `$.items[?(@.active)]`")
                    .hint("is the file generated or corrupted?"),
            );
            return;
        }
        if let Err(e) = jsonpath_rust::parser::parse_json_path(s) {
            let msg = e.to_string();
            let mut at = None;
            let msg = match msg.split_once("--> 1:") {
                Some((_, rest)) => {
                    let col: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    at = col.parse::<usize>().ok();
                    format!("a syntax error at character {col} of the path")
                }
                None => msg.lines().next().unwrap_or(&msg).to_string(),
            };
            self.push_at_char(
                path,
                Diagnostic::error(format!("invalid JSONPath `{s}`"))
                    .found(msg)
                    .expected("an RFC 9535 JSONPath such as `$.items[*]`, `$.emails[0].value` or `$['odd key']`")
                    .hint("check brackets and quotes; keys with special characters go in `['...']`"),
                at.unwrap_or(0),
            );
        }
    }

    pub(super) fn setting_ref(&mut self, path: &str, name: &str) {
        if !self.c.settings.contains_key(name) {
            let hint = match did_you_mean(name, self.c.settings.keys().map(String::as_str)) {
                Some(b) => format!("did you mean `{b}`?"),
                None if self.c.settings.is_empty() => {
                    format!("declare it: `settings: {{ {name}: {{}} }}`")
                }
                None => format!(
                    "declare it under `settings:` (declared: {})",
                    self.c
                        .settings
                        .keys()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.error(
                path,
                format!("setting `{name}` is not declared"),
                Some(hint),
            );
        }
    }
}
