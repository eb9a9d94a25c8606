//! Hostile documents (issue 15): 20,000 nested block sequences in 40 KB, 200 KB of `[`, deep
//! flow maps, deep indentation and oversized files fail with a located error for every kind of
//! input the loader reads (connectors, plans, settings files, cases, cassettes), before a YAML
//! parser sees them. On the old code these overflowed the stack (the test process aborts) or
//! took seconds to minutes.

use std::path::Path;

use wsc_spec::limits::{Limits, MAX_DEPTH};

/// A hostile document and where the loader must point: line and column.
struct Shape {
    name: &'static str,
    text: String,
    at: (usize, usize),
}

fn shapes(max: usize) -> Vec<Shape> {
    vec![
        Shape {
            name: "20,000 nested block sequences",
            text: "- ".repeat(20_000),
            at: (1, 2 * max + 1),
        },
        Shape {
            name: "200 KB of `[`",
            text: "[".repeat(200_000),
            at: (1, max + 1),
        },
        Shape {
            name: "deep flow maps",
            text: "{a: ".repeat(20_000),
            at: (1, 4 * max + 1),
        },
        Shape {
            name: "deep JSON objects",
            text: format!("{}1", "{\"a\":".repeat(20_000)),
            at: (1, 5 * max + 1),
        },
        Shape {
            name: "deep indentation",
            text: (0..1_000)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect(),
            at: (max + 1, max + 1),
        },
        Shape {
            name: "sequences of mappings at one indentation",
            text: "a:\n".to_string()
                + &(0..500)
                    .map(|i| format!("{}- k:\n", " ".repeat(2 * i)))
                    .collect::<String>(),
            // Each line opens a sequence and a mapping: level max+1 (odd) is the mapping
            // of line max/2+1.
            at: (max / 2 + 1, max + 1),
        },
    ]
}

/// The rendered report must name the file and the position, and say what limit was crossed.
fn assert_located(report: &wsc_spec::Report, file: &str, shape: &Shape, max: usize) {
    let text = report.render();
    let (line, column) = shape.at;
    assert!(
        text.contains(&format!("--> {file}:{line}:{column}\n")),
        "{}: expected {file}:{line}:{column}\n{text}",
        shape.name
    );
    assert!(
        text.contains(&format!("deeper than {max} levels")),
        "{}: {text}",
        shape.name
    );
    assert!(text.contains("Input limits"), "{}: {text}", shape.name);
    assert_eq!(report.error_count(), 1, "{}: {text}", shape.name);
}

#[test]
fn hostile_connectors_fail_located() {
    for shape in shapes(MAX_DEPTH) {
        let err = wsc_spec::load_bytes(shape.text.as_bytes(), "deep.yaml", Path::new("."))
            .expect_err(shape.name);
        let wsc_spec::LoadError::Invalid(report) = err else {
            panic!("{}: {err}", shape.name);
        };
        assert_located(&report, "deep.yaml", &shape, MAX_DEPTH);
    }
}

#[test]
fn hostile_plans_fail_located() {
    for shape in shapes(MAX_DEPTH) {
        let report = wsc_spec::plan::load_plan(shape.text.as_bytes(), Path::new("plan.yaml"))
            .expect_err(shape.name);
        assert_located(&report, "plan.yaml", &shape, MAX_DEPTH);
    }
}

#[test]
fn hostile_settings_cases_and_cassettes_fail_located() {
    for limits in [Limits::SETTINGS, Limits::CASE, Limits::CASSETTE] {
        for shape in shapes(limits.max_depth) {
            let report = wsc_spec::load::parse_yaml_value(shape.text.as_bytes(), "x.yaml", &limits)
                .expect_err(shape.name);
            assert_located(&report, "x.yaml", &shape, limits.max_depth);
            assert!(report.render().contains(limits.what));
        }
    }
}

#[test]
fn nesting_up_to_the_limit_is_read() {
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    wsc_spec::load::parse_yaml_value(ok.as_bytes(), "x.yaml", &Limits::PLAN).unwrap();
    let blocks: String = (0..MAX_DEPTH)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    wsc_spec::load::parse_yaml_value(blocks.as_bytes(), "x.yaml", &Limits::PLAN).unwrap();
}

