//! Operations: the `operations:` mapping, single- and multi-step operations.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::defaults::is_false;
use super::hooks::Hooks;
use super::http::{ErrorRule, RequestSpec};
use super::key::{OperationKey, OperationKind};
use super::mapping::{Attribute, Entitlement};
use super::paging::Paging;
use super::settable::Count;
use super::xml::Namespaces;
use crate::values::{JsonPath, StatusPattern, Template};

/// Every operation a connector may define. All are optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operations {
    /// Checks that the connection and credentials work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_connection: Option<Operation>,
    /// Reads every account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_aggregation: Option<Operation>,
    /// Reads every group, per group type (e.g. `group`, `role`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub group_aggregation: IndexMap<String, Operation>,
    /// Reads one object by identity (`plan.identity`), per object type (`account`, or a group
    /// type).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub get_object: IndexMap<String, Operation>,
    /// Lists partitions for partitioned aggregation; each record is one partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get_partitions: Option<Operation>,
    /// Creates an account from `plan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_account: Option<Operation>,
    /// Updates an account's attributes from `plan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_account: Option<Operation>,
    /// Deletes an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_account: Option<Operation>,
    /// Enables an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_account: Option<Operation>,
    /// Disables an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_account: Option<Operation>,
    /// Unlocks an account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlock_account: Option<Operation>,
    /// Sets an account's password (`plan.password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_password: Option<Operation>,
    /// Adds an account to groups (`plan.value` per value, or `plan.values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_entitlement: Option<Operation>,
    /// Removes an account from groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_entitlement: Option<Operation>,
    /// Pass-through authentication: checks `plan.identity` and `plan.password`; `wsc
    /// authenticate CONNECTOR --identity ID` runs it (the password on stdin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticate: Option<Operation>,
    /// Write operations of the connector's own, by name (`suspend_account`, `reset_mfa`,
    /// ...): plans name them like the built-in ones (`operation: suspend_account`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub custom: IndexMap<String, Operation>,
}

impl Operations {
    /// Every defined operation with its key, in the order of the keys under `operations:`
    /// (group aggregations and get_object after the others, each in file order).
    pub fn entries(&self) -> Vec<(OperationKey, &Operation)> {
        use OperationKind as K;
        let singles: [(K, &Option<Operation>); 13] = [
            (K::TestConnection, &self.test_connection),
            (K::AccountAggregation, &self.account_aggregation),
            (K::GetPartitions, &self.get_partitions),
            (K::CreateAccount, &self.create_account),
            (K::UpdateAccount, &self.update_account),
            (K::DeleteAccount, &self.delete_account),
            (K::EnableAccount, &self.enable_account),
            (K::DisableAccount, &self.disable_account),
            (K::UnlockAccount, &self.unlock_account),
            (K::ChangePassword, &self.change_password),
            (K::AddEntitlement, &self.add_entitlement),
            (K::RemoveEntitlement, &self.remove_entitlement),
            (K::Authenticate, &self.authenticate),
        ];
        let mut out: Vec<(OperationKey, &Operation)> = singles
            .into_iter()
            .filter_map(|(k, op)| Some((OperationKey::of_kind(k)?, op.as_ref()?)))
            .collect();
        for (t, op) in &self.group_aggregation {
            out.push((OperationKey::group_aggregation(t), op));
        }
        for (t, op) in &self.get_object {
            out.push((OperationKey::get_object(t), op));
        }
        for (name, op) in &self.custom {
            out.push((OperationKey::custom(name), op));
        }
        out
    }

    /// Every defined operation with its key path (e.g. `group_aggregation.role`) and kind.
    pub fn iter(&self) -> Vec<(String, OperationKind, &Operation)> {
        self.entries()
            .into_iter()
            .map(|(key, op)| {
                let kind = key.kind();
                (key.into_string(), kind, op)
            })
            .collect()
    }

