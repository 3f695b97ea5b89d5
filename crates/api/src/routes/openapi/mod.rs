//! `GET /openapi.json`: the OpenAPI 3.0 description of what claimd serves. The
//! issue-on-behalf operation is the seed's (path, fields, enum, default, responses, error
//! schema); a test in `claimd` compares the two.

use super::Served;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

mod bulk;
mod operator;
mod webhooks;

pub fn routes() -> Served {
    served! { "/openapi.json" => get(openapi) }
}

async fn openapi(State(s): State<AppState>) -> Json<Value> {
    Json(document(&s.config.public_url))
}

/// The 422 of `POST /v1/credentials/verify`: every work limit, its default, and where it is
/// checked (the operator sets them under `[verify]` in `claimd.toml`).
const VERIFY_LIMITS: &str = "The body exceeds a work limit; the message names it (`Verification limit <name> exceeded: …`). Checked before merklization, the chain or the database are touched, in this order: `max_depth` (default 16: nesting of arrays and objects, measured on the raw body before parsing); `max_proofs` (default 4: entries of `proof`); `max_values` (default 4096: JSON values in the body); `max_blank_nodes` (default 32: objects without `id`/`@id` plus distinct `_:` labels in the credential outside `proof` and `@context`); then, on the RDF statements the credential expands to, before URDNA2015 canonicalisation: `max_statements` (default 10000), `max_rdf_blank_nodes` (default 512) and `max_normalization_work` (default 1000000: an upper bound of the canonicalisation's steps, which grow factorially with blank nodes that cannot be told apart, e.g. objects without an id that all reference each other).";

/// A required string parameter `name` in the `place` (`path` or `query`).
pub(super) fn param(name: &str, place: &str) -> Value {
    json!({"name": name, "in": place, "required": true, "schema": {"type": "string"}})
}

/// A 200 answer whose JSON body has `schema`.
pub(super) fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// The 401 of every operation that takes a Partner JWT.
pub(super) fn partner_unauthorized() -> Value {
    error_response(
        "Invalid or expired Partner JWT, or JWKS mismatch.",
        "Invalid or expired Partner JWT, or JWKS mismatch.",
        401,
    )
}

pub(super) fn error_response(description: &str, example: &str, status: u16) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "example": {"error": status, "message": example}
        }}
    })
}

pub(super) fn admin_op(summary: &str, body: bool) -> Value {
    let mut op = json!({
        "tags": ["Operator"],
        "summary": summary,
        "security": [{"adminToken": []}],
        "responses": {
            "200": ok("OK", json!({"type": "object"})),
            "400": error_response("Invalid input; the message names the field.", "Invalid field name: is required", 400),
            "401": error_response("Missing or wrong admin token.", "Invalid admin token", 401),
            "404": error_response("Unknown resource.", "Unknown partner", 404)
        }
    });
    if body {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        op["responses"]["201"] = json!({"description": "Created", "content": {"application/json": {"schema": {"type": "object"}}}});
    }
    op
}

