//! Issue on behalf (DESIGN §2 steps 1–8): checks, user resolution, the credential built as
//! the iden3 reference stack builds it, and one atomic commit (whose rules are
//! [`crate::commit::issue`]). Time (the program window, the credential dates) comes from the
//! injected clock.
//!
//! The request path does the work the answer depends on — the merklized root gives the claim,
//! the claim gives `coreClaimHash` — and the BJJ signature, so the stored document is complete
//! the moment it becomes visible.

use crate::commit;
use crate::credential::{CredentialRecord, CredentialStatus};
use crate::identity::{self, DidSettings, HolderIdentity};
use crate::immutable::ImmutableCache;
use crate::issuer::Issuer;
use crate::partner::{Feature, Partner};
use crate::program::Program;
use crate::schema::{json_schema_url, jsonld_context_url, Schema};
use crate::secrets::MasterKey;
use crate::store::{IssueCommit, IssueOutcome, NewUser, OnDuplicate, Store, StoreError};
use crate::user::{ConsentStatus, Email, User};
use crate::{DomainError, IssuerId, PartnerId, ProgramId, UserId};
use chrono::{DateTime, SecondsFormat, Utc};
use claimd_clock::{SharedClock, SystemClock};
use claimd_iden3::babyjubjub::PrivateKey;
use claimd_iden3::claim::{Claim, SchemaHash};
use claimd_iden3::id::DidRegistry;
use claimd_merklize::Merklizer;
use rand::Rng;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The W3C and iden3 contexts every credential starts with.
pub const W3C_CREDENTIALS_V1: &str = "https://www.w3.org/2018/credentials/v1";
pub const IDEN3_PROOFS: &str = "https://schema.iden3.io/core/jsonld/iden3proofs.jsonld";
/// Largest revocation nonce: 2^53 − 1, so JavaScript tools read it exactly.
pub const MAX_NONCE: u64 = (1 << 53) - 1;

/// A validated issue-on-behalf request body.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub issuer_did: String,
    pub credential_id: ProgramId,
    pub credential_subject: Map<String, Value>,
    pub on_duplicate: OnDuplicate,
}

/// `{coreClaimHash, credentialId, userUuid}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueResponse {
    pub core_claim_hash: String,
    pub credential_id: String,
    pub user_uuid: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// 400: the request or the subject does not fit.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// 403: feature, schema or program access.
    #[error("{0}")]
    Forbidden(String),
    /// 404: unknown issuer or program (or one of another partner).
    #[error("{0}")]
    NotFound(String),
    /// 409: consent rejected, idempotency key reused with another body.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or corrupted data; logged, answered as a 500.
    #[error("{0}")]
    Internal(String),
}

/// What an issuance answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// A new credential (now, or by the first request with the same idempotency key).
    Issued,
    /// The live credential of the (program, user), with `onDuplicate: ignore`.
    Existing,
}

impl IssueError {
    /// Transient: the database could not be reached or kept losing races; the same issuance
    /// may be tried again later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            IssueError::Store(StoreError::Unavailable(_) | StoreError::Contended(_))
        )
    }
}

pub const NOT_FOUND: &str = "Unknown issuer DID or issuance program.";
const CONSENT_REJECTED: &str = "Consent rejected by user";

/// Decrypted issuer signing keys, cached: unsealing on every request would cost more than the
/// signature.
struct IssuerSigner {
    key: PrivateKey,
    onboarding: identity::OnboardingState,
}

pub struct Issuance {
    store: Arc<dyn Store>,
    /// Builds and signs credentials, on the CPU threads (see [`Minter`]).
    minter: Arc<Minter>,
    /// Builds running at once: at most one per core, so that a burst of requests queues here
    /// instead of oversubscribing the cores the committer and the publisher also need.
    cpu: Arc<tokio::sync::Semaphore>,
    signers: RwLock<HashMap<IssuerId, Arc<IssuerSigner>>>,
    /// Schema ids whose JSON-LD context is registered with the merklizer.
    contexts: RwLock<std::collections::HashSet<crate::SchemaId>>,
    /// Interactive issuances in flight: the bulk runner gives way to them.
    interactive: Arc<crate::load::InteractiveLoad>,
    /// The registry records every issuance reads and none ever changes (see [`Records`]).
    records: Records,
}

