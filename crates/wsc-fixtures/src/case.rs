//! Test cases: one `*.case.yaml` file per case in `fixtures/<connector>/`.
//!
//! ```yaml
//! description: Two pages of users, linked by the Link header
//! operation: account_aggregation     # or group_aggregation.<type>, get_object.<type>,
//!                                    # test_connection, get_partitions
//! identity: 00u1                     # get_object only
//! partition: A                       # aggregations: run one partition only
//! settings:                          # the connector's settings (nothing is read from the
//!   org_url: https://acme.okta.com   # environment); secrets may be `<redacted:NAME>`
//!   api_token: <redacted:api_token>
//! cassette: cassettes/accounts.yaml  # relative to this file
//! ```
//!
//! A write-operation case (`operation: create_account`, ...) adds `plan:`, one provisioning
//! request (see `wsc_spec::plan`).

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wsc_spec::limits::{Limits, read_limited};
use wsc_spec::{Diagnostic, Report};

/// The file suffix of a case.
pub const CASE_SUFFIX: &str = ".case.yaml";

/// One snapshot test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The operation: `test_connection`, `account_aggregation`, `group_aggregation.<type>`,
    /// `get_object.<type>` or `get_partitions`.
    pub operation: String,
    /// The identity to read (`get_object` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Run one partition of a partitioned aggregation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Settings of the connector. Nothing comes from the environment.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub settings: IndexMap<String, Value>,
    /// The provisioning request of a write-operation case (`operation` is then its
    /// operation, e.g. `create_account`); see docs/provisioning.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<wsc_spec::plan::PlanRequest>,
    /// A plan of several requests run in order, later ones using earlier results
    /// (`{{requests.<name>.identity}}`); instead of `plan`. `operation` is the first
    /// request's; the records snapshot is the list of results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<wsc_spec::plan::PlanRequest>,
    /// The cassette the replay server serves, relative to the case file.
    pub cassette: PathBuf,
}

/// What a case runs, decoded from [`Case::operation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `test_connection`.
    TestConnection,
    /// `account_aggregation` (object `account`) or `group_aggregation.<type>`.
    Aggregate {
        /// `account` or the group type.
        object: String,
    },
    /// `get_object.<type>`.
    GetObject {
        /// Object type.
        object: String,
    },
    /// `get_partitions`: the partitions of the account aggregation.
    Partitions,
    /// A write operation (`create_account`, ...) executing the case's `plan`.
    Provision,
}

/// A case file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid case (rendered, located diagnostics).
    #[error("{0}")]
    Invalid(String),
}

/// A loaded case with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    /// The case.
    pub case: Case,
    /// The case file.
    pub file: PathBuf,
    /// Its name: the file name without `.case.yaml`.
    pub name: String,
    /// The decoded operation.
    pub operation: Operation,
}