    /// The operation a key names, if the connector defines it.
    pub fn get(&self, key: &OperationKey) -> Option<&Operation> {
        use OperationKind as K;
        let single = match key.kind() {
            K::TestConnection => &self.test_connection,
            K::AccountAggregation => &self.account_aggregation,
            K::GroupAggregation => return self.group_aggregation.get(key.object_type()?),
            K::GetObject => return self.get_object.get(key.object_type()?),
            K::GetPartitions => &self.get_partitions,
            K::CreateAccount => &self.create_account,
            K::UpdateAccount => &self.update_account,
            K::DeleteAccount => &self.delete_account,
            K::EnableAccount => &self.enable_account,
            K::DisableAccount => &self.disable_account,
            K::UnlockAccount => &self.unlock_account,
            K::ChangePassword => &self.change_password,
            K::AddEntitlement => &self.add_entitlement,
            K::RemoveEntitlement => &self.remove_entitlement,
            K::Authenticate => &self.authenticate,
            K::Custom => return self.custom.get(key.custom_name()?),
        };
        single.as_ref()
    }
}

/// One operation: a single request, or several `steps`, plus how responses map to records.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// What the operation does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The request (single-step operations). Exactly one of `request` and `steps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestSpec>,
    /// Paging of `request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
    /// Multi-step operations: each step is a request; a step may run once per record of an
    /// earlier step and merge what it reads into that record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// JSONPath of the records in a response, e.g. `$.items[*]`. Default `$` (the whole body
    /// is one record) for single-object operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<JsonPath>,
    /// The API leaves the records key out of a page that has no records. By default a page
    /// without the key that `records` selects from fails the run (a missing key is not an
    /// empty list, and a typo in `records` must not read as zero records), unless the page's
    /// `paging.total` says 0.
    #[serde(default, skip_serializing_if = "is_false")]
    pub records_optional: bool,
    /// What an identity delivered twice in one aggregation run does: `error` (default)
    /// fails the run, `warn` keeps the first copy and finishes with a warning and a count in
    /// the summary. Aggregations only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_duplicate: Option<OnDuplicate>,
    /// The largest drop, in percent, in the records of an aggregation against the previous
    /// complete run of the same instance (from the state store) before the run fails, so a
    /// broken source cannot feed a mass deletion downstream. Default 10; 100 turns the guard
    /// off. `wsc aggregate --max-shrink PCT` overrides it. Aggregations only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_shrink: Option<u8>,
    /// Keep the responses of `request` for the rest of the run, keyed by method, URL and
    /// body, so other operations with `cache: true` (several object types over one listing)
    /// read it once. Read operations only. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cache: bool,
    /// JSONPath of a record's identity (unique, stable id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<JsonPath>,
    /// JSONPath of a record's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<JsonPath>,
    /// Attributes of each record, by name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub attributes: IndexMap<String, Attribute>,
    /// Account attributes that hold group memberships (account aggregation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entitlements: Vec<Entitlement>,
    /// JSONPath of a group's member identities (group aggregation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<JsonPath>,
    /// Partitioned aggregation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Partitions>,
    /// Requests run for their effect before reading, per partition or per record (join a
    /// channel before reading its members), with their own success rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<super::setup::Setup>,
    /// Read as successive time windows (`window.start`, `window.end` in the requests), the
    /// last window's end kept for the next run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<Box<super::windows::Windows>>,
    /// Incremental (delta) aggregation: extra query parameters sent when a previous run
    /// exists (`last_run.*` in templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<Delta>,
    /// Status codes that count as success. Default: the connector's `http.success`, or 2xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Vec<StatusPattern>>,
    /// Error rules for 2xx bodies, in addition to the connector's `http.errors`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRule>,
    /// Hooks run around requests, responses and the whole operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
    /// For add/remove_entitlement: `each` sends one request per value (`plan.value`), `all`
    /// one request with every value (`plan.values`). Default `each`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<ValuesMode>,
    /// For write operations: after success, read the object back with `get_object.account`
    /// and return its final state. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_back: bool,
    /// For write operations: statuses that mean the change is already in place (a 404 when
    /// deleting, a 409 when adding a member who is one already). Such an answer ends the
    /// operation as `already_done` rather than failing it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub already_done: Vec<StatusPattern>,
    /// For `authenticate`: statuses meaning the user's password was refused, so that
    /// `wsc authenticate` answers "rejected" (exit 1) rather than reporting a failed request.
    /// Default `[401, 403]`; APIs that refuse a password with another status list it, e.g.
    /// `[400, 401]`. Such an answer is final: it never renews the connector's own
    /// credentials and retries, which would count one wrong password twice against the
    /// account's lockout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<StatusPattern>>,
    /// For `update_account` (and `create_account`): how a plan's `add` / `remove` / `set` of
    /// a multi-valued attribute becomes requests, per attribute. Without an entry, such a
    /// change goes into `plan.changes` when the operation has `changes`, and is refused
    /// before anything is sent otherwise.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub multi_valued: IndexMap<String, MultiValued>,
    /// For `update_account` (and `create_account`): the item templates of `plan.changes`,
    /// one list item per change, for APIs that take one request carrying a list of
    /// operations (SCIM PATCH). Each sees `change.attribute` and `change.value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeItems>,
    /// How response bodies are read: `json` (default) or `xml`. With `xml`, `records`,
    /// `identity`, `name`, `members`, attribute paths, `delta.deleted`, the paging values and
    /// the paths of `errors` are XPath 1.0 expressions. In a multi-step operation it is the
    /// default `format` of its steps, and the mapping paths are in the primary step's format. A response whose
    /// `Content-Type` says XML in a JSON operation, or JSON in an XML one, fails the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<super::xml::BodyFormat>,
    /// XML namespace prefixes of this operation's XPaths, added to the connector's
    /// `namespaces`.
    #[serde(default, skip_serializing_if = "Namespaces::is_empty")]
    pub namespaces: Namespaces,
}

