//! Every file in fixtures/invalid/ is rejected with located errors, and the rendered errors are
//! snapshotted (review changes with `cargo insta review`).

mod common;

use std::path::Path;

#[test]
fn invalid_connectors_render_located_errors() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(common::root().join("fixtures/invalid/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("../../../fixtures/invalid", "*.yaml", |path| {
            let name = path.file_name().unwrap().to_string_lossy();
            let shown = format!("fixtures/invalid/{name}");
            let bytes = std::fs::read(path).unwrap();
            let err = wsc_spec::load_bytes(&bytes, &shown, path.parent().unwrap())
                .expect_err(&format!("{shown} should be invalid"));
            let report = match err {
                wsc_spec::LoadError::Invalid(r) => r,
                other => panic!("{shown}: unexpected error {other}"),
            };
            assert!(report.error_count() > 0, "{shown}: no errors");
            for d in &report.diagnostics {
                assert!(
                    d.line > 0 && d.column > 0,
                    "{shown}: unlocated diagnostic {d:?}"
                );
            }
            // Absolute paths differ between checkouts; show them relative to the workspace root.
            let root = common::root().display().to_string();
            insta::assert_snapshot!(report.render().replace(&root, "[ROOT]"));
        });
    });
}

#[test]
fn there_are_at_least_25_invalid_fixtures() {
    let n = std::fs::read_dir(common::root().join("fixtures/invalid"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert!(n >= 25, "only {n} invalid fixtures");
}

/// Mutated connectors (truncated, bytes flipped, lines dropped or duplicated) never panic the
/// loader: they load or give located errors.
#[test]
fn mutated_connectors_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let specials: &[u8] = b"{}[]:\t\n'\"#&*!|>-?%@` \x00\xff";
    for file in common::connectors() {
        let original = std::fs::read(&file).unwrap();
        for _ in 0..300 {
            let mut b = original.clone();
            match next() % 4 {
                0 => b.truncate((next() as usize) % b.len()),
                1 => {
                    for _ in 0..(1 + next() % 4) {
                        let i = (next() as usize) % b.len();
                        b[i] = specials[(next() as usize) % specials.len()];
                    }
                }
                2 => {
                    let lines: Vec<&[u8]> = original.split(|c| *c == b'\n').collect();
                    let drop = (next() as usize) % lines.len();
                    b = lines
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != drop)
                        .flat_map(|(_, l)| l.iter().copied().chain(std::iter::once(b'\n')))
                        .collect();
                }
                _ => {
                    let lines: Vec<&[u8]> = original.split(|c| *c == b'\n').collect();
                    let dup = (next() as usize) % lines.len();
                    b = lines
                        .iter()
                        .enumerate()
                        .flat_map(|(i, l)| {
                            let times = if i == dup { 2 } else { 1 };
                            std::iter::repeat_n(*l, times)
                        })
                        .flat_map(|l| l.iter().copied().chain(std::iter::once(b'\n')))
                        .collect();
                }
            }
            if let Err(wsc_spec::LoadError::Invalid(r)) =
                wsc_spec::load_bytes(&b, "mutant.yaml", Path::new("connectors"))
            {
                assert!(r.error_count() > 0);
                let _ = r.render();
            }
        }
    }
}
