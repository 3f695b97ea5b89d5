//! The public catalog at size (issue #15): 10,000 issuance programs, 1,000,000 issued
//! credentials, 1,000 schemas and 2,000 verification programs (see `seeded/mod.rs` for how the
//! installation is made and the sizes' environment variables), then p50/p99 over HTTP of
//! browse (`/v1/catalog/schemas`, `/v1/catalog/programs`, several `sortBy` and pages), detail
//! (`/v1/catalog/schemas/{id}`, `/v1/catalog/credentials/{id}`, `/v1/catalog/programs/{id}`)
//! and search (`/v1/catalog/search?q=`, whole words, prefixes, two words, no match), on SQLite
//! and PostgreSQL in the same run, against a running `claimd serve --dev` (release build,
//! publisher on). Each request is timed `BENCH_CATALOG_N` times (default 200) one after
//! another on one connection, after one untimed request.
//!
//! `cargo bench -p claimd --bench catalog` (env: `BENCH_CATALOG_N`; `BENCH_CATALOG_BACKENDS`,
//! default `sqlite,postgres`; the `BENCH_SEED_*` sizes; `CLAIMD_TEST_POSTGRES_URL`). Writes
//! `bench/results/catalog.json`.

#[path = "../tests/common/mod.rs"]
mod common;
mod seeded;
mod support;

use serde_json::json;

fn requests(w: &seeded::World) -> Vec<(String, String)> {
    let mut r: Vec<(String, String)> = Vec::new();
    let mut add = |label: &str, path: String| r.push((label.to_owned(), path));
    add("browse schemas (default)", "/v1/catalog/schemas".into());
    add(
        "browse schemas by credential_count",
        "/v1/catalog/schemas?sortBy=credential_count&sortOrder=DESC".into(),
    );
    add(
        "browse schemas by provider_count",
        "/v1/catalog/schemas?sortBy=provider_count".into(),
    );
    add(
        "browse schemas by title, page 50",
        "/v1/catalog/schemas?sortBy=title&sortOrder=ASC&page=50".into(),
    );
    add(
        "browse schemas, 100 a page, page 9",
        "/v1/catalog/schemas?limit=100&page=9".into(),
    );
    add("browse programs (default)", "/v1/catalog/programs".into());
    add(
        "browse programs by verification_count",
        "/v1/catalog/programs?sortBy=verification_count".into(),
    );
    add(
        "browse programs by credential_count",
        "/v1/catalog/programs?sortBy=credential_count&sortOrder=ASC".into(),
    );
    add(
        "browse programs by name, page 150",
        "/v1/catalog/programs?sortBy=name&page=150".into(),
    );
    let schema = &w.schemas[w.schemas.len() / 2];
    add("schema detail", format!("/v1/catalog/schemas/{schema}"));
    // A listed program (nine in ten are; the tenth of each ten is not).
    let program = &w.programs[w.programs.len() / 2 - 2];
    add(
        "credential detail",
        format!("/v1/catalog/credentials/{program}"),
    );
    let vp = &w.vps[w.vps.len() / 2 - 2];
    add(
        "verification program detail",
        format!("/v1/catalog/programs/{vp}"),
    );
    add(
        "search: one whole word (Lisbon)",
        "/v1/catalog/search?q=Lisbon".into(),
    );
    add("search: a prefix (Lis)", "/v1/catalog/search?q=Lis".into());
    add(
        "search: a short prefix (ce)",
        "/v1/catalog/search?q=ce".into(),
    );
    add(
        "search: two words (gold membership)",
        "/v1/catalog/search?q=gold%20membership".into(),
    );
    add(
        "search: word and prefix (nairobi verif)",
        "/v1/catalog/search?q=nairobi%20verif".into(),
    );
    add(
        "search: no match (zzyzx)",
        "/v1/catalog/search?q=zzyzx".into(),
    );
    add(
        "search: page 3 (Lisbon)",
        "/v1/catalog/search?q=Lisbon&page=3".into(),
    );
    r
}

#[tokio::main]
async fn main() {
    let n = support::env_usize("BENCH_CATALOG_N", 200);
    let sizes = seeded::Sizes::from_env();
    let results = seeded::on_each_backend("BENCH_CATALOG_BACKENDS", sizes, move |w| async move {
        let name = support::backend_name(w.backend);
        // What the answers hold, to tell a fast empty answer from a fast full one.
        let (_, lisbon) = w.f.get_public("/v1/catalog/search?q=Lisbon").await;
        let (_, schemas) = w.f.get_public("/v1/catalog/schemas").await;
        let http = reqwest::Client::new();
        let load_before = support::load_average();
        let rows = seeded::time_gets(&http, w.f.url(), &requests(&w), n, &[]).await;
        let load_after = support::load_average();
        json!({
            "backend": name,
            "setup": w.setup,
            "listed_schemas": schemas["data"]["total"],
            "search_lisbon_totals": lisbon["data"].as_object().map(|o| o.iter()
                .map(|(k, v)| (k.clone(), v["total"].clone())).collect::<serde_json::Map<_, _>>()),
            "requests": rows,
            "memory": support::memory_mib(w.f.server()),
            "load_average": {"before": load_before, "after": load_after},
        })
    })
    .await;
    let out = support::report(
        "public catalog latency over HTTP at size (server with its publisher and the client on the same machine)",
        "catalog",
        json!({
            "sizes": sizes.to_json(),
            "requests_each": n,
            "setup": "claimd serve --dev, embedded chain, publisher on; registry through the operator API (8 requests at a time), one credential per issuer issued through issue-on-behalf to ONCHAIN, then users/consents/credentials by the store's bench_seed (one transaction); each request timed sequentially on one keep-alive connection after one untimed request",
            "results": results,
        }),
    );
    support::write_results("catalog.json", &out);
}
