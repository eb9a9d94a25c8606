//! The deterministic directory generator: users and groups computed from (seed, index).

use serde::{Deserialize, Serialize};

use super::SyntheticConfig;
use super::json::{push_lower, push_padded, push_plain_str, push_rfc3339, push_u64, rfc3339};
use super::words::{DEPARTMENTS, FAMILY_NAMES, GIVEN_NAMES, GROUP_KINDS, TITLES};

/// Minimum number of digits of a user id (`u0000042`).
pub(crate) const USER_ID_DIGITS: usize = 7;
/// Minimum number of digits of a group id (`g00042`).
pub(crate) const GROUP_ID_DIGITS: usize = 5;
/// Every user's e-mail domain.
pub const EMAIL_DOMAIN: &str = "example.com";
/// `employeeNumber` of user 0; user `i` has `EMPLOYEE_NUMBER_BASE + i`.
pub const EMPLOYEE_NUMBER_BASE: u64 = 100_000;

const CREATED_BASE: i64 = 1_451_606_400; // 2016-01-01T00:00:00Z
const CREATED_SPAN: u64 = 8 * 365 * 86_400;
const MODIFIED_SPAN: u64 = 2 * 365 * 86_400;

/// A generated user, as the server serializes it (camelCase JSON keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// `u` and the index in at least seven digits: `u0000042`.
    pub id: String,
    /// `given.family<index>` in lower case: `ada.lovelace42`. Unique.
    pub user_name: String,
    /// `Given Family`.
    pub display_name: String,
    /// Structured name.
    pub name: Name,
    /// One primary address: `<userName>@example.com`.
    pub emails: Vec<Email>,
    /// About 90% of users are active.
    pub active: bool,
    /// One of a dozen departments.
    pub department: String,
    /// One of sixteen job titles.
    pub title: String,
    /// `100000 + index`.
    pub employee_number: u64,
    /// RFC 3339 UTC timestamp between 2016 and 2024.
    pub created: String,
    /// RFC 3339 UTC timestamp, at or after `created`.
    pub last_modified: String,
    /// Ids of the groups the user belongs to, ascending; 0 to `memberships_per_user` of them.
    pub groups: Vec<String>,
}

/// A user's structured name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
}

/// An e-mail address of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The address.
    pub value: String,
    /// Whether it is the primary address (always true: every user has one address).
    pub primary: bool,
}

/// A generated group with its members, as the group endpoints serialize it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// `g` and the index in at least five digits: `g00007`.
    pub id: String,
    /// `<Department> <Kind> <index>`, e.g. `Finance Auditors 7`. Unique.
    pub display_name: String,
    /// A sentence about the group.
    pub description: String,
    /// Ids of the member users, ascending (the inverse of [`User::groups`]).
    pub members: Vec<String>,
}

/// A group without its members, as `GET /api/users/{id}/groups` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSummary {
    /// Group id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
}

impl From<Group> for GroupSummary {
    fn from(g: Group) -> Self {
        GroupSummary {
            id: g.id,
            display_name: g.display_name,
            description: g.description,
        }
    }
}

/// The parts of a config that determine the data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub seed: u64,
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
}

impl Shape {
    pub(crate) fn of(config: &SyntheticConfig) -> Self {
        Shape {
            seed: config.seed,
            users: config.users as u64,
            groups: config.groups as u64,
            memberships: config.memberships_per_user as u64,
        }
    }
}

/// SplitMix64's finalizer: a fast, well-mixing bijection on `u64`.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash of (seed, index, salt).
#[inline]
pub(crate) fn hash3(seed: u64, index: u64, salt: u64) -> u64 {
    mix64(seed ^ mix64(index.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt))
}

/// The scalar fields of a user, borrowed from the word lists.
pub(crate) struct UserParts {
    pub index: u64,
    pub given: &'static str,
    pub family: &'static str,
    pub active: bool,
    pub department: &'static str,
    pub title: &'static str,
    pub created: i64,
    pub modified: i64,
}

#[inline]
fn pick(list: &'static [&'static str], h: u64) -> &'static str {
    list[(h % list.len() as u64) as usize]
}

pub(crate) fn user_parts(shape: &Shape, index: u64) -> UserParts {
    let h1 = hash3(shape.seed, index, 1);
    let h2 = hash3(shape.seed, index, 2);
    let created = CREATED_BASE + (h2 % CREATED_SPAN) as i64;
    UserParts {
        index,
        given: pick(GIVEN_NAMES, h1),
        family: pick(FAMILY_NAMES, h1 >> 12),
        department: pick(DEPARTMENTS, h1 >> 24),
        title: pick(TITLES, h1 >> 36),
        active: !(h1 >> 48).is_multiple_of(10),
        created,
        modified: created + ((h2 >> 32) % MODIFIED_SPAN) as i64,
    }
}

