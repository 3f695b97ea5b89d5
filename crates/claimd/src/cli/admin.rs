//! `claimd admin …`: a thin client of the operator API. Every command is one HTTP request;
//! the server does all validation, so the CLI and the API can never disagree.

use crate::config::CommonArgs;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct AdminArgs {
    /// Base URL of the claimd server.
    #[arg(
        long,
        env = "CLAIMD_ADMIN_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    url: String,
    /// File holding the admin token (default: CLAIMD_ADMIN_TOKEN, then <data dir>/admin-token).
    #[arg(long, env = "CLAIMD_ADMIN_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// Print the server's JSON answer instead of a summary.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    resource: Resource,
}

#[derive(Subcommand, Debug)]
enum Resource {
    /// Partners (organisations calling the public API).
    #[command(subcommand)]
    Partner(PartnerCmd),
    /// Credential schemas.
    #[command(subcommand)]
    Schema(SchemaCmd),
    /// Issuer identities.
    #[command(subcommand)]
    Issuer(IssuerCmd),
    /// Issuance programs (Moca `credentialId`).
    #[command(subcommand)]
    Program(ProgramCmd),
    /// Verification programs (what verifiers accept; listed in the catalog as `programs`).
    #[command(subcommand)]
    VerificationProgram(VerificationProgramCmd),
    /// Users' consent to on-behalf issuance.
    #[command(subcommand)]
    Consent(ConsentCmd),
    /// Users.
    #[command(subcommand)]
    User(UserCmd),
    /// Issued credentials.
    #[command(subcommand)]
    Credential(CredentialCmd),
    /// Bulk issuance from a CSV or JSON Lines file.
    #[command(subcommand)]
    Bulk(super::bulk::BulkCmd),
    /// A partner's webhook endpoints, their deliveries and replays.
    #[command(subcommand)]
    Webhook(WebhookCmd),
}