/// The fields of a partner's create (`patch: false`) and patch bodies.
pub(super) fn partner_properties(patch: bool) -> Value {
    let clears = if patch {
        " `null` removes the binding."
    } else {
        ""
    };
    // An absent field and `null` are the same to the server, except for a create's required
    // `name` and its `features` list (which may be absent but not null).
    let nullable = |mut v: Value| {
        v["nullable"] = json!(true);
        v
    };
    let nullable_in_patch = |mut v: Value| {
        if patch {
            v["nullable"] = json!(true);
        }
        v
    };
    json!({
        "name": nullable_in_patch(json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": operator::NAME_PATTERN})),
        "jwksUrl": nullable(json!({"type": "string", "maxLength": 2048, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/\\s][^\\s\\u0000-\\u001f\\u007f-\\u009f]*$", "description": "The partner's JWKS URL (https; http only in dev mode). Fetched when a token names a key it does not have."})),
        "jwks": nullable(json!({"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "minItems": 1, "items": {"type": "object"}}}, "description": "An inline JWKS (`{\"keys\": [...]}`); no string or key in it may hold the NUL character (U+0000)."})),
        "features": nullable_in_patch(json!({"type": "array", "items": {"type": "string", "enum": ["issue_on_behalf"]}})),
        "allowedSchemaIds": {"type": "array", "nullable": true, "items": {"type": "string", "format": "uuid"}, "description": "Absent or null: every schema."},
        "audience": {"type": "string", "nullable": true, "minLength": 1, "maxLength": 512, "pattern": "^[^\\s\\u0000-\\u001f\\u007f-\\u009f]+$", "description": format!("When set, the partner's tokens must carry this value in `aud` (a string or an array of strings); tokens without it are refused with 401.{clears}")},
        "issuer": {"type": "string", "nullable": true, "minLength": 1, "maxLength": 512, "pattern": "^[^\\s\\u0000-\\u001f\\u007f-\\u009f]+$", "description": format!("When set, the partner's tokens must carry exactly this `iss`; tokens without it are refused with 401.{clears}")},
        "requireJti": {"type": "boolean", "nullable": true, "default": false, "description": "When true, every token must carry a `jti` not used by an earlier token of the partner that is still unexpired (replay protection, per instance)."},
        "enabled": {"type": "boolean", "nullable": true, "default": true, "description": "When false, every call authenticated as this partner is refused with 401."}
    })
}

pub fn document(public_url: &str) -> Value {
    let mut doc = operations(public_url);
    let (paths, schemas) = super::catalog::openapi();
    extend(&mut doc["paths"], paths);
    extend(&mut doc["components"]["schemas"], schemas);
    bulk::bulk_operations(&mut doc, public_url);
    webhooks::add_webhooks(&mut doc, public_url);
    // The operator API's paths are written relative to `/admin/v1`; they are listed under
    // their full path with the root as server, so that they cannot collide with the public
    // paths relative to `/v1` (`/credentials/{coreClaimHash}` is both).
    let admin_server = format!("{public_url}{}", crate::ADMIN_PREFIX);
    let mut admin = operator::paths();
    let Value::Object(paths) = doc["paths"].take() else {
        unreachable!("paths is an object")
    };
    let mut public = serde_json::Map::new();
    for (path, item) in paths {
        if item["servers"][0]["url"] == admin_server.as_str() {
            admin[&path] = item;
        } else {
            public.insert(path, item);
        }
    }
    let root = json!([{"url": public_url}]);
    for (path, mut item) in admin.as_object().cloned().unwrap_or_default() {
        item["servers"] = root.clone();
        public.insert(format!("{}{path}", crate::ADMIN_PREFIX), item);
    }
    doc["paths"] = Value::Object(public);
    extend(&mut doc["paths"], root_paths(public_url));
    extend(&mut doc["components"]["schemas"], operator::schemas());
    add_admission_responses(&mut doc);
    doc
}

/// Every request passes admission (`crate::limits`) before its handler, so every operation
/// can also answer 429 (a rate limit) and 503 (claimd at a limit of its own, or a database
/// that cannot do the work now), both with `Retry-After`. Operations that describe their own
/// 503 keep it.
fn add_admission_responses(doc: &mut Value) {
    let retry_after = json!({"Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1}
    }});
    let mut too_many = error_response(
        "Rate limit exceeded: requests per client address (`rate_limit_ip_per_sec`, \
         `rate_limit_ip_burst`; default 2000/s, burst 4000), per partner after its token \
         verified (`rate_limit_partner_*`), or verifications per client address \
         (`rate_limit_verify_ip_*`; default 20/s, burst 40).",
        "Rate limit exceeded (per client address); retry after 1 s",
        429,
    );
    too_many["headers"] = retry_after.clone();
    let mut busy = error_response(
        "claimd is at a limit of its own: more requests in progress than \
         `http_max_concurrent_requests` (default 1024), or the request took longer than \
         `http_request_timeout_secs` (default 30). Or the database cannot do the work now: \
         unreachable, restarting, or out of disk space (`Service temporarily unavailable. \
         Retry with exponential backoff.`); retrying with the same `Idempotency-Key` is safe.",
        "Server busy: more than 1024 requests in progress",
        503,
    );
    busy["headers"] = retry_after;
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if !["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let Some(responses) = op["responses"].as_object_mut() else {
                continue;
            };
            responses.entry("429").or_insert_with(|| too_many.clone());
            responses.entry("503").or_insert_with(|| busy.clone());
        }
    }
}

/// Adds the members of the object `add` to the object `into`.
fn extend(into: &mut Value, add: Value) {
    if let (Some(into), Value::Object(add)) = (into.as_object_mut(), add) {
        into.extend(add);
    }
}

/// `/healthz`, `/readyz`, `/metrics` and this document, at the root of the server.
fn root_paths(public_url: &str) -> Value {
    let root = json!([{"url": public_url}]);
    let public = |summary: &str, answer: Value| json!({"servers": root, "get": {"tags": ["Operations"], "summary": summary, "security": [], "responses": {"200": answer}}});
    let mut ready = public(
        "Readiness: the database answers",
        ok(
            "Ready.",
            json!({"type": "object", "required": ["status", "database"], "properties": {
                "status": {"type": "string", "enum": ["ready"]},
                "database": {"type": "string", "enum": ["sqlite", "postgres"]}
            }}),
        ),
    );
    ready["get"]["responses"]["503"] = error_response(
        "The database does not answer.",
        "Service unavailable: database unreachable",
        503,
    );
    json!({
        "/healthz": public("Liveness: the process serves HTTP", ok("Alive.", json!({"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok"]}}}))),
        "/readyz": ready,
        "/metrics": public("Prometheus metrics (text exposition format); served on `ops_listen` instead when that is set", json!({"description": "Metrics.", "content": {"text/plain": {"schema": {"type": "string"}}}})),
        "/openapi.json": public("This document", ok("The OpenAPI 3.0 document.", json!({"type": "object"})))
    })
}