/// Writes the group indices of user `index` into `out` (cleared first), ascending and distinct.
pub(crate) fn user_group_indices(shape: &Shape, index: u64, out: &mut Vec<u32>) {
    out.clear();
    if shape.groups == 0 || shape.memberships == 0 {
        return;
    }
    let h = hash3(shape.seed, index, 3);
    let count = (h % (shape.memberships + 1)).min(shape.groups) as usize;
    let mut salt = 0x100;
    let max_salt = 0x100 + 16 * count as u64 + 16;
    while out.len() < count && salt < max_salt {
        let g = (hash3(shape.seed, index, salt) % shape.groups) as u32;
        salt += 1;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out.sort_unstable();
}

#[inline]
pub(crate) fn push_user_id(buf: &mut Vec<u8>, index: u64) {
    buf.push(b'u');
    push_padded(buf, index, USER_ID_DIGITS);
}

#[inline]
pub(crate) fn push_group_id(buf: &mut Vec<u8>, index: u64) {
    buf.push(b'g');
    push_padded(buf, index, GROUP_ID_DIGITS);
}

fn push_user_name(buf: &mut Vec<u8>, p: &UserParts) {
    push_lower(buf, p.given);
    buf.push(b'.');
    push_lower(buf, p.family);
    push_u64(buf, p.index);
}

/// Writes user `index` as a JSON object. `scratch` is reused for its group list.
pub(crate) fn write_user(buf: &mut Vec<u8>, shape: &Shape, index: u64, scratch: &mut Vec<u32>) {
    let p = user_parts(shape, index);
    buf.extend_from_slice(b"{\"id\":\"");
    push_user_id(buf, index);
    buf.extend_from_slice(b"\",\"userName\":\"");
    push_user_name(buf, &p);
    buf.extend_from_slice(b"\",\"displayName\":\"");
    buf.extend_from_slice(p.given.as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(p.family.as_bytes());
    buf.extend_from_slice(b"\",\"name\":{\"givenName\":");
    push_plain_str(buf, p.given);
    buf.extend_from_slice(b",\"familyName\":");
    push_plain_str(buf, p.family);
    buf.extend_from_slice(b"},\"emails\":[{\"value\":\"");
    push_user_name(buf, &p);
    buf.push(b'@');
    buf.extend_from_slice(EMAIL_DOMAIN.as_bytes());
    buf.extend_from_slice(b"\",\"primary\":true}],\"active\":");
    buf.extend_from_slice(if p.active { b"true" } else { b"false" });
    buf.extend_from_slice(b",\"department\":");
    push_plain_str(buf, p.department);
    buf.extend_from_slice(b",\"title\":");
    push_plain_str(buf, p.title);
    buf.extend_from_slice(b",\"employeeNumber\":");
    push_u64(buf, EMPLOYEE_NUMBER_BASE + index);
    buf.extend_from_slice(b",\"created\":");
    push_rfc3339(buf, p.created);
    buf.extend_from_slice(b",\"lastModified\":");
    push_rfc3339(buf, p.modified);
    buf.extend_from_slice(b",\"groups\":[");
    user_group_indices(shape, index, scratch);
    for (k, &g) in scratch.iter().enumerate() {
        if k > 0 {
            buf.push(b',');
        }
        buf.push(b'"');
        push_group_id(buf, g as u64);
        buf.push(b'"');
    }
    buf.extend_from_slice(b"]}");
}

/// The scalar fields of a group.
pub(crate) struct GroupParts {
    pub department: &'static str,
    pub kind: &'static str,
}

pub(crate) fn group_parts(shape: &Shape, index: u64) -> GroupParts {
    let h = hash3(shape.seed, index, 4);
    GroupParts {
        department: DEPARTMENTS[(index % DEPARTMENTS.len() as u64) as usize],
        kind: pick(GROUP_KINDS, h),
    }
}

/// Writes the `id`, `displayName` and `description` members of group `index` (no braces).
fn write_group_fields(buf: &mut Vec<u8>, shape: &Shape, index: u64) {
    let p = group_parts(shape, index);
    buf.extend_from_slice(b"\"id\":\"");
    push_group_id(buf, index);
    buf.extend_from_slice(b"\",\"displayName\":\"");
    buf.extend_from_slice(p.department.as_bytes());
    buf.push(b' ');
    buf.extend_from_slice(p.kind.as_bytes());
    buf.push(b' ');
    push_u64(buf, index);
    buf.extend_from_slice(b"\",\"description\":\"");
    buf.extend_from_slice(p.kind.as_bytes());
    buf.extend_from_slice(b" of the ");
    buf.extend_from_slice(p.department.as_bytes());
    buf.extend_from_slice(b" department (synthetic group ");
    push_u64(buf, index);
    buf.extend_from_slice(b")\"");
}

/// Writes group `index` with its members (user indices, ascending) as a JSON object.
pub(crate) fn write_group(buf: &mut Vec<u8>, shape: &Shape, index: u64, members: &[u32]) {
    buf.push(b'{');
    write_group_fields(buf, shape, index);
    buf.extend_from_slice(b",\"members\":[");
    for (k, &u) in members.iter().enumerate() {
        if k > 0 {
            buf.push(b',');
        }
        buf.push(b'"');
        push_user_id(buf, u as u64);
        buf.push(b'"');
    }
    buf.extend_from_slice(b"]}");
}

/// Writes group `index` without members as a JSON object.
pub(crate) fn write_group_summary(buf: &mut Vec<u8>, shape: &Shape, index: u64) {
    buf.push(b'{');
    write_group_fields(buf, shape, index);
    buf.push(b'}');
}

/// Members of every group: `members[g]` lists the user indices of group `g`, ascending.
pub(crate) fn all_members(shape: &Shape) -> Vec<Vec<u32>> {
    let mut members = vec![Vec::new(); shape.groups as usize];
    let mut scratch = Vec::new();
    for u in 0..shape.users {
        user_group_indices(shape, u, &mut scratch);
        for &g in &scratch {
            members[g as usize].push(u as u32);
        }
    }
    members
}

/// Parses a user id (`u0000042`) back to its index; only the canonical spelling is accepted.
pub(crate) fn parse_id(id: &str, prefix: u8, digits: usize) -> Option<u64> {
    let rest = id.strip_prefix(prefix as char)?;
    if rest.len() < digits || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if rest.len() > digits && rest.starts_with('0') {
        return None;
    }
    rest.parse().ok()
}

pub(crate) fn parse_user_id(id: &str) -> Option<u64> {
    parse_id(id, b'u', USER_ID_DIGITS)
}

pub(crate) fn parse_group_id(id: &str) -> Option<u64> {
    parse_id(id, b'g', GROUP_ID_DIGITS)
}

fn string(buf: Vec<u8>) -> String {
    String::from_utf8(buf).unwrap_or_default()
}

/// The id of user `index`: `u` followed by the index in at least seven digits (`u0000042`).
pub fn user_id(index: usize) -> String {
    let mut buf = Vec::with_capacity(12);
    push_user_id(&mut buf, index as u64);
    string(buf)
}

/// The id of group `index`: `g` followed by the index in at least five digits (`g00007`).
pub fn group_id(index: usize) -> String {
    let mut buf = Vec::with_capacity(10);
    push_group_id(&mut buf, index as u64);
    string(buf)
}

/// The index of a user id made by [`user_id`], or `None`.
pub fn user_index(id: &str) -> Option<usize> {
    parse_user_id(id).and_then(|i| usize::try_from(i).ok())
}

/// The index of a group id made by [`group_id`], or `None`.
pub fn group_index(id: &str) -> Option<usize> {
    parse_group_id(id).and_then(|i| usize::try_from(i).ok())
}

/// User `index` of the directory `config` describes: exactly what the server sends for it.
/// Works for any index, also past `config.users`.
pub fn user(config: &SyntheticConfig, index: usize) -> User {
    let shape = Shape::of(config);
    let p = user_parts(&shape, index as u64);
    let mut scratch = Vec::new();
    user_group_indices(&shape, index as u64, &mut scratch);
    let mut name = Vec::new();
    push_user_name(&mut name, &p);
    let user_name = string(name);
    User {
        id: user_id(index),
        display_name: format!("{} {}", p.given, p.family),
        name: Name {
            given_name: p.given.to_owned(),
            family_name: p.family.to_owned(),
        },
        emails: vec![Email {
            value: format!("{user_name}@{EMAIL_DOMAIN}"),
            primary: true,
        }],
        user_name,
        active: p.active,
        department: p.department.to_owned(),
        title: p.title.to_owned(),
        employee_number: EMPLOYEE_NUMBER_BASE + index as u64,
        created: rfc3339(p.created),
        last_modified: rfc3339(p.modified),
        groups: scratch.iter().map(|&g| group_id(g as usize)).collect(),
    }
}

/// The indices of the groups user `index` belongs to, ascending.
pub fn user_group_ids(config: &SyntheticConfig, index: usize) -> Vec<usize> {
    let mut scratch = Vec::new();
    user_group_indices(&Shape::of(config), index as u64, &mut scratch);
    scratch.into_iter().map(|g| g as usize).collect()
}

/// Group `index` without members.
pub fn group_summary(config: &SyntheticConfig, index: usize) -> GroupSummary {
    let shape = Shape::of(config);
    let p = group_parts(&shape, index as u64);
    GroupSummary {
        id: group_id(index),
        display_name: format!("{} {} {index}", p.department, p.kind),
        description: format!(
            "{} of the {} department (synthetic group {index})",
            p.kind, p.department
        ),
    }
}

/// Group `index` with its members, exactly what the server sends for it. This scans all
/// `config.users` users (O(users)); [`SyntheticApi::group`](super::SyntheticApi::group) uses the
/// server's cached membership index instead.
pub fn group(config: &SyntheticConfig, index: usize) -> Group {
    let shape = Shape::of(config);
    let mut scratch = Vec::new();
    let mut members = Vec::new();
    for u in 0..shape.users {
        user_group_indices(&shape, u, &mut scratch);
        if scratch.contains(&(index as u32)) {
            members.push(user_id(u as usize));
        }
    }
    group_with_members(config, index, members)
}

pub(crate) fn group_with_members(
    config: &SyntheticConfig,
    index: usize,
    members: Vec<String>,
) -> Group {
    let s = group_summary(config, index);
    Group {
        id: s.id,
        display_name: s.display_name,
        description: s.description,
        members,
    }
}

#[cfg(test)]
mod tests {
    use super::super::json::needs_escape;
    use super::*;

    #[test]
    fn word_lists_need_no_escaping() {
        for list in [GIVEN_NAMES, FAMILY_NAMES, DEPARTMENTS, TITLES, GROUP_KINDS] {
            for w in list {
                assert!(!needs_escape(w) && w.is_ascii(), "{w}");
            }
        }
    }

    #[test]
    fn fast_writer_matches_public_generator() {
        let config = SyntheticConfig::new(500).with_groups(7).with_seed(99);
        let shape = Shape::of(&config);
        let mut scratch = Vec::new();
        for i in 0..500 {
            let mut buf = Vec::new();
            write_user(&mut buf, &shape, i, &mut scratch);
            let written: serde_json::Value = serde_json::from_slice(&buf).unwrap();
            let expected = serde_json::to_value(user(&config, i as usize)).unwrap();
            assert_eq!(written, expected);
            // Same key order too: the bytes are exactly serde_json's compact form.
            assert_eq!(buf, serde_json::to_vec(&user(&config, i as usize)).unwrap());
        }
        let members = all_members(&shape);
        let mut total = 0;
        for g in 0..7 {
            let mut buf = Vec::new();
            write_group(&mut buf, &shape, g, &members[g as usize]);
            assert_eq!(
                buf,
                serde_json::to_vec(&group(&config, g as usize)).unwrap()
            );
            let mut buf = Vec::new();
            write_group_summary(&mut buf, &shape, g);
            assert_eq!(
                buf,
                serde_json::to_vec(&group_summary(&config, g as usize)).unwrap()
            );
            total += members[g as usize].len();
        }
        let from_users: usize = (0..500).map(|i| user(&config, i).groups.len()).sum();
        assert_eq!(total, from_users);
        assert!(total > 500);
    }

    #[test]
    fn different_seeds_give_different_users() {
        let a = SyntheticConfig::new(10).with_seed(1);
        let b = SyntheticConfig::new(10).with_seed(2);
        let differing = (0..10).filter(|&i| user(&a, i) != user(&b, i)).count();
        assert!(differing >= 9, "{differing}");
        assert_eq!(user(&a, 3), user(&a, 3));
        assert_eq!(user(&a, 3).id, "u0000003");
        assert_eq!(user(&a, 3).employee_number, 100_003);
    }

    #[test]
    fn ids_round_trip() {
        assert_eq!(user_id(42), "u0000042");
        assert_eq!(user_id(123_456_789), "u123456789");
        assert_eq!(group_id(7), "g00007");
        assert_eq!(user_index("u0000042"), Some(42));
        assert_eq!(user_index("u123456789"), Some(123_456_789));
        assert_eq!(user_index("u42"), None);
        assert_eq!(user_index("u00000042"), None);
        assert_eq!(user_index("g0000042"), None);
        assert_eq!(user_index("u000004x"), None);
        assert_eq!(group_index("g00007"), Some(7));
    }

    #[test]
    fn memberships_are_distinct_sorted_and_bounded() {
        let config = SyntheticConfig::new(2000).with_groups(5);
        let shape = Shape::of(&config);
        let mut scratch = Vec::new();
        let mut counts = [0usize; 4];
        for u in 0..2000 {
            user_group_indices(&shape, u, &mut scratch);
            assert!(scratch.len() <= 3);
            assert!(scratch.windows(2).all(|w| w[0] < w[1]));
            assert!(scratch.iter().all(|&g| g < 5));
            counts[scratch.len()] += 1;
        }
        // Every count from 0 to 3 occurs.
        assert!(counts.iter().all(|&c| c > 100), "{counts:?}");
    }
}
