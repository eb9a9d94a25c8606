//! Fixture-driven snapshot tests of wsc connectors.
//!
//! A connector `connectors/<name>.yaml` has its cases in `fixtures/<name>/*.case.yaml`; each
//! case names an operation, its settings and a cassette. Running a case replays the cassette
//! on 127.0.0.1, reroutes every request of the connector there, and produces two snapshot
//! texts: the records emitted and the requests sent. They are compared with
//! `fixtures/<name>/snapshots/<case>.{records,requests}.snap` (insta's format), both by
//! `cargo test` (crates/wsc-fixtures/tests/snapshots.rs, driven by `insta::glob!`) and by
//! `wsc test` (through [`check_case`]).
//!
//! [`record::Recorder`] is the other direction: a tap on a live run that writes a redacted
//! cassette and case.

pub mod case;
pub mod record;
pub mod redact;
pub mod run;
pub mod snap;

use std::path::{Path, PathBuf};

use wsc_spec::Loaded;

pub use case::{Case, LoadedCase, Operation};
pub use run::{CaseOutput, RunError, run_case};
pub use snap::Kind;

/// The result of comparing one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Equal to the stored snapshot.
    Match,
    /// Different: the diff (stored → produced).
    Mismatch(String),
    /// No stored snapshot.
    Missing,
    /// Written (`--update`).
    Written,
}

/// One case checked against its snapshots.
#[derive(Debug)]
pub struct CaseReport {
    /// Connector name.
    pub connector: String,
    /// Case name.
    pub case: String,
    /// The case file.
    pub file: PathBuf,
    /// The operation key.
    pub operation: String,
    /// Replay problems (unmatched requests, unused interactions).
    pub problems: String,
    /// Per snapshot kind, or the error that kept the case from running.
    pub result: Result<Vec<(Kind, Verdict)>, String>,
    /// The case file or its cassette is not valid input (too deep, too large, not a case):
    /// the error is the input's, not the connector's.
    pub invalid: bool,
}

impl CaseReport {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
            && self.result.as_ref().is_ok_and(|v| {
                v.iter()
                    .all(|(_, x)| matches!(x, Verdict::Match | Verdict::Written))
            })
    }

    /// A readable account: the connector, case and operation, then every diff and problem.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let status = if self.passed() { "ok" } else { "FAILED" };
        out.push_str(&format!(
            "{status}: connector `{}`, case `{}` ({}), operation `{}`\n",
            self.connector,
            self.case,
            self.file.display(),
            self.operation
        ));
        match &self.result {
            Err(e) => {
                for line in e.lines() {
                    out.push_str(&format!("  {line}\n"));
                }
            }
            Ok(v) => {
                for (kind, verdict) in v {
                    match verdict {
                        Verdict::Match => {}
                        Verdict::Written => {
                            out.push_str(&format!("  {} snapshot written\n", kind.as_str()))
                        }
                        Verdict::Missing => out.push_str(&format!(
                            "  no {} snapshot yet: run `wsc test --update` (or `cargo insta review`) to accept it\n",
                            kind.as_str()
                        )),
                        Verdict::Mismatch(diff) => {
                            out.push_str(&format!(
                                "  {} differ from {} (- stored, + now):\n",
                                kind.as_str(),
                                snap::path(
                                    self.file.parent().unwrap_or(Path::new(".")),
                                    &self.case,
                                    *kind
                                )
                                .display()
                            ));
                            for line in diff.lines() {
                                out.push_str(&format!("    {line}\n"));
                            }
                        }
                    }
                }
            }
        }
        if !self.problems.is_empty() {
            out.push_str("  replay:\n");
            for line in self.problems.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
        out
    }
}

/// The snapshot description of a case (shown by insta and written by `wsc test --update`).
pub fn description(connector: &str, case: &LoadedCase) -> String {
    format!(
        "connector {connector}, case {}, operation {}",
        case.name, case.case.operation
    )
}

/// Runs one case and compares (or with `update`, writes) its snapshots.
pub async fn check_case(
    loaded: &Loaded,
    connector: &str,
    case_file: &Path,
    update: bool,
) -> CaseReport {
    let name = case::case_name(case_file);
    let mut report = CaseReport {
        connector: connector.to_string(),
        case: name.clone(),
        file: case_file.to_path_buf(),
        operation: String::new(),
        problems: String::new(),
        result: Err(String::new()),
        invalid: false,
    };
    let case = match LoadedCase::load(case_file) {
        Ok(c) => c,
        Err(e) => {
            report.result = Err(e.to_string());
            report.invalid = true;
            return report;
        }
    };
    report.operation = case.case.operation.clone();
    let out = match run_case(loaded, &case).await {
        Ok(o) => o,
        Err(e) => {
            report.invalid = matches!(e, RunError::Case(_) | RunError::Cassette(_));
            report.result = Err(e.to_string());
            return report;
        }
    };
    report.problems = out.problems.clone();
    let dir = case_file.parent().unwrap_or(Path::new("."));
    let mut verdicts = Vec::new();
    for kind in Kind::ALL {
        let produced = match kind {
            Kind::Records => &out.records,
            Kind::Requests => &out.requests,
        };
        let path = snap::path(dir, &name, kind);
        let stored = match snap::read(&path) {
            Ok(s) => s,
            Err(e) => {
                report.result = Err(format!("cannot read {}: {e}", path.display()));
                return report;
            }
        };
        let same = stored
            .as_deref()
            .is_some_and(|s| snap::normalize(s) == snap::normalize(produced));
        let verdict = if same {
            Verdict::Match
        } else if update {
            let meta = snap::Meta {
                description: description(connector, &case),
                input_file: case_file.display().to_string(),
                kind,
            };
            if let Err(e) = snap::write(&path, &meta, produced) {
                report.result = Err(format!("cannot write {}: {e}", path.display()));
                return report;
            }
            Verdict::Written
        } else {
            match stored {
                None => Verdict::Missing,
                Some(s) => Verdict::Mismatch(snap::diff(&s, produced)),
            }
        };
        verdicts.push((kind, verdict));
    }
    report.result = Ok(verdicts);
    report
}