fn operations(public_url: &str) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "claimd (Moca Network API)",
            "description": "Server-to-server API for credential issuance and status tracking, compatible with the Moca Network API, plus claimd's operator API.",
            "version": env!("CARGO_PKG_VERSION")
        },
        "servers": [{"url": format!("{public_url}/v1"), "description": "This claimd"}],
        "security": [{"partnerJwt": []}],
        "paths": {
            "/credentials/issue-on-behalf": {"post": {
                "tags": ["Credentials"],
                "summary": "Issue credential on behalf",
                "description": "Initiates credential issuance for a user without requiring their active session. If the user does not exist, they are automatically created. Issuance is asynchronous — use the status endpoint to confirm the credential is on-chain.",
                "operationId": "issueCredentialOnBehalf",
                "parameters": [{
                    "name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "claimd extension: the same key with the same body within 24 h replays the first answer; with another body it is a 409.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}
                }],
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/IssueOnBehalfRequest"}
                }}},
                "responses": {
                    "200": {
                        "description": "Credential issuance submitted. Use the `coreClaimHash` to poll for on-chain status.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IssueOnBehalfResponse"}}}
                    },
                    "400": error_response("Missing or invalid request fields.", "Missing required field: issuerDid", 400),
                    "401": partner_unauthorized(),
                    "403": error_response("Feature not enabled or schema not allowed for this partner.", "Feature not enabled or schema not allowed for this partner.", 403),
                    "404": error_response("Unknown issuer DID or issuance program.", "Unknown issuer DID or issuance program.", 404),
                    "409": error_response("Consent rejected by user or duplicate conflict.", "Consent rejected by user or duplicate conflict.", 409),
                    "500": error_response("Server-side failure. Retry with exponential backoff.", "Server-side failure. Retry with exponential backoff.", 500)
                }
            }},
            "/credentials/status": {"get": {
                "tags": ["Credentials"],
                "summary": "Check issuance status",
                "operationId": "getCredentialStatus",
                "parameters": [{"name": "coreClaimHash", "in": "query", "required": true, "description": "The issuance's `coreClaimHash` (case and surrounding spaces ignored).", "schema": {"type": "string", "pattern": "\\S"}}],
                "responses": {
                    "200": ok("Issuance status.", json!({"$ref": "#/components/schemas/CredentialStatus"})),
                    "400": error_response("Missing coreClaimHash.", "Missing required field: coreClaimHash", 400),
                    "401": partner_unauthorized(),
                    "404": error_response("No credential with this hash for this partner.", "No credential found for the given hash.", 404)
                }
            }},
            "/credentials/verify": {"post": {
                "tags": ["Credentials"],
                "summary": "Verify a credential",
                "description": "Checks a W3C verifiable credential with iden3 proofs: the core claim rebuilt from the document, the BJJSignature2021 proof, the issuer's state on chain, the Iden3SparseMerkleTreeProof (skipped until the credential is published), revocation, expiration and, for issuers this claimd hosts, that the credential is the one issued (iden3 proofs do not cover the credential's own `id`). A credential that does not hold is still a 200, with `valid: false` and the failing checks.",
                "operationId": "verifyCredential",
                "security": [],
                "parameters": [{"name": claimd_core::compliance::PROGRAM_ID_PARAM, "in": "query", "required": false,
                    "description": "A listed verification program of the catalog (`GET /v1/catalog/programs`). The report then also has `program`: whether the credential complies with it — valid, issued under one of the issuance programs the program accepts (by its issuer's record), not revoked, and satisfying every condition of that accepted credential. A compliant verification is counted in the catalog's `verificationCount` of the verification program and of the issuance program; nothing else is counted.",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}, "example": "prg_4kT9aQ2mX8pL0vB7nR3sW"}],
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/CredentialToVerify"}
                }}},
                "responses": {
                    "200": ok("The verification report.", json!({"$ref": "#/components/schemas/VerificationReport"})),
                    "400": error_response("`programId` is not a verification program id (`Invalid parameter programId: …`, checked first), or the body is not JSON, or not a verifiable credential (no `@context`, `type`, `credentialSubject` object, `issuer` string or `proof`). Checked before any other work.", "Not a verifiable credential: missing proof", 400),
                    "404": error_response("`programId` names no verification program, or one that is not listed (not discoverable, or disabled): as the catalog answers for it. Checked before the credential is read.", "Program not found", 404),
                    "413": error_response("The body is larger than the server accepts (`max_body_bytes`, default 64 KiB).", "Request body is too large", 413),
                    "422": error_response(VERIFY_LIMITS, "Verification limit max_normalization_work exceeded: 8 blank nodes cannot be told apart by their own statements (e.g. objects without an id that reference each other); canonicalising them could take more than 10^19 steps, at most 1000000 are accepted", 422),
                    "503": {
                        "description": "Nothing was concluded: the chain or the database cannot be reached, every verification slot stayed busy for the queue wait (`[verify] concurrency`, default half the cores, at least one; `queue_wait_ms`, default 500), or the verification ran past its deadline (`deadline_ms`, default 10 000). Busy and deadline answers carry `Retry-After` (seconds).",
                        "headers": {"Retry-After": {"description": "Seconds to wait before retrying (busy and deadline answers).", "schema": {"type": "integer"}}},
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"},
                            "example": {"error": 503, "message": "Verification is busy: every slot is taken. Retry after 1 s."}
                        }}
                    }
                }
            }},
            "/schemas/{file}": {"get": {
                "tags": ["Schemas"],
                "summary": "A schema's JSON Schema (`{id}.json`) or JSON-LD context (`{id}.jsonld`)",
                "security": [],
                "parameters": [{"name": "file", "in": "path", "required": true, "description": "`<schemaId>.json` or `<schemaId>.jsonld`.", "schema": {"type": "string", "pattern": "^[0-9A-Fa-f-]{36}\\.(json|jsonld)$"}}],
                "responses": {
                    "200": {"description": "The document; cacheable for a day (schemas never change).", "content": {
                        "application/schema+json": {"schema": {"type": "object"}},
                        "application/ld+json": {"schema": {"type": "object"}}
                    }},
                    "404": error_response("Unknown schema.", "No schema found for the given id.", 404)
                }
            }},
            "/credentials/{coreClaimHash}": {"get": {
                "tags": ["Credentials"],
                "summary": "The W3C credential with its proofs (BJJSignature2021; Iden3SparseMerkleTreeProof once ONCHAIN)",
                "operationId": "getCredential",
                "parameters": [{"name": "coreClaimHash", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9A-Fa-f]{64}$"}}],
                "responses": {
                    "200": ok("The credential.", json!({"type": "object"})),
                    "401": partner_unauthorized(),
                    "404": error_response("No credential with this hash for this partner and user.", "No credential found for the given hash.", 404)
                }
            }},
            "/{issuerDid}/claims/revocation/status/{nonce}": {"get": {
                "tags": ["Verification"],
                "summary": "Revocation status of a nonce (SparseMerkleTreeProof): the issuer's latest confirmed state and the nonce's proof in its revocation tree; mtp.existence means revoked",
                "security": [],
                "parameters": [
                    param("issuerDid", "path"),
                    {"name": "nonce", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0, "maximum": 18446744073709551615_u64}}
                ],
                "responses": {
                    "200": ok("Revocation status.", json!({"$ref": "#/components/schemas/RevocationStatus"})),
                    "400": error_response("The nonce is not a non-negative integer.", "Invalid revocation nonce: must be a non-negative integer", 400),
                    "404": error_response("Unknown issuer.", "No issuer found for the given DID.", 404)
                }
            }},
            "/issuers/{issuerDid}/state": {"get": {
                "tags": ["Verification"],
                "summary": "The issuer's latest confirmed state: roots, transaction and block",
                "security": [],
                "parameters": [param("issuerDid", "path")],
                "responses": {
                    "200": ok("Latest confirmed state.", json!({"$ref": "#/components/schemas/IssuerState"})),
                    "404": error_response("Unknown issuer, or no confirmed state yet.", "No issuer found for the given DID.", 404)
                }
            }}
        },
        "components": {
            "schemas": {
                "IssueOnBehalfRequest": {
                    "type": "object",
                    "required": ["issuerDid", "credentialId", "credentialSubject"],
                    "properties": {
                        "issuerDid": {"type": "string", "description": "Your Issuer DID from the Developer Dashboard.", "minLength": 1, "pattern": "\\S"},
                        "credentialId": {"type": "string", "description": "The Issuance Program ID.", "minLength": 1, "pattern": "\\S"},
                        "credentialSubject": {
                            "type": "object",
                            "description": "Credential data matching your schema definition. Add your own key-value pairs.",
                            "additionalProperties": {"oneOf": [
                                {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "object"}
                            ]}
                        },
                        "onDuplicate": {
                            "type": "string",
                            "enum": ["ignore", "revoke"],
                            "default": "revoke",
                            "description": "`ignore` returns the existing credential. `revoke` revokes the old credential and issues a new one."
                        }
                    }
                },
                "IssueOnBehalfResponse": {
                    "type": "object",
                    "properties": {
                        "coreClaimHash": {"type": "string", "description": "Unique issuance identifier. Use this to poll the status endpoint."},
                        "credentialId": {"type": "string", "description": "The Issuance Program ID (echoed from request)."},
                        "userUuid": {"type": "string", "format": "uuid", "description": "UUID of the user who received the credential."}
                    }
                },
                "CredentialStatus": {
                    "type": "object",
                    "properties": {
                        "coreClaimHash": {"type": "string"},
                        "issuanceDate": {"type": "string", "description": "YYYY-MM-DD HH:mm:ss (UTC)"},
                        "expirationDate": {"type": "string"},
                        "issuerDid": {"type": "string"},
                        "issuerId": {"type": "string"},
                        "schemeId": {"type": "string"},
                        "vcId": {"type": "string"},
                        "vcDstorageId": {"type": "string"},
                        "vcStatus": {"type": "string", "enum": ["WAIT_ONCHAIN", "ONCHAIN", "WAIT_REMOVE", "REMOVE", "EXPIRE"]},
                        "txHash": {"type": "string"},
                        "blockNumber": {"type": "string"},
                        "identityState": {"type": "string"}
                    }
                },
                "StateRoots": {
                    "type": "object",
                    "description": "Field elements as 64 hex digits, little-endian (iden3's Hash.hex()).",
                    "properties": {
                        "state": {"type": "string"},
                        "claimsTreeRoot": {"type": "string"},
                        "revocationTreeRoot": {"type": "string"},
                        "rootOfRoots": {"type": "string"}
                    }
                },
                "RevocationStatus": {
                    "type": "object",
                    "properties": {
                        "issuer": {"$ref": "#/components/schemas/StateRoots"},
                        "mtp": {
                            "type": "object",
                            "properties": {
                                "existence": {"type": "boolean"},
                                "siblings": {"type": "array", "items": {"type": "string"}},
                                "node_aux": {"type": "object", "properties": {"key": {"type": "string"}, "value": {"type": "string"}}}
                            }
                        }
                    }
                },
                "IssuerState": {
                    "allOf": [{"$ref": "#/components/schemas/StateRoots"}, {
                        "type": "object",
                        "properties": {
                            "issuerDid": {"type": "string"},
                            "txHash": {"type": "string"},
                            "blockNumber": {"type": "integer"},
                            "blockTimestamp": {"type": "integer"}
                        }
                    }]
                },
                "CredentialToVerify": {
                    "type": "object",
                    "description": "The credential, as `GET /v1/credentials/{coreClaimHash}` returns it (with its `proof`). Only these members are checked before verification; whatever else does not hold makes a 200 with `valid: false`.",
                    "required": ["@context", "type", "credentialSubject", "issuer", "proof"],
                    "properties": {
                        "@context": {"anyOf": [{"type": "string"}, {"type": "array"}, {"type": "object"}, {"type": "number"}, {"type": "boolean"}], "description": "Any value but `null`."},
                        "type": {"anyOf": [{"type": "string"}, {"type": "array"}, {"type": "object"}, {"type": "number"}, {"type": "boolean"}], "description": "Any value but `null`."},
                        "credentialSubject": {"type": "object"},
                        "issuer": {"type": "string", "description": "The issuer's DID."},
                        "proof": {"oneOf": [
                            {"type": "object"},
                            {"type": "array", "minItems": 1, "maxItems": 4, "items": {"type": "object"}, "description": "At most `max_proofs` (default 4) proofs."}
                        ]}
                    }
                },
                "VerificationReport": {
                    "type": "object",
                    "required": ["valid", "checks"],
                    "properties": {
                        "valid": {"type": "boolean", "description": "No check failed, and the signature or the Merkle tree proof passed."},
                        "checks": {"type": "array", "items": {"$ref": "#/components/schemas/VerificationCheck"}},
                        "program": {"$ref": "#/components/schemas/VerificationProgramResult"}
                    }
                },
                "VerificationProgramResult": {
                    "type": "object",
                    "description": "Only with `programId`: the credential judged against that verification program.",
                    "required": ["programId", "status", "credentialId", "conditions", "detail"],
                    "properties": {
                        "programId": {"type": "string"},
                        "status": {"type": "string", "enum": ["Compliant", "Non-Compliant"], "description": "Compliant: valid, issued under an accepted issuance program, not revoked by its issuer, every condition satisfied. Only a compliant verification is counted in the catalog."},
                        "credentialId": {"type": "string", "nullable": true, "description": "The accepted issuance program the credential was issued under; null when it was issued under none of them (or not by this service)."},
                        "conditions": {"type": "array", "description": "That accepted credential's conditions, in order (empty when credentialId is null). An attribute the credential does not show satisfies no condition.", "items": {"type": "object", "required": ["condition", "satisfied"], "properties": {
                            "condition": {"type": "string", "example": "age >= 18"},
                            "satisfied": {"type": "boolean"}}}},
                        "detail": {"type": "string", "description": "Why, in words."}
                    }
                },
                "VerificationCheck": {
                    "type": "object",
                    "required": ["name", "status", "detail"],
                    "properties": {
                        "name": {"type": "string", "enum": claimd_core::verify::CHECK_NAMES},
                        "status": {"type": "string", "enum": ["pass", "fail", "skipped"]},
                        "detail": {"type": "string", "description": "What was found: why it failed, or what it was checked against."}
                    }
                },
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {"type": "integer", "description": "HTTP status code."},
                        "message": {"type": "string", "description": "Human-readable error description."}
                    }
                }
            },
            "securitySchemes": {
                "partnerJwt": {
                    "type": "apiKey", "in": "header", "name": "x-partner-auth",
                    "description": "A signed Partner JWT (ES256 or RS256) containing `partnerId` (the partner's UUID, lower-case and hyphenated: other spellings are refused), `email`, `scope`, and `exp` claims; `exp - iat` (or `exp - now` without `iat`) at most the configured maximum lifetime (default 5 minutes). Partners the operator bound to an audience or issuer must send the matching `aud`/`iss`; partners with `requireJti` a fresh `jti`. Refusals that depend on what is registered (unknown partner or kid, bad signature, disabled partner, binding or replay) all read `invalid partner token`."
                },
                "adminToken": {"type": "http", "scheme": "bearer"}
            }
        }
    })
}
