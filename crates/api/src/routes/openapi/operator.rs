//! The operator API under `/admin/v1` (bearer admin token): partners, schemas, issuers,
//! issuance and verification programs, users and consent, credentials and publishing. Every
//! body, parameter and answer is described as the handlers and the domain's validation take
//! and give it; bulk issuance and webhooks have their own modules.

use super::{error_response, ok, partner_properties};
use serde_json::{json, Value};

/// `$ref` to a component schema.
fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A page of `item`s, as every operator listing answers.
fn page_of(item: &str) -> Value {
    json!({"type": "object", "required": ["items", "page", "limit", "total"], "properties": {
        "items": {"type": "array", "items": r(item)},
        "page": {"type": "integer", "minimum": 1},
        "limit": {"type": "integer", "minimum": 1, "maximum": 500},
        "total": {"type": "integer", "minimum": 0}
    }})
}

/// `?page=&limit=` of every operator listing.
fn paging() -> [Value; 2] {
    [
        json!({"name": "page", "in": "query", "required": false, "description": "From 1.", "schema": {"type": "integer", "minimum": 1, "maximum": 4294967295_u64, "default": 1}}),
        json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}),
    ]
}

fn path(name: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": schema})
}

fn uuid() -> Value {
    json!({"type": "string", "format": "uuid"})
}

/// An issuance program's id (`credentialId`).
fn program_id() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"})
}

fn core_claim_hash() -> Value {
    json!({"type": "string", "pattern": "^\\s*[0-9A-Fa-f]{64}\\s*$", "description": "64 hex digits (case and surrounding spaces ignored)."})
}

