//! Tokens in the state store, as [`TokenSet`]s: the store keeps a token's JSON form
//! ([`TokenSet::to_stored_json`]) sealed and does not interpret it; these functions convert.

use wsc_store::{ExpectedVersion, InstanceKey, Store, StoreError, TokenVersion};

use crate::token::TokenSet;

/// A stored token, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedToken {
    /// Grant (or `custom`) that obtained it.
    pub grant: String,
    /// The tokens.
    pub token: TokenSet,
    /// The version to write over ([`save_token`]).
    pub version: TokenVersion,
    /// When the row was written (ms since the epoch).
    pub updated_at_ms: u64,
}

/// The stored token of an instance, decoded; `None` when there is none.
pub fn load_token(store: &dyn Store, key: &InstanceKey) -> Result<Option<LoadedToken>, StoreError> {
    let Some(s) = store.load_token(key)? else {
        return Ok(None);
    };
    let token = TokenSet::from_stored_json(&s.payload).ok_or_else(|| {
        StoreError::corrupt(store.location(), "decoding a token", "missing fields")
    })?;
    Ok(Some(LoadedToken {
        grant: s.grant,
        token,
        version: s.version,
        updated_at_ms: s.updated_at_ms,
    }))
}

/// Writes the token of an instance if the stored one matches `expected` (else
/// [`StoreError::Conflict`]); durable before it returns. Returns the new version.
pub fn save_token(
    store: &dyn Store,
    key: &InstanceKey,
    grant: &str,
    token: &TokenSet,
    expected: ExpectedVersion,
) -> Result<TokenVersion, StoreError> {
    store.save_token(key, grant, &token.to_stored_json(), expected)
}
