//! docs/connector-reference.md documents every key: it embeds one generated table per mapping
//! and enum of the format, and this test fails when a table is missing or out of date (run with
//! `WSC_UPDATE_DOCS=1` to rewrite the tables in place, then review the diff).

mod common;

#[test]
fn reference_documents_every_key() {
    let path = common::root().join("docs/connector-reference.md");
    let doc = std::fs::read_to_string(&path).expect("docs/connector-reference.md exists");
    let update = std::env::var_os("WSC_UPDATE_DOCS").is_some();
    let mut new_doc = doc.clone();
    let mut problems = Vec::new();
    for t in wsc_spec::schema::reference_tables() {
        let open = format!("<!-- table:{} -->\n", t.id);
        let close = "<!-- /table -->";
        let Some(start) = new_doc.find(&open) else {
            problems.push(format!("no section embeds `{open}` (keys of {})", t.id));
            continue;
        };
        let body_start = start + open.len();
        let Some(len) = new_doc[body_start..].find(close) else {
            problems.push(format!("table {} is not closed with `{close}`", t.id));
            continue;
        };
        if new_doc[body_start..body_start + len] != t.markdown {
            if update {
                new_doc.replace_range(body_start..body_start + len, &t.markdown);
            } else {
                problems.push(format!("table {} is out of date", t.id));
            }
        }
    }
    let known: Vec<String> = wsc_spec::schema::reference_tables()
        .into_iter()
        .map(|t| t.id)
        .collect();
    for line in doc.lines() {
        if let Some(id) = line
            .strip_prefix("<!-- table:")
            .and_then(|l| l.strip_suffix(" -->"))
            && !known.iter().any(|k| k == id)
        {
            problems.push(format!("table {id} names no part of the format"));
        }
    }
    if update && new_doc != doc {
        std::fs::write(&path, new_doc).unwrap();
    }
    assert!(
        problems.is_empty(),
        "docs/connector-reference.md is out of step with the format (WSC_UPDATE_DOCS=1 cargo test -p wsc-spec --test docs fixes tables):\n{}",
        problems.join("\n")
    );
}

/// The "Input limits" table of docs/connector-reference.md states the limits the loader
/// enforces (`WSC_UPDATE_DOCS=1` rewrites it).
#[test]
fn reference_states_the_input_limits() {
    use wsc_spec::limits::Limits;
    let path = common::root().join("docs/connector-reference.md");
    let doc = std::fs::read_to_string(&path).expect("docs/connector-reference.md exists");
    let mut table = String::from(
        "| Input | Largest size | Deepest nesting | Most values |\n|---|---|---|---|\n",
    );
    for l in [
        Limits::CONNECTOR,
        Limits::PLAN,
        Limits::SETTINGS,
        Limits::CASE,
        Limits::CASSETTE,
    ] {
        table.push_str(&format!(
            "| {} | {} | {} levels | {} |\n",
            l.what,
            wsc_spec::load::size_text(l.max_bytes),
            l.max_depth,
            l.max_values
        ));
    }
    let (open, close) = ("<!-- limits -->\n", "<!-- /limits -->");
    let start = doc
        .find(open)
        .expect("the reference has a `<!-- limits -->` table")
        + open.len();
    let len = doc[start..]
        .find(close)
        .expect("the limits table is closed");
    if doc[start..start + len] != table {
        if std::env::var_os("WSC_UPDATE_DOCS").is_some() {
            let mut new_doc = doc.clone();
            new_doc.replace_range(start..start + len, &table);
            std::fs::write(&path, new_doc).unwrap();
        } else {
            panic!(
                "the Input limits table of docs/connector-reference.md is out of date (WSC_UPDATE_DOCS=1 cargo test -p wsc-spec --test docs fixes it); expected:\n{table}"
            );
        }
    }
}