#[derive(Subcommand, Debug)]
enum WebhookCmd {
    /// Create an endpoint; prints its signing secret (`whsec_…`), shown only this once.
    Create {
        partner_id: String,
        #[arg(long)]
        url: String,
        /// Repeatable (credential.onchain, credential.removed, credential.expired,
        /// credential.revocation_requested); absent means every type.
        #[arg(long = "event-type")]
        event_types: Vec<String>,
        /// Create it disabled (paused).
        #[arg(long)]
        disabled: bool,
    },
    List {
        partner_id: String,
    },
    Get {
        partner_id: String,
        endpoint_id: String,
    },
    /// Change the URL, the event types (replaced) or `--enabled=true|false`.
    Update {
        partner_id: String,
        endpoint_id: String,
        #[arg(long)]
        url: Option<String>,
        #[arg(long = "event-type")]
        event_types: Vec<String>,
        #[arg(long, num_args = 0..=1, default_missing_value = "true")]
        enabled: Option<bool>,
    },
    Delete {
        partner_id: String,
        endpoint_id: String,
    },
    /// A new signing secret (printed once); the old one keeps signing for the overlap.
    Rotate {
        partner_id: String,
        endpoint_id: String,
        /// Seconds both secrets sign (default 86400, at most 604800).
        #[arg(long)]
        overlap_secs: Option<u64>,
    },
    /// The latest deliveries with their attempts, newest first.
    Deliveries {
        partner_id: String,
        endpoint_id: String,
        /// PENDING, DELIVERED or DEAD.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Deliver one event (`--event`) or every event since a time (`--since`, RFC 3339) again.
    Replay {
        partner_id: String,
        endpoint_id: String,
        #[arg(long, conflicts_with = "since", required_unless_present = "since")]
        event: Option<String>,
        #[arg(long)]
        since: Option<String>,
    },
}

/// The request of one `claimd admin webhook …` command.
fn webhook_call(cmd: WebhookCmd) -> Call {
    let base = |p: &str| format!("/admin/v1/partners/{p}/webhooks");
    let one = |p: &str, e: &str| format!("{}/{e}", base(p));
    match cmd {
        WebhookCmd::Create {
            partner_id,
            url,
            event_types,
            disabled,
        } => {
            let mut b = json!({"url": url, "enabled": !disabled});
            if !event_types.is_empty() {
                b["eventTypes"] = json!(event_types);
            }
            send(Method::POST, &base(&partner_id), b)
        }
        WebhookCmd::List { partner_id } => get(base(&partner_id)),
        WebhookCmd::Get {
            partner_id,
            endpoint_id,
        } => get(one(&partner_id, &endpoint_id)),
        WebhookCmd::Update {
            partner_id,
            endpoint_id,
            url,
            event_types,
            enabled,
        } => {
            let mut b = Map::new();
            given(&mut b, "url", url);
            if !event_types.is_empty() {
                b.insert("eventTypes".into(), json!(event_types));
            }
            given(&mut b, "enabled", enabled);
            send(
                Method::PATCH,
                &one(&partner_id, &endpoint_id),
                Value::Object(b),
            )
        }
        WebhookCmd::Delete {
            partner_id,
            endpoint_id,
        } => Call {
            method: Method::DELETE,
            path: one(&partner_id, &endpoint_id),
            body: None,
        },
        WebhookCmd::Rotate {
            partner_id,
            endpoint_id,
            overlap_secs,
        } => {
            let b = match overlap_secs {
                Some(s) => json!({"overlapSeconds": s}),
                None => json!({}),
            };
            send(
                Method::POST,
                &format!("{}/rotate", one(&partner_id, &endpoint_id)),
                b,
            )
        }
        WebhookCmd::Deliveries {
            partner_id,
            endpoint_id,
            state,
            limit,
        } => {
            let path = format!("{}/deliveries", one(&partner_id, &endpoint_id));
            get(with_query(
                &path,
                &[("state", state), ("limit", limit.map(|l| l.to_string()))],
            ))
        }
        WebhookCmd::Replay {
            partner_id,
            endpoint_id,
            event,
            since,
        } => {
            let b = match (event, since) {
                (Some(e), _) => json!({"eventId": e}),
                (None, s) => json!({"since": s}),
            };
            send(
                Method::POST,
                &format!("{}/replay", one(&partner_id, &endpoint_id)),
                b,
            )
        }
    }
}

// `--page` and `--limit` of every listing. (A plain comment: clap reads doc comments as help.)
#[derive(Args, Debug, Clone, Copy)]
pub(super) struct Paging {
    #[arg(long)]
    page: Option<u32>,
    #[arg(long)]
    limit: Option<u32>,
}

impl Paging {
    /// The listing at `path` with the page and limit asked for (the server's defaults else).
    pub(super) fn path(self, path: &str) -> String {
        let number = |n: Option<u32>| n.map(|n| n.to_string());
        with_query(
            path,
            &[("page", number(self.page)), ("limit", number(self.limit))],
        )
    }
}

/// `path` with a query of the parameters that are given (`?a=1&b=2`), or as it is.
fn with_query(path: &str, params: &[(&str, Option<String>)]) -> String {
    let q: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

#[derive(Subcommand, Debug)]
enum PartnerCmd {
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, conflicts_with = "jwks_file")]
        jwks_url: Option<String>,
        /// A JSON file holding the partner's JWKS (inline keys).
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// Repeatable; e.g. issue_on_behalf.
        #[arg(long = "feature")]
        features: Vec<String>,
        /// Repeatable; absent means every schema is allowed.
        #[arg(long = "allowed-schema")]
        allowed_schemas: Vec<String>,
        #[command(flatten)]
        rules: TokenRuleArgs,
    },
    Update {
        partner_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, conflicts_with = "jwks_file")]
        jwks_url: Option<String>,
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// Replaces the feature list (repeatable).
        #[arg(long = "feature")]
        features: Vec<String>,
        /// Replaces the allow-list (repeatable).
        #[arg(long = "allowed-schema", conflicts_with = "all_schemas")]
        allowed_schemas: Vec<String>,
        /// Allow every schema again.
        #[arg(long)]
        all_schemas: bool,
        #[command(flatten)]
        rules: TokenRuleArgs,
        /// Remove the audience binding.
        #[arg(long, conflicts_with = "audience")]
        no_audience: bool,
        /// Remove the issuer binding.
        #[arg(long, conflicts_with = "token_issuer")]
        no_token_issuer: bool,
    },
    Get {
        partner_id: String,
    },
    List(Paging),
}