/// What building a credential needs of the service, owned so that the work can leave the
/// async workers: a credential costs about a millisecond of CPU (holder identity, JSON-LD
/// merklization, Poseidon, the BJJ signature). On the async workers that millisecond would sit
/// between the other requests' database round trips, the group committer's among them; the
/// measured throughput gain of moving it was small (docs/BENCHMARKS.md, issue on behalf).
#[derive(Clone)]
struct Minter {
    master_key: MasterKey,
    did: DidSettings,
    public_url: String,
    merklizer: Arc<Merklizer>,
    /// The program window and the credential dates are read from it.
    clock: SharedClock,
}

/// One credential to build: everything the request resolved, owned.
struct Recipe {
    email: Email,
    user: Option<User>,
    issuer: Issuer,
    program: Program,
    schema: Schema,
    subject: Map<String, Value>,
    signer: Arc<IssuerSigner>,
}

/// Issuers by DID, programs and schemas as issuance last read them.
///
/// Every issuance needs all three; read from the store each time they were three of its five
/// round trips. None of what issuance reads of them can change: the store has no update or
/// delete for issuers, a program's draft or a schema's attributes (the catalog visibility of
/// programs and schemas is mutable, and issuance does not read it). So a remembered record is
/// never stale, on this instance or beside others on the same database ([`ImmutableCache`]);
/// an unknown one is not remembered, and is found once created. The partner is still read
/// every time: its features and allowed schemas change.
struct Records {
    issuers: ImmutableCache<String, Issuer>,
    programs: ImmutableCache<ProgramId, Program>,
    schemas: ImmutableCache<crate::SchemaId, Schema>,
}

/// Records of each kind remembered per generation (two generations at most).
const RECORDS_PER_GENERATION: usize = 1024;

impl Default for Records {
    fn default() -> Self {
        Records {
            issuers: ImmutableCache::new(RECORDS_PER_GENERATION),
            programs: ImmutableCache::new(RECORDS_PER_GENERATION),
            schemas: ImmutableCache::new(RECORDS_PER_GENERATION),
        }
    }
}

/// A built credential and the user row it is for.
struct Minted {
    user: NewUser,
    built: Built,
}

impl Issuance {
    pub fn new(
        store: Arc<dyn Store>,
        master_key: MasterKey,
        did: DidSettings,
        public_url: String,
        merklizer: Arc<Merklizer>,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Issuance {
            store,
            minter: Arc::new(Minter {
                master_key,
                did,
                public_url: public_url.trim_end_matches('/').to_owned(),
                merklizer,
                clock: SystemClock::shared(),
            }),
            cpu: Arc::new(tokio::sync::Semaphore::new(cores)),
            signers: RwLock::new(HashMap::new()),
            contexts: RwLock::new(Default::default()),
            interactive: Arc::default(),
            records: Records::default(),
        }
    }

