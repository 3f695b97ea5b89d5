//! Deterministic random credentials in the shape claimd issues (shared by the interop tests and
//! the benchmark).

#![allow(dead_code)]

use serde_json::{json, Value};

/// splitmix64: tiny, seedable, good enough to spread test values.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

pub const MAX_SAFE: u64 = (1 << 53) - 1;

pub fn uuid(r: &mut Rng) -> String {
    let a = r.next_u64();
    let b = r.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

const B58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

pub fn did(r: &mut Rng) -> String {
    let id: String = (0..41)
        .map(|_| B58[r.below(B58.len() as u64) as usize] as char)
        .collect();
    format!("did:iden3:polygon:amoy:x{id}")
}

/// An ISO date-time as js-sdk writes it (`toISOString`), sometimes in other accepted forms.
pub fn date_time(r: &mut Rng) -> String {
    // 1950..2100, plus the odd pre-1970 value (negative nanoseconds).
    let secs = r.below(4_733_510_400) as i64 - 631_152_000;
    let ms = r.below(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, (sod / 60) % 60, sod % 60);
    match r.below(6) {
        0 => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
        1 => format!("{y:04}-{m:02}-{d:02}"),
        2 => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}+02:00"),
        3 => format!(
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:06}Z",
            r.below(1_000_000)
        ),
        _ => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z"),
    }
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Strings with escapes, control characters, non-ASCII and non-BMP characters.
pub fn text(r: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "Lisbon", "a", " ", "\"", "\\", "\n", "\r", "\t", "é", "ß", "日本", "😀", "\u{1}",
        "\u{7f}", "\u{2028}", "\u{FEFF}", "\u{FF01}", "<b>", "{x}", "0", "-", "🇵🇹", "'", "%20",
    ];
    let n = 1 + r.below(12);
    let mut s = String::new();
    for _ in 0..n {
        let piece = PIECES[r.below(PIECES.len() as u64) as usize];
        s.push_str(piece);
    }
    if r.chance(3) {
        // Long values span several byte-sponge frames (> 16 × 31 bytes).
        s = s.repeat(1 + r.below(60) as usize);
    }
    s
}

/// An integer value for an `xsd:integer` field.
pub fn integer(r: &mut Rng) -> i64 {
    match r.below(6) {
        0 => 0,
        1 => -(r.below(1_000_000) as i64),
        2 => r.below(MAX_SAFE) as i64,
        3 => -(r.below(MAX_SAFE) as i64),
        _ => r.below(200) as i64,
    }
}

pub const STATUS_BASE: &str = "https://issuer.claimd.example/v1/did:iden3:polygon:amoy:xCAiTKpJEyxvoRX8JYBhWXubVgAfyuP9rme7MvJKE/claims/revocation/status";

/// `n` documents from `make`, drawn from a generator seeded with `seed`: a test names its
/// seed so that a document it fails on comes back on the next run.
pub fn docs(seed: u64, n: usize, make: fn(&mut Rng) -> Value) -> Vec<Value> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| make(&mut r)).collect()
}

