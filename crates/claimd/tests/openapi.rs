//! `/openapi.json` describes issue-on-behalf exactly as Moca's published contract does: same
//! path, fields, enum, default, response codes and error schema; the only answers added are
//! the 429 and 503 of admission, which every request can get. The contract is the fixture
//! `tests/fixtures/issue-on-behalf.contract.yaml`, owned by this repository.

use claimd_testkit::TestApp;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// `path` with every `{name}` segment as `{}`: the router and the document may name a
/// segment differently.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_name = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_name = true;
                out.push_str("{}");
            }
            '}' => in_name = false,
            _ if in_name => {}
            _ => out.push(c),
        }
    }
    out
}

/// Every route the router serves is an operation of `/openapi.json` with exactly the same
/// methods, and every operation of the document is served: neither can drift from the other.
/// (The table comes from the same tokens that build the router, `routes::served!`.)
#[tokio::test]
async fn the_document_describes_exactly_the_served_routes() {
    let app = TestApp::new().await;
    let doc: Value = serde_json::from_slice(&app.get("/openapi.json").await.body).unwrap();
    let default_server = doc["servers"][0]["url"].as_str().unwrap();
    let public_url = default_server.strip_suffix("/v1").unwrap();
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let server = item["servers"][0]["url"].as_str().unwrap_or(default_server);
        let base = server
            .strip_prefix(public_url)
            .expect("servers on this claimd");
        let methods = item
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| ["get", "put", "post", "patch", "delete"].contains(&k.as_str()))
            .cloned()
            .collect();
        documented.insert(shape(&format!("{base}{path}")), methods);
    }
    let served: BTreeMap<String, BTreeSet<String>> = claimd_api::served_routes(&app.state)
        .into_iter()
        .map(|r| {
            let methods = r.methods.iter().map(|m| m.to_string()).collect();
            (shape(&r.path), methods)
        })
        .collect();
    let only_served: Vec<_> = served
        .iter()
        .filter(|(p, m)| documented.get(*p) != Some(m))
        .collect();
    let only_documented: Vec<_> = documented
        .iter()
        .filter(|(p, m)| served.get(*p) != Some(m))
        .collect();
    assert!(
        only_served.is_empty() && only_documented.is_empty(),
        "served but not documented (or other methods): {only_served:#?}\n\
         documented but not served (or other methods): {only_documented:#?}"
    );
    // Every path parameter is defined, on the operation or its path.
    for (path, item) in doc["paths"].as_object().unwrap() {
        let names: Vec<&str> = path
            .split('{')
            .skip(1)
            .map(|s| s.split('}').next().unwrap())
            .collect();
        for (method, op) in item.as_object().unwrap() {
            if !["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let defined: Vec<&str> = item["parameters"]
                .as_array()
                .into_iter()
                .chain(op["parameters"].as_array())
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            for name in &names {
                assert!(
                    defined.contains(name),
                    "{method} {path}: path parameter {name} is not defined"
                );
            }
        }
    }
}

/// `ours` holds every member of `seed` with the same value (recursively); it may add more.
fn says_at_least(ours: &Value, seed: &Value, at: &str) {
    match seed {
        Value::Object(members) => {
            for (k, v) in members {
                says_at_least(&ours[k], v, &format!("{at}/{k}"));
            }
        }
        _ => assert_eq!(ours, seed, "{at}"),
    }
}

fn seed() -> Value {
    let text = include_str!("fixtures/issue-on-behalf.contract.yaml");
    serde_yaml::from_str(text).expect("the contract fixture is valid YAML")
}