impl Operation {
    /// The statuses that mean "password refused" for `authenticate`: `rejected`, else 401
    /// and 403.
    pub fn rejected_statuses(&self) -> Vec<StatusPattern> {
        self.rejected
            .clone()
            .unwrap_or_else(|| vec![StatusPattern::Code(401), StatusPattern::Code(403)])
    }
}

/// How changes to one multi-valued attribute become requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MultiValued {
    /// `operations`: one item of `plan.changes` per added or removed value (see `changes`);
    /// `requests`: one request per value through other operations (`add` / `remove`), after
    /// the operation's own request; `replace`: the current values are read first (with
    /// `get_object.<object>`), the change applied to them, and the whole new list sent as
    /// `plan.attributes.<name>`.
    pub mode: MultiMode,
    /// `requests` mode: the operation run per added value (`plan.value`), default
    /// `add_entitlement`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<String>,
    /// `requests` mode: the operation run per removed value, default `remove_entitlement`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<String>,
    /// `replace` mode: the attribute of the object read back that holds the current values
    /// (default: the same name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
}

/// The modes of [`MultiValued`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MultiMode {
    /// Items of `plan.changes` in the operation's one request.
    Operations,
    /// One request per value, through other write operations.
    Requests,
    /// The whole new list, computed from the current values read first.
    Replace,
}

/// Item templates of `plan.changes`: JSON values whose string leaves are templates over
/// `change.attribute` and `change.value` (and everything else an operation template sees).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeItems {
    /// A value set on an attribute (single-valued, or a whole multi-valued list without
    /// `set`): `change.value` is the new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace: Option<serde_json::Value>,
    /// One value added to a multi-valued attribute (`change.value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<serde_json::Value>,
    /// One value removed from a multi-valued attribute (`change.value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<serde_json::Value>,
    /// Every value of a multi-valued attribute replaced (`change.value` is the list);
    /// default: `replace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<serde_json::Value>,
}

/// One step of a multi-step operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Step name, unique within the operation; later steps see `steps.<name>`.
    pub name: String,
    /// The request.
    pub request: RequestSpec,
    /// Paging of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
    /// Run once per record of this earlier step (`record.*` is that record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<String>,
    /// Requests run at once in a `for_each` step. Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Count>,
    /// JSONPath of the records in this step's response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<JsonPath>,
    /// The API leaves this step's records key out when there are no records (see the
    /// operation's `records_optional`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub records_optional: bool,
    /// Merge this step's records into the `for_each` record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<Merge>,
    /// Values saved for later steps, visible as `saved.<name>` (JSONPaths into the response).
    /// Values saved by setup steps are also kept as connector state: `state.<name>` in later
    /// runs (with a state store).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub save: IndexMap<String, JsonPath>,
    /// Status codes that count as success for this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<Vec<StatusPattern>>,
    /// Error rules for 2xx bodies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorRule>,
    /// Hooks of this step's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
    /// A 404 in a `for_each` step means "nothing" rather than an error. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_not_found: bool,
    /// Keep this step's responses for the rest of the run, keyed by method, URL and body: an
    /// identical request (of this or another operation with `cache: true`) is answered from
    /// memory. Read operations only. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cache: bool,
    /// How this step's responses are read (default: the operation's `format`). With `xml`,
    /// this step's `records`, paging values, `save` values, `merge.value` and error-rule paths
    /// are XPath 1.0 expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<super::xml::BodyFormat>,
    /// XML namespace prefixes of this step's XPaths, added to the operation's and the
    /// connector's `namespaces`.
    #[serde(default, skip_serializing_if = "Namespaces::is_empty")]
    pub namespaces: Namespaces,
}

