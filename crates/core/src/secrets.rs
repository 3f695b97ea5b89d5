//! Private keys at rest: sealed with XChaCha20-Poly1305 under the operator's master key.
//!
//! A sealed blob is `version (1) ‖ nonce (24) ‖ ciphertext+tag`. The associated data names what
//! the blob is (for example `issuer-eth-key:<issuer id>`), so a blob copied into another row or
//! column fails to open instead of silently becoming another issuer's key.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// The 32-byte key that encrypts private keys at rest. Never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("master key must be 64 hex digits (32 bytes)")]
    BadMasterKey,
    #[error("sealed key is malformed or was sealed under another master key")]
    CannotOpen,
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        MasterKey(k)
    }

    /// Parses 64 hex digits (surrounding whitespace ignored, as in a key file).
    pub fn from_hex(s: &str) -> Result<Self, SecretError> {
        let s = s.trim();
        if s.len() != 64 {
            return Err(SecretError::BadMasterKey);
        }
        let mut k = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(chunk).map_err(|_| SecretError::BadMasterKey)?;
            k[i] = u8::from_str_radix(hex, 16).map_err(|_| SecretError::BadMasterKey)?;
        }
        Ok(MasterKey(k))
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push_str(&format!("{b:02x}"));
        }
        Zeroizing::new(s)
    }

    /// A key for another purpose (`purpose` names it, e.g. the dashboard's session MACs),
    /// derived one way from the master key: SHA3-256 over a domain tag, the purpose and the
    /// key. Knowing a derived key reveals neither the master key nor any other derived key.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        use sha3::{Digest, Sha3_256};
        let mut h = Sha3_256::new();
        h.update(b"claimd-derive-v1\0");
        h.update((purpose.len() as u64).to_be_bytes());
        h.update(purpose.as_bytes());
        h.update(self.0);
        Zeroizing::new(h.finalize().into())
    }

    pub fn seal(&self, label: &str, plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: label.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, label: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(SecretError::CannotOpen);
        }
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        cipher
            .decrypt(
                XNonce::from_slice(&sealed[1..1 + NONCE_LEN]),
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: label.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SecretError::CannotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_depend_on_purpose_and_master_key() {
        let k = MasterKey::generate();
        assert_eq!(*k.derive("a"), *k.derive("a"));
        assert_ne!(*k.derive("a"), *k.derive("b"));
        assert_ne!(*k.derive("a"), *MasterKey::generate().derive("a"));
        assert_ne!(&k.derive("a")[..], &k.0[..]);
    }

    #[test]
    fn seal_open_roundtrip_and_binding() {
        let k = MasterKey::generate();
        let sealed = k.seal("issuer-eth-key:1", b"secret");
        assert_eq!(&*k.open("issuer-eth-key:1", &sealed).unwrap(), b"secret");
        assert_eq!(
            k.open("issuer-eth-key:2", &sealed),
            Err(SecretError::CannotOpen)
        );
        assert_eq!(
            MasterKey::generate().open("issuer-eth-key:1", &sealed),
            Err(SecretError::CannotOpen)
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            k.open("issuer-eth-key:1", &tampered),
            Err(SecretError::CannotOpen)
        );
        assert_eq!(k.open("x", &[]), Err(SecretError::CannotOpen));
    }

    #[test]
    fn hex_roundtrip_and_redacted_debug() {
        let k = MasterKey::generate();
        let again = MasterKey::from_hex(&k.to_hex()).unwrap();
        assert_eq!(k.0, again.0);
        assert_eq!(format!("{k:?}"), "MasterKey(<redacted>)");
        assert!(MasterKey::from_hex("zz").is_err());
        assert!(MasterKey::from_hex(&"g".repeat(64)).is_err());
    }
}