/// A credential of the interop fixture schema (InteropMembership), without proof.
pub fn interop_vc(r: &mut Rng) -> Value {
    let nonce = if r.chance(20) {
        r.below(1 << 32)
    } else {
        r.below(MAX_SAFE + 1)
    };
    let mut subject = json!({
        "id": did(r),
        "age": integer(r),
        "location": text(r),
        "isMember": r.chance(50),
        "type": "InteropMembership",
    });
    if r.chance(10) {
        subject["age"] = json!(integer(r).to_string());
    }
    let status = match r.below(10) {
        0 => json!({
            "id": format!("{STATUS_BASE}/{nonce}"),
            "type": "Iden3ReverseSparseMerkleTreeProof",
            "revocationNonce": nonce,
        }),
        _ => json!({
            "id": format!("{STATUS_BASE}/{nonce}"),
            "type": "SparseMerkleTreeProof",
            "revocationNonce": nonce,
        }),
    };
    let mut vc = json!({
        "id": format!("urn:{}", uuid(r)),
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://schema.iden3.io/core/jsonld/iden3proofs.jsonld",
            "https://schemas.claimd.example/interop/InteropMembership-v1.jsonld"
        ],
        "type": ["VerifiableCredential", "InteropMembership"],
        "issuanceDate": date_time(r),
        "credentialSubject": subject,
        "credentialStatus": status,
        "issuer": "did:iden3:polygon:amoy:xCAiTKpJEyxvoRX8JYBhWXubVgAfyuP9rme7MvJKE",
        "credentialSchema": {
            "id": "https://schemas.claimd.example/interop/InteropMembership-v1.json",
            "type": "JsonSchema2023"
        }
    });
    if r.chance(70) {
        vc["expirationDate"] = json!(date_time(r));
    }
    if r.chance(15) {
        // js-sdk puts the display-method context before the schema context.
        vc["@context"].as_array_mut().unwrap().insert(
            2,
            json!("https://schema.iden3.io/core/jsonld/displayMethod.jsonld"),
        );
        vc["displayMethod"] = json!({
            "id": format!("https://display.claimd.example/{}", r.below(1000)),
            "type": "Iden3BasicDisplayMethodV1"
        });
    }
    if r.chance(15) {
        vc["refreshService"] = json!({
            "id": format!("https://issuer.claimd.example/refresh/{}", uuid(r)),
            "type": "Iden3RefreshService2023"
        });
    }
    vc
}

/// URL of the richer schema context the tests register at run time (as the service does for
/// the contexts it generates per schema).
pub const KYC_URL: &str = "https://issuer.claimd.example/v1/schemas/7f1c0c52-kyc.jsonld";

/// A generated-style schema context with every datatype the schema builder emits.
pub fn kyc_context() -> Value {
    json!({
        "@context": [{
            "@protected": true,
            "@version": 1.1,
            "id": "@id",
            "type": "@type",
            "KYCProfile": {
                "@id": "urn:uuid:0b1e5b2e-6a4f-4c55-9b53-8f3b0e6f4f11",
                "@context": {
                    "@propagate": true,
                    "@protected": true,
                    "kyc-vocab": "urn:uuid:0b1e5b2e-6a4f-4c55-9b53-8f3b0e6f4f11#",
                    "xsd": "http://www.w3.org/2001/XMLSchema#",
                    "name": {"@id": "kyc-vocab:name", "@type": "xsd:string"},
                    "score": {"@id": "kyc-vocab:score", "@type": "xsd:double"},
                    "birthday": {"@id": "kyc-vocab:birthday", "@type": "xsd:dateTime"},
                    "level": {"@id": "kyc-vocab:level", "@type": "xsd:positiveInteger"},
                    "balance": {"@id": "kyc-vocab:balance", "@type": "xsd:nonNegativeInteger"},
                    "verified": {"@id": "kyc-vocab:verified", "@type": "xsd:boolean"},
                    "tags": {"@id": "kyc-vocab:tags", "@type": "xsd:string", "@container": "@set"},
                    "homepage": {"@id": "kyc-vocab:homepage", "@type": "@id"},
                    "note": {"@id": "kyc-vocab:note"},
                    "address": {
                        "@id": "kyc-vocab:address",
                        "@context": {
                            "city": {"@id": "kyc-vocab:city", "@type": "xsd:string"},
                            "zip": {"@id": "kyc-vocab:zip", "@type": "xsd:integer"}
                        }
                    }
                }
            }
        }]
    })
}