    /// Reads time from `clock` instead of the system clock (the binary passes its clock, tests
    /// a `ManualClock`).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        Arc::make_mut(&mut self.minter).clock = clock;
        self
    }

    pub fn merklizer(&self) -> &Arc<Merklizer> {
        &self.minter.merklizer
    }

    /// How busy interactive issuance ([`Issuance::issue`]) is right now.
    pub fn interactive(&self) -> &Arc<crate::load::InteractiveLoad> {
        &self.interactive
    }

    /// Issues a credential for `email` on behalf of `partner`.
    pub async fn issue(
        &self,
        partner_id: PartnerId,
        email: &str,
        req: IssueRequest,
        idempotency: Option<(String, String)>,
    ) -> Result<IssueResponse, IssueError> {
        // Counted while it runs, so that background work gives way (`crate::load`).
        let _interactive = self.interactive.enter();
        self.issue_detailed(partner_id, email, req, idempotency)
            .await
            .map(|(resp, _)| resp)
    }

    /// [`Issuance::issue`], also saying whether a credential was issued or an existing one
    /// answered (bulk issuance counts them apart).
    pub async fn issue_detailed(
        &self,
        partner_id: PartnerId,
        email: &str,
        req: IssueRequest,
        idempotency: Option<(String, String)>,
    ) -> Result<(IssueResponse, IssueKind), IssueError> {
        // 1. Feature.
        let partner = self
            .store
            .partner(partner_id)
            .await?
            .ok_or_else(|| IssueError::Forbidden("issueOnBehalf is not allowed".into()))?;
        if !partner.has_feature(Feature::IssueOnBehalf) {
            return Err(IssueError::Forbidden("issueOnBehalf is not allowed".into()));
        }
        // 2. Issuer, program, schema — another partner's issuer is "unknown", not "forbidden".
        let (issuer, program, schema) = self.resolve(&partner, &req).await?;
        // 3. Window (the cap is enforced in the commit).
        program
            .check_window(self.minter.clock.now())
            .map_err(|e| IssueError::Forbidden(e.to_string()))?;
        // 4. Subject.
        schema.validate_subject(&req.credential_subject)?;
        // 5. User.
        let email = Email::parse(email)?;
        let mut user = self.store.user_by_email(&email).await?;

        // Consent and duplicate answered before building and signing anything, with the rules
        // of the commit (which decides again, authoritatively, inside its transaction).
        if let Some(u) = &user {
            let consent = self
                .store
                .consent_status(u.user_uuid, partner.partner_id)
                .await?;
            if !ConsentStatus::allows_issuance(consent) {
                return Err(IssueError::Conflict(CONSENT_REJECTED.into()));
            }
            // With an idempotency key the commit decides: a retried request whose first attempt
            // issued must replay that answer, not find its own credential as a duplicate.
            if req.on_duplicate == OnDuplicate::Ignore && idempotency.is_none() {
                if let Some(c) = self
                    .store
                    .live_credential(&program.credential_id, u.user_uuid)
                    .await?
                {
                    if let Some(IssueOutcome::Existing { core_claim_hash }) =
                        commit::on_live_duplicate(req.on_duplicate, &c.core_claim_hash)
                    {
                        return Ok((
                            response(&core_claim_hash, &program.credential_id, u.user_uuid),
                            IssueKind::Existing,
                        ));
                    }
                }
            }
        }

        let signer = self.signer(&issuer).await?;
        // Bounded: each retry follows a concurrent change (user created, nonce taken) or a
        // transaction the database rolled back to break a race (deadlock, serialization).
        let mut contended = None;
        for _ in 0..5 {
            let Minted {
                user: new_user,
                built,
            } = self
                .mint(Recipe {
                    email: email.clone(),
                    user: user.clone(),
                    issuer: issuer.clone(),
                    program: program.clone(),
                    schema: schema.clone(),
                    subject: req.credential_subject.clone(),
                    signer: signer.clone(),
                })
                .await?;
            let user_id = new_user.user_id;
            let resp = response(&built.core_claim_hash, &program.credential_id, user_id);
            let response_json =
                serde_json::to_string(&resp).map_err(|e| IssueError::Internal(e.to_string()))?;
            let commit = IssueCommit {
                user: new_user,
                on_duplicate: req.on_duplicate,
                idempotency: idempotency.clone(),
                credential: CredentialRecord {
                    core_claim_hash: built.core_claim_hash.clone(),
                    vc_id: built.vc_id,
                    partner_id: partner.partner_id,
                    issuer_id: issuer.issuer_id,
                    issuer_did: issuer.issuer_did.clone(),
                    program_id: program.credential_id.clone(),
                    schema_id: schema.schema_id,
                    user_id,
                    revocation_nonce: built.nonce,
                    status: CredentialStatus::WaitOnchain,
                    issuance_date: built.issuance_date,
                    expiration_date: built.expiration_date,
                    core_claim: built.core_claim_hex,
                    document: built.document,
                    tx_hash: None,
                    block_number: None,
                    identity_state: None,
                },
                response: response_json,
                at: self.minter.clock.now(),
            };
            let outcome = match self.store.commit_issuance(commit).await {
                Ok(outcome) => outcome,
                // Nothing of it was kept: the same issuance again.
                Err(StoreError::Contended(why)) => {
                    contended = Some(why);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            match outcome {
                IssueOutcome::Issued => return Ok((resp, IssueKind::Issued)),
                IssueOutcome::Existing { core_claim_hash } => {
                    return Ok((
                        IssueResponse {
                            core_claim_hash,
                            ..resp
                        },
                        IssueKind::Existing,
                    ))
                }
                // Only an issuance is remembered under its key, so a replay is one.
                IssueOutcome::Replay { response } => {
                    return serde_json::from_str(&response)
                        .map(|r| (r, IssueKind::Issued))
                        .map_err(|e| {
                            IssueError::Internal(format!("stored idempotent answer: {e}"))
                        })
                }
                IssueOutcome::ConsentRejected => {
                    return Err(IssueError::Conflict(CONSENT_REJECTED.into()))
                }
                IssueOutcome::CapReached => {
                    return Err(IssueError::Forbidden(
                        crate::program::ProgramClosed::CapReached.to_string(),
                    ))
                }
                IssueOutcome::IdempotencyConflict => {
                    return Err(IssueError::Conflict(
                        "Idempotency-Key was already used with a different request".into(),
                    ))
                }
                IssueOutcome::UserChanged(u) => user = Some(u),
                IssueOutcome::NonceTaken => {}
            }
        }
        Err(match contended {
            // Still racing after every retry: a 503, retryable like an unreachable database.
            Some(why) => IssueError::Store(StoreError::Contended(why)),
            None => {
                IssueError::Internal("issuance kept conflicting with concurrent requests".into())
            }
        })
    }

    async fn resolve(
        &self,
        partner: &Partner,
        req: &IssueRequest,
    ) -> Result<(Issuer, Program, Schema), IssueError> {
        let not_found = || IssueError::NotFound(NOT_FOUND.into());
        let records = &self.records;
        let issuer = records
            .issuers
            .get_or_fetch(&req.issuer_did, || {
                self.store.issuer_by_did(&req.issuer_did)
            })
            .await?
            .filter(|i| i.partner_id == partner.partner_id)
            .ok_or_else(not_found)?;
        let program = records
            .programs
            .get_or_fetch(&req.credential_id, || {
                self.store.program(&req.credential_id)
            })
            .await?
            .filter(|p| p.draft.issuer_did == issuer.issuer_did)
            .ok_or_else(not_found)?;
        let schema = records
            .schemas
            .get_or_fetch(&program.draft.schema_id, || async {
                self.store.program_schema(&program).await.map(Some)
            })
            .await?
            .ok_or_else(|| StoreError::Internal("program without schema".into()))?;
        if !partner.allows_schema(schema.schema_id) {
            return Err(IssueError::Forbidden(
                "Schema not allowed for this partner".into(),
            ));
        }
        self.ensure_context(&schema)?;
        Ok((issuer, program, schema))
    }

    /// Registers the schema's generated context with the merklizer (once per schema).
    fn ensure_context(&self, schema: &Schema) -> Result<(), IssueError> {
        if self
            .contexts
            .read()
            .expect("lock")
            .contains(&schema.schema_id)
        {
            return Ok(());
        }
        let url = jsonld_context_url(&self.minter.public_url, schema.schema_id);
        self.minter
            .merklizer
            .register_context(&url, &schema.jsonld_context().to_string())
            .map_err(|e| IssueError::Internal(format!("schema context: {e}")))?;
        self.contexts
            .write()
            .expect("lock")
            .insert(schema.schema_id);
        Ok(())
    }

    async fn signer(&self, issuer: &Issuer) -> Result<Arc<IssuerSigner>, IssueError> {
        if let Some(s) = self.signers.read().expect("lock").get(&issuer.issuer_id) {
            return Ok(s.clone());
        }
        let sealed = self
            .store
            .issuer_keys(issuer.issuer_id)
            .await?
            .ok_or_else(|| IssueError::Internal("issuer without keys".into()))?;
        let key = sealed
            .open_bjj(&self.minter.master_key, issuer.issuer_id)
            .map_err(IssueError::Internal)?;
        let onboarding = identity::onboarding_state(&key).map_err(IssueError::Internal)?;
        let signer = Arc::new(IssuerSigner { onboarding, key });
        self.signers
            .write()
            .expect("lock")
            .insert(issuer.issuer_id, signer.clone());
        Ok(signer)
    }

    /// Builds the credential on the CPU threads, at most one per core at a time.
    async fn mint(&self, recipe: Recipe) -> Result<Minted, IssueError> {
        let permit = self
            .cpu
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| IssueError::Internal(format!("build slots closed: {e}")))?;
        let minter = self.minter.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            minter.mint(&recipe)
        })
        .await
        .map_err(|e| IssueError::Internal(format!("credential build failed: {e}")))?
    }
}