/// The operator's rules for a partner's JWTs.
#[derive(Args, Debug, Clone, Default)]
struct TokenRuleArgs {
    /// Bind the partner's tokens to this audience: `aud` must name it.
    #[arg(long)]
    audience: Option<String>,
    /// Bind the partner's tokens to this issuer: `iss` must be it.
    #[arg(long)]
    token_issuer: Option<String>,
    /// Require a `jti` in every token, each accepted once (`--require-jti=false` to stop).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    require_jti: Option<bool>,
    /// `--enabled=false` refuses every call of the partner; `--enabled` admits it again.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    enabled: Option<bool>,
}

impl TokenRuleArgs {
    fn insert_into(self, b: &mut Map<String, Value>) {
        given(b, "audience", self.audience);
        given(b, "issuer", self.token_issuer);
        given(b, "requireJti", self.require_jti);
        given(b, "enabled", self.enabled);
    }
}

#[derive(Subcommand, Debug)]
enum SchemaCmd {
    Create {
        /// A JSON file with the whole request body; the flags below are ignored when given.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, required_unless_present = "file")]
        title: Option<String>,
        /// PascalCase JSON-LD type, e.g. KycCredential.
        #[arg(long = "type", required_unless_present = "file")]
        type_name: Option<String>,
        #[arg(long, default_value = "1.0")]
        version: String,
        #[arg(long, default_value = "")]
        description: String,
        /// name:type[:required], type one of string|integer|number|boolean|date (repeatable).
        #[arg(long = "attr")]
        attributes: Vec<String>,
    },
    Get {
        schema_id: String,
    },
    List(Paging),
    /// The catalog flags.
    Update {
        schema_id: String,
        #[command(flatten)]
        flags: CatalogFlags,
    },
}

/// Whether an entry appears in the public catalog (both must be true).
#[derive(Args, Debug, Clone, Copy, Default)]
struct CatalogFlags {
    /// `--discoverable` lists it in the catalog, `--discoverable=false` hides it.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    discoverable: Option<bool>,
    /// `--enabled=false` disables it (hidden from the catalog), `--enabled` enables it again.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    enabled: Option<bool>,
}

impl CatalogFlags {
    fn insert_into(self, b: &mut Map<String, Value>) {
        given(b, "discoverable", self.discoverable);
        given(b, "enabled", self.enabled);
    }

    fn body(self) -> Value {
        let mut b = Map::new();
        self.insert_into(&mut b);
        Value::Object(b)
    }
}

#[derive(Subcommand, Debug)]
enum VerificationProgramCmd {
    Create {
        /// A JSON file with the whole request body; the flags below are ignored when given.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, required_unless_present = "file")]
        name: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, required_unless_present = "file")]
        verifier_name: Option<String>,
        #[arg(long, required_unless_present = "file")]
        verifier_did: Option<String>,
        #[command(flatten)]
        accepted: AcceptedArgs,
        /// per-verification (default) or free.
        #[arg(long)]
        pricing_model: Option<String>,
        #[command(flatten)]
        flags: CatalogFlags,
    },
    Update {
        program_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        verifier_name: Option<String>,
        #[arg(long)]
        verifier_did: Option<String>,
        /// Replaces the accepted list when given.
        #[command(flatten)]
        accepted: AcceptedArgs,
        #[arg(long)]
        pricing_model: Option<String>,
        #[command(flatten)]
        flags: CatalogFlags,
    },
    /// Disables it (`enabled: false`): hidden from the catalog.
    Disable {
        program_id: String,
    },
    Get {
        program_id: String,
    },
    List(Paging),
}

