//! The operator's webhook endpoints and deliveries, and the partner's event feed.

use super::*;
use serde_json::{json, Value};

/// The operator's webhook endpoints and deliveries, and `GET /v1/events`.
pub(super) fn add_webhooks(doc: &mut Value, public_url: &str) {
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
                {"name": "after", "in": "query", "required": false, "description": "An event id (`nextAfter` of the previous page); absent or empty: from the first event.", "schema": {"type": "string", "pattern": "^\\s*(evt_[0-9a-f]{32})?\\s*$"}},
                {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}}
            ],
            "responses": {
                "200": ok("A page of events.", schema("EventsPage")),
                "400": error_response("`limit` out of range, `after` not an event id, or an unknown parameter.", "after: must be an event id (evt_ and 32 hex digits)", 400),
                "404": error_response("`after` is no event of this partner.", "after: no event of this partner has that id", 404),
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
            "url": {"type": "string", "minLength": 1, "maxLength": 2048, "pattern": "^\\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\\s\\u0000-\\u001f\\u007f-\\u009f]+([/?][^#\\s\\u0000-\\u001f\\u007f-\\u009f]*)?\\s*$", "description": "https (plain http only to loopback, in dev mode); checked against the outbound address policy at every delivery."},
            "eventTypes": {"type": "array", "nullable": true, "minItems": 1, "items": types, "description": "Absent or null: every event type."},
            "enabled": {"type": "boolean", "nullable": true, "default": true}
        }},
        "WebhookEndpointPatch": {"type": "object", "properties": {
            "url": {"type": "string", "nullable": true, "minLength": 1, "maxLength": 2048, "pattern": "^\\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\\s\\u0000-\\u001f\\u007f-\\u009f]+([/?][^#\\s\\u0000-\\u001f\\u007f-\\u009f]*)?\\s*$"},
            "eventTypes": {"type": "array", "nullable": true, "minItems": 1, "items": types},
            "enabled": {"type": "boolean", "nullable": true}
        }},
        "RotateWebhookSecret": {"type": "object", "properties": {
            "overlapSeconds": {"type": "integer", "minimum": 0, "maximum": 604800, "default": 86400}
        }},
        "ReplayRequest": {"type": "object", "description": "Exactly one of the two (`null` is absent).",
            "oneOf": [
                {"required": ["eventId"], "properties": {"eventId": {"type": "string"}}},
                {"required": ["since"], "properties": {"since": {"type": "string"}}}
            ],
            "properties": {
                "eventId": {"type": "string", "nullable": true},
                "since": {"type": "string", "format": "date-time", "nullable": true}
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
