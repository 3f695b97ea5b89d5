//! `GET /openapi.json`: the OpenAPI 3.0 description of what claimd serves. The
//! issue-on-behalf operation is the seed's (path, fields, enum, default, responses, error
//! schema); a test in `claimd` compares the two.

use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi))
}

async fn openapi(State(s): State<AppState>) -> Json<Value> {
    Json(document(&s.config.public_url))
}

/// The 422 of `POST /v1/credentials/verify`: every work limit, its default, and where it is
/// checked (the operator sets them under `[verify]` in `claimd.toml`).
const VERIFY_LIMITS: &str = "The body exceeds a work limit; the message names it (`Verification limit <name> exceeded: …`). Checked before merklization, the chain or the database are touched, in this order: `max_depth` (default 16: nesting of arrays and objects, measured on the raw body before parsing); `max_proofs` (default 4: entries of `proof`); `max_values` (default 4096: JSON values in the body); `max_blank_nodes` (default 32: objects without `id`/`@id` plus distinct `_:` labels in the credential outside `proof` and `@context`); then, on the RDF statements the credential expands to, before URDNA2015 canonicalisation: `max_statements` (default 10000), `max_rdf_blank_nodes` (default 512) and `max_normalization_work` (default 1000000: an upper bound of the canonicalisation's steps, which grow factorially with blank nodes that cannot be told apart, e.g. objects without an id that all reference each other).";

/// A required string parameter `name` in the `place` (`path` or `query`).
fn param(name: &str, place: &str) -> Value {
    json!({"name": name, "in": place, "required": true, "schema": {"type": "string"}})
}

/// A 200 answer whose JSON body has `schema`.
fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// The 401 of every operation that takes a Partner JWT.
fn partner_unauthorized() -> Value {
    error_response(
        "Invalid or expired Partner JWT, or JWKS mismatch.",
        "Invalid or expired Partner JWT, or JWKS mismatch.",
        401,
    )
}

fn error_response(description: &str, example: &str, status: u16) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "example": {"error": status, "message": example}
        }}
    })
}