#[derive(Args, Debug, Clone, Default)]
struct AcceptedArgs {
    /// An accepted issuance program (its credentialId; repeatable).
    #[arg(long = "accept")]
    accept: Vec<String>,
    /// `<credentialId>:<condition>`, e.g. `c21s…:age >= 18` (repeatable).
    #[arg(long = "condition")]
    conditions: Vec<String>,
}

impl AcceptedArgs {
    /// The `acceptedCredentials` list, `None` when no `--accept` was given.
    fn list(self) -> Result<Option<Value>> {
        if self.accept.is_empty() {
            if let Some(c) = self.conditions.first() {
                bail!("--condition {c:?} names no --accept credential");
            }
            return Ok(None);
        }
        let mut list: Vec<(String, Vec<String>)> =
            self.accept.into_iter().map(|a| (a, vec![])).collect();
        for c in self.conditions {
            let (id, expr) = c.split_once(':').with_context(|| {
                format!("--condition {c:?}: expected <credentialId>:<condition>")
            })?;
            let entry = list
                .iter_mut()
                .find(|(a, _)| a == id.trim())
                .with_context(|| {
                    format!("--condition {c:?}: {id} is not an --accept credential")
                })?;
            entry.1.push(expr.trim().to_owned());
        }
        Ok(Some(Value::Array(
            list.into_iter()
                .map(|(id, conds)| json!({"credentialId": id, "conditions": conds}))
                .collect(),
        )))
    }
}

#[derive(Subcommand, Debug)]
enum IssuerCmd {
    Create {
        #[arg(long)]
        partner_id: String,
        #[arg(long)]
        name: String,
    },
    /// By DID or issuer id.
    Get {
        issuer: String,
    },
    List(Paging),
    /// Latest confirmed state, transition in flight, pending work, recent transitions.
    Publishing {
        issuer: String,
    },
}

#[derive(Subcommand, Debug)]
enum CredentialCmd {
    /// Status of a credential by coreClaimHash.
    Get { core_claim_hash: String },
    /// Revoke a credential: WAIT_REMOVE until the revocation is on chain.
    Revoke { core_claim_hash: String },
}

#[derive(Subcommand, Debug)]
enum ProgramCmd {
    Create {
        #[arg(long)]
        issuer_did: String,
        #[arg(long)]
        schema_id: String,
        #[arg(long)]
        name: String,
        /// RFC 3339, e.g. 2027-01-01T00:00:00Z.
        #[arg(long)]
        accessible_from: Option<String>,
        #[arg(long)]
        accessible_until: Option<String>,
        #[arg(long)]
        max_issuance: Option<u64>,
        #[arg(long)]
        expiration_days: Option<u32>,
    },
    Get {
        credential_id: String,
    },
    List(Paging),
    /// The catalog flags.
    Update {
        credential_id: String,
        #[command(flatten)]
        flags: CatalogFlags,
    },
}

#[derive(Subcommand, Debug)]
enum ConsentCmd {
    Set {
        #[arg(long)]
        email: String,
        #[arg(long)]
        partner_id: String,
        /// granted or rejected.
        #[arg(long)]
        status: String,
    },
    List(Paging),
}

#[derive(Subcommand, Debug)]
enum UserCmd {
    List(Paging),
    /// Stored addresses the email re-normalisation kept because rewriting them would merge
    /// two users (or they are no longer valid).
    EmailConflicts,
}

/// One request to the operator API.
struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn get(path: String) -> Call {
    Call {
        method: Method::GET,
        path,
        body: None,
    }
}

