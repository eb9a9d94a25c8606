//! Nesting limits inside one JSONPath or Handlebars template: the parsers behind them recurse
//! once per subexpression, filter or `else if`, so a generated expression a thousand levels
//! deep would overflow the stack. Checked in one linear pass before either parser runs.

/// Deepest nesting of `(` and `[` (and of template blocks) inside one JSONPath or template.
/// The template and JSONPath parsers recurse once per level (a chain of a thousand
/// subexpressions overflows the stack); real expressions nest two or three levels.
pub const MAX_EXPRESSION_DEPTH: usize = 32;

/// Checks the nesting of `(` and `[` in a JSONPath, quoted names aside; on failure, the byte
/// offset of the level beyond [`MAX_EXPRESSION_DEPTH`].
pub fn check_jsonpath(src: &str) -> Result<(), usize> {
    let b = src.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' => {
                depth += 1;
                if depth > MAX_EXPRESSION_DEPTH {
                    return Err(i);
                }
            }
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Checks the nesting of a Handlebars template: blocks (`{{#if}}`, each `{{else if}}` of a
/// chain) plus `(` and `[` inside one `{{...}}`, quoted strings and comments aside; on
/// failure, the byte offset of the level beyond [`MAX_EXPRESSION_DEPTH`].
pub fn check_template(src: &str) -> Result<(), usize> {
    let b = src.as_bytes();
    let find = |from: usize, pat: &[u8]| {
        b[from.min(b.len())..]
            .windows(pat.len())
            .position(|w| w == pat)
            .map(|p| p + from)
    };
    // Levels opened by each enclosing block: one, plus one per `{{else if}}` of its chain.
    let mut blocks: Vec<usize> = Vec::new();
    let mut open = 0usize;
    let mut i = 0;
    while let Some(start) = find(i, b"{{") {
        let mut j = start + 2;
        while j < b.len() && (b[j] == b'{' || b[j] == b'~') {
            j += 1;
        }
        if b[j.min(b.len())..].starts_with(b"!--") {
            i = find(j, b"--}}").map_or(b.len(), |e| e + 4);
            continue;
        }
        if b[j.min(b.len())..].starts_with(b"!") {
            i = find(j, b"}}").map_or(b.len(), |e| e + 2);
            continue;
        }
        let rest = &b[j.min(b.len())..];
        let closes_at_once = |r: &[u8]| r.starts_with(b"}}") || r.starts_with(b"~}}");
        match rest.first() {
            Some(b'#') => {
                blocks.push(1);
                open += 1;
            }
            Some(b'^') if !closes_at_once(&rest[1..]) => {
                blocks.push(1);
                open += 1;
            }
            Some(b'/') => open -= blocks.pop().unwrap_or(0),
            _ if rest.starts_with(b"else")
                && rest.get(4).is_some_and(|c| *c == b' ')
                && !closes_at_once(rest[4..].trim_ascii_start()) =>
            {
                if let Some(top) = blocks.last_mut() {
                    *top += 1;
                    open += 1;
                }
            }
            _ => {}
        }
        if open > MAX_EXPRESSION_DEPTH {
            return Err(start);
        }
        // Inside the mustache: subexpressions and segment literals, up to `}}`.
        let mut depth = 0usize;
        let mut k = j;
        while k < b.len() && !b[k..].starts_with(b"}}") {
            match b[k] {
                q @ (b'\'' | b'"') => {
                    k += 1;
                    while k < b.len() && b[k] != q {
                        k += if b[k] == b'\\' { 2 } else { 1 };
                    }
                }
                b'(' | b'[' => {
                    depth += 1;
                    if open + depth > MAX_EXPRESSION_DEPTH {
                        return Err(k);
                    }
                }
                b')' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
            k += 1;
        }
        i = k + 2;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_nest_a_bounded_depth() {
        let deep =
            |open: &str, close: &str, n: usize| format!("{}{}", open.repeat(n), close.repeat(n));
        let max = MAX_EXPRESSION_DEPTH;
        assert!(check_jsonpath("$.items[?(@.a == 1 && (@.b || @.c))].id").is_ok());
        assert!(
            check_jsonpath(&format!(
                "$[?{}@.a{}]",
                "(".repeat(max - 1),
                ")".repeat(max - 1)
            ))
            .is_ok()
        );
        assert_eq!(
            check_jsonpath(&format!("${}", deep("[", "]", 1000))),
            Err(1 + max)
        );
        assert!(check_jsonpath(&format!("$['{}']", "(".repeat(1000))).is_ok());
        assert!(
            check_template("{{#if (eq a \"(((\")}}{{#each x}}{{this}}{{/each}}{{/if}}").is_ok()
        );
        let blocks = deep("{{#if a}}", "{{/if}}", max);
        assert!(check_template(&blocks).is_ok());
        assert!(check_template(&blocks.repeat(100)).is_ok());
        assert_eq!(
            check_template(&deep("{{#if a}}", "{{/if}}", max + 1)),
            Err(9 * max)
        );
        let chain = format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{else if b}}".repeat(max));
        assert!(check_template(&chain).is_err());
        let short = format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{else if b}}".repeat(5));
        assert!(check_template(&short.repeat(100)).is_ok());
        let parens = format!("{{{{x {}a{}}}}}", "(eq ".repeat(1000), ")".repeat(1000));
        assert_eq!(check_template(&parens), Err(4 + 4 * max));
        assert!(check_template(&format!("{}{{{{x}}}}", "(".repeat(1000))).is_ok());
        assert!(check_template("{{!-- {{#if}} ((((( --}}{{else}}{{^}}{{/x}}").is_ok());
    }
}