fn admin_op(summary: &str, body: bool) -> Value {
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

/// `GET /admin/v1/credentials`: newest first, filtered by program and/or user address.
fn credential_list_op() -> Value {
    let mut op = admin_op(
        "List credentials newest first, of one issuance program and/or one user (by address); paged",
        false,
    );
    let optional = |name: &str, ty: &str| json!({"name": name, "in": "query", "required": false, "schema": {"type": ty}});
    op["parameters"] = json!([
        optional("programId", "string"),
        optional("email", "string"),
        optional("page", "integer"),
        optional("limit", "integer")
    ]);
    op
}

/// An operator operation on one partner whose body is the `schema` component.
fn partner_op(summary: &str, schema: &str) -> Value {
    let mut op = admin_op(summary, true);
    op["requestBody"]["content"]["application/json"]["schema"] =
        json!({"$ref": format!("#/components/schemas/{schema}")});
    op
}

/// The fields of a partner's create (`patch: false`) and patch bodies.
fn partner_properties(patch: bool) -> Value {
    let clears = if patch {
        " `null` removes the binding."
    } else {
        ""
    };
    json!({
        "name": {"type": "string", "maxLength": 200},
        "jwksUrl": {"type": "string", "description": "The partner's JWKS URL (https)."},
        "jwks": {"type": "object", "description": "An inline JWKS (`{\"keys\": [...]}`)."},
        "features": {"type": "array", "items": {"type": "string", "enum": ["issue_on_behalf"]}},
        "allowedSchemaIds": {"type": "array", "nullable": true, "items": {"type": "string", "format": "uuid"}, "description": "Absent or null: every schema."},
        "audience": {"type": "string", "nullable": patch, "maxLength": 512, "description": format!("When set, the partner's tokens must carry this value in `aud` (a string or an array of strings); tokens without it are refused with 401.{clears}")},
        "issuer": {"type": "string", "nullable": patch, "maxLength": 512, "description": format!("When set, the partner's tokens must carry exactly this `iss`; tokens without it are refused with 401.{clears}")},
        "requireJti": {"type": "boolean", "default": false, "description": "When true, every token must carry a `jti` not used by an earlier token of the partner that is still unexpired (replay protection, per instance)."},
        "enabled": {"type": "boolean", "default": true, "description": "When false, every call authenticated as this partner is refused with 401."}
    })
}

pub fn document(public_url: &str) -> Value {
    let mut doc = operations(public_url);
    let (paths, schemas) = super::catalog::openapi();
    for (part, key) in [(paths, "paths"), (schemas, "schemas")] {
        let into = if key == "paths" {
            &mut doc["paths"]
        } else {
            &mut doc["components"]["schemas"]
        };
        into.as_object_mut()
            .unwrap()
            .extend(part.as_object().unwrap().clone());
    }
    bulk_operations(&mut doc, public_url);
    credential_history(&mut doc, public_url);
    add_webhooks(&mut doc, public_url);
    add_admission_responses(&mut doc);
    doc
}

/// `GET /admin/v1/credentials/{coreClaimHash}/history` (`routes::admin::credentials`).
fn credential_history(doc: &mut Value, public_url: &str) {
    let mut op = admin_op(
        "A credential's status history: accepted, then every change (on chain with its transaction and block, revocation requested, removed, expired), oldest first, whoever issued it",
        false,
    );
    op["parameters"] = json!([param("coreClaimHash", "path")]);
    op["responses"]
        .as_object_mut()
        .expect("responses")
        .remove("400");
    op["responses"]["200"] = ok(
        "The status now and the changes.",
        json!({"$ref": "#/components/schemas/CredentialHistory"}),
    );
    op["responses"]["404"] = error_response(
        "No credential has this hash (or it is not 64 hex digits).",
        "No credential found for the given hash.",
        404,
    );
    doc["paths"]["/credentials/{coreClaimHash}/history"] = json!({
        "servers": [{"url": format!("{public_url}/admin/v1")}],
        "get": op
    });
    doc["components"]["schemas"]["CredentialHistory"] = json!({
        "type": "object",
        "required": ["coreClaimHash", "vcStatus", "items"],
        "properties": {
            "coreClaimHash": {"type": "string"},
            "vcStatus": {"type": "string", "description": "The status now, as `GET /v1/credentials/status` reads it (`EXPIRE` once a live credential is past its date)."},
            "items": {"type": "array", "description": "Oldest first. `accepted` is the issuance; each later change is the webhook event written in the transaction of that change (for every credential, whether or not its partner has endpoints).", "items": {
                "type": "object",
                "required": ["at", "change", "vcStatus"],
                "properties": {
                    "at": {"type": "string", "format": "date-time"},
                    "change": {"type": "string", "enum": ["accepted", "onchain", "revocation_requested", "removed", "expired"]},
                    "vcStatus": {"type": "string", "description": "The status the change left."},
                    "txHash": {"type": "string", "description": "The state transition's transaction (`onchain` and `removed` only)."},
                    "blockNumber": {"type": "string", "description": "Its block (`onchain` and `removed` only)."},
                    "eventId": {"type": "string", "description": "The webhook event id of the change (absent for `accepted`)."}
                }
            }}
        }
    });
}

/// The operator's webhook endpoints and deliveries, and `GET /v1/events`.
fn add_webhooks(doc: &mut Value, public_url: &str) {
    let admin_url = format!("{public_url}/admin/v1");
    let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let list = |name: &str| json!({"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": schema(name)}}});
    // An operator operation answering `code` with `answer` (no body for 204), taking `body`.
    let op = |summary: &str, code: &str, answer: Option<Value>, body: Option<&str>| {
        let mut op = admin_op(summary, false);
        let responses = op["responses"].as_object_mut().expect("responses object");
        responses.remove("200");
        responses.insert(
            code.into(),
            match answer {
                Some(a) => ok("OK", a),
                None => json!({"description": "Done; no body."}),
            },
        );
        if let Some(b) = body {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": schema(b)}}});
        }
        op
    };
    let id = |name: &str| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
    let one = json!([id("partnerId"), id("endpointId")]);
    let paths = json!({
        "/partners/{partnerId}/webhooks": {"servers": [{"url": admin_url}], "parameters": [id("partnerId")],
            "get": op("A partner's webhook endpoints", "200", Some(list("WebhookEndpoint")), None),
            "post": op("Create a webhook endpoint; the answer holds its signing secret (`whsec_…`), shown this once", "201", Some(schema("WebhookEndpointWithSecret")), Some("NewWebhookEndpoint"))},
        "/partners/{partnerId}/webhooks/{endpointId}": {"servers": [{"url": admin_url}], "parameters": one,
            "get": op("A webhook endpoint", "200", Some(schema("WebhookEndpoint")), None),
            "patch": op("Change an endpoint's URL, event types or enabled flag (absent fields are left alone; a disabled endpoint is paused and gets no new events)", "200", Some(schema("WebhookEndpoint")), Some("WebhookEndpointPatch")),
            "delete": op("Delete an endpoint and its deliveries", "204", None, None)},
        "/partners/{partnerId}/webhooks/{endpointId}/rotate": {"servers": [{"url": admin_url}], "parameters": one,
            "post": op("A new signing secret, shown this once; the old one keeps signing next to it for `overlapSeconds` (default 86400, at most 604800)", "200", Some(schema("WebhookEndpointWithSecret")), Some("RotateWebhookSecret"))},
        "/partners/{partnerId}/webhooks/{endpointId}/deliveries": {"servers": [{"url": admin_url}],
            "parameters": [id("partnerId"), id("endpointId"),
                {"name": "state", "in": "query", "required": false, "schema": {"type": "string", "enum": ["PENDING", "DELIVERED", "DEAD"]}},
                {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}],
            "get": op("The endpoint's latest deliveries, newest first, with every attempt and the receiver's answers", "200", Some(list("WebhookDelivery")), None)},
        "/partners/{partnerId}/webhooks/{endpointId}/replay": {"servers": [{"url": admin_url}], "parameters": one,
            "post": op("Deliver one event (`eventId`) or every event of the partner since a time (`since`, at most 10000) again, with the same event ids", "202", Some(json!({"type": "object", "required": ["queued"], "properties": {"queued": {"type": "integer"}}})), Some("ReplayRequest"))},
        "/events": {"get": {
            "tags": ["Credentials"],
            "summary": "The partner's credential events, oldest first, after a cursor (the events webhooks deliver, with the same ids and bodies)",
            "operationId": "listEvents",
            "parameters": [
                {"name": "after", "in": "query", "required": false, "description": "An event id (`nextAfter` of the previous page); absent: from the first event.", "schema": {"type": "string", "pattern": "^evt_[0-9a-f]{32}$"}},
                {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}}
            ],
            "responses": {
                "200": ok("A page of events.", schema("EventsPage")),
                "400": error_response("`limit` out of range, or `after` is not an event id of this partner.", "after: no event of this partner has that id", 400),
                "401": partner_unauthorized()
            }
        }}
    });
    let types = json!({"type": "string", "enum": ["credential.onchain", "credential.removed", "credential.expired", "credential.revocation_requested"]});
    let endpoint = json!({
        "type": "object",
        "required": ["endpointId", "partnerId", "url", "eventTypes", "enabled", "createdAt", "updatedAt"],
        "properties": {
            "endpointId": {"type": "string", "format": "uuid"},
            "partnerId": {"type": "string", "format": "uuid"},
            "url": {"type": "string"},
            "eventTypes": {"type": "array", "items": types},
            "enabled": {"type": "boolean"},
            "previousSecretExpiresAt": {"type": "string", "format": "date-time", "nullable": true, "description": "Until when the secret replaced by the last rotation still signs."},
            "createdAt": {"type": "string", "format": "date-time"},
            "updatedAt": {"type": "string", "format": "date-time"}
        }
    });
    let mut with_secret = endpoint.clone();
    with_secret["required"]
        .as_array_mut()
        .expect("array")
        .push(json!("secret"));
    with_secret["properties"]["secret"] = json!({"type": "string", "description": "`whsec_` and the base64 of the 32-byte HMAC key (Standard Webhooks); verify deliveries with it."});
    let schemas = json!({
        "WebhookEndpoint": endpoint,
        "WebhookEndpointWithSecret": with_secret,
        "NewWebhookEndpoint": {"type": "object", "required": ["url"], "properties": {
            "url": {"type": "string", "maxLength": 2048, "description": "https (plain http only to loopback, in dev mode); checked against the outbound address policy at every delivery."},
            "eventTypes": {"type": "array", "minItems": 1, "items": types, "description": "Absent: every event type."},
            "enabled": {"type": "boolean", "default": true}
        }},
        "WebhookEndpointPatch": {"type": "object", "properties": {
            "url": {"type": "string", "maxLength": 2048},
            "eventTypes": {"type": "array", "minItems": 1, "items": types},
            "enabled": {"type": "boolean"}
        }},
        "RotateWebhookSecret": {"type": "object", "properties": {
            "overlapSeconds": {"type": "integer", "minimum": 0, "maximum": 604800, "default": 86400}
        }},
        "ReplayRequest": {"type": "object", "description": "Exactly one of the two.", "properties": {
            "eventId": {"type": "string"},
            "since": {"type": "string", "format": "date-time"}
        }},
        "WebhookAttempt": {"type": "object", "required": ["at", "durationMs"], "properties": {
            "at": {"type": "string", "format": "date-time"},
            "statusCode": {"type": "integer", "nullable": true},
            "error": {"type": "string", "nullable": true, "description": "Why there was no answer: timeout, connection, or an address the policy refuses."},
            "response": {"type": "string", "nullable": true, "description": "The first 1024 bytes of the answer."},
            "durationMs": {"type": "integer"}
        }},
        "WebhookDelivery": {"type": "object", "required": ["deliveryId", "endpointId", "eventId", "eventType", "coreClaimHash", "state", "createdAt", "attempts"], "properties": {
            "deliveryId": {"type": "integer"},
            "endpointId": {"type": "string", "format": "uuid"},
            "eventId": {"type": "string"},
            "eventType": types,
            "coreClaimHash": {"type": "string"},
            "state": {"type": "string", "enum": ["PENDING", "DELIVERED", "DEAD"]},
            "nextAttemptAt": {"type": "string", "format": "date-time", "nullable": true},
            "createdAt": {"type": "string", "format": "date-time"},
            "attempts": {"type": "array", "items": schema("WebhookAttempt")}
        }},
        "WebhookEvent": {"type": "object", "required": ["eventId", "type", "timestamp", "data"], "description": "Also the body of a webhook delivery (its id in `webhook-id`).", "properties": {
            "eventId": {"type": "string"},
            "type": types,
            "timestamp": {"type": "string", "format": "date-time"},
            "data": {"type": "object", "required": ["coreClaimHash", "credentialId", "issuerDid", "userUuid", "vcStatus"], "properties": {
                "coreClaimHash": {"type": "string"},
                "credentialId": {"type": "string"},
                "issuerDid": {"type": "string"},
                "userUuid": {"type": "string", "format": "uuid"},
                "vcStatus": {"type": "string", "enum": ["ONCHAIN", "WAIT_REMOVE", "REMOVE"]},
                "txHash": {"type": "string", "nullable": true},
                "blockNumber": {"type": "string", "nullable": true}
            }}
        }},
        "EventsPage": {"type": "object", "required": ["events"], "properties": {
            "events": {"type": "array", "items": schema("WebhookEvent")},
            "nextAfter": {"type": "string", "nullable": true, "description": "Pass as `after` next time."}
        }}
    });
    if let (Some(p), Some(add)) = (doc["paths"].as_object_mut(), paths.as_object()) {
        p.extend(add.clone());
    }
    if let (Some(c), Some(add)) = (
        doc["components"]["schemas"].as_object_mut(),
        schemas.as_object(),
    ) {
        c.extend(add.clone());
    }
}