fn send(method: Method, path: &str, body: Value) -> Call {
    Call {
        method,
        path: path.to_owned(),
        body: Some(body),
    }
}

fn list(path: &str, p: Paging) -> Call {
    get(p.path(path))
}

/// Sets `key` of a request body to a flag's value when the flag was given; an absent flag
/// leaves the field out, which the API reads as "unchanged" (or its default).
fn given(b: &mut Map<String, Value>, key: &str, value: Option<impl serde::Serialize>) {
    if let Some(v) = value {
        b.insert(key.into(), json!(v));
    }
}

fn read_json(path: &PathBuf) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

fn parse_attr(spec: &str) -> Result<Value> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (name, kind, required) = match parts.as_slice() {
        [n, t] => (n, t, false),
        [n, t, "required"] => (n, t, true),
        _ => bail!("--attr {spec:?}: expected name:type or name:type:required"),
    };
    Ok(json!({"name": name, "type": kind, "required": required}))
}

fn partner_body(
    name: Option<String>,
    jwks_url: Option<String>,
    jwks_file: Option<PathBuf>,
    features: Vec<String>,
) -> Result<Map<String, Value>> {
    let mut b = Map::new();
    given(&mut b, "name", name);
    given(&mut b, "jwksUrl", jwks_url);
    if let Some(f) = jwks_file {
        b.insert("jwks".into(), read_json(&f)?);
    }
    if !features.is_empty() {
        b.insert("features".into(), json!(features));
    }
    Ok(b)
}