/// A credential of the registered KYC schema: more datatypes, a set, an IRI value, a nested
/// node with its own id, untyped values.
pub fn kyc_vc(r: &mut Rng) -> Value {
    let mut subject = json!({
        "id": did(r),
        "type": "KYCProfile",
        "name": text(r),
        "score": match r.below(4) {
            0 => json!(r.below(1000)),
            1 => json!((r.below(1_000_000) as f64) / 100.0),
            2 => json!(-((r.below(1 << 40) as f64) / 7.0)),
            _ => json!(format!("{}", r.below(100))),
        },
        "birthday": date_time(r),
        "level": 1 + r.below(MAX_SAFE),
        "balance": r.below(MAX_SAFE + 1),
        "verified": r.chance(50),
    });
    if r.chance(60) {
        let n = 1 + r.below(4);
        let tags: Vec<String> = (0..n).map(|i| format!("t{i}-{}", r.below(1000))).collect();
        subject["tags"] = json!(tags);
    }
    if r.chance(50) {
        subject["homepage"] = json!(format!("https://example.com/u/{}", r.below(1 << 20)));
    }
    if r.chance(50) {
        subject["note"] = match r.below(3) {
            0 => json!(text(r)),
            1 => json!(integer(r)),
            _ => json!(r.chance(50)),
        };
    }
    if r.chance(50) {
        subject["address"] = json!({
            "id": format!("urn:uuid:{}", uuid(r)),
            "city": text(r),
            "zip": r.below(99999),
        });
    }
    let nonce = r.below(MAX_SAFE + 1);
    json!({
        "id": format!("urn:{}", uuid(r)),
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://schema.iden3.io/core/jsonld/iden3proofs.jsonld",
            KYC_URL
        ],
        "type": ["VerifiableCredential", "KYCProfile"],
        "issuanceDate": date_time(r),
        "expirationDate": date_time(r),
        "credentialSubject": subject,
        "credentialStatus": {
            "id": format!("{STATUS_BASE}/{nonce}"),
            "type": "SparseMerkleTreeProof",
            "revocationNonce": nonce,
        },
        "issuer": "did:iden3:polygon:amoy:xCAiTKpJEyxvoRX8JYBhWXubVgAfyuP9rme7MvJKE",
        "credentialSchema": {
            "id": "https://issuer.claimd.example/v1/schemas/7f1c0c52-kyc.json",
            "type": "JsonSchema2023"
        }
    })
}

/// A valid interop credential with one or two random damages (odd strings in ids, types, keys
/// and values, wrong JSON types): exercises safe-mode refusals and fallbacks.
pub fn mutated_vc(r: &mut Rng) -> Value {
    const ODD: &[&str] = &[
        "é:x",
        ":x",
        "_:b1",
        "x",
        "@id",
        "@type",
        "@value",
        "urn:ok",
        "did:ok:1",
        "a b:c",
        "ü",
        "😀:y",
        "http://x/y z",
        "type",
        "id",
        "@context",
        "cred:foo",
        "xsd:integer",
    ];
    let odd = |r: &mut Rng| -> Value {
        let s = ODD[r.below(ODD.len() as u64) as usize];
        match r.below(6) {
            0 => json!(s),
            1 => json!(r.below(1000)),
            2 => json!(null),
            3 => json!([s, 1]),
            4 => json!({ "id": s }),
            _ => json!(r.chance(50)),
        }
    };
    let mut d = interop_vc(r);
    for _ in 0..1 + r.below(2) {
        let target = match r.below(4) {
            0 => &mut d,
            1 => &mut d["credentialSubject"],
            2 => &mut d["credentialStatus"],
            _ => &mut d["credentialSchema"],
        };
        let Some(obj) = target.as_object_mut() else {
            continue;
        };
        let keys: Vec<String> = obj.keys().cloned().collect();
        if r.chance(70) {
            let k = keys[r.below(keys.len() as u64) as usize].clone();
            if k != "@context" {
                obj.insert(k, odd(r));
            }
        } else {
            let k = ODD[r.below(ODD.len() as u64) as usize].to_owned();
            if k != "@context" {
                obj.insert(k, odd(r));
            }
        }
    }
    d
}
