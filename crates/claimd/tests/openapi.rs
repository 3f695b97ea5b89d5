//! `/openapi.json` describes issue-on-behalf exactly as Moca's published contract does: same
//! path, fields, enum, default, response codes and error schema; the only answers added are
//! the 429 and 503 of admission, which every request can get. The contract is the fixture
//! `tests/fixtures/issue-on-behalf.contract.yaml`, owned by this repository.

use claimd_testkit::TestApp;
use serde_json::Value;

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
    for name in ["IssueOnBehalfRequest", "IssueOnBehalfResponse", "Error"] {
        assert_eq!(
            ours["components"]["schemas"][name], seed["components"]["schemas"][name],
            "schema {name}"
        );
    }
    let (os, ss) = (
        &ours["components"]["securitySchemes"]["partnerJwt"],
        &seed["components"]["securitySchemes"]["partnerJwt"],
    );
    for k in ["type", "in", "name"] {
        assert_eq!(os[k], ss[k]);
    }
}