/// What one operation answers besides its success: the codes it can give.
#[derive(Clone, Copy)]
enum Fails {
    /// 400: a body or query that does not validate.
    Invalid,
    /// 404: the resource in the path does not exist.
    Unknown(&'static str),
}

/// An operator operation answering `code` with `answer` (`None`: no body), taking `body`.
fn op(summary: &str, code: &str, answer: Value, body: Option<Value>, fails: &[Fails]) -> Value {
    let mut responses = json!({
        code: ok("OK", answer),
        "401": error_response("Missing or wrong admin token.", "Invalid admin token", 401)
    });
    for f in fails {
        let (k, v) = match f {
            Fails::Invalid => (
                "400",
                error_response(
                    "Invalid input; the message names the field.",
                    "Invalid field name: is required",
                    400,
                ),
            ),
            Fails::Unknown(what) => (
                "404",
                error_response(&format!("Unknown {what}."), &format!("Unknown {what}"), 404),
            ),
        };
        responses[k] = v;
    }
    let mut op = json!({
        "tags": ["Operator"],
        "summary": summary,
        "security": [{"adminToken": []}],
        "responses": responses
    });
    if let Some(b) = body {
        op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": b}}});
    }
    op
}

/// A link from an answer's field to the `parameter` of the operation `operation_id`: the
/// fuzzer follows these to reach the resources it created.
fn link(operation_id: &str, parameter: &str, field: &str) -> Value {
    json!({"operationId": operation_id, "parameters": {parameter: format!("$response.body#/{field}")}})
}

fn with_links(mut op: Value, code: &str, links: Value) -> Value {
    op["responses"][code]["links"] = links;
    op
}

fn with_id(mut op: Value, id: &str) -> Value {
    op["operationId"] = json!(id);
    op
}

fn with_params(mut op: Value, params: Vec<Value>) -> Value {
    op["parameters"] = Value::Array(params);
    op
}

/// The operator paths, relative to the `/admin/v1` server.
pub(super) fn paths() -> Value {
    use Fails::{Invalid, Unknown};
    let partner = Unknown("partner");
    let schema = Unknown("schema");
    let issuer = Unknown("issuer");
    let program = Unknown("issuance program");
    let vp = Unknown("verification program");
    let credential = Unknown("credential");
    let [page, limit] = paging();
    let listing = |summary: &str, item: &str, id: &str| {
        with_params(
            with_id(op(summary, "200", page_of(item), None, &[Invalid]), id),
            vec![page.clone(), limit.clone()],
        )
    };
    json!({
        "/partners": {
            "get": listing("List partners", "Partner", "listPartners"),
            "post": with_links(with_id(op("Register a partner", "201", r("Partner"), Some(r("NewPartner")), &[Invalid]), "createPartner"), "201",
                json!({"GetPartner": link("getPartner", "partnerId", "partnerId")}))
        },
        "/partners/{partnerId}": {
            "parameters": [path("partnerId", uuid())],
            "get": with_id(op("A partner", "200", r("Partner"), None, &[partner]), "getPartner"),
            "patch": with_id(op("Change a partner (absent fields are left alone; new keys and token rules apply at once)", "200", r("Partner"), Some(r("PartnerPatch")), &[Invalid, partner]), "updatePartner")
        },
        "/schemas": {
            "get": listing("List schemas", "Schema", "listSchemas"),
            "post": with_links(with_id(op("Register a schema", "201", r("Schema"), Some(r("NewSchema")), &[Invalid]), "createSchema"), "201",
                json!({"GetSchema": link("getSchema", "schemaId", "schemaId")}))
        },
        "/schemas/{schemaId}": {
            "parameters": [path("schemaId", uuid())],
            "get": with_id(op("A schema", "200", r("Schema"), None, &[schema]), "getSchema"),
            "patch": with_id(op("Change a schema's catalog flags", "200", r("Schema"), Some(r("VisibilityChange")), &[Invalid, schema]), "updateSchema")
        },
        "/issuers": {
            "get": listing("List issuers", "Issuer", "listIssuers"),
            "post": with_links(with_id(op("Create an issuer: a new Baby Jubjub identity (its DID) and Ethereum key, for a partner", "201", r("Issuer"), Some(r("NewIssuer")), &[Invalid, partner]), "createIssuer"), "201",
                json!({"GetIssuer": link("getIssuer", "issuer", "issuerDid"), "GetPublishing": link("getPublishing", "issuer", "issuerDid")}))
        },
        "/issuers/{issuer}": {
            "parameters": [path("issuer", json!({"type": "string", "description": "The issuer's DID or its id (UUID)."}))],
            "get": with_id(op("An issuer, by DID or id", "200", r("Issuer"), None, &[issuer]), "getIssuer")
        },
        "/issuers/{issuer}/publishing": {
            "parameters": [
                path("issuer", json!({"type": "string", "description": "The issuer's DID or its id (UUID)."})),
                {"name": "limit", "in": "query", "required": false, "description": "How many recent transitions.", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 20}}
            ],
            "get": with_id(op("An issuer's publishing: latest state, transition in flight, pending work, recent transitions", "200", r("Publishing"), None, &[Invalid, issuer]), "getPublishing")
        },
        "/programs": {
            "get": listing("List issuance programs", "Program", "listPrograms"),
            "post": with_links(with_id(op("Create an issuance program (its id is the `credentialId` partners issue)", "201", r("Program"), Some(r("NewProgram")), &[Invalid, Unknown("issuer or schema")]), "createProgram"), "201",
                json!({"GetProgram": link("getProgram", "credentialId", "credentialId")}))
        },
        "/programs/{credentialId}": {
            "parameters": [path("credentialId", program_id())],
            "get": with_id(op("An issuance program", "200", r("Program"), None, &[program]), "getProgram"),
            "patch": with_id(op("Change an issuance program's catalog flags", "200", r("Program"), Some(r("VisibilityChange")), &[Invalid, program]), "updateProgram")
        },
        "/verification-programs": {
            "get": listing("List verification programs", "VerificationProgram", "listVerificationPrograms"),
            "post": with_links(with_id(op("Create a verification program: verifier, accepted issuance programs with conditions (`age >= 18`, `location in [\"US\",\"CA\"]`) checked against their schemas, pricing model", "201", r("VerificationProgram"), Some(r("NewVerificationProgram")), &[Invalid, program]), "createVerificationProgram"), "201",
                json!({"GetVerificationProgram": link("getVerificationProgram", "programId", "programId")}))
        },
        "/verification-programs/{programId}": {
            "parameters": [path("programId", program_id())],
            "get": with_id(op("A verification program", "200", r("VerificationProgram"), None, &[vp]), "getVerificationProgram"),
            "patch": with_id(op("Change a verification program (absent fields are left alone; `acceptedCredentials` replaces the list; `\"enabled\": false` disables it)", "200", r("VerificationProgram"), Some(r("VerificationProgramPatch")), &[Invalid, Unknown("verification program, or an accepted issuance program")]), "updateVerificationProgram")
        },
        "/users": {
            "get": listing("List users", "User", "listUsers")
        },
        "/users/consent": {
            "get": listing("List consent records", "Consent", "listConsents"),
            "put": with_id(op("Record a user's consent for a partner (creates the user if needed)", "200", r("Consent"), Some(r("ConsentRequest")), &[Invalid, partner]), "setConsent")
        },
        "/users/email-conflicts": {
            "get": with_id(op("Stored addresses kept as they were by the email re-normalisation because their normal form belongs to another user, or they are no longer valid; an operator resolves them", "200", json!({"type": "array", "items": r("EmailConflict")}), None, &[]), "listEmailConflicts")
        },
        "/overview": {
            "get": with_id(op("Credentials by status, publishing backlog, database health, and over the last hour credentials created per minute and publish lags", "200", r("Overview"), None, &[]), "getOverview")
        },
        "/credentials": {
            "get": with_params(with_id(op("List credentials newest first, of one issuance program and/or one user (by address); paged", "200", page_of("ListedCredential"), None, &[Invalid]), "listCredentials"), vec![
                json!({"name": "programId", "in": "query", "required": false, "description": "An issuance program's id; empty: any. A string no program can have lists nothing.", "schema": {"type": "string"}}),
                json!({"name": "email", "in": "query", "required": false, "description": "A user's address (normalised as issuance does); empty: any. An address no user has, or no address at all, lists nothing.", "schema": {"type": "string"}}),
                page.clone(), limit.clone()
            ])
        },
        "/credentials/{coreClaimHash}": {
            "parameters": [path("coreClaimHash", core_claim_hash())],
            "get": with_id(op("A credential's status, whoever issued it", "200", r("CredentialStatus"), None, &[credential]), "getCredentialAdmin")
        },
        "/credentials/{coreClaimHash}/document": {
            "parameters": [path("coreClaimHash", core_claim_hash())],
            "get": with_id(op("The credential with every proof it has now, whoever issued it", "200", json!({"type": "object"}), None, &[credential]), "getCredentialDocumentAdmin")
        },
        "/credentials/{coreClaimHash}/history": {
            "parameters": [path("coreClaimHash", core_claim_hash())],
            "get": with_id(op("A credential's status history: accepted, then every change (on chain with its transaction and block, revocation requested, removed, expired), oldest first, whoever issued it", "200", r("CredentialHistory"), None, &[credential]), "getCredentialHistory")
        },
        "/credentials/{coreClaimHash}/revoke": {
            "parameters": [path("coreClaimHash", core_claim_hash())],
            "post": with_id(op("Revoke a credential (status WAIT_REMOVE until the revocation is on chain; revoking again changes nothing)", "200", r("CredentialStatus"), None, &[credential]), "revokeCredential")
        }
    })
}

