//! What scripts see and what runs give back: the request and response views, the scope of a
//! run, state changes and outcomes.

use serde_json::{Map as JsonMap, Value};

use crate::error::HookError;

/// The request a `before` hook sees as `request` and may change.
///
/// The script sees an object map `#{method, url, query, headers, body}`. After the run, the
/// values it left are read back: `method` is upper-cased; a header or query value that is a
/// number or bool becomes a string, `()` removes the entry, an array gives a repeated entry
/// (its items become strings); `body` is any JSON (`()` = no body).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestView {
    /// HTTP method, upper case: `GET`, `POST`...
    pub method: String,
    /// The full URL, without the query parameters in [`RequestView::query`].
    pub url: String,
    /// Query parameters: name → string, or array of strings for a repeated parameter.
    pub query: JsonMap<String, Value>,
    /// Headers: name → string, or array of strings for a repeated header.
    pub headers: JsonMap<String, Value>,
    /// The JSON body, or `Null` when the request has none.
    pub body: Value,
}

/// The response an `after` hook sees as `response` (read-only).
///
/// The script sees `#{status, headers, body, json}`: `body` is the raw text, `json` the parsed
/// body (`()` when it is not JSON).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseView {
    /// HTTP status code.
    pub status: u16,
    /// Response headers: name → string (or array of strings).
    pub headers: JsonMap<String, Value>,
    /// The raw body text.
    pub body: String,
    /// The parsed JSON body, or `Null`.
    pub json: Value,
}

/// The read-only context every hook sees, and the connector state it may change.
#[derive(Debug, Clone, PartialEq)]
pub struct HookScope {
    /// The operation's name (`account_aggregation`, `create_account`...), seen as `operation`.
    pub operation: String,
    /// The connector's resolved settings, seen as `settings`. Default `{}`.
    pub settings: Value,
    /// The provisioning plan, seen as `plan` (`()` for aggregations).
    pub plan: Value,
    /// The current page (`offset`, `limit`, `number`, `cursor`...), seen as `page`.
    pub page: Value,
    /// The previous step's response, seen as `prev` (`()` for the first step).
    pub prev: Value,
    /// The connector state, seen as `state`. A script may change it; the changes come back in
    /// [`HookOutcome::state`], for the caller to persist.
    pub state: JsonMap<String, Value>,
}

impl Default for HookScope {
    fn default() -> Self {
        HookScope {
            operation: String::new(),
            settings: Value::Object(JsonMap::new()),
            plan: Value::Null,
            page: Value::Null,
            prev: Value::Null,
            state: JsonMap::new(),
        }
    }
}

/// Changes a hook made to the connector state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StateChanges {
    /// Keys set or changed, with their new values.
    pub set: JsonMap<String, Value>,
    /// Keys removed.
    pub removed: Vec<String>,
}

impl StateChanges {
    /// Whether the hook left the state as it was.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.removed.is_empty()
    }

    /// Applies the changes to a state map.
    pub fn apply_to(&self, state: &mut JsonMap<String, Value>) {
        for k in &self.removed {
            state.remove(k);
        }
        for (k, v) in &self.set {
            state.insert(k.clone(), v.clone());
        }
    }

    /// Adds later changes to these (the later ones win).
    pub fn merge(&mut self, later: StateChanges) {
        for k in later.removed {
            self.set.remove(&k);
            if !self.removed.contains(&k) {
                self.removed.push(k);
            }
        }
        for (k, v) in later.set {
            self.removed.retain(|r| *r != k);
            self.set.insert(k, v);
        }
    }

    pub(super) fn diff(
        before: &JsonMap<String, Value>,
        after: JsonMap<String, Value>,
    ) -> StateChanges {
        let removed = before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .cloned()
            .collect();
        let set = after
            .into_iter()
            .filter(|(k, v)| before.get(k) != Some(v))
            .collect();
        StateChanges { set, removed }
    }
}

/// What a hook run gives back besides the values it changed in place.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HookOutcome {
    /// Changes to the connector state.
    pub state: StateChanges,
    /// The new plan, when a `before_operation` hook changed it (always `None` for other hooks).
    pub plan: Option<Value>,
}

/// A record an `after` hook failed on, with `on_error: skip_record`.
#[derive(Debug, Clone)]
pub struct SkippedRecord {
    /// Its index in the page given to the hook.
    pub index: usize,
    /// The record as it was given to the hook.
    pub record: Value,
    /// Why the hook failed on it.
    pub error: HookError,
}

/// What [`HookRuntime::after_with_mode`] gives back.
#[derive(Debug, Clone, Default)]
pub struct AfterOutcome {
    /// State changes (of the successful runs).
    pub outcome: HookOutcome,
    /// Records dropped because the hook failed on them (only with `skip_record`).
    pub skipped: Vec<SkippedRecord>,
}
