//! DIDs `did:<method>:<blockchain>[:<network>]:<base58 id>` and the registry that maps
//! method / blockchain / network names to ID type bytes.

use std::collections::BTreeMap;
use std::fmt;

use super::{Id, IdError};

/// One registration: a DID method on one blockchain network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidMethodNetwork {
    /// Method name (`iden3`, `polygonid`, `air`, …).
    pub method: String,
    /// The method byte (`type[0]` of an ID); `0xFF` is reserved for unknown methods.
    pub method_byte: u8,
    /// Blockchain name (`polygon`, `readonly`, `id`, …).
    pub blockchain: String,
    /// Network name (`amoy`, `main`, `test`; empty for `readonly`).
    pub network: String,
    /// The network flag (`type[1]` of an ID), unique per method.
    pub network_flag: u8,
    /// EVM chain id of the network, if any.
    pub chain_id: Option<u64>,
}

/// A registration conflicts with an existing one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The method is registered with another byte, or the byte belongs to another method.
    #[error("method byte conflict for DID method '{0}'")]
    MethodByteConflict(String),
    /// The network is registered with another flag, or the flag is taken for this method.
    #[error("network flag conflict for '{method}' on '{blockchain}:{network}'")]
    NetworkFlagConflict {
        /// Method name.
        method: String,
        /// Blockchain name.
        blockchain: String,
        /// Network name.
        network: String,
    },
    /// The blockchain network already has a different chain id.
    #[error("chain id conflict for '{blockchain}:{network}'")]
    ChainIdConflict {
        /// Blockchain name.
        blockchain: String,
        /// Network name.
        network: String,
    },
    /// `0xFF` is iden3's "unknown method" byte; names must be non-empty lowercase
    /// alphanumerics without `:`.
    #[error("invalid registration: {0}")]
    Invalid(&'static str),
}

/// Errors parsing or building a DID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DidError {
    /// Not of the form `did:<method>:<blockchain>[:<network>]:<id>`.
    #[error("malformed DID")]
    Malformed,
    /// The method is not registered.
    #[error("unknown DID method '{0}'")]
    UnknownMethod(String),
    /// The blockchain/network is not registered for the method.
    #[error("network '{blockchain}:{network}' is not registered for DID method '{method}'")]
    UnknownNetwork {
        /// Method name.
        method: String,
        /// Blockchain name.
        blockchain: String,
        /// Network name.
        network: String,
    },
    /// The ID part is not a valid ID.
    #[error("invalid ID in DID: {0}")]
    InvalidId(#[from] IdError),
    /// The ID's type bytes do not encode the DID's method and network.
    #[error("ID type does not match the DID's method and network")]
    TypeMismatch,
    /// No registration has these type bytes.
    #[error("no DID method/network registered for ID type {0:02x?}")]
    UnknownIdType([u8; 2]),
}

/// A parsed, validated DID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Did {
    method: String,
    blockchain: String,
    network: String,
    id: Id,
}

impl Did {
    /// Method name.
    pub fn method(&self) -> &str {
        &self.method
    }
    /// Blockchain name.
    pub fn blockchain(&self) -> &str {
        &self.blockchain
    }
    /// Network name (empty for `readonly`).
    pub fn network(&self) -> &str {
        &self.network
    }
    /// The ID.
    pub fn id(&self) -> Id {
        self.id
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.network.is_empty() {
            write!(f, "did:{}:{}:{}", self.method, self.blockchain, self.id)
        } else {
            write!(
                f,
                "did:{}:{}:{}:{}",
                self.method, self.blockchain, self.network, self.id
            )
        }
    }
}

/// Method / network names ↔ ID type bytes, extensible at run time (unlike go-iden3-core's
/// process-global maps, each service owns its registry).
///
/// [`DidRegistry::default`] holds the iden3 and polygonid methods on every network that
/// @iden3/js-iden3-core 1.8 knows, plus claimd's own `did:air:id:test` (method byte `0x04`,
/// network flag `0xF3`, chain id 222888 — the type bytes of Moca's documented example DID).
#[derive(Debug, Clone)]
pub struct DidRegistry {
    method_bytes: BTreeMap<String, u8>,
    /// (method, blockchain, network) → flag.
    flags: BTreeMap<(String, String, String), u8>,
    /// (blockchain, network) → chain id.
    chain_ids: BTreeMap<(String, String), u64>,
}

