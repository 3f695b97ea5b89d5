//! Mutated and random tokens: always a clean error, never a panic, never a false accept.

use claimd_auth::testing::{authenticator, jwks, FakePartners, TestKey};
use claimd_auth::AuthConfig;

use crate::common::*;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"\\\x00\xff";

#[tokio::test]
async fn mutated_tokens_never_panic_or_verify() {
    let es = TestKey::es256("es");
    let rs = TestKey::rs256("rs");
    let partners = FakePartners::inline(PARTNER, jwks(&[&es, &rs]));
    let auth = authenticator(AuthConfig::default(), partners);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for key in [&es, &rs] {
        let token = key.token(PARTNER, EMAIL).build();
        assert!(auth.verify_now(&token).await.is_ok());
        let original = token.as_bytes().to_vec();
        for _ in 0..1500 {
            let mut bytes = original.clone();
            for _ in 0..=rng.below(3) {
                match rng.below(4) {
                    0 if !bytes.is_empty() => {
                        let i = rng.below(bytes.len());
                        bytes[i] = ALPHABET[rng.below(ALPHABET.len())];
                    }
                    1 => {
                        let i = rng.below(bytes.len() + 1);
                        bytes.insert(i, ALPHABET[rng.below(ALPHABET.len())]);
                    }
                    2 if !bytes.is_empty() => {
                        let i = rng.below(bytes.len());
                        bytes.remove(i);
                    }
                    _ => {
                        let i = rng.below(bytes.len() + 1);
                        bytes.truncate(i);
                    }
                }
            }
            let Ok(mutated) = String::from_utf8(bytes) else {
                continue;
            };
            let result = auth.verify_now(&mutated).await;
            if mutated != token {
                // Base64url has spare bits only in the last character of a segment, and the
                // strict decoder refuses non-canonical ones, so any change must fail.
                assert!(result.is_err(), "mutated token accepted: {mutated}");
            }
        }
    }
}

#[tokio::test]
async fn random_inputs_are_malformed() {
    let partners = FakePartners::new();
    let auth = authenticator(AuthConfig::default(), partners.clone());
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let len = rng.below(300);
        let s: String = (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len() - 2)] as char)
            .collect();
        assert!(auth.verify_now(&s).await.is_err());
    }
    // Random segments that decode to random bytes.
    use base64::Engine as _;
    let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    for _ in 0..3000 {
        let seg = |rng: &mut Rng| {
            let n = rng.below(200);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            enc(&bytes)
        };
        let token = format!("{}.{}.{}", seg(&mut rng), seg(&mut rng), seg(&mut rng));
        assert!(auth.verify_now(&token).await.is_err());
    }
    assert_eq!(partners.lookups(), 0);
}
