//! Operation names: the kinds of operation, and the keys that name one operation of a
//! connector (`account_aggregation`, `group_aggregation.role`, `get_object.account`) as
//! `operations:` holds it and as commands, fixture cases and messages name it.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The kinds of operation, as named under `operations:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    /// `test_connection`
    TestConnection,
    /// `account_aggregation`
    AccountAggregation,
    /// `group_aggregation.<type>`
    GroupAggregation,
    /// `get_object.<type>`
    GetObject,
    /// `get_partitions`
    GetPartitions,
    /// `create_account`
    CreateAccount,
    /// `update_account`
    UpdateAccount,
    /// `delete_account`
    DeleteAccount,
    /// `enable_account`
    EnableAccount,
    /// `disable_account`
    DisableAccount,
    /// `unlock_account`
    UnlockAccount,
    /// `change_password`
    ChangePassword,
    /// `add_entitlement`
    AddEntitlement,
    /// `remove_entitlement`
    RemoveEntitlement,
    /// `authenticate`
    Authenticate,
    /// `custom.<name>`: a write operation of the connector's own (`suspend_account`, ...),
    /// named by plans as `<name>`.
    Custom,
}

impl OperationKind {
    /// Every kind, in the order of the keys under `operations:`.
    pub const ALL: [OperationKind; 16] = [
        OperationKind::TestConnection,
        OperationKind::AccountAggregation,
        OperationKind::GroupAggregation,
        OperationKind::GetObject,
        OperationKind::GetPartitions,
        OperationKind::CreateAccount,
        OperationKind::UpdateAccount,
        OperationKind::DeleteAccount,
        OperationKind::EnableAccount,
        OperationKind::DisableAccount,
        OperationKind::UnlockAccount,
        OperationKind::ChangePassword,
        OperationKind::AddEntitlement,
        OperationKind::RemoveEntitlement,
        OperationKind::Authenticate,
        OperationKind::Custom,
    ];

    /// The key under `operations:`, e.g. `account_aggregation`; `group_aggregation` and
    /// `get_object` for the kinds defined per object type.
    pub const fn name(self) -> &'static str {
        match self {
            OperationKind::TestConnection => "test_connection",
            OperationKind::AccountAggregation => "account_aggregation",
            OperationKind::GroupAggregation => "group_aggregation",
            OperationKind::GetObject => "get_object",
            OperationKind::GetPartitions => "get_partitions",
            OperationKind::CreateAccount => "create_account",
            OperationKind::UpdateAccount => "update_account",
            OperationKind::DeleteAccount => "delete_account",
            OperationKind::EnableAccount => "enable_account",
            OperationKind::DisableAccount => "disable_account",
            OperationKind::UnlockAccount => "unlock_account",
            OperationKind::ChangePassword => "change_password",
            OperationKind::AddEntitlement => "add_entitlement",
            OperationKind::RemoveEntitlement => "remove_entitlement",
            OperationKind::Authenticate => "authenticate",
            OperationKind::Custom => "custom",
        }
    }

    /// Whether operations of this kind are defined per name, so that their keys carry one
    /// (`group_aggregation.<type>`, `get_object.<type>`, `custom.<name>`).
    pub const fn per_object_type(self) -> bool {
        matches!(
            self,
            OperationKind::GroupAggregation | OperationKind::GetObject | OperationKind::Custom
        )
    }

    /// Whether the operation changes the target system (a provisioning plan names it).
    pub fn is_write(self) -> bool {
        self.takes_plan() && !matches!(self, OperationKind::GetObject | OperationKind::Authenticate)
    }

    /// Whether the operation reads records from a list (aggregations and partitions).
    pub fn is_aggregation(self) -> bool {
        matches!(
            self,
            OperationKind::AccountAggregation
                | OperationKind::GroupAggregation
                | OperationKind::GetPartitions
        )
    }

    /// Whether the operation takes a provisioning plan (`plan.*`).
    pub fn takes_plan(self) -> bool {
        !matches!(
            self,
            OperationKind::TestConnection
                | OperationKind::AccountAggregation
                | OperationKind::GroupAggregation
                | OperationKind::GetPartitions
        )
    }
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The key of one operation of a connector: `test_connection`, `account_aggregation`,
/// `group_aggregation.<type>`, `get_object.<type>`, `create_account`, ...
///
/// It compares, hashes and orders as its text ([`OperationKey::as_str`]), so maps keyed by it
/// can be looked up with a `&str`.
#[derive(Debug, Clone)]
pub struct OperationKey {
    kind: OperationKind,
    key: String,
}