fn call_for(resource: Resource) -> Result<Call> {
    Ok(match resource {
        Resource::Partner(cmd) => match cmd {
            PartnerCmd::Create {
                name,
                jwks_url,
                jwks_file,
                features,
                allowed_schemas,
                rules,
            } => {
                let mut b = partner_body(Some(name), jwks_url, jwks_file, features)?;
                if !allowed_schemas.is_empty() {
                    b.insert("allowedSchemaIds".into(), json!(allowed_schemas));
                }
                rules.insert_into(&mut b);
                send(Method::POST, "/admin/v1/partners", Value::Object(b))
            }
            PartnerCmd::Update {
                partner_id,
                name,
                jwks_url,
                jwks_file,
                features,
                allowed_schemas,
                all_schemas,
                rules,
                no_audience,
                no_token_issuer,
            } => {
                let mut b = partner_body(name, jwks_url, jwks_file, features)?;
                if all_schemas {
                    b.insert("allowedSchemaIds".into(), Value::Null);
                } else if !allowed_schemas.is_empty() {
                    b.insert("allowedSchemaIds".into(), json!(allowed_schemas));
                }
                rules.insert_into(&mut b);
                if no_audience {
                    b.insert("audience".into(), Value::Null);
                }
                if no_token_issuer {
                    b.insert("issuer".into(), Value::Null);
                }
                send(
                    Method::PATCH,
                    &format!("/admin/v1/partners/{partner_id}"),
                    Value::Object(b),
                )
            }
            PartnerCmd::Get { partner_id } => get(format!("/admin/v1/partners/{partner_id}")),
            PartnerCmd::List(p) => list("/admin/v1/partners", p),
        },
        Resource::Schema(cmd) => match cmd {
            SchemaCmd::Create { file: Some(f), .. } => {
                send(Method::POST, "/admin/v1/schemas", read_json(&f)?)
            }
            SchemaCmd::Create {
                file: None,
                title,
                type_name,
                version,
                description,
                attributes,
            } => {
                let attrs = attributes
                    .iter()
                    .map(|a| parse_attr(a))
                    .collect::<Result<Vec<_>>>()?;
                send(
                    Method::POST,
                    "/admin/v1/schemas",
                    json!({"title": title, "type": type_name, "version": version,
                           "description": description, "attributes": attrs}),
                )
            }
            SchemaCmd::Get { schema_id } => get(format!("/admin/v1/schemas/{schema_id}")),
            SchemaCmd::List(p) => list("/admin/v1/schemas", p),
            SchemaCmd::Update { schema_id, flags } => send(
                Method::PATCH,
                &format!("/admin/v1/schemas/{schema_id}"),
                flags.body(),
            ),
        },
        Resource::Issuer(cmd) => match cmd {
            IssuerCmd::Create { partner_id, name } => send(
                Method::POST,
                "/admin/v1/issuers",
                json!({"partnerId": partner_id, "name": name}),
            ),
            IssuerCmd::Get { issuer } => get(format!("/admin/v1/issuers/{issuer}")),
            IssuerCmd::List(p) => list("/admin/v1/issuers", p),
            IssuerCmd::Publishing { issuer } => {
                get(format!("/admin/v1/issuers/{issuer}/publishing"))
            }
        },
        Resource::Program(cmd) => match cmd {
            ProgramCmd::Create {
                issuer_did,
                schema_id,
                name,
                accessible_from,
                accessible_until,
                max_issuance,
                expiration_days,
            } => send(
                Method::POST,
                "/admin/v1/programs",
                json!({"issuerDid": issuer_did, "schemaId": schema_id, "name": name,
                       "accessibleFrom": accessible_from, "accessibleUntil": accessible_until,
                       "maxIssuance": max_issuance, "expirationDays": expiration_days}),
            ),
            ProgramCmd::Get { credential_id } => get(format!("/admin/v1/programs/{credential_id}")),
            ProgramCmd::List(p) => list("/admin/v1/programs", p),
            ProgramCmd::Update {
                credential_id,
                flags,
            } => send(
                Method::PATCH,
                &format!("/admin/v1/programs/{credential_id}"),
                flags.body(),
            ),
        },
        Resource::VerificationProgram(cmd) => verification_program_call(cmd)?,
        Resource::Consent(cmd) => match cmd {
            ConsentCmd::Set {
                email,
                partner_id,
                status,
            } => send(
                Method::PUT,
                "/admin/v1/users/consent",
                json!({"email": email, "partnerId": partner_id, "status": status}),
            ),
            ConsentCmd::List(p) => list("/admin/v1/users/consent", p),
        },
        Resource::User(UserCmd::List(p)) => list("/admin/v1/users", p),
        Resource::User(UserCmd::EmailConflicts) => get("/admin/v1/users/email-conflicts".into()),
        Resource::Credential(cmd) => match cmd {
            CredentialCmd::Get { core_claim_hash } => {
                get(format!("/admin/v1/credentials/{core_claim_hash}"))
            }
            CredentialCmd::Revoke { core_claim_hash } => send(
                Method::POST,
                &format!("/admin/v1/credentials/{core_claim_hash}/revoke"),
                json!({}),
            ),
        },
        Resource::Webhook(cmd) => webhook_call(cmd),
        Resource::Bulk(_) => unreachable!("bulk commands are run by cli::bulk"),
    })
}