/// Every request passes admission (`crate::limits`) before its handler, so every operation
/// can also answer 429 (a rate limit) and 503 (claimd at a limit of its own), both with
/// `Retry-After`. Operations that describe their own 503 keep it.
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
         `http_request_timeout_secs` (default 30).",
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

fn operations(public_url: &str) -> Value {
    // The operator API lives under /admin/v1: its paths carry their own server.
    let admin_url = format!("{public_url}/admin/v1");
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
                    "schema": {"type": "string", "maxLength": 255}
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
                "parameters": [param("coreClaimHash", "query")],
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
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"type": "object", "description": "The credential, as `GET /v1/credentials/{coreClaimHash}` returns it (with its `proof`)."}
                }}},
                "responses": {
                    "200": ok("The verification report.", json!({"$ref": "#/components/schemas/VerificationReport"})),
                    "400": error_response("The body is not JSON, or not a verifiable credential (no `@context`, `type`, `credentialSubject` object, `issuer` string or `proof`). Checked before any other work.", "Not a verifiable credential: missing proof", 400),
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
                "parameters": [param("file", "path")],
                "responses": {
                    "200": ok("The document.", json!({"type": "object"})),
                    "404": error_response("Unknown schema.", "No schema found for the given id.", 404)
                }
            }},
            "/credentials/{coreClaimHash}": {"get": {
                "tags": ["Credentials"],
                "summary": "The W3C credential with its proofs (BJJSignature2021; Iden3SparseMerkleTreeProof once ONCHAIN)",
                "operationId": "getCredential",
                "parameters": [param("coreClaimHash", "path")],
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
                    {"name": "nonce", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}
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
            }},
            "/overview": {"servers": [{"url": admin_url}], "get": admin_op("Credentials by status, publishing backlog, database health, and over the last hour credentials created per minute and publish lags", false)},
            "/credentials": {"servers": [{"url": admin_url}], "get": credential_list_op()},
            "/credentials/{coreClaimHash}/document": {"servers": [{"url": admin_url}], "get": admin_op("The credential with every proof it has now, whoever issued it", false)},
            "/credentials/{coreClaimHash}/revoke": {"servers": [{"url": admin_url}], "post": admin_op("Revoke a credential (status WAIT_REMOVE until the revocation is on chain)", false)},
            "/issuers/{issuerDid}/publishing": {"servers": [{"url": admin_url}], "get": admin_op("An issuer's publishing: latest state, transition in flight, pending work, recent transitions", false)},
            "/partners": {"servers": [{"url": admin_url}], "get": admin_op("List partners", false), "post": partner_op("Register a partner", "NewPartner")},
            "/partners/{partnerId}": {"servers": [{"url": admin_url}],
                "parameters": [{"name": "partnerId", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                "get": admin_op("A partner", false),
                "patch": partner_op("Change a partner (absent fields are left alone; new keys and token rules apply at once)", "PartnerPatch")},
            "/schemas": {"servers": [{"url": admin_url}], "get": admin_op("List schemas", false), "post": admin_op("Register a schema", true)},
            "/issuers": {"servers": [{"url": admin_url}], "get": admin_op("List issuers", false), "post": admin_op("Create an issuer", true)},
            "/programs": {"servers": [{"url": admin_url}], "get": admin_op("List issuance programs", false), "post": admin_op("Create an issuance program", true)},
            "/schemas/{schemaId}": {"servers": [{"url": admin_url}], "get": admin_op("A schema", false), "patch": admin_op("Change a schema's catalog flags (`discoverable`, `enabled`)", true)},
            "/programs/{credentialId}": {"servers": [{"url": admin_url}], "get": admin_op("An issuance program", false), "patch": admin_op("Change an issuance program's catalog flags (`discoverable`, `enabled`)", true)},
            "/verification-programs": {"servers": [{"url": admin_url}], "get": admin_op("List verification programs", false), "post": admin_op("Create a verification program: verifier, accepted issuance programs with conditions (`age >= 18`, `location in [\"US\",\"CA\"]`) checked against their schemas, pricing model", true)},
            "/verification-programs/{programId}": {"servers": [{"url": admin_url}], "get": admin_op("A verification program", false), "patch": admin_op("Change a verification program (absent fields are left alone; `acceptedCredentials` replaces the list; `\"enabled\": false` disables it)", true)},
            "/users/consent": {"servers": [{"url": admin_url}], "get": admin_op("List consent records", false), "put": admin_op("Record a user's consent", true)},
            "/users/email-conflicts": {"servers": [{"url": admin_url}], "get": admin_op("Stored addresses kept as they were by the email re-normalisation because their normal form belongs to another user, or they are no longer valid; an operator resolves them", false)}
        },
        "components": {
            "schemas": {
                "IssueOnBehalfRequest": {
                    "type": "object",
                    "required": ["issuerDid", "credentialId", "credentialSubject"],
                    "properties": {
                        "issuerDid": {"type": "string", "description": "Your Issuer DID from the Developer Dashboard."},
                        "credentialId": {"type": "string", "description": "The Issuance Program ID."},
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
                "VerificationReport": {
                    "type": "object",
                    "required": ["valid", "checks"],
                    "properties": {
                        "valid": {"type": "boolean", "description": "No check failed, and the signature or the Merkle tree proof passed."},
                        "checks": {"type": "array", "items": {"$ref": "#/components/schemas/VerificationCheck"}}
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
                "NewPartner": {
                    "type": "object",
                    "required": ["name"],
                    "description": "Exactly one of `jwksUrl` or `jwks`.",
                    "properties": partner_properties(false)
                },
                "PartnerPatch": {
                    "type": "object",
                    "properties": partner_properties(true)
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

/// Bulk issuance (`routes::admin::bulk`): the upload, the jobs, their control and results.
fn bulk_operations(doc: &mut Value, public_url: &str) {
    let servers = json!([{"url": format!("{public_url}/admin/v1")}]);
    let job = json!({"$ref": "#/components/schemas/BulkJob"});
    let job_id = json!({"name": "jobId", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}});
    let conflict = |what: &str| {
        error_response(
            &format!("The job's state does not allow it ({what})."),
            "Cannot pause a job that is COMPLETED",
            409,
        )
    };
    let job_op = |summary: &str, with_conflict: bool| {
        let mut op = admin_op(summary, false);
        op["parameters"] = json!([job_id.clone()]);
        op["responses"]["200"] = ok("The job.", job.clone());
        op["responses"]["404"] = error_response("Unknown job.", "Unknown bulk issuance job", 404);
        if with_conflict {
            op["responses"]["409"] = conflict("already finished");
        }
        op
    };
    let mut create = admin_op(
        "Issue a program to every row of a CSV or JSON Lines file (in the background)",
        false,
    );
    create["description"] = json!("The body is the file, streamed: `text/csv` with a header row `email`, the schema's attribute names and optionally `onDuplicate` (values typed by the schema; an empty cell is an absent attribute), or `application/x-ndjson` with one `{\"email\", \"credentialSubject\", \"onDuplicate\"?}` object per line. At most 1,000,000 rows, 512 MiB and 64 KiB per row. Answered once the file is stored and its shape checked; every row is then checked against the schema before any is issued, and the valid rows are issued through the rules of issue-on-behalf (consent, duplicates, window, cap, user creation). Rows are numbered from 1 among the data rows (header and blank lines do not count). `max_body_bytes` does not apply.");
    create["parameters"] = json!([
        param("credentialId", "path"),
        {"name": "validateOnly", "in": "query", "required": false, "schema": {"type": "boolean", "default": false}, "description": "Only check the rows; the job ends `VALIDATED` and issues nothing."}
    ]);
    create["requestBody"] = json!({"required": true, "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}}
    }});
    let responses = create["responses"].as_object_mut().expect("responses");
    responses.remove("200");
    responses.insert("202".into(), json!({"description": "The job, `VALIDATING`.", "content": {"application/json": {"schema": job.clone()}}}));
    responses.insert("400".into(), error_response("The file cannot be used (header, encoding, quoting, no rows); the message names the problem.", "CSV header: no column for the required attribute \"age\"", 400));
    responses.insert(
        "404".into(),
        error_response("Unknown issuance program.", "Unknown issuance program", 404),
    );
    responses.insert(
        "413".into(),
        error_response(
            "More than 1,000,000 rows, 512 MiB, or a row longer than 64 KiB.",
            "The file has more than 1000000 rows",
            413,
        ),
    );
    responses.insert(
        "415".into(),
        error_response(
            "Neither CSV nor JSON Lines.",
            "Expected Content-Type: text/csv or application/x-ndjson (JSON Lines)",
            415,
        ),
    );
    let mut list = admin_op("List bulk issuance jobs, newest first", false);
    list["parameters"] = json!([
        {"name": "page", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1}},
        {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500}}
    ]);
    list["responses"]["200"] = ok(
        "A page of jobs (`rows.onChain` is left out).",
        json!({"type": "object", "properties": {
            "items": {"type": "array", "items": job.clone()},
            "page": {"type": "integer"}, "limit": {"type": "integer"}, "total": {"type": "integer"}
        }}),
    );
    list["responses"]
        .as_object_mut()
        .expect("responses")
        .remove("404");
    let mut results = job_op(
        "The job's rows as CSV: row, email, status, coreClaimHash, error",
        false,
    );
    results["responses"]["200"] = json!({"description": "`row,email,status,coreClaimHash,error`; status is ISSUED, SKIPPED_DUPLICATE (onDuplicate ignore: the live credential's hash), INVALID, FAILED (the error as issue-on-behalf words it), PENDING, VALID (validate-only) or NOT_ISSUED (cancelled).", "content": {"text/csv": {"schema": {"type": "string"}}}});
    results["responses"]["409"] = error_response(
        "The file is still being uploaded.",
        "The job's file is still being uploaded",
        409,
    );
    let paths = doc["paths"].as_object_mut().expect("paths");
    paths.insert(
        "/programs/{credentialId}/bulk-issuances".into(),
        json!({"servers": servers, "post": create}),
    );
    paths.insert(
        "/bulk-issuances".into(),
        json!({"servers": servers, "get": list}),
    );
    paths.insert("/bulk-issuances/{jobId}".into(), json!({"servers": servers, "get": job_op("A job's progress: state, row counts, rate and ETA", false)}));
    for (action, summary) in [
        (
            "pause",
            "Pause a validating or running job after its current step",
        ),
        ("resume", "Resume a paused job"),
        (
            "cancel",
            "Cancel a job; rows not issued yet stay NOT_ISSUED",
        ),
    ] {
        paths.insert(
            format!("/bulk-issuances/{{jobId}}/{action}"),
            json!({"servers": servers, "post": job_op(summary, true)}),
        );
    }
    paths.insert(
        "/bulk-issuances/{jobId}/results".into(),
        json!({"servers": servers, "get": results}),
    );
    let count = json!({"type": "integer", "minimum": 0});
    doc["components"]["schemas"]["BulkJob"] = json!({
        "type": "object",
        "required": ["jobId", "credentialId", "format", "validateOnly", "state", "rows", "createdAt"],
        "properties": {
            "jobId": {"type": "string", "format": "uuid"},
            "credentialId": {"type": "string"},
            "format": {"type": "string", "enum": ["csv", "jsonl"]},
            "validateOnly": {"type": "boolean"},
            "state": {"type": "string", "enum": ["UPLOADING", "VALIDATING", "RUNNING", "PAUSED", "COMPLETED", "VALIDATED", "CANCELLED", "FAILED"]},
            "rows": {"type": "object", "properties": {
                "total": count, "validated": count, "invalid": count, "pending": count,
                "issued": count, "skippedDuplicate": count, "failed": count,
                "onChain": {"type": "integer", "nullable": true, "description": "Rows whose credential is ONCHAIN now."}
            }},
            "ratePerSecond": {"type": "number", "nullable": true},
            "etaSeconds": {"type": "integer", "nullable": true},
            "error": {"type": "string", "nullable": true},
            "createdAt": {"type": "string", "format": "date-time"},
            "startedAt": {"type": "string", "format": "date-time", "nullable": true},
            "finishedAt": {"type": "string", "format": "date-time", "nullable": true}
        }
    });
}
