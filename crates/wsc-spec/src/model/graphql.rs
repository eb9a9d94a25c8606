//! GraphQL requests: a query document POSTed as JSON with its variables.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A GraphQL request (`request.graphql`): POSTed as the JSON body `{"query", "variables",
/// "operationName"}` with `Content-Type: application/json`. A 200 response whose `errors` list
/// is not empty fails, even when `data` is partly there: partial data is not success.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GraphQlRequest {
    /// The GraphQL document (a query or a mutation), sent as written: it is not a template, so
    /// no value can change its text. Values go in `variables`.
    pub query: String,
    /// The variables: a YAML tree whose string leaves are templates rendered one by one (as
    /// `body`); a leaf that is exactly one `{{expr}}` keeps the JSON type of the value, so
    /// `after: "{{page.cursor}}"` is `null` on the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<serde_json::Value>,
    /// The operation to run when `query` holds several (`operationName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_name: Option<String>,
}