impl Minter {
    /// The user row to commit and the holder DID to put in the credential.
    fn holder_for(
        &self,
        email: &Email,
        user: Option<&User>,
    ) -> Result<(NewUser, String), IssueError> {
        if let Some(User {
            user_uuid,
            holder_did: Some(did),
            ..
        }) = user
        {
            // Existing holder: the commit only checks it is unchanged.
            return Ok((
                NewUser {
                    user_id: *user_uuid,
                    email: email.clone(),
                    holder_did: did.clone(),
                    holder_key: vec![],
                },
                did.clone(),
            ));
        }
        let user_id = user.map(|u| u.user_uuid).unwrap_or_else(UserId::new_random);
        let holder = HolderIdentity::generate(&self.did).map_err(IssueError::Internal)?;
        let sealed = self
            .master_key
            .seal(&holder_key_label(user_id), holder.seed());
        Ok((
            NewUser {
                user_id,
                email: email.clone(),
                holder_did: holder.did.clone(),
                holder_key: sealed,
            },
            holder.did,
        ))
    }

    /// Builds and signs the credential of `r` (blocking: CPU work only).
    fn mint(&self, r: &Recipe) -> Result<Minted, IssueError> {
        let (user, holder_did) = self.holder_for(&r.email, r.user.as_ref())?;
        let built = self.build(r, &holder_did)?;
        Ok(Minted { user, built })
    }

