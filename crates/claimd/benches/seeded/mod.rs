#![allow(dead_code)]
//! A large installation for the catalog and dashboard benches: schemas, issuance programs,
//! verification programs and issuers made through the operator API (as an operator would, a
//! few requests at a time), one credential per issuer issued through issue-on-behalf and
//! waited `ONCHAIN` (so each issuer has a confirmed transition), then the bulk rows — users,
//! consents, a million credentials — written by the store's own `bench_seed` (cargo feature
//! `bench-seed`), which checks the catalog counts it keeps. The server runs throughout, with
//! its publisher.
//!
//! Sizes from the environment: `BENCH_SEED_SCHEMAS` (default 1,000), `BENCH_SEED_PROGRAMS`
//! (10,000), `BENCH_SEED_VPS` (2,000 verification programs), `BENCH_SEED_ISSUERS` (20),
//! `BENCH_SEED_USERS` (250,000), `BENCH_SEED_CREDENTIALS` (1,000,000).

use crate::common::fixture::Fixture;
use crate::common::Backend;
use crate::support;
use claimd_core::bench_seed::{self, Seed};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const CITIES: &[&str] = &[
    "Lisbon", "Porto", "Madrid", "Paris", "Berlin", "Tokyo", "Seoul", "Nairobi", "Lagos", "Lima",
    "Bogota", "Austin", "Denver", "Toronto", "Oslo", "Dublin", "Milan", "Athens", "Cairo", "Delhi",
];
pub const ADJECTIVES: &[&str] = &[
    "Gold",
    "Silver",
    "Verified",
    "Premium",
    "Student",
    "Senior",
    "Junior",
    "Certified",
    "Licensed",
    "Trusted",
    "Annual",
    "Lifetime",
    "Founding",
    "Honorary",
    "Regional",
];
pub const NOUNS: &[&str] = &[
    "Membership",
    "Degree",
    "Diploma",
    "License",
    "Badge",
    "Pass",
    "Ticket",
    "Residency",
    "Employment",
    "Accreditation",
    "Subscription",
    "Certificate",
    "Permit",
    "Attendance",
];

/// How big the installation is.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub schemas: usize,
    pub programs: usize,
    pub vps: usize,
    pub issuers: usize,
    pub users: u64,
    pub credentials: u64,
}

impl Sizes {
    pub fn from_env() -> Sizes {
        Sizes {
            schemas: support::env_usize("BENCH_SEED_SCHEMAS", 1_000),
            programs: support::env_usize("BENCH_SEED_PROGRAMS", 10_000),
            vps: support::env_usize("BENCH_SEED_VPS", 2_000),
            issuers: support::env_usize("BENCH_SEED_ISSUERS", 20).max(1),
            users: support::env_usize("BENCH_SEED_USERS", 250_000) as u64,
            credentials: support::env_usize("BENCH_SEED_CREDENTIALS", 1_000_000) as u64,
        }
    }

    pub fn to_json(self) -> Value {
        json!({
            "schemas": self.schemas, "issuance_programs": self.programs,
            "verification_programs": self.vps, "issuers": self.issuers,
            "users": self.users, "credentials": self.credentials,
        })
    }
}

/// The installation, ready to be read.
pub struct World {
    pub backend: Backend,
    pub f: Fixture,
    pub sizes: Sizes,
    pub schemas: Vec<String>,
    /// Issuance programs (the catalog's "credentials"), in creation order.
    pub programs: Vec<String>,
    pub vps: Vec<String>,
    /// (issuer DID, a credential issued to it through the API: (email, coreClaimHash)).
    pub issuers: Vec<(String, String, String)>,
    /// Seconds each phase took, and the seed's report.
    pub setup: Value,
}