/// Some character that is neither white space nor a control character, among no control
/// characters.
pub(super) const NAME_PATTERN: &str =
    "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// A name as every operator resource takes it: trimmed, 1 to 200 characters, no control
/// characters.
fn name() -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": NAME_PATTERN})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn nullable(mut v: Value) -> Value {
    v["nullable"] = json!(true);
    v
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

/// `field` is present with a value of `kind` (not `null`, which the server takes as absent).
fn given(field: &str, kind: &str) -> Value {
    json!({"required": [field], "properties": {field: {"type": kind}}})
}

/// The operator API's component schemas.
pub(super) fn schemas() -> Value {
    let both_keys = json!({"required": ["jwksUrl", "jwks"], "properties": {"jwksUrl": {"type": "string"}, "jwks": {"type": "object"}}});
    let attribute_type =
        json!({"type": "string", "enum": ["string", "integer", "number", "boolean", "date"]});
    let visibility = json!({"discoverable": {"type": "boolean"}, "enabled": {"type": "boolean"}});
    let count = json!({"type": "integer", "minimum": 0});
    let condition = json!({"type": "string", "minLength": 1, "maxLength": 500, "pattern": "^[^\\u0000]*$", "description": "`<attribute> <op> <value>`: ops `==`, `!=`, `>`, `>=`, `<`, `<=`, `in`, `not in`; values JSON literals of the attribute's type."});
    let accepted = object(
        &["credentialId"],
        json!({
            "credentialId": program_id(),
            "conditions": {"type": "array", "maxItems": 20, "items": condition}
        }),
    );
    let vp_fields = |create: bool| {
        let mut p = json!({
            "name": name(),
            "description": {"type": "string", "maxLength": 2000, "pattern": "^[^\\u0000]*$"},
            "verifierName": name(),
            "verifierDid": {"type": "string", "maxLength": 200, "pattern": "^\\s*did:[!-~]*:[!-~]*\\s*$"},
            "acceptedCredentials": {"type": "array", "minItems": 1, "maxItems": 50, "items": accepted.clone()},
            "pricingModel": {"type": "string", "enum": ["per-verification", "free"]},
            "discoverable": {"type": "boolean"},
            "enabled": {"type": "boolean"}
        });
        if !create {
            for v in p.as_object_mut().expect("object").values_mut() {
                *v = nullable(v.take());
            }
        }
        p
    };
    let mut new_vp = object(
        &["name", "verifierName", "verifierDid", "acceptedCredentials"],
        vp_fields(true),
    );
    new_vp["properties"]["description"] = nullable(new_vp["properties"]["description"].take());
    new_vp["properties"]["pricingModel"] = nullable(new_vp["properties"]["pricingModel"].take());
    new_vp["properties"]["discoverable"] = nullable(new_vp["properties"]["discoverable"].take());
    new_vp["properties"]["enabled"] = nullable(new_vp["properties"]["enabled"].take());
    let mut vp_patch =
        json!({"type": "object", "additionalProperties": false, "properties": vp_fields(false)});
    vp_patch["description"] = json!("Absent or null fields are left alone.");
    let status = json!({"type": "string", "enum": ["WAIT_ONCHAIN", "ONCHAIN", "WAIT_REMOVE", "REMOVE", "EXPIRE"]});
    let transition = object(
        &[
            "id",
            "status",
            "state",
            "claims",
            "revocations",
            "createdAt",
            "updatedAt",
        ],
        json!({
            "id": {"type": "integer"},
            "status": {"type": "string"},
            "state": {"type": "string", "description": "The new identity state (64 hex digits, little-endian)."},
            "txHash": nullable(json!({"type": "string"})),
            "txNonce": nullable(json!({"type": "integer"})),
            "blockNumber": nullable(json!({"type": "integer"})),
            "failure": nullable(json!({"type": "string"})),
            "claims": count, "revocations": count,
            "createdAt": time(), "updatedAt": time()
        }),
    );
    let mut listed = r("CredentialStatus");
    listed = json!({"allOf": [listed, object(&["programId", "partnerId"], json!({"programId": {"type": "string"}, "partnerId": uuid()}))]});
    json!({
        "Partner": {"type": "object", "required": ["partnerId", "name", "features", "allowedSchemaIds", "audience", "issuer", "requireJti", "enabled", "createdAt", "updatedAt"], "properties": {
            "partnerId": uuid(),
            "name": {"type": "string"},
            "jwksUrl": {"type": "string"},
            "jwks": {"type": "object"},
            "features": {"type": "array", "items": {"type": "string", "enum": ["issue_on_behalf"]}},
            "allowedSchemaIds": nullable(json!({"type": "array", "items": uuid()})),
            "audience": nullable(json!({"type": "string"})),
            "issuer": nullable(json!({"type": "string"})),
            "requireJti": {"type": "boolean"},
            "enabled": {"type": "boolean"},
            "createdAt": time(), "updatedAt": time()
        }},
        "NewPartner": {"type": "object", "required": ["name"], "description": "Exactly one of `jwksUrl` or `jwks`.", "properties": partner_properties(false),
            "anyOf": [given("jwksUrl", "string"), given("jwks", "object")],
            "not": both_keys.clone()},
        "PartnerPatch": {"type": "object", "description": "Absent fields are left alone; at most one of `jwksUrl` or `jwks`.", "properties": partner_properties(true), "not": both_keys},
        "Attribute": object(&["name", "type", "required"], json!({
            "name": {"type": "string"}, "type": attribute_type,
            "title": {"type": "string"}, "description": {"type": "string"},
            "required": {"type": "boolean"}
        })),
        "NewAttribute": object(&["name", "type"], json!({
            "name": {"type": "string", "maxLength": 64, "pattern": "^[A-Za-z][A-Za-z0-9_]*$", "not": {"enum": ["id", "type"]}, "description": "Unique in the schema; `id` and `type` are reserved."},
            "type": attribute_type,
            "title": nullable(json!({"type": "string", "maxLength": 200, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"})),
            "description": nullable(json!({"type": "string", "maxLength": 2000, "pattern": "^[^\\u0000]*$"})),
            "required": {"type": "boolean", "default": false}
        })),
        "NewSchema": object(&["title", "type", "attributes"], json!({
            "title": name(),
            "type": {"type": "string", "maxLength": 100, "pattern": "^[A-Z][A-Za-z0-9]*$", "description": "The credential type, PascalCase (e.g. KycCredential)."},
            "version": nullable(json!({"type": "string", "minLength": 1, "maxLength": 32, "pattern": "^[A-Za-z0-9.-]+$", "default": "1.0"})),
            "description": nullable(json!({"type": "string", "maxLength": 2000, "pattern": "^[^\\u0000]*$"})),
            "attributes": {"type": "array", "minItems": 1, "maxItems": 100, "items": r("NewAttribute")}
        })),
        "Schema": object(&["schemaId", "title", "type", "version", "description", "attributes", "discoverable", "enabled", "createdAt", "jsonSchemaUrl", "jsonLdContextUrl"], json!({
            "schemaId": uuid(), "title": {"type": "string"}, "type": {"type": "string"},
            "version": {"type": "string"}, "description": {"type": "string"},
            "attributes": {"type": "array", "items": r("Attribute")},
            "discoverable": {"type": "boolean"}, "enabled": {"type": "boolean"},
            "createdAt": time(),
            "jsonSchemaUrl": {"type": "string", "format": "uri"},
            "jsonLdContextUrl": {"type": "string", "format": "uri"}
        })),
        "VisibilityChange": {"type": "object", "additionalProperties": false, "description": "Either flag, or both; absent or null: left alone. Listed in the catalog when both are true.",
            "anyOf": [given("discoverable", "boolean"), given("enabled", "boolean")],
            "properties": {
            "discoverable": nullable(json!({"type": "boolean"})), "enabled": nullable(json!({"type": "boolean"}))
        }},
        "NewIssuer": object(&["partnerId", "name"], json!({"partnerId": uuid(), "name": name()})),
        "Issuer": object(&["issuerId", "partnerId", "name", "issuerDid", "ethAddress", "createdAt"], json!({
            "issuerId": uuid(), "partnerId": uuid(), "name": {"type": "string"},
            "issuerDid": {"type": "string"}, "ethAddress": {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"},
            "createdAt": time()
        })),
        "Publishing": object(&["issuerDid", "ethAddress", "published", "inFlight", "pending", "transitions"], json!({
            "issuerDid": {"type": "string"}, "ethAddress": {"type": "string"},
            "published": nullable(json!({"allOf": [r("StateRoots"), object(&["txHash", "blockNumber", "blockTimestamp"], json!({"txHash": {"type": "string"}, "blockNumber": {"type": "integer"}, "blockTimestamp": {"type": "integer"}}))]})),
            "inFlight": nullable(transition.clone()),
            "pending": object(&["claims", "revocations"], json!({"claims": count, "revocations": count})),
            "transitions": {"type": "array", "items": transition}
        })),
        "NewProgram": object(&["issuerDid", "schemaId", "name"], json!({
            "issuerDid": {"type": "string", "pattern": "\\S", "description": "An issuer of this claimd."},
            "schemaId": uuid(),
            "name": name(),
            "accessibleFrom": nullable(time()),
            "accessibleUntil": nullable(json!({"type": "string", "format": "date-time", "description": "After accessibleFrom."})),
            "maxIssuance": nullable(json!({"type": "integer", "minimum": 1, "maximum": i64::MAX})),
            "expirationDays": nullable(json!({"type": "integer", "minimum": 1, "maximum": 36500}))
        })),
        "Program": object(&["credentialId", "issuerDid", "schemaId", "name", "accessibleFrom", "accessibleUntil", "maxIssuance", "expirationDays", "discoverable", "enabled", "createdAt"], json!({
            "credentialId": {"type": "string"}, "issuerDid": {"type": "string"}, "schemaId": uuid(),
            "name": {"type": "string"},
            "accessibleFrom": nullable(time()), "accessibleUntil": nullable(time()),
            "maxIssuance": nullable(json!({"type": "integer"})), "expirationDays": nullable(json!({"type": "integer"})),
            "discoverable": {"type": "boolean"}, "enabled": {"type": "boolean"},
            "createdAt": time()
        })),
        "AcceptedCredential": accepted,
        "NewVerificationProgram": new_vp,
        "VerificationProgramPatch": vp_patch,
        "VerificationProgram": {"type": "object", "required": ["programId", "name", "description", "verifierName", "verifierDid", "acceptedCredentials", "pricingModel", "verificationCount", "discoverable", "enabled", "createdAt", "updatedAt"], "properties": {
            "programId": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
            "verifierName": {"type": "string"}, "verifierDid": {"type": "string"},
            "acceptedCredentials": {"type": "array", "items": r("AcceptedCredential")},
            "pricingModel": {"type": "string", "enum": ["per-verification", "free"]},
            "verificationCount": count,
            "discoverable": visibility["discoverable"], "enabled": visibility["enabled"],
            "createdAt": time(), "updatedAt": time()
        }},
        "ConsentRequest": object(&["email", "partnerId", "status"], json!({
            "email": {"type": "string", "format": "email", "maxLength": 1016},
            "partnerId": uuid(),
            "status": {"type": "string", "enum": ["granted", "rejected"]}
        })),
        "Consent": object(&["userUuid", "email", "partnerId", "status", "updatedAt"], json!({
            "userUuid": uuid(), "email": {"type": "string"}, "partnerId": uuid(),
            "status": {"type": "string", "enum": ["granted", "rejected"]}, "updatedAt": time()
        })),
        "User": object(&["userUuid", "email", "holderDid", "createdAt"], json!({
            "userUuid": uuid(), "email": {"type": "string"}, "holderDid": nullable(json!({"type": "string"})), "createdAt": time()
        })),
        "EmailConflict": object(&["userUuid", "stored", "normalised", "otherUserUuid", "reason"], json!({
            "userUuid": uuid(), "stored": {"type": "string"},
            "normalised": nullable(json!({"type": "string"})), "otherUserUuid": nullable(uuid()),
            "reason": {"type": "string"}
        })),
        "ListedCredential": listed,
        "Overview": object(&["credentials", "publishing", "database", "lastHour"], json!({
            "credentials": object(&["issued", "waitOnchain", "onchain", "waitRemove", "remove"], json!({
                "issued": count, "waitOnchain": count, "onchain": count, "waitRemove": count, "remove": count
            })),
            "publishing": object(&["pendingClaims", "pendingRevocations", "transitionsInFlight", "oldestPendingSeconds"], json!({
                "pendingClaims": count, "pendingRevocations": count, "transitionsInFlight": count,
                "oldestPendingSeconds": nullable(count.clone())
            })),
            "database": object(&["backend", "ok"], json!({"backend": {"type": "string", "enum": ["sqlite", "postgres"]}, "ok": {"type": "boolean"}})),
            "lastHour": object(&["since", "issuedPerMinute", "publishLags"], json!({
                "since": {"type": "integer", "description": "Unix seconds."},
                "issuedPerMinute": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}, "description": "[unix minute, credentials created]; empty minutes left out."},
                "publishLags": {"type": "array", "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}, "description": "[unix seconds, seconds from a claim's creation to its confirmation]."}
            }))
        })),
        "CredentialStatusValue": status,
        "CredentialHistory": {
            "type": "object",
            "required": ["coreClaimHash", "vcStatus", "items"],
            "properties": {
                "coreClaimHash": {"type": "string"},
                "vcStatus": {"type": "string", "description": "The status now, as `GET /v1/credentials/status` reads it (`EXPIRE` once a live credential is past its date)."},
                "items": {"type": "array", "description": "Oldest first. `accepted` is the issuance; each later change is the webhook event written in the transaction of that change (for every credential, whether or not its partner has endpoints).", "items": {
                    "type": "object",
                    "required": ["at", "change", "vcStatus"],
                    "properties": {
                        "at": time(),
                        "change": {"type": "string", "enum": ["accepted", "onchain", "revocation_requested", "removed", "expired"]},
                        "vcStatus": {"type": "string", "description": "The status the change left."},
                        "txHash": {"type": "string", "description": "The state transition's transaction (`onchain` and `removed` only)."},
                        "blockNumber": {"type": "string", "description": "Its block (`onchain` and `removed` only)."},
                        "eventId": {"type": "string", "description": "The webhook event id of the change (absent for `accepted`)."}
                    }
                }}
            }
        }
    })
}