/// How a `for_each` step's records join the parent record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// Key set on the parent record, e.g. `groups`.
    pub into: String,
    /// JSONPath projected from each step record (default: the whole record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<JsonPath>,
    /// `list` (default) keeps all records as a list; `first` keeps the first (or null);
    /// `object` merges the first record's fields into the parent record itself.
    #[serde(default)]
    pub mode: MergeMode,
}

/// Merge modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MergeMode {
    /// A list of every step record.
    #[default]
    List,
    /// The first step record, or null.
    First,
    /// The first step record's fields merged into the parent record (`into` is ignored).
    Object,
}

/// Entitlement request modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValuesMode {
    /// One request per value (`plan.value`).
    Each,
    /// One request with every value (`plan.values`).
    All,
}

/// Partitions of an aggregation: a static list, the items of a list setting, the records of
/// `get_partitions`, or the union of several of these (in that order; names must not repeat).
/// Each is visible as `partition.*` in templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Partitions {
    /// Static partitions; each needs a `name` and may carry any other fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<Vec<IndexMap<String, serde_json::Value>>>,
    /// A setting of type `list` whose items are partitions: a text or number item `x` is
    /// `{ name: x, value: x }`, an object item needs a `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_setting: Option<String>,
    /// Take partitions from the records of `operations.get_partitions` (identity → `name`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub from_get_partitions: bool,
    /// Partitions run at once. Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Count>,
}

/// Incremental aggregation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delta {
    /// Query parameters added when a previous run exists (templates over `last_run`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, Template>,
    /// JSONPath that marks a record as deleted in an incremental response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<JsonPath>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_get_agree_on_keys() {
        let op = |d: &str| Operation {
            description: Some(d.into()),
            ..Operation::default()
        };
        let mut ops = Operations {
            test_connection: Some(op("test")),
            account_aggregation: Some(op("accounts")),
            create_account: Some(op("create")),
            ..Operations::default()
        };
        ops.group_aggregation.insert("role".into(), op("roles"));
        ops.get_object.insert("account".into(), op("one"));
        let keys: Vec<String> = ops.entries().iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(
            keys,
            [
                "test_connection",
                "account_aggregation",
                "create_account",
                "group_aggregation.role",
                "get_object.account",
            ]
        );
        for (key, op) in ops.entries() {
            assert_eq!(ops.get(&key), Some(op), "{key}");
        }
        let legacy: Vec<(String, OperationKind)> = ops
            .iter()
            .into_iter()
            .map(|(k, kind, _)| (k, kind))
            .collect();
        assert_eq!(
            legacy[3],
            (
                "group_aggregation.role".into(),
                OperationKind::GroupAggregation
            )
        );
        assert_eq!(ops.get(&OperationKey::aggregation("group")), None);
        assert_eq!(ops.get(&OperationKey::get_object("role")), None);
        let roles = ops.get(&OperationKey::aggregation("role")).unwrap();
        assert_eq!(roles.description.as_deref(), Some("roles"));
    }
}

/// What an identity delivered twice in one aggregation run does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    /// Fail the run: it cannot be shown complete. In a run of more than 32,768 records the
    /// identities are checked in bounded memory: a repeat far from its first copy is found
    /// when the run ends (which then fails), and the message cannot name it.
    #[default]
    Error,
    /// Keep the first copy, drop the repeat, warn and count it in the summary. Every
    /// identity of the run is kept in memory (6 bytes each) to find repeats as they arrive.
    Warn,
}