/// Standard iden3 networks: (blockchain, network, flag, chain id).
const STANDARD_NETWORKS: &[(&str, &str, u8, Option<u64>)] = &[
    ("readonly", "", 0x00, None),
    ("polygon", "main", 0x11, Some(137)),
    ("polygon", "mumbai", 0x12, Some(80001)),
    ("polygon", "amoy", 0x13, Some(80002)),
    ("polygon", "zkevm", 0x14, Some(1101)),
    ("polygon", "cardona", 0x15, Some(2442)),
    ("eth", "main", 0x21, Some(1)),
    ("eth", "goerli", 0x22, Some(5)),
    ("eth", "sepolia", 0x23, Some(11_155_111)),
    ("privado", "main", 0xa1, Some(21000)),
    ("privado", "test", 0xa2, Some(21001)),
    ("linea", "main", 0x49, Some(59144)),
    ("linea", "sepolia", 0x48, Some(59141)),
    ("billions", "main", 0xb1, Some(45056)),
    ("billions", "test", 0xb2, Some(6913)),
    ("base", "main", 0x51, Some(8453)),
    ("base", "sepolia", 0x52, Some(84532)),
    ("bnb", "main", 0x61, Some(56)),
    ("bnb", "test", 0x62, Some(97)),
];

/// claimd's own method: `did:air:id:test:…`.
pub const AIR_METHOD: &str = "air";
/// Method byte of `air`.
pub const AIR_METHOD_BYTE: u8 = 0x04;
/// Blockchain name of claimd's default network.
pub const AIR_BLOCKCHAIN: &str = "id";
/// Network name of claimd's default network.
pub const AIR_NETWORK: &str = "test";
/// Network flag of `id:test` under `air`.
pub const AIR_NETWORK_FLAG: u8 = 0xf3;
/// Chain id of Moca Chain testnet.
pub const AIR_CHAIN_ID: u64 = 222_888;

impl Default for DidRegistry {
    fn default() -> DidRegistry {
        let mut r = DidRegistry::iden3_standard();
        r.insert_unchecked(
            AIR_METHOD,
            AIR_METHOD_BYTE,
            AIR_BLOCKCHAIN,
            AIR_NETWORK,
            AIR_NETWORK_FLAG,
            Some(AIR_CHAIN_ID),
        );
        r
    }
}