impl OperationKey {
    /// The aggregation of an object type: `account_aggregation` for `account`,
    /// `group_aggregation.<type>` for any other type.
    pub fn aggregation(object_type: &str) -> OperationKey {
        if object_type == "account" {
            OperationKey::plain(OperationKind::AccountAggregation)
        } else {
            OperationKey::group_aggregation(object_type)
        }
    }

    /// `group_aggregation.<group_type>`.
    pub fn group_aggregation(group_type: &str) -> OperationKey {
        OperationKey::per_type(OperationKind::GroupAggregation, group_type)
    }

    /// `get_object.<object_type>` (`account`, or a group type).
    pub fn get_object(object_type: &str) -> OperationKey {
        OperationKey::per_type(OperationKind::GetObject, object_type)
    }

    /// `custom.<name>`: a write operation of the connector's own.
    pub fn custom(name: &str) -> OperationKey {
        OperationKey::per_type(OperationKind::Custom, name)
    }

    /// The name of a custom operation (`suspend_account` of `custom.suspend_account`).
    pub fn custom_name(&self) -> Option<&str> {
        (self.kind == OperationKind::Custom).then(|| &self.key[self.kind.name().len() + 1..])
    }

    /// The key of an operation of a kind not defined per object type (`test_connection`,
    /// `create_account`, ...); `None` for `group_aggregation` and `get_object`, which need
    /// one (see [`OperationKey::group_aggregation`] and [`OperationKey::get_object`]).
    pub fn of_kind(kind: OperationKind) -> Option<OperationKey> {
        (!kind.per_object_type()).then(|| OperationKey::plain(kind))
    }

    fn plain(kind: OperationKind) -> OperationKey {
        OperationKey {
            kind,
            key: kind.name().to_string(),
        }
    }

    fn per_type(kind: OperationKind, object_type: &str) -> OperationKey {
        OperationKey {
            kind,
            key: format!("{}.{object_type}", kind.name()),
        }
    }

    /// Reads a key such as `group_aggregation.role` (the same as `str::parse`).
    pub fn parse(s: &str) -> Result<OperationKey, ParseOperationKeyError> {
        let (name, object_type) = match s.split_once('.') {
            Some((name, t)) => (name, Some(t)),
            None => (s, None),
        };
        let kind = OperationKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| ParseOperationKeyError { key: s.to_string() })?;
        match (kind.per_object_type(), object_type) {
            (false, None) => Ok(OperationKey::plain(kind)),
            (true, Some(t)) if !t.is_empty() => Ok(OperationKey::per_type(kind, t)),
            _ => Err(ParseOperationKeyError { key: s.to_string() }),
        }
    }

    /// The kind of operation.
    pub fn kind(&self) -> OperationKind {
        self.kind
    }

    /// The object type the operation reads: `account` for `account_aggregation`, the type of
    /// `group_aggregation.<type>` and `get_object.<type>`; `None` for the other kinds.
    pub fn object_type(&self) -> Option<&str> {
        match self.kind {
            OperationKind::AccountAggregation => Some("account"),
            OperationKind::Custom => None,
            k if k.per_object_type() => Some(&self.key[k.name().len() + 1..]),
            _ => None,
        }
    }

    /// The key as text, e.g. `group_aggregation.role`.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The key as an owned string.
    pub fn into_string(self) -> String {
        self.key
    }
}

impl fmt::Display for OperationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl FromStr for OperationKey {
    type Err = ParseOperationKeyError;

    fn from_str(s: &str) -> Result<OperationKey, ParseOperationKeyError> {
        OperationKey::parse(s)
    }
}

impl AsRef<str> for OperationKey {
    fn as_ref(&self) -> &str {
        &self.key
    }
}

impl Borrow<str> for OperationKey {
    fn borrow(&self) -> &str {
        &self.key
    }
}

impl From<OperationKey> for String {
    fn from(k: OperationKey) -> String {
        k.key
    }
}