/// Brackets and dashes in strings, comments and block scalars are text, not nesting.
#[test]
fn brackets_in_strings_comments_and_block_scalars_do_not_count() {
    let many = "[".repeat(10_000);
    let dashes = "- ".repeat(10_000);
    let yaml = format!(
        r#"# {many} {dashes}
connector: brackets
description: "{many} {{{{ '"
settings:
  note:
    description: '{many} "'
    default: |
      {dashes}
      {many}
  other:
    description: >-
      {dashes}
base_url: "https://api.example.test" # {many}
auth: {{ type: none }}
operations:
  test_connection:
    request: {{ path: "/me/{many}" }}
"#
    );
    if let Err(e) = wsc_spec::load_bytes(yaml.as_bytes(), "brackets.yaml", Path::new(".")) {
        panic!("{e}");
    }
}

#[test]
fn oversized_files_fail_located_without_being_read_whole() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wsc-spec-hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.yaml");
    let line = "# padding padding padding padding padding padding padding padding\n";
    let big = line.repeat(Limits::CONNECTOR.max_bytes / line.len() + 10);
    std::fs::write(&path, &big).unwrap();
    let err = wsc_spec::load_file(&path).expect_err("too large");
    let wsc_spec::LoadError::Invalid(report) = err else {
        panic!("{err}");
    };
    let text = report.render();
    assert!(
        text.contains("the connector file is larger than 4 MiB"),
        "{text}"
    );
    // Located where the limit is crossed.
    let lines = Limits::CONNECTOR.max_bytes / line.len() + 1;
    assert!(text.contains(&format!("huge.yaml:{lines}:")), "{text}");
    assert!(
        report.source.len() <= Limits::CONNECTOR.max_bytes,
        "the file was read past the limit"
    );
    let _ = std::fs::remove_file(&path);
    let report = wsc_spec::plan::load_plan(
        &vec![b' '; Limits::PLAN.max_bytes + 1],
        Path::new("plan.yaml"),
    )
    .unwrap_err();
    assert!(report.render().contains("the plan is larger than 16 MiB"));
}

/// A shallow file of tiny values (the YAML library's costliest shape, some 200 bytes a value)
/// is bounded by its count of values, located where the count is crossed.
#[test]
fn too_many_values_fail_located() {
    let wide = format!("[{}]", "1,".repeat(Limits::CONNECTOR.max_values + 10));
    let err = wsc_spec::load_bytes(wide.as_bytes(), "wide.yaml", Path::new(".")).unwrap_err();
    let wsc_spec::LoadError::Invalid(report) = err else {
        panic!("{err}");
    };
    let text = report.render();
    assert!(
        text.contains("the connector file holds more than 250000 values"),
        "{text}"
    );
    // `[` and the line count two, then one per comma.
    let column = 2 * (Limits::CONNECTOR.max_values - 1) + 1;
    assert!(text.contains(&format!("wide.yaml:1:{column}\n")), "{text}");
    let blocks: String = (0..300_000).map(|i| format!("k{i}: 1\n")).collect();
    let report =
        wsc_spec::load::parse_yaml_value(blocks.as_bytes(), "s.yaml", &Limits::CASE).unwrap_err();
    assert!(report.render().contains("more than 250000 values"));
}

/// The location index pulls parser events one at a time: even without the loader's depth
/// check in front, deep input cannot overflow the stack (here a 256 KiB one).
#[test]
fn the_location_index_does_not_recurse() {
    let text = "- ".repeat(4_000);
    let index = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let index = wsc_spec::locate::LocationIndex::build(&text);
            index.get("[0][0][0]").is_some()
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(index);
}

/// Every kind of limit is at least what the shipped files need, several times over.
#[test]
fn limits_leave_room_for_real_files() {
    for l in [
        Limits::CONNECTOR,
        Limits::PLAN,
        Limits::SETTINGS,
        Limits::CASE,
        Limits::CASSETTE,
    ] {
        assert!(l.max_depth >= 64, "{l:?}");
        assert!(l.max_bytes >= 1024 * 1024, "{l:?}");
    }
}
