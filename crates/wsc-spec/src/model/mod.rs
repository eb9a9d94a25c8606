//! The connector format as typed structs.
//!
//! Every struct denies unknown fields, every enum is snake_case, and every type derives a JSON
//! Schema so editors can complete connector files. Strings that are Handlebars templates are
//! typed [`Template`]; strings that are JSONPath expressions are typed [`JsonPath`]. The loader
//! ([`crate::load`]) checks both when a connector is read.
//!
//! `docs/connector-reference.md` documents every key; a test keeps it in step with these types.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod auth;
mod defaults;
mod graphql;
mod hooks;
mod http;
mod key;
mod mapping;
mod operation;
mod paging;
mod settable;
mod settings;
mod setup;
mod soap;
mod windows;
mod xml;

pub use self::auth::{
    ApiKeyAuth, Auth, AuthAlternatives, BasicAuth, BearerAuth, ClientAuth, Credential, CustomAuth,
    CustomTokenRequest, Grant, JwtAlgorithm, JwtSpec, OAuth2Auth, ParamsIn, Placement,
    RefreshPolicy, ResponseFormat, TokenPlacement, TokenRequestShape, TokenResponseMapping,
};
pub use self::graphql::GraphQlRequest;
pub use self::hooks::{Hook, HookErrorMode, HookLimits, Hooks};
pub use self::http::{
    DEFAULT_MAX_BODY, ErrorRule, HeaderRetry, HttpOptions, Method, RawBody, RequestSpec,
    RetryBudget, RetryPolicy, Timeouts, Tls,
};
pub use self::key::{OperationKey, OperationKind, ParseOperationKeyError};
pub use self::mapping::{Attribute, AttributeDef, AttributeType, Entitlement};
pub use self::operation::{
    ChangeItems, Delta, Merge, MergeMode, MultiMode, MultiValued, OnDuplicate, Operation,
    Operations, Partitions, Step, ValuesMode,
};
pub use self::paging::{PageValue, Paging, PagingKind, TotalMismatch};
pub use self::settable::{Count, Floor, Rate, Settable, SettingOr, settings_reference};
pub use self::settings::{Setting, SettingType};
pub use self::setup::{Setup, SetupRule, SetupRun};
pub use self::soap::{PasswordType, SoapRequest, SoapVersion, WsSecurityAuth};
pub use self::windows::Windows;
pub use self::xml::{BodyFormat, Namespaces};
pub use crate::values::{ByteSize, Duration, JsonPath, StatusPattern, Template};

/// A whole connector file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    /// Connector name: lower-case letters, digits, `-` and `_`. Names token-store entries.
    pub connector: String,
    /// One-line description shown by `wsc` commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Link to the API documentation the connector was written from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    /// Values supplied per instance (`--set`, `--settings`, `WSC_<NAME>`), visible as
    /// `settings.<name>` in templates. Secrets are never written in the connector file.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub settings: IndexMap<String, Setting>,
    /// Settings that identify one tenant: tokens and state are stored per connector and per
    /// the values of these settings. Defaults to every non-secret setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<Vec<String>>,
    /// Base URL every operation path is relative to.
    pub base_url: Template,
    /// Further hosts that may receive credentials (besides the base URL's and token URL's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// HTTP behaviour shared by every request of this connector.
    #[serde(default)]
    pub http: HttpOptions,
    /// How requests are authenticated.
    #[serde(default)]
    pub auth: Auth,
    /// The operations this connector supports.
    #[serde(default)]
    pub operations: Operations,
    /// Limits of the connector's hooks (time, memory, operations per run), where the defaults
    /// do not fit.
    #[serde(default, skip_serializing_if = "HookLimits::is_empty")]
    pub hook_limits: HookLimits,
    /// XML namespace prefixes (`prefix: uri`) the XPaths of `format: xml` operations use, e.g.
    /// `{ u: "urn:example:users" }` for `/u:users/u:user`. An operation's own `namespaces`
    /// add to these (and win on the same prefix).
    #[serde(default, skip_serializing_if = "Namespaces::is_empty")]
    pub namespaces: Namespaces,
}