    fn build(&self, r: &Recipe, holder_did: &str) -> Result<Built, IssueError> {
        let Recipe {
            issuer,
            program,
            schema,
            subject,
            signer,
            ..
        } = r;
        let now = self.clock.now();
        // Millisecond precision: the VC prints milliseconds and the database keeps them.
        let issuance_date = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        let expiration_date = program.expiration_for(issuance_date);
        let nonce = rand::thread_rng().gen_range(1..=MAX_NONCE);
        let vc_id = format!("urn:{}", uuid::Uuid::new_v4());
        let mut vc = credential_document(&CredentialFields {
            vc_id: &vc_id,
            context_url: &jsonld_context_url(&self.public_url, schema.schema_id),
            schema_url: &json_schema_url(&self.public_url, schema.schema_id),
            type_name: &schema.type_name,
            issuance_date,
            expiration_date,
            holder_did,
            subject,
            status_base: &format!(
                "{}/v1/{}/claims/revocation/status",
                self.public_url, issuer.issuer_did
            ),
            nonce,
            issuer_did: &issuer.issuer_did,
        });
        let merklized = self.merklizer.merklize(&vc).map_err(|e| {
            IssueError::Invalid(DomainError::invalid("credentialSubject", e.to_string()))
        })?;
        let registry = DidRegistry::default();
        let holder_id = registry
            .id_from_did(holder_did)
            .map_err(|e| IssueError::Internal(format!("holder DID: {e}")))?;
        let mut claim = Claim::new(SchemaHash::from_type_iri(&schema.type_iri()));
        claim.set_index_id(&holder_id);
        claim.set_index_merklized_root(merklized.root());
        claim.set_expiration(expiration_date.map(|e| e.timestamp().max(0) as u64));
        claim.set_revocation_nonce(nonce);
        vc["proof"] = json!([signer.onboarding.signature_proof(
            &self.public_url,
            &issuer.issuer_did,
            &claim,
            &signer.key
        )]);
        Ok(Built {
            core_claim_hash: claim.core_claim_hash_hex(),
            core_claim_hex: claim.to_hex(),
            document: vc.to_string(),
            vc_id,
            nonce,
            issuance_date,
            expiration_date,
        })
    }
}