fn verification_program_call(cmd: VerificationProgramCmd) -> Result<Call> {
    const PATH: &str = "/admin/v1/verification-programs";
    Ok(match cmd {
        VerificationProgramCmd::Create { file: Some(f), .. } => {
            send(Method::POST, PATH, read_json(&f)?)
        }
        VerificationProgramCmd::Create {
            file: None,
            name,
            description,
            verifier_name,
            verifier_did,
            accepted,
            pricing_model,
            flags,
        } => {
            let mut b = Map::new();
            b.insert("name".into(), json!(name));
            b.insert("description".into(), json!(description));
            b.insert("verifierName".into(), json!(verifier_name));
            b.insert("verifierDid".into(), json!(verifier_did));
            b.insert(
                "acceptedCredentials".into(),
                accepted.list()?.unwrap_or(Value::Array(vec![])),
            );
            given(&mut b, "pricingModel", pricing_model);
            flags.insert_into(&mut b);
            send(Method::POST, PATH, Value::Object(b))
        }
        VerificationProgramCmd::Update {
            program_id,
            name,
            description,
            verifier_name,
            verifier_did,
            accepted,
            pricing_model,
            flags,
        } => {
            let mut b = Map::new();
            let fields = [
                ("name", name),
                ("description", description),
                ("verifierName", verifier_name),
                ("verifierDid", verifier_did),
                ("pricingModel", pricing_model),
            ];
            for (k, v) in fields {
                given(&mut b, k, v);
            }
            if let Some(list) = accepted.list()? {
                b.insert("acceptedCredentials".into(), list);
            }
            flags.insert_into(&mut b);
            send(
                Method::PATCH,
                &format!("{PATH}/{program_id}"),
                Value::Object(b),
            )
        }
        VerificationProgramCmd::Disable { program_id } => send(
            Method::PATCH,
            &format!("{PATH}/{program_id}"),
            json!({"enabled": false}),
        ),
        VerificationProgramCmd::Get { program_id } => get(format!("{PATH}/{program_id}")),
        VerificationProgramCmd::List(p) => list(PATH, p),
    })
}

fn token(common: &CommonArgs, args: &AdminArgs) -> Result<String> {
    if let Some(t) = crate::config::process_env("CLAIMD_ADMIN_TOKEN") {
        return Ok(t);
    }
    let path = args.token_file.clone().unwrap_or_else(|| {
        common
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("data"))
            .join("admin-token")
    });
    std::fs::read_to_string(&path)
        .map(|t| t.trim().to_owned())
        .with_context(|| {
            format!(
                "no admin token: set CLAIMD_ADMIN_TOKEN or --token-file (tried {})",
                path.display()
            )
        })
}

pub async fn run(common: &CommonArgs, args: AdminArgs) -> Result<()> {
    let token = token(common, &args)?;
    let base = args.url.trim_end_matches('/').to_owned();
    let json_out = args.json;
    let resource = match args.resource {
        Resource::Bulk(cmd) => {
            // Uploads and downloads set their own, longer timeouts.
            let client = reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(30))
                .timeout(std::time::Duration::from_secs(30))
                .build()?;
            let api = super::bulk::Api {
                client,
                base,
                token,
            };
            return super::bulk::run(&api, cmd, json_out).await;
        }
        other => other,
    };
    let call = call_for(resource)?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let mut req = client
        .request(call.method, format!("{base}{}", call.path))
        .bearer_auth(token);
    if let Some(body) = call.body {
        req = req.json(&body);
    }
    let body = super::call(req, &base).await?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print!("{}", human(&body));
    }
    Ok(())
}

/// A readable summary: `key: value` lines for one object, one line per item for a page.
fn human(v: &Value) -> String {
    let mut out = String::new();
    if let Some(items) = v.get("items").and_then(Value::as_array) {
        for item in items {
            let fields: Vec<String> = item
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| {
                            k.ends_with("Id")
                                || k.ends_with("Did")
                                || *k == "name"
                                || *k == "title"
                                || *k == "email"
                                || *k == "status"
                                || *k == "userUuid"
                                || *k == "url"
                                || *k == "state"
                        })
                        .map(|(k, v)| format!("{k}={}", scalar(v)))
                        .collect()
                })
                .unwrap_or_default();
            out.push_str(&fields.join("  "));
            out.push('\n');
        }
        match v.get("total") {
            Some(total) => out.push_str(&format!("({} shown, {} in total)\n", items.len(), total)),
            None => out.push_str(&format!("({} shown)\n", items.len())),
        }
    } else if let Some(o) = v.as_object() {
        for (k, v) in o {
            out.push_str(&format!("{k}: {}\n", scalar(v)));
        }
    } else {
        out.push_str(&format!("{v}\n"));
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}
