//! Every case in fixtures/<connector>/*.case.yaml runs against its cassette, and the records it
//! produced and the requests it sent are compared with
//! fixtures/<connector>/snapshots/<case>.{records,requests}.snap. A new connector with
//! fixtures needs no Rust. Review changes with `cargo insta review` (or `wsc test --update`).

use std::path::{Path, PathBuf};

use wsc_fixtures::{LoadedCase, Operation, description, run_case, snap};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn connector_of(case_file: &Path) -> (String, PathBuf) {
    let name = case_file
        .parent()
        .and_then(Path::file_name)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let path = root().join("connectors").join(format!("{name}.yaml"));
    (name, path)
}

#[test]
fn connector_fixtures() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut problems = Vec::new();
    insta::glob!("../../../fixtures", "*/*.case.yaml", |path| {
        let (connector, connector_path) = connector_of(path);
        assert!(
            connector_path.is_file(),
            "{}: fixtures/{connector}/ has no connector {}",
            path.display(),
            connector_path.display()
        );
        let loaded =
            wsc_fixtures::run::load_connector(&connector_path).unwrap_or_else(|e| panic!("{e}"));
        let case = LoadedCase::load(path).unwrap_or_else(|e| panic!("{e}"));
        let out = rt
            .block_on(run_case(&loaded, &case))
            .unwrap_or_else(|e| panic!("{e}"));
        if !out.problems.is_empty() {
            problems.push(format!(
                "connector `{connector}`, case `{}`, operation `{}`:\n{}",
                case.name, case.case.operation, out.problems
            ));
        }
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(path.parent().unwrap().join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.remove_snapshot_suffix();
        settings.set_description(description(&connector, &case));
        settings.bind(|| {
            insta::assert_snapshot!(snap::name(&case.name, snap::Kind::Records), &out.records);
            insta::assert_snapshot!(snap::name(&case.name, snap::Kind::Requests), &out.requests);
        });
    });
    assert!(
        problems.is_empty(),
        "replay problems:\n{}",
        problems.join("\n")
    );
}

/// The operations the harness runs, as case operation keys.
fn read_operations(loaded: &wsc_spec::Loaded) -> Vec<String> {
    let ops = &loaded.connector.operations;
    let mut v = Vec::new();
    for (key, _) in ops.entries() {
        if let Some(name) = key.custom_name() {
            // Cases and plans name custom operations by their name.
            v.push(name.to_string());
        } else if wsc_fixtures::case::parse_operation(key.as_str()).is_ok() {
            v.push(key.to_string());
        }
    }
    v
}

#[test]
fn every_connector_has_cases_for_each_operation() {
    let mut missing = Vec::new();
    let mut connectors: Vec<PathBuf> = std::fs::read_dir(root().join("connectors"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    connectors.sort();
    assert!(!connectors.is_empty());
    for c in connectors {
        let name = c.file_stem().unwrap().to_string_lossy().into_owned();
        let loaded = wsc_fixtures::run::load_connector(&c).unwrap_or_else(|e| panic!("{e}"));
        let dir = root().join("fixtures").join(&name);
        let cases: Vec<LoadedCase> = if dir.is_dir() {
            wsc_fixtures::case::discover(&dir)
                .unwrap()
                .iter()
                .map(|p| LoadedCase::load(p).unwrap_or_else(|e| panic!("{e}")))
                .collect()
        } else {
            Vec::new()
        };
        for op in read_operations(&loaded) {
            let covered = cases.iter().any(|c| match &c.operation {
                Operation::Partitions => op == "get_partitions",
                _ => c.case.operation == op,
            });
            if !covered {
                missing.push(format!("{name}: {op}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "operations without a fixture case (add fixtures/<connector>/<case>.case.yaml):\n{}",
        missing.join("\n")
    );
}