/// `method path` on the operator API with a JSON body; the answer, which must be a success.
async fn admin(f: &Fixture, method: reqwest::Method, path: &str, body: Value) -> Value {
    let server = f.server();
    let r = f
        .http
        .request(method, format!("{}/admin/v1{path}", server.url))
        .bearer_auth(&server.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

/// `POST path` on the operator API; when `listed`, then `PATCH path/{id}` to make the new
/// entry discoverable. Its id (`id_field` of the answer).
async fn create(f: &Fixture, path: &str, body: Value, id_field: &str, listed: bool) -> String {
    let id = s(&admin(f, reqwest::Method::POST, path, body).await, id_field);
    if listed {
        admin(
            f,
            reqwest::Method::PATCH,
            &format!("{path}/{id}"),
            json!({"discoverable": true}),
        )
        .await;
    }
    id
}

/// Runs `make(i)` for `0..n`, `concurrency` at a time; the answers in order.
async fn many<T, F, Fut>(n: usize, concurrency: usize, make: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    futures::stream::iter((0..n).map(make))
        .buffered(concurrency)
        .collect()
        .await
}

fn s(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {v}"))
        .to_owned()
}

/// Each backend that `var` names (see [`support::backends`]) in turn: its installation of
/// `sizes` built, then `measure`d, then dropped (one server at a time); the measures in order.
pub async fn on_each_backend<F, Fut>(var: &str, sizes: Sizes, mut measure: F) -> Vec<Value>
where
    F: FnMut(World) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut results = Vec::new();
    for backend in support::backends(var) {
        println!("{}: building {sizes:?}", support::backend_name(backend));
        results.push(measure(build(backend, sizes).await).await);
    }
    results
}

pub async fn build(backend: Backend, sizes: Sizes) -> World {
    let f = Fixture::new(backend).await;
    let mut setup = serde_json::Map::new();
    let conc = 8;

    let t = Instant::now();
    let schemas: Vec<String> = many(sizes.schemas, conc, |i| {
        let f = &f;
        async move {
            let title = format!(
                "{} {} {}",
                ADJECTIVES[i % ADJECTIVES.len()],
                NOUNS[(i / ADJECTIVES.len()) % NOUNS.len()],
                i
            );
            let body = json!({"title": title, "type": format!("BenchCredential{i}"),
                   "description": format!("{title}: what a holder of it has shown"),
                   "attributes": [
                       {"name": "age", "type": "integer", "required": true},
                       {"name": "level", "type": "string"}]});
            create(f, "/schemas", body, "schemaId", true).await
        }
    })
    .await;
    setup.insert("schemas_seconds".into(), json!(t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let mut issuer_dids = vec![f.issuer_did.clone()];
    issuer_dids.extend(
        many(sizes.issuers - 1, conc, |i| {
            let f = &f;
            let name = format!(
                "{} {} Authority",
                CITIES[i % CITIES.len()],
                NOUNS[i % NOUNS.len()]
            );
            async move {
                let body = json!({"partnerId": f.partner, "name": name});
                create(f, "/issuers", body, "issuerDid", false).await
            }
        })
        .await,
    );
    setup.insert("issuers_seconds".into(), json!(t.elapsed().as_secs_f64()));

    // Programs round-robin over issuers and schemas; nine in ten listed.
    let t = Instant::now();
    let programs: Vec<String> = many(sizes.programs, conc, |i| {
        let (f, schemas, dids) = (&f, &schemas, &issuer_dids);
        async move {
            let name = format!(
                "{} {} {} {i}",
                CITIES[i % CITIES.len()],
                ADJECTIVES[(i / CITIES.len()) % ADJECTIVES.len()],
                NOUNS[i % NOUNS.len()]
            );
            let body = json!({"issuerDid": dids[i % dids.len()], "schemaId": schemas[i % schemas.len()],
                   "name": name, "expirationDays": 365});
            create(f, "/programs", body, "credentialId", i % 10 != 9).await
        }
    })
    .await;
    setup.insert("programs_seconds".into(), json!(t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let vps: Vec<String> = many(sizes.vps, conc, |i| {
        let (f, programs) = (&f, &programs);
        async move {
            let accepted: Vec<Value> = (0..3)
                .map(|j| json!({"credentialId": programs[(i * 7 + j * 1013) % programs.len()]}))
                .collect();
            let body = json!({"name": format!("{} {} check {i}", CITIES[(i + 3) % CITIES.len()], ADJECTIVES[i % ADJECTIVES.len()]),
                   "description": "Entry for holders of an accepted credential",
                   "verifierName": format!("{} Verifier {}", CITIES[i % CITIES.len()], i % 97),
                   "verifierDid": format!("did:web:verifier{}.example", i % 97),
                   "acceptedCredentials": accepted,
                   "discoverable": i % 10 != 9});
            create(f, "/verification-programs", body, "programId", false).await
        }
    })
    .await;
    setup.insert(
        "verification_programs_seconds".into(),
        json!(t.elapsed().as_secs_f64()),
    );

    // One credential per issuer through the API, each to ONCHAIN: every issuer then has a
    // confirmed transition for the seeded rows to name, and a real credential to look at.
    let t = Instant::now();
    let mut issuers = Vec::new();
    for (i, did) in issuer_dids.iter().enumerate() {
        let program = &programs[i % programs.len()];
        let email = format!("api-holder{i}@bench.example");
        let hash = f.issue_to(did, program, &email, 30 + i as u32).await;
        issuers.push((did.clone(), email, hash));
    }
    for (_, email, hash) in &issuers {
        f.wait_for_within(email, hash, "ONCHAIN", Duration::from_secs(120))
            .await;
    }
    setup.insert(
        "api_issuance_seconds".into(),
        json!(t.elapsed().as_secs_f64()),
    );

    let t = Instant::now();
    let until_ms = chrono::Utc::now().timestamp_millis();
    let span_ms = 90 * 86_400_000;
    // One plan (claimd_core::bench_seed), written by each backend's own SQL.
    let seed = Seed {
        tag: 0x5eed,
        users: sizes.users,
        credentials: sizes.credentials,
        until_ms,
        span_ms,
    };
    let report = match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", f.server().data_path("claimd.db").display());
            let store = claimd_store_sqlite::SqliteStore::connect(&url)
                .await
                .unwrap();
            let r = store.bench_seed(&seed).await.expect("seed");
            store.close().await;
            format!("{r:?}")
        }
        Backend::Postgres => {
            let url = f.server().database_url().unwrap().to_owned();
            let store = claimd_store_postgres::PgStore::connect(&url, 2)
                .await
                .unwrap();
            let r = store.bench_seed(&seed).await.expect("seed");
            format!("{r:?}")
        }
    };
    setup.insert("seed_seconds".into(), json!(t.elapsed().as_secs_f64()));
    setup.insert("seed_report".into(), json!(report));
    println!(
        "{}: seeded {report} in {:.1} s",
        crate::support::backend_name(backend),
        t.elapsed().as_secs_f64()
    );

    let world = World {
        backend,
        f,
        sizes,
        schemas,
        programs,
        vps,
        issuers,
        setup: Value::Object(setup),
    };
    world.check_counts().await;
    world
}

impl World {
    /// The sanity check: the catalog's holder count of sampled listed programs (kept by the
    /// triggers, or by the seed's recount) equals the seeded live credentials of each, by the
    /// seed's own assignment rule, plus the one issued through the API.
    pub async fn check_counts(&self) {
        // The seed spreads over every program, the fixture's own one included.
        let mut sorted: Vec<&String> = self.programs.iter().collect();
        sorted.push(&self.f.program);
        sorted.sort();
        let p = sorted.len() as u64;
        let users = self.sizes.users;
        let stride = bench_seed::stride(p);
        let mut live = vec![0u64; sorted.len()];
        for k in 0..self.sizes.credentials {
            if !bench_seed::revoked(k) {
                live[(((k % users) + (k / users) * stride) % p) as usize] += 1;
            }
        }
        let by_api: std::collections::HashMap<&str, u64> = self.issuers.iter().enumerate().fold(
            std::collections::HashMap::new(),
            |mut m, (i, _)| {
                *m.entry(self.programs[i % self.programs.len()].as_str())
                    .or_insert(0) += 1;
                m
            },
        );
        let mut checked = 0;
        for (i, id) in sorted
            .iter()
            .enumerate()
            .step_by((sorted.len() / 25).max(1))
        {
            let (status, body) = self
                .f
                .get_public(&format!("/v1/catalog/credentials/{id}"))
                .await;
            if status == 404 {
                continue; // an unlisted program
            }
            assert_eq!(status, 200, "{body}");
            let want = live[i] + by_api.get(id.as_str()).copied().unwrap_or(0);
            assert_eq!(
                body["data"]["traction"]["holderCount"].as_u64(),
                Some(want),
                "holder count of {id}: {body}"
            );
            checked += 1;
        }
        assert!(checked > 0);
        println!("  catalog holder counts match the seed for {checked} programs");
    }
}

/// p50/p99 of `n` sequential GETs of each of `paths` (one connection, as a browser or a
/// client library would), with the statuses seen.
pub async fn time_gets(
    http: &reqwest::Client,
    base: &str,
    paths: &[(String, String)],
    n: usize,
    headers: &[(&str, String)],
) -> Vec<Value> {
    let mut rows = Vec::new();
    for (label, path) in paths {
        let mut ms = Vec::with_capacity(n);
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        let mut bytes = 0usize;
        // One untimed request first: the page's first read of cold pages is not the steady
        // state a user sees.
        for i in 0..=n {
            let mut req = http.get(format!("{base}{path}"));
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            let t = Instant::now();
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.bytes().await.unwrap();
            let elapsed = t.elapsed().as_secs_f64() * 1000.0;
            if i > 0 {
                ms.push(elapsed);
                *statuses.entry(status).or_insert(0) += 1;
                bytes = body.len();
            }
        }
        ms.sort_by(f64::total_cmp);
        let row = json!({
            "request": label, "path": path, "n": n,
            "statuses": statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "bytes": bytes,
            "p50_ms": support::quantile(&ms, 0.50),
            "p99_ms": support::quantile(&ms, 0.99),
            "max_ms": ms.last().copied().unwrap_or(f64::NAN),
        });
        println!(
            "  {label:<40} p50 {:>8.2} ms  p99 {:>8.2} ms  {statuses:?}",
            support::quantile(&ms, 0.50),
            support::quantile(&ms, 0.99)
        );
        rows.push(row);
    }
    rows
}