impl LoadedCase {
    /// Reads a case file with located errors.
    pub fn load(path: &Path) -> Result<LoadedCase, CaseError> {
        let bytes = read_limited(path, &Limits::CASE).map_err(|source| CaseError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let shown = path.display().to_string();
        let (case, source, index) = wsc_spec::load::parse_document::<Case>(
            &bytes,
            &shown,
            "a case is a YAML mapping with `operation:` and `cassette:`; see docs/testing.md",
            &Limits::CASE,
        )
        .map_err(|r| CaseError::Invalid(r.render()))?;
        // A problem at a key of the case file, rendered with its line and column.
        let at = |key: &str, d: Diagnostic| {
            let mut d = d.at_path(key);
            if let Some((pos, width)) = wsc_spec::locate::locate(&index, key) {
                (d.line, d.column, d.width) = (pos.line, pos.column, width);
            }
            CaseError::Invalid(
                Report {
                    file: shown.clone(),
                    source: source.clone(),
                    diagnostics: vec![d],
                }
                .render(),
            )
        };
        let operation = parse_operation(&case.operation).map_err(|why| {
            let mut d = Diagnostic::error(format!("unknown operation `{}`", case.operation))
                .expected(why.trim_start_matches("expected ").to_string())
                .found(format!("`{}`", case.operation));
            if let Some(m) = wsc_spec::diagnostic::did_you_mean(
                &case.operation,
                KNOWN_OPERATIONS.iter().copied(),
            ) {
                d = d.hint(format!("did you mean `{m}`?"));
            }
            at("operation", d)
        })?;
        if case.identity.is_some() != matches!(operation, Operation::GetObject { .. }) {
            let d = Diagnostic::error(
                "`identity` is required by get_object cases and allowed only there",
            );
            let key = if case.identity.is_some() {
                "identity"
            } else {
                "operation"
            };
            return Err(at(key, d));
        }
        if case.partition.is_some() && !matches!(operation, Operation::Aggregate { .. }) {
            let d = Diagnostic::error("`partition` is allowed only in aggregation cases");
            return Err(at("partition", d));
        }
        if matches!(operation, Operation::Provision) {
            let first = case.plans.first().cloned();
            if case.plan.is_some() && first.is_some() {
                let d =
                    Diagnostic::error("give `plan` (one request) or `plans` (several), not both");
                return Err(at("plans", d));
            }
            match case.plan.clone().or(first).as_ref() {
                None => {
                    let d = Diagnostic::error(format!(
                        "a `{}` case needs `plan:` (a provisioning request)",
                        case.operation
                    ));
                    return Err(at("operation", d));
                }
                Some(p) if p.operation.name() != case.operation => {
                    let d = Diagnostic::error(format!(
                        "`plan.operation` is `{}` but the case's operation is `{}`",
                        p.operation.name(),
                        case.operation
                    ));
                    return Err(at("plan.operation", d));
                }
                Some(_) => {}
            }
        } else if case.plan.is_some() || !case.plans.is_empty() {
            let d = Diagnostic::error("`plan` is allowed only in write-operation cases");
            let key = if case.plan.is_some() { "plan" } else { "plans" };
            return Err(at(key, d));
        }
        let name = case_name(path);
        Ok(LoadedCase {
            case,
            file: path.to_path_buf(),
            name,
            operation,
        })
    }

    /// The cassette file.
    pub fn cassette_path(&self) -> PathBuf {
        self.file
            .parent()
            .unwrap_or(Path::new("."))
            .join(&self.case.cassette)
    }
}

/// The case name of a case file: its file name without `.case.yaml`.
pub fn case_name(path: &Path) -> String {
    let f = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    f.strip_suffix(CASE_SUFFIX).unwrap_or(&f).to_string()
}

/// Operation keys a case may name (for "did you mean").
const KNOWN_OPERATIONS: &[&str] = &[
    "test_connection",
    "account_aggregation",
    "group_aggregation.group",
    "get_object.account",
    "get_object.group",
    "get_partitions",
    "create_account",
    "update_account",
    "delete_account",
    "enable_account",
    "disable_account",
    "unlock_account",
    "change_password",
    "add_entitlement",
    "remove_entitlement",
];

/// Decodes an operation key.
pub fn parse_operation(s: &str) -> Result<Operation, String> {
    use wsc_spec::model::{OperationKey, OperationKind as K};
    let expected = || {
        "expected test_connection, account_aggregation, group_aggregation.<type>, \
         get_object.<type>, get_partitions, or a write operation (create_account, \
         update_account, delete_account, enable_account, disable_account, unlock_account, \
         change_password, add_entitlement, remove_entitlement, or a custom operation's name)"
            .to_string()
    };
    // Any other identifier names a custom operation (`suspend_account`), unless it is a
    // misspelt built-in one (`account_agregation`), which stays an error with a suggestion.
    let misspelt = wsc_spec::diagnostic::did_you_mean(s, KNOWN_OPERATIONS.iter().copied())
        .is_some_and(|k| edits(s, k) <= 2);
    let custom = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !misspelt
        && OperationKey::parse(s).is_err();
    if custom {
        return Ok(Operation::Provision);
    }
    let key = OperationKey::parse(s).map_err(|_| expected())?;
    let object = key.object_type().unwrap_or("account").to_string();
    Ok(match key.kind() {
        K::TestConnection => Operation::TestConnection,
        K::AccountAggregation | K::GroupAggregation => Operation::Aggregate { object },
        K::GetObject => Operation::GetObject { object },
        K::GetPartitions => Operation::Partitions,
        K::Authenticate => return Err(expected()),
        _ => Operation::Provision,
    })
}

/// Every case file in `dir`, sorted by name.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, CaseError> {
    let rd = std::fs::read_dir(dir).map_err(|source| CaseError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|f| f.to_string_lossy().ends_with(CASE_SUFFIX))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// Edit distance (insertions, deletions, substitutions, adjacent transpositions).
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_decode() {
        assert_eq!(
            parse_operation("group_aggregation.role").unwrap(),
            Operation::Aggregate {
                object: "role".into()
            }
        );
        assert_eq!(
            parse_operation("get_object.account").unwrap(),
            Operation::GetObject {
                object: "account".into()
            }
        );
        assert!(parse_operation("get_object.").is_err());
        assert_eq!(
            parse_operation("create_account").unwrap(),
            Operation::Provision
        );
        assert!(parse_operation("authenticate").is_err());
    }

    #[test]
    fn case_names() {
        assert_eq!(case_name(Path::new("a/users.case.yaml")), "users");
    }
}