struct Built {
    core_claim_hash: String,
    core_claim_hex: String,
    document: String,
    vc_id: String,
    nonce: u64,
    issuance_date: DateTime<Utc>,
    expiration_date: Option<DateTime<Utc>>,
}

pub fn holder_key_label(user: UserId) -> String {
    format!("user-bjj-key:{user}")
}

fn response(hash: &str, program: &ProgramId, user: UserId) -> IssueResponse {
    IssueResponse {
        core_claim_hash: hash.to_owned(),
        credential_id: program.to_string(),
        user_uuid: user.to_string(),
    }
}

/// What varies between credentials of one schema.
pub struct CredentialFields<'a> {
    pub vc_id: &'a str,
    pub context_url: &'a str,
    pub schema_url: &'a str,
    pub type_name: &'a str,
    pub issuance_date: DateTime<Utc>,
    pub expiration_date: Option<DateTime<Utc>>,
    pub holder_did: &'a str,
    pub subject: &'a Map<String, Value>,
    pub status_base: &'a str,
    pub nonce: u64,
    pub issuer_did: &'a str,
}

/// The VC without proofs, in the key order js-sdk emits (credential-shape.md).
pub fn credential_document(f: &CredentialFields) -> Value {
    let mut subject = Map::new();
    subject.insert("id".into(), json!(f.holder_did));
    for (k, v) in f.subject {
        subject.insert(k.clone(), v.clone());
    }
    subject.insert("type".into(), json!(f.type_name));
    let mut vc = Map::new();
    vc.insert("id".into(), json!(f.vc_id));
    vc.insert(
        "@context".into(),
        json!([W3C_CREDENTIALS_V1, IDEN3_PROOFS, f.context_url]),
    );
    vc.insert("type".into(), json!(["VerifiableCredential", f.type_name]));
    if let Some(exp) = f.expiration_date {
        vc.insert("expirationDate".into(), json!(iso_millis(exp)));
    }
    vc.insert("issuanceDate".into(), json!(iso_millis(f.issuance_date)));
    vc.insert("credentialSubject".into(), Value::Object(subject));
    vc.insert(
        "credentialStatus".into(),
        json!({
            "id": format!("{}/{}", f.status_base, f.nonce),
            "type": "SparseMerkleTreeProof",
            "revocationNonce": f.nonce
        }),
    );
    vc.insert("issuer".into(), json!(f.issuer_did));
    vc.insert(
        "credentialSchema".into(),
        json!({"id": f.schema_url, "type": "JsonSchema2023"}),
    );
    Value::Object(vc)
}

/// `2026-11-25T22:20:26.285Z`, as JavaScript's `toISOString`.
pub fn iso_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
