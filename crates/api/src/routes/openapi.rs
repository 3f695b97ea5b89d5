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
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
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

pub fn document(public_url: &str) -> Value {
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
                    "401": error_response("Invalid or expired Partner JWT, or JWKS mismatch.", "Invalid or expired Partner JWT, or JWKS mismatch.", 401),
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
                "parameters": [{"name": "coreClaimHash", "in": "query", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "Issuance status.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CredentialStatus"}}}},
                    "400": error_response("Missing coreClaimHash.", "Missing required field: coreClaimHash", 400),
                    "401": error_response("Invalid or expired Partner JWT, or JWKS mismatch.", "Invalid or expired Partner JWT, or JWKS mismatch.", 401),
                    "404": error_response("No credential with this hash for this partner.", "No credential found for the given hash.", 404)
                }
            }},
            "/schemas/{file}": {"get": {
                "tags": ["Schemas"],
                "summary": "A schema's JSON Schema (`{id}.json`) or JSON-LD context (`{id}.jsonld`)",
                "security": [],
                "parameters": [{"name": "file", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "The document.", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "404": error_response("Unknown schema.", "No schema found for the given id.", 404)
                }
            }},
            "/credentials/{coreClaimHash}": {"get": {
                "tags": ["Credentials"],
                "summary": "The W3C credential with its proofs (BJJSignature2021; Iden3SparseMerkleTreeProof once ONCHAIN)",
                "operationId": "getCredential",
                "parameters": [{"name": "coreClaimHash", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "The credential.", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "401": error_response("Invalid or expired Partner JWT, or JWKS mismatch.", "Invalid or expired Partner JWT, or JWKS mismatch.", 401),
                    "404": error_response("No credential with this hash for this partner and user.", "No credential found for the given hash.", 404)
                }
            }},
            "/{issuerDid}/claims/revocation/status/{nonce}": {"get": {
                "tags": ["Verification"],
                "summary": "Revocation status of a nonce (SparseMerkleTreeProof): the issuer's latest confirmed state and the nonce's proof in its revocation tree; mtp.existence means revoked",
                "security": [],
                "parameters": [
                    {"name": "issuerDid", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "nonce", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 0}}
                ],
                "responses": {
                    "200": {"description": "Revocation status.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RevocationStatus"}}}},
                    "400": error_response("The nonce is not a non-negative integer.", "Invalid revocation nonce: must be a non-negative integer", 400),
                    "404": error_response("Unknown issuer.", "No issuer found for the given DID.", 404)
                }
            }},
            "/issuers/{issuerDid}/state": {"get": {
                "tags": ["Verification"],
                "summary": "The issuer's latest confirmed state: roots, transaction and block",
                "security": [],
                "parameters": [{"name": "issuerDid", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "Latest confirmed state.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IssuerState"}}}},
                    "404": error_response("Unknown issuer, or no confirmed state yet.", "No issuer found for the given DID.", 404)
                }
            }},
            "/credentials/{coreClaimHash}/revoke": {"servers": [{"url": admin_url}], "post": admin_op("Revoke a credential (status WAIT_REMOVE until the revocation is on chain)", false)},
            "/issuers/{issuerDid}/publishing": {"servers": [{"url": admin_url}], "get": admin_op("An issuer's publishing: latest state, transition in flight, pending work, recent transitions", false)},
            "/partners": {"servers": [{"url": admin_url}], "get": admin_op("List partners", false), "post": admin_op("Register a partner", true)},
            "/schemas": {"servers": [{"url": admin_url}], "get": admin_op("List schemas", false), "post": admin_op("Register a schema", true)},
            "/issuers": {"servers": [{"url": admin_url}], "get": admin_op("List issuers", false), "post": admin_op("Create an issuer", true)},
            "/programs": {"servers": [{"url": admin_url}], "get": admin_op("List issuance programs", false), "post": admin_op("Create an issuance program", true)},
            "/users/consent": {"servers": [{"url": admin_url}], "get": admin_op("List consent records", false), "put": admin_op("Record a user's consent", true)}
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
                    "description": "A signed Partner JWT containing `partnerId`, `email`, `scope`, and `exp` claims."
                },
                "adminToken": {"type": "http", "scheme": "bearer"}
            }
        }
    })
}
