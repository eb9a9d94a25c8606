//! The benchmark's connectors: the synthetic API's users with eight mapped attributes, paged
//! sequentially (offset paging without a total) or concurrently (offset paging with a known
//! total).

/// How the engine pages through the users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `kind: offset` without `total`: the next page is known only once the current one has
    /// been parsed (it might be the short last page), so pages are fetched one after the other,
    /// the next one while the current one is mapped. Ends with one empty page.
    Sequential,
    /// `kind: offset` with `total: "$.total"`: after the first page every page is known, and
    /// `concurrency` of them are fetched at once.
    Concurrent(usize),
}

impl Paging {
    /// A short label for tables.
    pub fn label(self) -> String {
        match self {
            Paging::Sequential => "sequential".into(),
            Paging::Concurrent(c) => format!("concurrent c={c}"),
        }
    }
}

/// The attribute names, in output order (the baseline writes the same).
pub const ATTRIBUTES: [&str; 8] = [
    "displayName",
    "givenName",
    "familyName",
    "email",
    "active",
    "department",
    "employeeNumber",
    "groups",
];

/// The connector YAML for `paging` with pages of `limit` users.
pub fn yaml(paging: Paging, limit: usize) -> String {
    let paging_line = match paging {
        Paging::Sequential => format!("{{ kind: offset, limit: {limit} }}"),
        Paging::Concurrent(c) => {
            format!("{{ kind: offset, limit: {limit}, total: \"$.total\", concurrency: {c} }}")
        }
    };
    format!(
        r#"connector: bench
description: wsc benchmark (synthetic API users, eight attributes)
settings:
  base_url:
    description: Base URL of the synthetic API
  token:
    description: Bearer token of the synthetic API
    secret: true
base_url: "{{{{settings.base_url}}}}/api"
auth:
  type: bearer
  token: "{{{{settings.token}}}}"
operations:
  test_connection:
    request: {{ method: GET, path: /me }}
  account_aggregation:
    request:
      path: /users/offset
      query: {{ offset: "{{{{page.offset}}}}", limit: "{{{{page.limit}}}}" }}
    paging: {paging_line}
    records: "$.items[*]"
    identity: "$.id"
    name: "$.userName"
    attributes:
      displayName: "$.displayName"
      givenName: "$.name.givenName"
      familyName: "$.name.familyName"
      email: "$.emails[0].value"
      active: {{ path: "$.active", type: bool }}
      department: "$.department"
      employeeNumber: {{ path: "$.employeeNumber", type: int }}
      groups: {{ path: "$.groups[*]", multi: true }}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connectors_load() {
        for paging in [Paging::Sequential, Paging::Concurrent(4)] {
            let y = yaml(paging, 250);
            let loaded =
                wsc_spec::load_bytes(y.as_bytes(), "bench.yaml", std::path::Path::new("."))
                    .unwrap_or_else(|e| panic!("{e}\n{y}"));
            let attrs: Vec<&str> = loaded
                .connector
                .operations
                .account_aggregation
                .as_ref()
                .map(|op| op.attributes.keys().map(String::as_str).collect())
                .unwrap_or_default();
            assert_eq!(attrs, ATTRIBUTES);
        }
    }
}
