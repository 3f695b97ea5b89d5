//! Bulk issuance: the upload, the jobs, their control and results.

use super::*;
use serde_json::{json, Value};

/// Bulk issuance (`routes::admin::bulk`): the upload, the jobs, their control and results.
pub(super) fn bulk_operations(doc: &mut Value, public_url: &str) {
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
        {"name": "page", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 4294967295_u64, "default": 1}},
        {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}
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