impl PartialEq for OperationKey {
    fn eq(&self, other: &OperationKey) -> bool {
        self.key == other.key
    }
}

impl Eq for OperationKey {}

impl PartialEq<str> for OperationKey {
    fn eq(&self, other: &str) -> bool {
        self.key == other
    }
}

impl PartialEq<&str> for OperationKey {
    fn eq(&self, other: &&str) -> bool {
        self.key == *other
    }
}

impl Hash for OperationKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for OperationKey {
    fn partial_cmp(&self, other: &OperationKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OperationKey {
    fn cmp(&self, other: &OperationKey) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// A string that is not an operation key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOperationKeyError {
    key: String,
}

impl ParseOperationKeyError {
    /// The text that was read.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for ParseOperationKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an operation key: expected ", self.key)?;
        for (i, k) in OperationKind::ALL.into_iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(k.name())?;
            if k == OperationKind::Custom {
                f.write_str(".<name>")?;
            } else if k.per_object_type() {
                f.write_str(".<type>")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ParseOperationKeyError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn constructors_spell_the_keys() {
        assert_eq!(
            OperationKey::aggregation("account").as_str(),
            "account_aggregation"
        );
        assert_eq!(
            OperationKey::aggregation("group").as_str(),
            "group_aggregation.group"
        );
        assert_eq!(
            OperationKey::group_aggregation("role").to_string(),
            "group_aggregation.role"
        );
        assert_eq!(
            OperationKey::get_object("group").as_str(),
            "get_object.group"
        );
        assert_eq!(
            OperationKey::of_kind(OperationKind::CreateAccount).unwrap(),
            "create_account"
        );
        assert!(OperationKey::of_kind(OperationKind::GetObject).is_none());
        assert!(OperationKey::of_kind(OperationKind::GroupAggregation).is_none());
    }

    #[test]
    fn object_types() {
        assert_eq!(
            OperationKey::aggregation("account").object_type(),
            Some("account")
        );
        assert_eq!(
            OperationKey::aggregation("role").object_type(),
            Some("role")
        );
        assert_eq!(
            OperationKey::get_object("account").object_type(),
            Some("account")
        );
        assert_eq!(
            OperationKey::get_object("a.b").object_type(),
            Some("a.b"),
            "everything after the first dot is the type"
        );
        let test = OperationKey::of_kind(OperationKind::TestConnection).unwrap();
        assert_eq!(test.object_type(), None);
    }

    #[test]
    fn parse_round_trips_every_kind() {
        for kind in OperationKind::ALL {
            let key = match OperationKey::of_kind(kind) {
                Some(k) => k,
                None if kind == OperationKind::GetObject => OperationKey::get_object("account"),
                None if kind == OperationKind::Custom => OperationKey::custom("suspend_account"),
                None => OperationKey::group_aggregation("role"),
            };
            let parsed: OperationKey = key.as_str().parse().unwrap();
            assert_eq!(parsed, key);
            assert_eq!(parsed.kind(), kind);
            assert_eq!(parsed.object_type(), key.object_type());
        }
    }

    #[test]
    fn parse_rejects_what_is_not_a_key() {
        for bad in [
            "",
            "nope",
            "group_aggregation",
            "group_aggregation.",
            "get_object",
            "get_object.",
            "account_aggregation.account",
            "test_connection.x",
        ] {
            let e = OperationKey::parse(bad).unwrap_err();
            assert_eq!(e.key(), bad);
        }
        assert_eq!(
            OperationKey::parse("nope").unwrap_err().to_string(),
            "`nope` is not an operation key: expected test_connection, account_aggregation, \
             group_aggregation.<type>, get_object.<type>, get_partitions, create_account, \
             update_account, delete_account, enable_account, disable_account, unlock_account, \
             change_password, add_entitlement, remove_entitlement, authenticate, custom.<name>"
        );
    }

    #[test]
    fn maps_keyed_by_it_are_read_with_str() {
        let mut m = HashMap::new();
        m.insert(OperationKey::get_object("account"), 1);
        assert_eq!(m.get("get_object.account"), Some(&1));
        assert_eq!(OperationKind::GetObject.to_string(), "get_object");
    }
}