#[tokio::test]
async fn issue_on_behalf_operation_matches_the_seed() {
    let app = TestApp::new().await;
    let answer = app.get("/openapi.json").await;
    assert_eq!(answer.status, 200);
    let ours: Value = serde_json::from_slice(&answer.body).unwrap();
    let seed = seed();
    assert!(ours["openapi"].as_str().unwrap().starts_with("3."));
    assert!(ours["servers"][0]["url"].as_str().unwrap().ends_with("/v1"));

    let path = "/credentials/issue-on-behalf";
    let (o, s) = (&ours["paths"][path]["post"], &seed["paths"][path]["post"]);
    assert_eq!(o["operationId"], s["operationId"]);
    assert_eq!(o["requestBody"]["required"], s["requestBody"]["required"]);
    assert_eq!(
        o["requestBody"]["content"]["application/json"]["schema"],
        s["requestBody"]["content"]["application/json"]["schema"]
    );
    // The header is claimd's extension; everything else is the seed's.
    assert_eq!(
        o["parameters"].as_array().map(|p| p.len()),
        Some(1),
        "only Idempotency-Key"
    );
    let codes = |v: &Value| {
        let mut c: Vec<String> = v["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        c.sort();
        c
    };
    // Exactly the contract's answers, plus the two every request can get from admission
    // (rate limits and claimd's own limits), which the contract leaves open.
    let extra: Vec<String> = codes(o)
        .into_iter()
        .filter(|c| !codes(s).contains(c))
        .collect();
    assert_eq!(extra, ["429", "503"], "answers beyond the contract's");
    for code in &extra {
        let r = &o["responses"][code];
        assert_eq!(
            r["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error"
        );
        assert!(
            r["headers"]["Retry-After"].is_object(),
            "{code} names Retry-After"
        );
    }
    for code in codes(s) {
        assert_eq!(
            o["responses"][&code]["content"]["application/json"]["schema"],
            s["responses"][&code]["content"]["application/json"]["schema"],
            "response {code}"
        );
    }
    for name in ["IssueOnBehalfResponse", "Error"] {
        assert_eq!(
            ours["components"]["schemas"][name], seed["components"]["schemas"][name],
            "schema {name}"
        );
    }
    // The request says everything the seed says, plus constraints where the seed leaves the
    // value open: the two ids are not empty (the server answers `Missing required field`).
    let request = &ours["components"]["schemas"]["IssueOnBehalfRequest"];
    says_at_least(
        request,
        &seed["components"]["schemas"]["IssueOnBehalfRequest"],
        "",
    );
    for id in ["issuerDid", "credentialId"] {
        let added: Vec<&String> = request["properties"][id]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !["type", "description"].contains(&k.as_str()))
            .collect();
        assert_eq!(added, ["minLength", "pattern"], "{id}");
    }
    let (os, ss) = (
        &ours["components"]["securitySchemes"]["partnerJwt"],
        &seed["components"]["securitySchemes"]["partnerJwt"],
    );
    for k in ["type", "in", "name"] {
        assert_eq!(os[k], ss[k]);
    }
}

/// The six catalog operations are public and described with the parameters the server reads;
/// each documented range is the one it enforces (the maximum is accepted, one more is a 400),
/// and a success is the catalog envelope.
#[tokio::test]
async fn catalog_operations_match_the_server() {
    let app = TestApp::new().await;
    let doc: Value = serde_json::from_slice(&app.get("/openapi.json").await.body).unwrap();
    let browse = ["page", "limit", "sortBy", "sortOrder"];
    let ops: [(&str, &[&str]); 6] = [
        ("/catalog/schemas", &browse),
        ("/catalog/schemas/{id}", &["id"]),
        ("/catalog/credentials/{id}", &["id"]),
        ("/catalog/programs", &browse),
        ("/catalog/programs/{id}", &["id"]),
        ("/catalog/search", &["q", "page", "limit"]),
    ];
    for (path, want) in ops {
        let op = &doc["paths"][path]["get"];
        assert_eq!(op["security"], serde_json::json!([]), "{path} is public");
        let params = op["parameters"].as_array().unwrap();
        let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, want, "{path}");
        let ok = &op["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(
            ok["allOf"][0]["$ref"],
            "#/components/schemas/CatalogApiResponse"
        );
        let url = format!("/v1{}", path.replace("{id}", "unknown"));
        let query = if path.ends_with("search") {
            "?q=x&"
        } else {
            "?"
        };
        if path.contains("{id}") {
            let r = app.get(&url).await;
            assert_eq!(r.status, 404, "{url}");
            assert!(
                op["responses"]["404"].is_object(),
                "{path} documents its 404"
            );
            continue;
        }
        let r = app.get(&format!("{url}{query}")).await;
        assert_eq!(r.status, 200, "{url}");
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body["code"],
            doc["components"]["schemas"]["CatalogApiResponse"]["properties"]["code"]["enum"][0]
        );
        for p in params.iter().filter(|p| p["schema"]["maximum"].is_u64()) {
            let (name, max) = (
                p["name"].as_str().unwrap(),
                p["schema"]["maximum"].as_u64().unwrap(),
            );
            let at = app.get(&format!("{url}{query}{name}={max}")).await;
            assert_eq!(at.status, 200, "{url} {name}={max}");
            let over = app.get(&format!("{url}{query}{name}={}", max + 1)).await;
            assert_eq!(over.status, 400, "{url} {name}={}", max + 1);
        }
        for p in params.iter().filter(|p| p["schema"]["enum"].is_array()) {
            let name = p["name"].as_str().unwrap();
            for v in p["schema"]["enum"].as_array().unwrap() {
                let r = app
                    .get(&format!("{url}{query}{name}={}", v.as_str().unwrap()))
                    .await;
                assert_eq!(r.status, 200, "{url} {name}={v}");
            }
            let r = app.get(&format!("{url}{query}{name}=nope")).await;
            assert_eq!(r.status, 400, "{url} {name}=nope");
        }
    }
    let q = &doc["paths"]["/catalog/search"]["get"]["parameters"][0]["schema"]["maxLength"];
    let max = q.as_u64().unwrap() as usize;
    let at = app
        .get(&format!("/v1/catalog/search?q={}", "a".repeat(max)))
        .await;
    assert_eq!(at.status, 200);
    let over = app
        .get(&format!("/v1/catalog/search?q={}", "a".repeat(max + 1)))
        .await;
    assert_eq!(over.status, 400);
}