fn valid_name(s: &str, allow_empty: bool) -> bool {
    (allow_empty || !s.is_empty())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl DidRegistry {
    /// Exactly what an unconfigured @iden3/js-iden3-core 1.8 knows: the `iden3` and
    /// `polygonid` methods on the standard networks, nothing else. Use it to compute what a
    /// third-party iden3 tool that has not registered `air` derives from a DID: for such a
    /// tool `did:air:…` is an unknown method, so [`DidRegistry::id_from_did`] gives the
    /// synthetic [`Id::from_unsupported_did`], not the ID inside the DID.
    pub fn iden3_standard() -> DidRegistry {
        let mut r = DidRegistry::empty();
        for (method, byte) in [("iden3", 0x01u8), ("polygonid", 0x02u8)] {
            for &(blockchain, network, flag, chain_id) in STANDARD_NETWORKS {
                r.insert_unchecked(method, byte, blockchain, network, flag, chain_id);
            }
        }
        r
    }

    /// A registry with nothing registered.
    pub fn empty() -> DidRegistry {
        DidRegistry {
            method_bytes: BTreeMap::new(),
            flags: BTreeMap::new(),
            chain_ids: BTreeMap::new(),
        }
    }

    fn insert_unchecked(
        &mut self,
        method: &str,
        byte: u8,
        blockchain: &str,
        network: &str,
        flag: u8,
        chain_id: Option<u64>,
    ) {
        self.method_bytes.insert(method.to_owned(), byte);
        self.flags.insert(
            (method.to_owned(), blockchain.to_owned(), network.to_owned()),
            flag,
        );
        if let Some(c) = chain_id {
            self.chain_ids
                .insert((blockchain.to_owned(), network.to_owned()), c);
        }
    }

    /// Registers a method on a network. Re-registering the same tuple is a no-op; any clash
    /// with an existing method byte, network flag or chain id is an error and changes nothing.
    pub fn register(&mut self, p: &DidMethodNetwork) -> Result<(), RegistryError> {
        if p.method_byte == 0xff {
            return Err(RegistryError::Invalid("method byte 0xFF is reserved"));
        }
        if !valid_name(&p.method, false)
            || !valid_name(&p.blockchain, false)
            || !valid_name(&p.network, true)
        {
            return Err(RegistryError::Invalid(
                "names must be lowercase alphanumerics ('-', '_' allowed)",
            ));
        }
        match self.method_bytes.get(&p.method) {
            Some(b) if *b != p.method_byte => {
                return Err(RegistryError::MethodByteConflict(p.method.clone()))
            }
            Some(_) => {}
            None => {
                if self.method_bytes.values().any(|b| *b == p.method_byte) {
                    return Err(RegistryError::MethodByteConflict(p.method.clone()));
                }
            }
        }
        let key = (p.method.clone(), p.blockchain.clone(), p.network.clone());
        let flag_conflict = match self.flags.get(&key) {
            Some(f) => *f != p.network_flag,
            None => self
                .flags
                .iter()
                .any(|((m, _, _), f)| *m == p.method && *f == p.network_flag),
        };
        if flag_conflict {
            return Err(RegistryError::NetworkFlagConflict {
                method: p.method.clone(),
                blockchain: p.blockchain.clone(),
                network: p.network.clone(),
            });
        }
        let net = (p.blockchain.clone(), p.network.clone());
        if let (Some(existing), Some(new)) = (self.chain_ids.get(&net), p.chain_id) {
            if *existing != new {
                return Err(RegistryError::ChainIdConflict {
                    blockchain: p.blockchain.clone(),
                    network: p.network.clone(),
                });
            }
        }
        self.insert_unchecked(
            &p.method,
            p.method_byte,
            &p.blockchain,
            &p.network,
            p.network_flag,
            p.chain_id,
        );
        Ok(())
    }

    /// The ID type bytes `[method byte, network flag]` for a method on a network.
    pub fn id_type(
        &self,
        method: &str,
        blockchain: &str,
        network: &str,
    ) -> Result<[u8; 2], DidError> {
        let byte = *self
            .method_bytes
            .get(method)
            .ok_or_else(|| DidError::UnknownMethod(method.to_owned()))?;
        let key = (method.to_owned(), blockchain.to_owned(), network.to_owned());
        let flag = *self
            .flags
            .get(&key)
            .ok_or_else(|| DidError::UnknownNetwork {
                method: method.to_owned(),
                blockchain: blockchain.to_owned(),
                network: network.to_owned(),
            })?;
        Ok([byte, flag])
    }

    /// The chain id registered for a blockchain network.
    pub fn chain_id(&self, blockchain: &str, network: &str) -> Option<u64> {
        self.chain_ids
            .get(&(blockchain.to_owned(), network.to_owned()))
            .copied()
    }

    /// The DID of an ID, found through its type bytes.
    pub fn did_from_id(&self, id: Id) -> Result<Did, DidError> {
        let [byte, flag] = id.id_type();
        let method = self
            .method_bytes
            .iter()
            .find(|(_, b)| **b == byte)
            .map(|(m, _)| m.clone())
            .ok_or(DidError::UnknownIdType([byte, flag]))?;
        let (_, blockchain, network) = self
            .flags
            .iter()
            .find(|((m, _, _), f)| *m == method && **f == flag)
            .map(|(k, _)| k.clone())
            .ok_or(DidError::UnknownIdType([byte, flag]))?;
        Ok(Did {
            method,
            blockchain,
            network,
            id,
        })
    }

    /// Builds the DID for a method/network and an ID, checking that the ID's type matches.
    pub fn did(
        &self,
        method: &str,
        blockchain: &str,
        network: &str,
        id: Id,
    ) -> Result<Did, DidError> {
        if self.id_type(method, blockchain, network)? != id.id_type() {
            return Err(DidError::TypeMismatch);
        }
        Ok(Did {
            method: method.to_owned(),
            blockchain: blockchain.to_owned(),
            network: network.to_owned(),
            id,
        })
    }

    /// Parses and validates a DID: registered method and network, valid ID checksum, and ID
    /// type bytes equal to the method byte and network flag.
    pub fn parse(&self, s: &str) -> Result<Did, DidError> {
        let mut head = s.splitn(3, ':');
        let (method, rest) = match (head.next(), head.next(), head.next()) {
            (Some("did"), Some(m), Some(rest)) if !m.is_empty() && !rest.is_empty() => (m, rest),
            _ => return Err(DidError::Malformed),
        };
        // An unknown method is reported as such (not as malformed) whatever its
        // method-specific part looks like: `id_from_did` relies on it.
        if !self.method_bytes.contains_key(method) {
            return Err(DidError::UnknownMethod(method.to_owned()));
        }
        let parts: Vec<&str> = rest.split(':').collect();
        let (blockchain, network, id) = match parts.as_slice() {
            // An empty network is written by leaving the part out, never as `::`.
            [b, n, id] if !n.is_empty() => (*b, *n, *id),
            [b, id] => (*b, "", *id),
            _ => return Err(DidError::Malformed),
        };
        if blockchain.is_empty() || id.is_empty() {
            return Err(DidError::Malformed);
        }
        // An unknown network is reported before a malformed id.
        self.id_type(method, blockchain, network)?;
        let id = Id::from_base58(id)?;
        self.did(method, blockchain, network, id)
    }

    /// The ID iden3 puts in a claim for the DID string `s` (go-iden3-core `IDFromDID`): the
    /// parsed ID for a registered method, the synthetic [`Id::from_unsupported_did`] for a DID
    /// whose method is not registered, an error otherwise.
    pub fn id_from_did(&self, s: &str) -> Result<Id, DidError> {
        match self.parse(s) {
            Ok(d) => Ok(d.id),
            Err(DidError::UnknownMethod(_)) => Ok(Id::from_unsupported_did(s)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Fr;

    #[test]
    fn air_is_registered_by_default() -> Result<(), DidError> {
        let r = DidRegistry::default();
        assert_eq!(r.id_type("air", "id", "test")?, [0x04, 0xf3]);
        assert_eq!(r.chain_id("id", "test"), Some(222_888));
        let id = Id::from_genesis_state([0x04, 0xf3], Fr::from_u64(99));
        let did = r.did_from_id(id)?;
        let s = did.to_string();
        assert!(s.starts_with("did:air:id:test:"));
        assert_eq!(r.parse(&s)?, did);
        Ok(())
    }

    #[test]
    fn air_is_unknown_to_the_standard_registry() -> Result<(), DidError> {
        let ours = DidRegistry::default();
        let id = Id::from_genesis_state([0x04, 0xf3], -Fr::from_u64(99));
        let did = ours.did_from_id(id)?.to_string();
        assert_eq!(ours.id_from_did(&did)?, id);
        let standard = DidRegistry::iden3_standard();
        assert_eq!(standard.id_from_did(&did)?, Id::from_unsupported_did(&did));
        assert!(matches!(
            standard.parse(&did),
            Err(DidError::UnknownMethod(_))
        ));
        Ok(())
    }

    #[test]
    fn parse_rejects_mismatches() {
        let r = DidRegistry::default();
        let id = Id::from_genesis_state([0x01, 0x13], Fr::ONE);
        let amoy = format!("did:iden3:polygon:amoy:{id}");
        assert!(r.parse(&amoy).is_ok());
        assert_eq!(
            r.parse(&format!("did:iden3:polygon:main:{id}")),
            Err(DidError::TypeMismatch)
        );
        assert_eq!(
            r.parse(&format!("did:polygonid:polygon:amoy:{id}")),
            Err(DidError::TypeMismatch)
        );
        assert!(matches!(
            r.parse("did:nope:x:y:z"),
            Err(DidError::UnknownMethod(_))
        ));
        assert_eq!(r.parse("did:iden3"), Err(DidError::Malformed));
        let readonly = Id::from_genesis_state([0x01, 0x00], Fr::ONE);
        assert!(r.parse(&format!("did:iden3:readonly:{readonly}")).is_ok());
        assert_eq!(
            r.parse(&format!("did:iden3:readonly::{readonly}")),
            Err(DidError::Malformed)
        );
        assert_eq!(
            r.parse("foo:iden3:polygon:amoy:x"),
            Err(DidError::Malformed)
        );
        assert!(matches!(
            r.parse("did:iden3:polygon:amoy:2qQ68JkRcf3xrHPQPWZei3YeVzHPP58wYNxx2mEouQ"),
            Err(DidError::InvalidId(_))
        ));
    }

    #[test]
    fn registration_conflicts_are_errors() {
        let mut r = DidRegistry::default();
        let mut p = DidMethodNetwork {
            method: "air".into(),
            method_byte: AIR_METHOD_BYTE,
            blockchain: AIR_BLOCKCHAIN.into(),
            network: AIR_NETWORK.into(),
            network_flag: AIR_NETWORK_FLAG,
            chain_id: Some(AIR_CHAIN_ID),
        };
        assert_eq!(r.register(&p), Ok(()));
        p.network = "main".into();
        assert!(matches!(
            r.register(&p),
            Err(RegistryError::NetworkFlagConflict { .. })
        ));
        p.network_flag = 0xf1;
        p.chain_id = Some(2288);
        assert_eq!(r.register(&p), Ok(()));
        p.method_byte = 0x01;
        assert!(matches!(
            r.register(&p),
            Err(RegistryError::MethodByteConflict(_))
        ));
        p.method = "new".into();
        assert!(matches!(
            r.register(&p),
            Err(RegistryError::MethodByteConflict(_))
        ));
        p.method_byte = 0xff;
        assert!(matches!(r.register(&p), Err(RegistryError::Invalid(_))));
        p.method_byte = 0x05;
        p.chain_id = Some(1);
        assert!(matches!(
            r.register(&p),
            Err(RegistryError::ChainIdConflict { .. })
        ));
    }
}
