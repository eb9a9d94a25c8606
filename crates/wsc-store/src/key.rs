//! The identity of a connector instance in the store.

use sha2::{Digest, Sha256};

/// Identifies one connector instance: the connector name and a hash of the values of its
/// instance settings (never the values themselves).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceKey {
    /// Connector name.
    pub connector: String,
    /// Hex SHA-256 of the instance settings' names and values.
    pub instance: String,
}

impl InstanceKey {
    /// The key of `connector` with these (name, value) instance settings.
    pub fn new<'a>(
        connector: &str,
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut pairs: Vec<(&str, &str)> = settings.into_iter().collect();
        pairs.sort();
        let mut h = Sha256::new();
        for (k, v) in pairs {
            h.update((k.len() as u64).to_le_bytes());
            h.update(k.as_bytes());
            h.update((v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
        let digest = h.finalize();
        InstanceKey {
            connector: connector.to_string(),
            instance: digest.iter().take(16).map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// The associated data that binds a sealed token to this instance.
    pub(crate) fn aad(&self) -> Vec<u8> {
        format!("wsc-token\0{}\0{}", self.connector, self.instance).into_bytes()
    }

    /// The associated data of the state value `name` of this instance.
    pub(crate) fn state_aad(&self, name: &str) -> Vec<u8> {
        [self.aad(), b"|state|".to_vec(), name.as_bytes().to_vec()].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_keys_hash_values() {
        let a = InstanceKey::new("c", [("tenant", "a"), ("region", "eu")]);
        let b = InstanceKey::new("c", [("region", "eu"), ("tenant", "a")]);
        let c = InstanceKey::new("c", [("tenant", "b"), ("region", "eu")]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(!a.instance.contains("eu"));
    }
}
