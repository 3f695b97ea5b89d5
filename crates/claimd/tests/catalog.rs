//! The public catalog end to end, on the real binary, on SQLite and on PostgreSQL: operators
//! list entries and register verification programs with `claimd admin`, partners issue and
//! operators revoke, and `/v1/catalog/*` shows exactly the listed entries, in Moca's envelope,
//! with every count moving as it happens.

mod common;

use common::fixture::{Fixture, SchemaSpec, Setup};
use common::Backend;
use serde_json::{json, Value};

/// A catalog GET that must succeed: its `data`, after checking the envelope.
async fn data(f: &Fixture, path: &str) -> Value {
    let (status, body) = f.get_public(path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    assert_eq!(body["code"], 80_000_000, "{body}");
    assert_eq!(body["msg"], "success");
    assert!(body["timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    body["data"].clone()
}

/// A catalog GET that must fail with `status`: its message.
async fn refused(f: &Fixture, path: &str, status: u16) -> String {
    let (got, body) = f.get_public(path).await;
    assert_eq!(got, status, "GET {path}: {body}");
    assert_eq!(body["error"], status, "{body}");
    body["message"].as_str().unwrap().to_owned()
}

fn subject(age: u32, location: &str) -> Value {
    json!({"age": age, "location": location, "isMember": true})
}

/// The traction of `credential` as its detail shows it: (holders, issuances, verifications).
async fn traction(f: &Fixture, credential: &str) -> (u64, u64, u64) {
    let d = data(f, &format!("/v1/catalog/credentials/{credential}")).await;
    let t = &d["traction"];
    let n = |k: &str| t[k].as_u64().unwrap();
    (n("holderCount"), n("issuanceCount"), n("verificationCount"))
}

/// The fixture on the interop membership schema: the attributes [`subject`] issues.
async fn fixture(backend: Backend) -> Fixture {
    Fixture::setup(Setup {
        schema: SchemaSpec::INTEROP_MEMBERSHIP,
        ..Setup::new(backend)
    })
    .await
}

async fn catalog(backend: Backend) {
    let f = fixture(backend).await;
    let s = f.server();
    let schema_path = format!("/v1/catalog/schemas/{}", f.schema);
    let credential_path = format!("/v1/catalog/credentials/{}", f.program);

    // Nothing is listed until an operator says so; hidden entries read as unknown ones.
    let list = data(&f, "/v1/catalog/schemas").await;
    assert_eq!(
        list,
        json!({"current": 1, "pages": 0, "size": 10, "total": 0, "records": []})
    );
    assert_eq!(refused(&f, &schema_path, 404).await, "Schema not found");
    assert_eq!(
        refused(&f, &credential_path, 404).await,
        "Credential not found"
    );
    refused(&f, "/v1/catalog/schemas/not-a-uuid", 404).await;
    refused(&f, "/v1/catalog/programs/prg_unknown", 404).await;

    s.admin_ok(&["schema", "update", &f.schema, "--discoverable"]);
    let list = data(&f, "/v1/catalog/schemas").await;
    assert_eq!(list["total"], 1);
    let card = &list["records"][0];
    assert_eq!(card["schemaId"], f.schema.as_str());
    assert_eq!(card["title"], "Interop membership");
    assert_eq!(
        (&card["credentialCount"], &card["providerCount"]),
        (&json!(0), &json!(0))
    );

    // Listing programs moves the schema's counts: two programs of two issuers.
    s.admin_ok(&["program", "update", &f.program, "--discoverable"]);
    let (_, _, beta) = f.another_issuer("Beta Labs");
    s.admin_ok(&["program", "update", &beta, "--discoverable=true"]);
    let card = &data(&f, "/v1/catalog/schemas").await["records"][0];
    assert_eq!(
        (&card["credentialCount"], &card["providerCount"]),
        (&json!(2), &json!(2))
    );

    // A verification program: conditions are checked against the schema.
    let cond = |c: &str| format!("{}:{c}", f.program);
    let with_condition = |c: &str| {
        s.admin(&[
            "verification-program",
            "create",
            "--name",
            "Adults",
            "--verifier-name",
            "Bar",
            "--verifier-did",
            "did:web:bar.example",
            "--accept",
            &f.program,
            "--condition",
            &cond(c),
        ])
    };
    let (ok, _, err) = with_condition("age >= \"18\"");
    assert!(!ok);
    assert!(
        err.contains("acceptedCredentials[0].conditions[0]"),
        "{err}"
    );
    let (ok, _, err) = with_condition("height > 2");
    assert!(!ok && err.contains("no attribute"), "{err}");
    let vp = s.admin_ok(&[
        "verification-program",
        "create",
        "--name",
        "Adult members of North America",
        "--description",
        "Bar entry",
        "--verifier-name",
        "Bar Example",
        "--verifier-did",
        "did:web:bar.example",
        "--accept",
        &f.program,
        "--condition",
        &cond("age>=18"),
        "--condition",
        &cond(r#"location in ["US", "CA"]"#),
        "--discoverable",
    ]);
    let vp_id = vp["programId"].as_str().unwrap().to_owned();
    assert_eq!(vp["pricingModel"], "per-verification");
    assert_eq!(
        vp["acceptedCredentials"][0]["conditions"],
        json!(["age >= 18", r#"location in ["US","CA"]"#])
    );
    let got = s.admin_ok(&["verification-program", "get", &vp_id]);
    assert_eq!(got, vp);
    assert_eq!(s.admin_ok(&["verification-program", "list"])["total"], 1);

    let programs = data(&f, "/v1/catalog/programs").await;
    assert_eq!(programs["total"], 1);
    let card = &programs["records"][0];
    assert_eq!(card["programId"], vp_id.as_str());
    assert_eq!(card["credentialCount"], 1);
    assert_eq!(card["description"], "Bar entry");

    let detail = data(&f, &format!("/v1/catalog/programs/{vp_id}")).await;
    assert_eq!(detail["verifierInfo"]["verifierDid"], "did:web:bar.example");
    assert_eq!(detail["verifierInfo"]["name"], "Bar Example");
    assert_eq!(detail["pricingModel"], "per-verification");
    let accepted = &detail["acceptedCredentials"][0];
    assert_eq!(accepted["credentialId"], f.program.as_str());
    assert_eq!(accepted["category"], "InteropMembership");
    assert_eq!(
        accepted["verificationConditions"],
        json!(["age >= 18", r#"location in ["US","CA"]"#])
    );

    // Credential detail: issuer, data points from the schema, the accepting program.
    let d = data(&f, &credential_path).await;
    assert_eq!(d["name"], "Members");
    assert_eq!(d["issuer"]["issuerDid"], f.issuer_did.as_str());
    assert_eq!(d["issuer"]["issuerFrom"], "dashboard");
    assert_eq!(d["schema"]["schemaId"], f.schema.as_str());
    let names: Vec<&str> = d["dataPoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["age", "location", "isMember"]);
    assert_eq!(d["dataPoints"][0]["isRequired"], true);
    assert_eq!(d["programs"][0]["programId"], vp_id.as_str());
    assert_eq!(d["programs"][0]["verifierName"], "Bar Example");

    // demandCount: listed verification programs accepting the credential.
    let demand = |detail: &Value, id: &str| {
        detail["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["credentialId"] == id)
            .map(|c| c["traction"]["demandCount"].as_u64().unwrap())
    };
    let sd = data(&f, &schema_path).await;
    assert_eq!(sd["credentials"].as_array().unwrap().len(), 2);
    assert_eq!(demand(&sd, &f.program), Some(1));
    assert_eq!(demand(&sd, &beta), Some(0));

    // Issuance and revocation move holder and issuance counts, in the same transaction.
    assert_eq!(traction(&f, &f.program).await, (0, 0, 0));
    let (st, a) = f.issue_with("ann@example.com", subject(30, "US")).await;
    assert_eq!(st, 200, "{a}");
    let (st, b) = f.issue_with("bob@example.com", subject(40, "CA")).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(traction(&f, &f.program).await, (2, 2, 0));
    // Issuing again to ann revokes her first credential: one more issuance, same holders.
    let (st, _) = f.issue_with("ann@example.com", subject(31, "US")).await;
    assert_eq!(st, 200);
    assert_eq!(traction(&f, &f.program).await, (2, 3, 0));
    let bob_hash = b["coreClaimHash"].as_str().unwrap();
    s.admin_ok(&["credential", "revoke", bob_hash]);
    assert_eq!(traction(&f, &f.program).await, (1, 3, 0));
    // Revoking twice changes nothing more.
    s.admin_ok(&["credential", "revoke", bob_hash]);
    assert_eq!(traction(&f, &f.program).await, (1, 3, 0));
    let sd = data(&f, &schema_path).await;
    let ours = sd["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["credentialId"] == f.program.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        ours["traction"],
        json!({"holderCount": 1, "issuanceCount": 3, "demandCount": 1})
    );
    let accepted =
        &data(&f, &format!("/v1/catalog/programs/{vp_id}")).await["acceptedCredentials"][0];
    assert_eq!(
        (&accepted["holderCount"], &accepted["issuanceCount"]),
        (&json!(1), &json!(3))
    );

    // Search: prefixes of words, grouped, ranked, with totals.
    let r = data(&f, "/v1/catalog/search?q=memb").await;
    assert_eq!(r["credentials"]["total"], 2, "{r}");
    assert_eq!(r["programs"]["total"], 1, "{r}");
    assert_eq!(r["issuers"]["total"], 0, "{r}");
    assert_eq!(r["meta"], json!({"query": "memb", "totalResults": 3}));
    let hits = r["credentials"]["items"].as_array().unwrap();
    // "Members" matches in its name and its schema's title: ranked above Beta Labs' program.
    assert_eq!(hits[0]["credentialId"], f.program.as_str(), "{r}");
    assert!(hits[0]["relevance"].as_f64().unwrap() >= hits[1]["relevance"].as_f64().unwrap());
    assert_eq!(hits[0]["issuer"]["name"], "Acme issuer");
    let r = data(&f, "/v1/catalog/search?q=Beta%20la&limit=1").await;
    assert_eq!(r["issuers"]["total"], 1, "{r}");
    assert_eq!(r["issuers"]["items"][0]["name"], "Beta Labs");
    assert_eq!(r["credentials"]["total"], 1);
    let r = data(&f, "/v1/catalog/search?q=north%20amer").await;
    assert_eq!(
        r["programs"]["items"][0]["programId"],
        vp_id.as_str(),
        "{r}"
    );
    let id_prefix = &f.program[..10];
    let r = data(&f, &format!("/v1/catalog/search?q={id_prefix}")).await;
    assert_eq!(
        r["credentials"]["items"][0]["credentialId"],
        f.program.as_str(),
        "{r}"
    );
    let r = data(&f, "/v1/catalog/search?q=%22%2A%29(").await;
    assert_eq!(r["meta"]["totalResults"], 0, "{r}");
    let r = data(&f, "/v1/catalog/search?q=memb&page=2&limit=1").await;
    assert_eq!(r["credentials"]["items"].as_array().unwrap().len(), 1);
    assert_eq!(r["credentials"]["total"], 2);

    // Browsing pages and sorts.
    let p = data(&f, "/v1/catalog/schemas?page=2&limit=1").await;
    assert_eq!(
        (&p["current"], &p["pages"], &p["size"]),
        (&json!(2), &json!(1), &json!(1))
    );
    assert_eq!(p["records"], json!([]));
    for q in [
        "sortBy=title&sortOrder=ASC",
        "sortBy=credential_count",
        "sortBy=provider_count&sortOrder=DESC",
    ] {
        assert_eq!(
            data(&f, &format!("/v1/catalog/schemas?{q}")).await["total"],
            1
        );
    }
    for q in [
        "sortBy=name&sortOrder=ASC",
        "sortBy=verification_count",
        "sortBy=credential_count",
    ] {
        assert_eq!(
            data(&f, &format!("/v1/catalog/programs?{q}")).await["total"],
            1
        );
    }

    // Bad parameters: a 400 naming the parameter.
    let bad = [
        ("/v1/catalog/schemas?page=0", "page"),
        ("/v1/catalog/schemas?page=abc", "page"),
        ("/v1/catalog/schemas?limit=101", "limit"),
        ("/v1/catalog/schemas?limit=0", "limit"),
        ("/v1/catalog/schemas?sortBy=name", "sortBy"),
        ("/v1/catalog/schemas?sortOrder=desc", "sortOrder"),
        ("/v1/catalog/programs?sortBy=title", "sortBy"),
        ("/v1/catalog/programs?limit=-1", "limit"),
        ("/v1/catalog/search", "q"),
        ("/v1/catalog/search?q=", "q"),
        ("/v1/catalog/search?q=a&limit=51", "limit"),
        ("/v1/catalog/search?q=a&page=0", "page"),
    ];
    for (path, param) in bad {
        let m = refused(&f, path, 400).await;
        assert!(m.contains(&format!("parameter {param}:")), "{path}: {m}");
    }
    let long = "a".repeat(201);
    let m = refused(&f, &format!("/v1/catalog/search?q={long}"), 400).await;
    assert!(m.contains("parameter q:"), "{m}");
    data(&f, &format!("/v1/catalog/search?q={}", "a".repeat(200))).await;

    // Disabling a verification program hides it and its demand.
    s.admin_ok(&["verification-program", "disable", &vp_id]);
    assert_eq!(data(&f, "/v1/catalog/programs").await["total"], 0);
    refused(&f, &format!("/v1/catalog/programs/{vp_id}"), 404).await;
    assert_eq!(data(&f, &credential_path).await["programs"], json!([]));
    assert_eq!(demand(&data(&f, &schema_path).await, &f.program), Some(0));
    assert_eq!(
        data(&f, "/v1/catalog/search?q=north").await["programs"]["total"],
        0
    );
    // ... and enabling it brings both back.
    s.admin_ok(&["verification-program", "update", &vp_id, "--enabled"]);
    assert_eq!(demand(&data(&f, &schema_path).await, &f.program), Some(1));

    // Hiding an issuance program hides it everywhere and moves the schema's counts.
    s.admin_ok(&["program", "update", &beta, "--enabled=false"]);
    refused(&f, &format!("/v1/catalog/credentials/{beta}"), 404).await;
    let card = &data(&f, "/v1/catalog/schemas").await["records"][0];
    assert_eq!(
        (&card["credentialCount"], &card["providerCount"]),
        (&json!(1), &json!(1))
    );
    let r = data(&f, "/v1/catalog/search?q=beta").await;
    assert_eq!(
        (&r["credentials"]["total"], &r["issuers"]["total"]),
        (&json!(0), &json!(0)),
        "{r}"
    );

    // A hidden schema is a 404 like an unknown one.
    s.admin_ok(&["schema", "update", &f.schema, "--discoverable=false"]);
    assert_eq!(refused(&f, &schema_path, 404).await, "Schema not found");
    assert_eq!(data(&f, "/v1/catalog/schemas").await["total"], 0);

    // The operator API refuses what the CLI would not send.
    let (ok, _, err) = s.admin(&["program", "update", &f.program]);
    assert!(!ok && err.contains("discoverable"), "{err}");
    let (ok, _, err) = s.admin(&["verification-program", "get", "prg_nope"]);
    assert!(!ok && err.contains("404"), "{err}");
}

/// `POST /v1/credentials/verify?<query>` with `vc`: (status, answer).
async fn verify_at(f: &Fixture, query: &str, vc: &Value) -> (u16, Value) {
    let url = format!("{}/v1/credentials/verify?{query}", f.url());
    let reply = claimd_testkit::fixture::post_json_body(&f.http, &url, vc.to_string()).await;
    (reply.status, reply.json)
}

/// A listed verification program accepting the fixture's program with `conditions`; its id.
fn verification_program(f: &Fixture, name: &str, conditions: &[&str]) -> String {
    let mut args = vec![
        "verification-program".to_owned(),
        "create".into(),
        "--name".into(),
        name.into(),
        "--verifier-name".into(),
        "Bar Example".into(),
        "--verifier-did".into(),
        "did:web:bar.example".into(),
        "--accept".into(),
        f.program.clone(),
        "--discoverable".into(),
    ];
    for c in conditions {
        args.extend(["--condition".into(), format!("{}:{c}", f.program)]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    f.server().admin_ok(&args)["programId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every `verificationCount` the catalog shows for the verification program `vp` and the
/// fixture's issuance program: (browse, program detail, credential traction, the
/// credential's `programs[]` entry).
async fn verification_counts(f: &Fixture, vp: &str) -> (u64, u64, u64, u64) {
    let browse = data(f, "/v1/catalog/programs?limit=100").await;
    let card = browse["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["programId"] == vp)
        .unwrap_or_else(|| panic!("{vp} not in {browse}"))
        .clone();
    let detail = data(f, &format!("/v1/catalog/programs/{vp}")).await;
    let credential = data(f, &format!("/v1/catalog/credentials/{}", f.program)).await;
    let listed = credential["programs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["programId"] == vp)
        .unwrap_or_else(|| panic!("{vp} not in {credential}"))
        .clone();
    let n = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"));
    (
        n(&card["verificationCount"]),
        n(&detail["traction"]["verificationCount"]),
        n(&credential["traction"]["verificationCount"]),
        n(&listed["verificationCount"]),
    )
}

/// Verifying against a verification program: the report judges the credential, and only a
/// compliant verification moves the catalog's `verificationCount`s.
async fn verification_counts_move(backend: Backend) {
    let f = fixture(backend).await;
    let s = f.server();
    s.admin_ok(&["program", "update", &f.program, "--discoverable"]);
    let (st, issued) = f.issue_with("ann@example.com", subject(30, "US")).await;
    assert_eq!(st, 200, "{issued}");
    let hash = issued["coreClaimHash"].as_str().unwrap();
    f.wait_for("ann@example.com", hash, "ONCHAIN").await;
    let vc = f.document("ann@example.com", hash).await;

    let adults = verification_program(&f, "Adults", &["age >= 18", r#"location in ["US", "CA"]"#]);
    let seniors = verification_program(&f, "Seniors", &["age >= 65", "isMember == true"]);
    assert_eq!(verification_counts(&f, &adults).await, (0, 0, 0, 0));
    assert_eq!(verification_counts(&f, &seniors).await, (0, 0, 0, 0));

    // Compliant: valid, and every condition holds. Counted once, everywhere.
    let (st, report) = verify_at(&f, &format!("programId={adults}"), &vc).await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(
        report["program"],
        json!({"programId": adults, "status": "Compliant", "credentialId": f.program,
            "conditions": [{"condition": "age >= 18", "satisfied": true},
                           {"condition": r#"location in ["US","CA"]"#, "satisfied": true}],
            "detail": report["program"]["detail"]}),
        "{report:#}"
    );
    assert!(!report["program"]["detail"].as_str().unwrap().is_empty());
    assert_eq!(verification_counts(&f, &adults).await, (1, 1, 1, 1));
    assert_eq!(verification_counts(&f, &seniors).await, (0, 0, 1, 0));

    // Non-compliant: the same valid credential fails a condition. Not counted.
    let (st, report) = verify_at(&f, &format!("programId={seniors}"), &vc).await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["valid"], true, "{report:#}");
    let program = &report["program"];
    assert_eq!(program["status"], "Non-Compliant", "{report:#}");
    assert_eq!(program["credentialId"], f.program.as_str());
    assert_eq!(
        program["conditions"],
        json!([{"condition": "age >= 65", "satisfied": false},
               {"condition": "isMember == true", "satisfied": true}])
    );
    assert_eq!(verification_counts(&f, &seniors).await, (0, 0, 1, 0));
    assert_eq!(verification_counts(&f, &adults).await, (1, 1, 1, 1));

    // A forged credential that would satisfy the conditions is not valid: not counted.
    let mut forged = vc.clone();
    forged["credentialSubject"]["age"] = json!(70);
    let (st, report) = verify_at(&f, &format!("programId={seniors}"), &forged).await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["valid"], false, "{report:#}");
    assert_eq!(report["program"]["status"], "Non-Compliant", "{report:#}");
    assert_eq!(verification_counts(&f, &seniors).await, (0, 0, 1, 0));

    // Without programId: the report as it always was, nothing counted.
    let (st, report) = verify_at(&f, "", &vc).await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["valid"], true);
    assert!(report.get("program").is_none(), "{report:#}");
    assert_eq!(verification_counts(&f, &adults).await, (1, 1, 1, 1));

    // Each compliant verification counts exactly one.
    let (_, report) = verify_at(&f, &format!("programId={adults}"), &vc).await;
    assert_eq!(report["program"]["status"], "Compliant", "{report:#}");
    assert_eq!(verification_counts(&f, &adults).await, (2, 2, 2, 2));

    // Unknown and hidden programs are 404s, as in the catalog; malformed ids 400s naming the
    // parameter. Refused before the credential is read, and never counted.
    let (st, body) = verify_at(&f, "programId=prg_unknown", &vc).await;
    assert_eq!((st, &body["error"]), (404, &json!(404)), "{body}");
    assert_eq!(body["message"], "Program not found");
    let (st, body) = verify_at(&f, "programId=prg_unknown", &json!("not a credential")).await;
    assert_eq!(st, 404, "{body}");
    for bad in ["programId=", "programId=a%20b", "programId=prg%2F1"] {
        let (st, body) = verify_at(&f, bad, &vc).await;
        assert_eq!((st, &body["error"]), (400, &json!(400)), "{bad}: {body}");
        let m = body["message"].as_str().unwrap();
        assert!(m.starts_with("Invalid parameter programId:"), "{bad}: {m}");
    }
    let long = "x".repeat(65);
    let (st, _) = verify_at(&f, &format!("programId={long}"), &vc).await;
    assert_eq!(st, 400);
    s.admin_ok(&[
        "verification-program",
        "update",
        &seniors,
        "--discoverable=false",
    ]);
    let (st, body) = verify_at(&f, &format!("programId={seniors}"), &vc).await;
    assert_eq!(
        (st, body["message"].as_str()),
        (404, Some("Program not found"))
    );
    s.admin_ok(&["verification-program", "disable", &adults]);
    let (st, _) = verify_at(&f, &format!("programId={adults}"), &vc).await;
    assert_eq!(st, 404);
    s.admin_ok(&["verification-program", "update", &adults, "--enabled"]);
    assert_eq!(verification_counts(&f, &adults).await, (2, 2, 2, 2));

    // The OpenAPI document describes the parameter, the answers and the report's program.
    let (_, openapi) = f.get_public("/openapi.json").await;
    let op = &openapi["paths"]["/credentials/verify"]["post"];
    assert_eq!(op["parameters"][0]["name"], "programId", "{op}");
    assert_eq!(op["parameters"][0]["in"], "query");
    assert!(op["responses"]["404"].is_object(), "{op}");
    let schemas = &openapi["components"]["schemas"];
    assert_eq!(
        schemas["VerificationReport"]["properties"]["program"]["$ref"],
        "#/components/schemas/VerificationProgramResult"
    );
    assert_eq!(
        schemas["VerificationProgramResult"]["properties"]["status"]["enum"],
        json!(["Compliant", "Non-Compliant"])
    );
}

claimd_testkit::on_each_backend!(catalog, verification_counts_move);
