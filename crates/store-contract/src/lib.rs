//! The behaviour every claimd storage backend must have.
//!
//! Each function takes a freshly migrated, empty store and panics (with a message) on the
//! first difference from the contract. `claimd-store-sqlite` and `claimd-store-postgres` call
//! every function from their own tests, so the two backends cannot drift apart.

mod bulk;
mod catalog;
mod publication;
mod publishing;
mod webhooks;
pub use bulk::bulk;
pub use catalog::{catalog, catalog_verifications};
pub use publication::publication;
pub use publishing::publishing;
pub use webhooks::{credential_history, webhook_expiry, webhooks};

use claimd_core::issuer::SealedIssuerKeys;
use claimd_core::page::PageRequest;
use claimd_core::partner::{Feature, KeySource, PartnerChanges, PartnerDraft, TokenRules};
use claimd_core::program::ProgramDraft;
use claimd_core::schema::{Attribute, AttributeType, SchemaDraft};
use claimd_core::store::{IssuerRecord, Store, StoreError};
use claimd_core::user::{ConsentDraft, ConsentStatus, Email};
use claimd_core::{IssuerId, PartnerId, ProgramId, SchemaId, UserId};
use serde_json::json;

pub fn partner_draft(name: &str) -> PartnerDraft {
    PartnerDraft {
        name: name.to_owned(),
        key_source: KeySource::JwksUrl("https://partner.example/.well-known/jwks.json".into()),
        features: vec![Feature::IssueOnBehalf],
        allowed_schema_ids: None,
        token_rules: TokenRules::default(),
    }
}

pub fn schema_draft() -> SchemaDraft {
    SchemaDraft {
        title: "Membership".into(),
        type_name: "Membership".into(),
        version: "1.0".into(),
        description: "d".into(),
        attributes: vec![
            Attribute {
                name: "age".into(),
                kind: AttributeType::Integer,
                title: Some("Age".into()),
                description: None,
                required: true,
            },
            Attribute {
                name: "city".into(),
                kind: AttributeType::String,
                title: None,
                description: Some("where".into()),
                required: false,
            },
        ],
    }
}

pub fn issuer_record(partner: PartnerId, n: u8) -> IssuerRecord {
    IssuerRecord {
        issuer_id: IssuerId::new_random(),
        partner_id: partner,
        name: format!("issuer {n}"),
        issuer_did: format!("did:air:id:test:contract{n}"),
        eth_address: format!("0x{:040x}", n),
        keys: SealedIssuerKeys {
            eth_key: vec![1, 2, n],
            bjj_key: vec![4, 5, n],
        },
    }
}

/// `update_partner` of a partner that exists: the partner as it is now.
async fn changed_partner(
    store: &dyn Store,
    id: PartnerId,
    changes: PartnerChanges,
) -> claimd_core::partner::Partner {
    store
        .update_partner(id, changes)
        .await
        .unwrap()
        .expect("partner exists")
}

/// Partners' token rules: stored on create, patched field by field (`Some(None)` clears a
/// binding, absent leaves it), and a partner created without them is unbound and enabled.
pub async fn partner_token_rules(store: &dyn Store) {
    let plain = store.create_partner(partner_draft("Plain")).await.unwrap();
    assert_eq!(plain.token_rules, TokenRules::default());
    assert!(plain.token_rules.enabled);

    let rules = TokenRules {
        audience: Some("https://claimd.example".into()),
        issuer: Some("acme-backend".into()),
        require_jti: true,
        enabled: false,
    };
    let bound = store
        .create_partner(PartnerDraft {
            token_rules: rules.clone(),
            ..partner_draft("Bound")
        })
        .await
        .unwrap();
    assert_eq!(bound.token_rules, rules);
    assert_eq!(
        store
            .partner(bound.partner_id)
            .await
            .unwrap()
            .unwrap()
            .token_rules,
        rules
    );

    let enabled = changed_partner(
        store,
        bound.partner_id,
        PartnerChanges {
            enabled: Some(true),
            audience: Some(None),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        enabled.token_rules,
        TokenRules {
            audience: None,
            enabled: true,
            ..rules.clone()
        },
        "only the fields given change"
    );
    let patched = changed_partner(
        store,
        bound.partner_id,
        PartnerChanges {
            issuer: Some(None),
            require_jti: Some(false),
            audience: Some(Some("aud-2".into())),
            name: Some("Renamed".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        patched.token_rules,
        TokenRules {
            audience: Some("aud-2".into()),
            issuer: None,
            require_jti: false,
            enabled: true,
        }
    );
    // Another partner is untouched, and listing returns the stored rules.
    assert_eq!(
        store
            .partner(plain.partner_id)
            .await
            .unwrap()
            .unwrap()
            .token_rules,
        TokenRules::default()
    );
    let listed = store
        .list_partners(PageRequest::new(Some(1), Some(100)).unwrap())
        .await
        .unwrap();
    let found = listed
        .items
        .iter()
        .find(|p| p.partner_id == bound.partner_id)
        .unwrap();
    assert_eq!(found.token_rules, patched.token_rules);
}

/// Partners: create, read, patch (including clearing the schema allow-list), list, 404s.
pub async fn partners(store: &dyn Store) {
    let p = store.create_partner(partner_draft("Acme")).await.unwrap();
    assert_eq!(p.name, "Acme");
    assert_eq!(p.features, vec![Feature::IssueOnBehalf]);
    assert_eq!(store.partner(p.partner_id).await.unwrap(), Some(p.clone()));
    assert!(store
        .partner(PartnerId::new_random())
        .await
        .unwrap()
        .is_none());

    let schema = SchemaId::new_random();
    let jwks = json!({"keys": [{"kty": "EC", "kid": "k1"}]});
    let changed = changed_partner(
        store,
        p.partner_id,
        PartnerChanges {
            name: Some("Acme 2".into()),
            key_source: Some(KeySource::Inline(jwks.clone())),
            features: Some(vec![]),
            allowed_schema_ids: Some(Some(vec![schema])),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(changed.name, "Acme 2");
    assert_eq!(changed.jwks_url, None);
    assert_eq!(changed.jwks, Some(jwks));
    assert!(changed.features.is_empty());
    assert_eq!(changed.allowed_schema_ids, Some(vec![schema]));
    assert!(changed.allows_schema(schema));
    assert!(!changed.allows_schema(SchemaId::new_random()));
    assert!(changed.updated_at >= p.updated_at);

    let cleared = changed_partner(
        store,
        p.partner_id,
        PartnerChanges {
            allowed_schema_ids: Some(None),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(cleared.allowed_schema_ids, None);
    assert_eq!(cleared.name, "Acme 2", "absent fields are left alone");
    assert!(store
        .update_partner(PartnerId::new_random(), PartnerChanges::default())
        .await
        .unwrap()
        .is_none());

    for i in 0..4 {
        store
            .create_partner(partner_draft(&format!("p{i}")))
            .await
            .unwrap();
    }
    let page1 = store
        .list_partners(PageRequest::new(Some(1), Some(2)).unwrap())
        .await
        .unwrap();
    assert_eq!((page1.items.len(), page1.total), (2, 5));
    let page3 = store
        .list_partners(PageRequest::new(Some(3), Some(2)).unwrap())
        .await
        .unwrap();
    assert_eq!(page3.items.len(), 1);
    let all = store
        .list_partners(PageRequest::new(Some(1), Some(10)).unwrap())
        .await
        .unwrap();
    assert_eq!(all.items[0].partner_id, p.partner_id, "listed oldest first");
}

/// Schemas, issuers and programs, with their references checked.
pub async fn registry(store: &dyn Store) {
    let partner = store.create_partner(partner_draft("Acme")).await.unwrap();
    let schema = store.create_schema(schema_draft()).await.unwrap();
    assert_eq!(schema.attributes, schema_draft().attributes);
    assert_eq!(
        store.schema(schema.schema_id).await.unwrap(),
        Some(schema.clone())
    );
    assert!(store
        .schema(SchemaId::new_random())
        .await
        .unwrap()
        .is_none());

    let rec = issuer_record(partner.partner_id, 1);
    let issuer = store.create_issuer(rec.clone()).await.unwrap();
    assert_eq!(issuer.issuer_did, rec.issuer_did);
    assert_eq!(
        store.issuer(issuer.issuer_id).await.unwrap(),
        Some(issuer.clone())
    );
    assert_eq!(
        store.issuer_by_did(&rec.issuer_did).await.unwrap(),
        Some(issuer.clone())
    );
    assert_eq!(
        store.issuer_keys(issuer.issuer_id).await.unwrap(),
        Some(rec.keys.clone())
    );
    assert!(store.issuer_by_did("did:nope").await.unwrap().is_none());
    match store
        .create_issuer(issuer_record(PartnerId::new_random(), 2))
        .await
    {
        Err(StoreError::NotFound("partner")) => {}
        other => panic!("issuer of unknown partner: {other:?}"),
    }
    let mut dup = issuer_record(partner.partner_id, 1);
    dup.issuer_id = IssuerId::new_random();
    assert!(
        matches!(store.create_issuer(dup).await, Err(StoreError::Conflict(_))),
        "a DID is unique"
    );

    let from = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00.123Z")
        .unwrap()
        .to_utc();
    let draft = ProgramDraft {
        issuer_did: rec.issuer_did.clone(),
        schema_id: schema.schema_id,
        name: "Members".into(),
        accessible_from: Some(from),
        accessible_until: None,
        max_issuance: Some(10),
        expiration_days: Some(365),
    };
    let id = ProgramId::new_random();
    let program = store
        .create_program(id.clone(), draft.clone())
        .await
        .unwrap();
    assert_eq!(program.credential_id, id);
    assert_eq!(program.draft.issuer_did, rec.issuer_did);
    assert_eq!(program.draft.accessible_from, Some(from));
    assert_eq!(program.draft.max_issuance, Some(10));
    assert_eq!(program.draft.expiration_days, Some(365));
    assert_eq!(store.program(&id).await.unwrap(), Some(program));
    assert!(store
        .program(&ProgramId::new_random())
        .await
        .unwrap()
        .is_none());

    let mut bad = draft.clone();
    bad.issuer_did = "did:nope".into();
    assert!(matches!(
        store.create_program(ProgramId::new_random(), bad).await,
        Err(StoreError::NotFound("issuer"))
    ));
    let mut bad = draft;
    bad.schema_id = SchemaId::new_random();
    assert!(matches!(
        store.create_program(ProgramId::new_random(), bad).await,
        Err(StoreError::NotFound("schema"))
    ));

    let p = PageRequest::default();
    assert_eq!(store.list_schemas(p).await.unwrap().total, 1);
    assert_eq!(store.list_issuers(p).await.unwrap().total, 1);
    assert_eq!(store.list_programs(p).await.unwrap().total, 1);
}

/// `set_consent` of `status` for `email` (as written) towards `partner`, at `at`.
async fn set_consent(
    store: &dyn Store,
    email: &str,
    partner: PartnerId,
    status: ConsentStatus,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<claimd_core::user::Consent, StoreError> {
    let draft = ConsentDraft {
        email: Email::parse(email).unwrap(),
        partner_id: partner,
        status,
    };
    store.set_consent(draft, at).await
}

/// Consent creates the user on first sight and is updated in place afterwards.
pub async fn consent(store: &dyn Store) {
    let partner = store.create_partner(partner_draft("Acme")).await.unwrap();
    let acme = partner.partner_id;
    let holder = "Holder@Example.com";
    let email = Email::parse(holder).unwrap();
    assert!(store.user_by_email(&email).await.unwrap().is_none());

    let at = now_ms();
    let c = set_consent(store, holder, acme, ConsentStatus::Rejected, at)
        .await
        .unwrap();
    assert_eq!(c.status, ConsentStatus::Rejected);
    assert_eq!(c.updated_at, at, "stamped with the caller's time");
    assert_eq!(c.email.as_str(), "holder@example.com");
    let user = store.user_by_email(&email).await.unwrap().expect("created");
    assert_eq!(user.user_uuid, c.user_uuid);

    let later = at + chrono::Duration::minutes(5);
    let c2 = set_consent(store, holder, acme, ConsentStatus::Granted, later)
        .await
        .unwrap();
    assert_eq!(c2.status, ConsentStatus::Granted);
    assert_eq!(c2.updated_at, later);
    assert_eq!(
        store.consent_status(c2.user_uuid, acme).await.unwrap(),
        Some(ConsentStatus::Granted)
    );
    assert_eq!(
        store
            .consent_status(c2.user_uuid, PartnerId::new_random())
            .await
            .unwrap(),
        None
    );
    assert_eq!(c2.user_uuid, user.user_uuid, "same user");
    let p = PageRequest::default();
    assert_eq!(store.list_users(p).await.unwrap().total, 1);
    assert_eq!(store.list_consents(p).await.unwrap().total, 1);

    let unknown = PartnerId::new_random();
    match set_consent(store, holder, unknown, ConsentStatus::Granted, now_ms()).await {
        Err(StoreError::NotFound("partner")) => {}
        other => panic!("consent for unknown partner: {other:?}"),
    }
}

/// `ping` answers on a healthy store, and the store names the backend it is connected to:
/// each adapter's test passes the backend its database really is (`expected`), so an adapter
/// reporting another backend's name fails.
pub async fn health(store: &dyn Store, expected: &str) {
    store.ping().await.unwrap();
    assert_eq!(store.backend(), expected);
}

/// Now, at the millisecond (what both backends keep).
fn now_ms() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap()
}

pub(crate) fn record(
    partner: PartnerId,
    issuer: &claimd_core::issuer::Issuer,
    program: &claimd_core::program::Program,
    user: claimd_core::UserId,
    nonce: u64,
) -> claimd_core::credential::CredentialRecord {
    let now = now_ms();
    claimd_core::credential::CredentialRecord {
        core_claim_hash: format!("{}{:032x}", user.0.simple(), nonce),
        vc_id: format!("urn:{}-{nonce}", user.0.simple()),
        partner_id: partner,
        issuer_id: issuer.issuer_id,
        issuer_did: issuer.issuer_did.clone(),
        program_id: program.credential_id.clone(),
        schema_id: program.draft.schema_id,
        user_id: user,
        revocation_nonce: nonce,
        status: claimd_core::credential::CredentialStatus::WaitOnchain,
        issuance_date: now,
        expiration_date: Some(now + chrono::Duration::days(1)),
        core_claim: "00".repeat(256),
        document: format!("{{\"id\":\"urn:{nonce}\"}}"),
        tx_hash: None,
        block_number: None,
        identity_state: None,
    }
}

pub(crate) fn commit(
    email: &str,
    user: claimd_core::UserId,
    credential: claimd_core::credential::CredentialRecord,
    on_duplicate: claimd_core::store::OnDuplicate,
    idempotency: Option<(&str, &str)>,
) -> claimd_core::store::IssueCommit {
    claimd_core::store::IssueCommit {
        user: claimd_core::store::NewUser {
            user_id: user,
            email: Email::parse(email).unwrap(),
            holder_did: format!("did:holder:{user}"),
            holder_key: vec![7; 8],
        },
        on_duplicate,
        idempotency: idempotency.map(|(k, h)| (k.to_owned(), h.to_owned())),
        response: format!("{{\"coreClaimHash\":\"{}\"}}", credential.core_claim_hash),
        credential,
        at: now_ms(),
    }
}

/// Commits [`commit`]`(email, user, credential, on_duplicate, idempotency)`: the outcome.
pub(crate) async fn issue(
    store: &dyn Store,
    email: &str,
    user: UserId,
    credential: claimd_core::credential::CredentialRecord,
    on_duplicate: claimd_core::store::OnDuplicate,
    idempotency: Option<(&str, &str)>,
) -> claimd_core::store::IssueOutcome {
    store
        .commit_issuance(commit(email, user, credential, on_duplicate, idempotency))
        .await
        .unwrap()
}

/// One credential of `program` for each nonce, each to a new user (`{prefix}{nonce}@example.com`)
/// and `Issued`: the records.
pub(crate) async fn issue_to_new_users(
    store: &dyn Store,
    partner: PartnerId,
    issuer: &claimd_core::issuer::Issuer,
    program: &claimd_core::program::Program,
    prefix: &str,
    nonces: std::ops::RangeInclusive<u64>,
) -> Vec<claimd_core::credential::CredentialRecord> {
    use claimd_core::store::{IssueOutcome, OnDuplicate};
    let mut issued = Vec::new();
    for nonce in nonces {
        let user = UserId::new_random();
        let r = record(partner, issuer, program, user, nonce);
        let email = format!("{prefix}{nonce}@example.com");
        let out = issue(store, &email, user, r.clone(), OnDuplicate::Revoke, None).await;
        assert_eq!(out, IssueOutcome::Issued);
        issued.push(r);
    }
    issued
}

/// A program of `issuer_did` on `schema_id`: open at any time, without cap or expiry.
pub fn program_draft(issuer_did: &str, schema_id: SchemaId, name: &str) -> ProgramDraft {
    ProgramDraft {
        issuer_did: issuer_did.to_owned(),
        schema_id,
        name: name.to_owned(),
        accessible_from: None,
        accessible_until: None,
        max_issuance: None,
        expiration_days: None,
    }
}

/// A new program of [`program_draft`] under a random id: the set-up most tests need, when the
/// program's own fields are not what is tested.
pub(crate) async fn new_program(
    store: &dyn Store,
    issuer_did: &str,
    schema_id: SchemaId,
    name: &str,
) -> claimd_core::program::Program {
    store
        .create_program(
            ProgramId::new_random(),
            program_draft(issuer_did, schema_id, name),
        )
        .await
        .unwrap()
}

/// One issuance transaction: user creation, duplicates (ignore/revoke), consent, cap,
/// idempotency, nonce uniqueness, partner scoping.
pub async fn issuance(store: &dyn Store) {
    use claimd_core::credential::CredentialStatus;
    use claimd_core::store::IssueOutcome;
    use claimd_core::store::OnDuplicate::{Ignore, Revoke};
    use claimd_core::UserId;

    let partner = store.create_partner(partner_draft("Acme")).await.unwrap();
    let other = store.create_partner(partner_draft("Other")).await.unwrap();
    let schema = store.create_schema(schema_draft()).await.unwrap();
    let rec = issuer_record(partner.partner_id, 9);
    let issuer = store.create_issuer(rec.clone()).await.unwrap();
    let mk_program = |max_issuance: Option<u64>| ProgramDraft {
        max_issuance,
        ..program_draft(&rec.issuer_did, schema.schema_id, "p")
    };
    let program = store
        .create_program(ProgramId::new_random(), mk_program(Some(3)))
        .await
        .unwrap();
    let alice = UserId::new_random();
    let p = partner.partner_id;
    let cred = |user, nonce| record(p, &issuer, &program, user, nonce);

    // First credential creates the user.
    let c1 = cred(alice, 1);
    let out = issue(store, "alice@x.io", alice, c1.clone(), Revoke, None).await;
    assert_eq!(out, IssueOutcome::Issued);
    let user = store
        .user_by_email(&Email::parse("alice@x.io").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.user_uuid, alice);
    assert_eq!(user.holder_did, Some(format!("did:holder:{alice}")));
    let stored = store
        .credential_for_partner(&c1.core_claim_hash, p)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, c1, "stored exactly");
    assert!(store
        .credential_for_partner(&c1.core_claim_hash, other.partner_id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .live_credential(&program.credential_id, alice)
            .await
            .unwrap(),
        Some(c1.clone())
    );

    // ignore: nothing new.
    let out = issue(store, "alice@x.io", alice, cred(alice, 2), Ignore, None).await;
    assert_eq!(
        out,
        IssueOutcome::Existing {
            core_claim_hash: c1.core_claim_hash.clone()
        }
    );

    // revoke: the old one waits for removal, the new one is live.
    let c3 = cred(alice, 3);
    let out = issue(store, "alice@x.io", alice, c3.clone(), Revoke, None).await;
    assert_eq!(out, IssueOutcome::Issued);
    let old = store
        .credential_for_partner(&c1.core_claim_hash, p)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.status, CredentialStatus::WaitRemove);
    assert_eq!(
        store
            .live_credential(&program.credential_id, alice)
            .await
            .unwrap()
            .map(|c| c.core_claim_hash),
        Some(c3.core_claim_hash.clone())
    );

    // A nonce is unique per issuer.
    let bob = UserId::new_random();
    // Bob's credential `nonce`, with the idempotency key and request hash `idem`.
    let as_bob = async |nonce: u64, idem: Option<(&str, &str)>| {
        issue(store, "bob@x.io", bob, cred(bob, nonce), Revoke, idem).await
    };
    let out = as_bob(3, None).await;
    assert!(matches!(out, IssueOutcome::NonceTaken), "{out:?}");

    // The same email under another user id: the caller must rebuild for the stored user.
    let out = issue(
        store,
        "ALICE@x.io",
        UserId::new_random(),
        cred(alice, 5),
        Revoke,
        None,
    )
    .await;
    assert!(
        matches!(out, IssueOutcome::UserChanged(ref u) if u.user_uuid == alice),
        "{out:?}"
    );

    // Cap: 2 issued so far, the cap is 3.
    let out = as_bob(6, Some(("k1", "h1"))).await;
    assert_eq!(out, IssueOutcome::Issued);
    let carol = UserId::new_random();
    let out = issue(store, "carol@x.io", carol, cred(carol, 7), Revoke, None).await;
    assert_eq!(out, IssueOutcome::CapReached);

    // Idempotency: same key and hash replays, another hash conflicts.
    let out = as_bob(8, Some(("k1", "h1"))).await;
    assert_eq!(
        out,
        IssueOutcome::Replay {
            response: format!("{{\"coreClaimHash\":\"{}{:032x}\"}}", bob.0.simple(), 6)
        }
    );
    let out = as_bob(9, Some(("k1", "h2"))).await;
    assert_eq!(out, IssueOutcome::IdempotencyConflict);

    // Consent rejected: nothing is issued.
    let program2 = store
        .create_program(ProgramId::new_random(), mk_program(None))
        .await
        .unwrap();
    set_consent(store, "alice@x.io", p, ConsentStatus::Rejected, now_ms())
        .await
        .unwrap();
    let out = issue(
        store,
        "alice@x.io",
        alice,
        record(p, &issuer, &program2, alice, 10),
        Revoke,
        None,
    )
    .await;
    assert_eq!(out, IssueOutcome::ConsentRejected);
    assert!(store
        .live_credential(&program2.credential_id, alice)
        .await
        .unwrap()
        .is_none());

    // An idempotency key lives IDEMPOTENCY_TTL from its first use, judged at the time of the
    // commit: just before, another body still conflicts; from then on the key is free, and
    // answers for the request that took it again.
    use claimd_core::commit::IDEMPOTENCY_TTL;
    let t0 = now_ms();
    let at = |n: u64, t: chrono::DateTime<chrono::Utc>, hash: &str| {
        let mut c = commit(
            "bob@x.io",
            bob,
            record(p, &issuer, &program2, bob, n),
            Revoke,
            Some(("k2", hash)),
        );
        c.at = t;
        c
    };
    let out = store.commit_issuance(at(11, t0, "h1")).await.unwrap();
    assert_eq!(out, IssueOutcome::Issued);
    let almost = t0 + IDEMPOTENCY_TTL - chrono::Duration::seconds(1);
    let out = store.commit_issuance(at(12, almost, "h2")).await.unwrap();
    assert_eq!(out, IssueOutcome::IdempotencyConflict);
    let out = store
        .commit_issuance(at(13, t0 + IDEMPOTENCY_TTL, "h2"))
        .await
        .unwrap();
    assert_eq!(out, IssueOutcome::Issued, "an expired key is free again");
    let out = store
        .commit_issuance(at(
            14,
            t0 + IDEMPOTENCY_TTL * 2 - chrono::Duration::seconds(1),
            "h2",
        ))
        .await
        .unwrap();
    assert_eq!(
        out,
        IssueOutcome::Replay {
            response: format!("{{\"coreClaimHash\":\"{}{:032x}\"}}", bob.0.simple(), 13)
        }
    );
    let written = store
        .credential(&format!("{}{:032x}", bob.0.simple(), 13))
        .await
        .unwrap()
        .expect("issued");
    assert_eq!(written.status, CredentialStatus::WaitOnchain);
}

/// Distinct identity roots for transition tests: `n` to `n + 3`.
fn roots(n: u64) -> claimd_core::store::IdentityRoots {
    claimd_core::store::IdentityRoots {
        claims_root: claimd_iden3::Fr::from_u64(n),
        revocation_root: claimd_iden3::Fr::from_u64(n + 1),
        roots_root: claimd_iden3::Fr::from_u64(n + 2),
        state: claimd_iden3::Fr::from_u64(n + 3),
    }
}

/// A transition of `issuer` from the roots `old` to `new` (see [`roots`]) that carries no
/// credentials and writes no tree nodes: tests add the ones they are about.
fn transition_draft(
    issuer: IssuerId,
    old: Option<u64>,
    new: u64,
) -> claimd_core::store::TransitionDraft {
    claimd_core::store::TransitionDraft {
        issuer_id: issuer,
        old: old.map(roots),
        new: roots(new),
        claims: vec![],
        revocations: vec![],
        nodes: vec![],
    }
}

/// Begins `draft` and confirms it at once, as when the chain accepts the first transaction:
/// the transition's id. For tests about what a confirmed state changes, not about publishing.
async fn publish(
    store: &dyn Store,
    draft: claimd_core::store::TransitionDraft,
    at: &claimd_core::store::Confirmation,
) -> i64 {
    let id = store.begin_transition(draft).await.unwrap();
    store.confirm_transition(id, at).await.unwrap();
    id
}

/// A confirmation in block `block_number`, mined at `1_700_000_000 + block_number`.
fn confirmation(tx_hash: &str, block_number: u64) -> claimd_core::store::Confirmation {
    claimd_core::store::Confirmation {
        tx_hash: tx_hash.into(),
        block_number,
        block_timestamp: 1_700_000_000 + block_number,
    }
}

/// A published state's roots, transaction, block and block time, to compare at once.
fn published_at(
    p: &claimd_core::store::PublishedState,
) -> (claimd_core::store::IdentityRoots, &str, u64, u64) {
    (
        p.roots,
        p.tx_hash.as_str(),
        p.block_number,
        p.block_timestamp,
    )
}

/// A partner, an issuer of it (`issuer_record(_, n)`) and a program of that issuer.
async fn issuer_with_program(
    store: &dyn Store,
    n: u8,
) -> (
    PartnerId,
    claimd_core::issuer::Issuer,
    claimd_core::program::Program,
) {
    let partner = store.create_partner(partner_draft("Acme")).await.unwrap();
    let schema = store.create_schema(schema_draft()).await.unwrap();
    let rec = issuer_record(partner.partner_id, n);
    let issuer = store.create_issuer(rec.clone()).await.unwrap();
    let program = new_program(store, &rec.issuer_did, schema.schema_id, "p").await;
    (partner.partner_id, issuer, program)
}

/// Users written under older normalisation rules, as `(id, stored email)` oldest first. The
/// adapter's test inserts them with its own SQL (no port method writes an address that
/// [`Email::parse`] did not produce) and forgets that the re-normalisation step ran.
pub type LegacyUsers = Vec<(UserId, String)>;

/// The one-off re-normalisation of stored addresses: old forms are rewritten, a row whose
/// normal form belongs to another user is kept and reported (never merged), an address that
/// is no longer valid is kept and reported, and the step runs once.
pub async fn email_renormalisation<F, Fut>(store: &dyn Store, seed_legacy: F)
where
    F: FnOnce(LegacyUsers) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let at = now_ms();
    assert_eq!(store.renormalise_emails(at).await.unwrap(), vec![]);
    let partner = store.create_partner(partner_draft("Acme")).await.unwrap();
    // A user under today's rules who rejected the partner.
    let acme = partner.partner_id;
    let bob = set_consent(store, "bob@example.com", acme, ConsentStatus::Rejected, at)
        .await
        .unwrap();
    let (shouty, zoe, invisible) = (
        UserId::new_random(),
        UserId::new_random(),
        UserId::new_random(),
    );
    seed_legacy(vec![
        (shouty, "BOB@Example.com".into()),
        (zoe, "zoe\u{0308}@bücher.de".into()),
        (invisible, "ca\u{200b}rl@example.com".into()),
    ])
    .await;

    let conflicts = store.renormalise_emails(at).await.unwrap();
    assert_eq!(conflicts.len(), 2, "{conflicts:#?}");
    assert_eq!(conflicts[0].user_uuid, shouty);
    assert_eq!(conflicts[0].other_user_uuid, Some(bob.user_uuid));
    assert_eq!(
        conflicts[0].normalised.as_ref().map(Email::as_str),
        Some("bob@example.com")
    );
    assert_eq!(conflicts[1].user_uuid, invisible);
    assert_eq!(conflicts[1].normalised, None);
    assert_eq!(
        store.email_conflicts().await.unwrap(),
        conflicts,
        "recorded"
    );

    // The old form was rewritten; the colliding rows were kept, not merged.
    let zoe_now = Email::parse("ZOË@BÜCHER.DE").unwrap();
    assert_eq!(zoe_now.as_str(), "zoë@xn--bcher-kva.de");
    let found = store
        .user_by_email(&zoe_now)
        .await
        .unwrap()
        .expect("rewritten");
    assert_eq!(found.user_uuid, zoe);
    let bob_now = store
        .user_by_email(&Email::parse("Bob@EXAMPLE.com").unwrap())
        .await
        .unwrap()
        .expect("bob");
    assert_eq!(bob_now.user_uuid, bob.user_uuid);
    assert_eq!(
        store
            .consent_status(bob_now.user_uuid, partner.partner_id)
            .await
            .unwrap(),
        Some(ConsentStatus::Rejected),
        "the rejected consent still applies to every spelling"
    );
    assert_eq!(
        store
            .list_users(PageRequest::default())
            .await
            .unwrap()
            .total,
        4
    );

    // Done once: a second run finds nothing new and keeps the report.
    assert_eq!(store.renormalise_emails(at).await.unwrap(), vec![]);
    assert_eq!(store.email_conflicts().await.unwrap(), conflicts);
}

/// The operator's listings: counts by status, and pages of credentials newest first, all of
/// them, by program, by user, or both.
pub async fn credential_listings(store: &dyn Store) {
    use claimd_core::credential::CredentialStatus;
    use claimd_core::page::PageRequest;
    use claimd_core::store::OnDuplicate::{Ignore, Revoke};
    use claimd_core::store::{CredentialCounts, CredentialFilter, IssueOutcome};
    use claimd_core::UserId;

    assert_eq!(
        store.credential_counts().await.unwrap(),
        CredentialCounts::default()
    );
    let (partner, issuer, program) = issuer_with_program(store, 21).await;
    let other_program = new_program(store, &issuer.issuer_did, program.draft.schema_id, "q").await;
    let (alice, bob) = (UserId::new_random(), UserId::new_random());
    let t0 = now_ms();
    // Issued one second apart: alice/program, bob/program, alice/other_program.
    let mut hashes = Vec::new();
    for (i, (user, email, prog)) in [
        (alice, "alice@x.io", &program),
        (bob, "bob@x.io", &program),
        (alice, "alice@x.io", &other_program),
    ]
    .into_iter()
    .enumerate()
    {
        let rec = record(partner, &issuer, prog, user, 100 + i as u64);
        hashes.push(rec.core_claim_hash.clone());
        let mut c = commit(email, user, rec, Revoke, None);
        c.at = t0 + chrono::Duration::seconds(i as i64);
        store.commit_issuance(c).await.unwrap();
    }
    assert!(store
        .change_credential_status(
            &hashes[1],
            &[CredentialStatus::WaitOnchain],
            CredentialStatus::WaitRemove,
            t0,
        )
        .await
        .unwrap());
    let counts = store.credential_counts().await.unwrap();
    assert_eq!(
        counts,
        CredentialCounts {
            wait_onchain: 2,
            onchain: 0,
            wait_remove: 1,
            remove: 0
        }
    );
    assert_eq!(counts.issued(), 3);
    let per_minute = store
        .issued_per_minute(t0 - chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(per_minute.iter().map(|(_, n)| n).sum::<u64>(), 3);
    assert!(per_minute.windows(2).all(|w| w[0].0 < w[1].0), "in order");
    assert_eq!(
        per_minute.last().unwrap().0,
        (t0 + chrono::Duration::seconds(2))
            .timestamp()
            .div_euclid(60)
    );
    let later = store
        .issued_per_minute(t0 + chrono::Duration::seconds(2))
        .await
        .unwrap();
    assert_eq!(
        later.iter().map(|(_, n)| n).sum::<u64>(),
        1,
        "since is inclusive"
    );

    let listed = |filter: CredentialFilter, page: u32, limit: u32| async move {
        let p = store
            .list_credentials(&filter, PageRequest::new(Some(page), Some(limit)).unwrap())
            .await
            .unwrap();
        (
            p.total,
            p.items
                .into_iter()
                .map(|c| c.core_claim_hash)
                .collect::<Vec<_>>(),
        )
    };
    let all = CredentialFilter::default();
    assert_eq!(
        listed(all.clone(), 1, 2).await,
        (3, vec![hashes[2].clone(), hashes[1].clone()]),
        "newest first"
    );
    assert_eq!(listed(all, 2, 2).await, (3, vec![hashes[0].clone()]));
    let by_program = CredentialFilter {
        program_id: Some(program.credential_id.clone()),
        user_id: None,
    };
    assert_eq!(
        listed(by_program, 1, 10).await,
        (2, vec![hashes[1].clone(), hashes[0].clone()])
    );
    let by_user = CredentialFilter {
        program_id: None,
        user_id: Some(alice),
    };
    assert_eq!(
        listed(by_user, 1, 10).await,
        (2, vec![hashes[2].clone(), hashes[0].clone()])
    );
    let both = CredentialFilter {
        program_id: Some(other_program.credential_id.clone()),
        user_id: Some(bob),
    };
    assert_eq!(listed(both, 1, 10).await, (0, vec![]));
    let listed_record = store
        .list_credentials(
            &CredentialFilter {
                program_id: Some(other_program.credential_id.clone()),
                user_id: Some(alice),
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        listed_record.items,
        vec![store.credential(&hashes[2]).await.unwrap().unwrap()],
        "a listed credential is the stored record"
    );

    // The counts follow every kind of change, and only committed ones: a replacing issuance
    // (one more WAIT_ONCHAIN, and its predecessor WAIT_REMOVE, in one transaction), an
    // ignored duplicate (nothing), and the publisher's confirmations.
    let replacing = record(partner, &issuer, &other_program, alice, 200);
    let replacing_hash = replacing.core_claim_hash.clone();
    let outcome = issue(store, "alice@x.io", alice, replacing, Revoke, None).await;
    assert!(matches!(outcome, IssueOutcome::Issued), "{outcome:?}");
    let ignored = record(partner, &issuer, &other_program, alice, 201);
    let outcome = issue(store, "alice@x.io", alice, ignored, Ignore, None).await;
    assert!(
        matches!(outcome, IssueOutcome::Existing { .. }),
        "{outcome:?}"
    );
    for (hash, from, to) in [
        (
            &replacing_hash,
            CredentialStatus::WaitOnchain,
            CredentialStatus::Onchain,
        ),
        (
            &hashes[1],
            CredentialStatus::WaitRemove,
            CredentialStatus::Remove,
        ),
    ] {
        assert!(store
            .change_credential_status(hash, &[from], to, t0)
            .await
            .unwrap());
    }
    let counts = store.credential_counts().await.unwrap();
    assert_eq!(
        counts,
        CredentialCounts {
            wait_onchain: 1,
            onchain: 1,
            wait_remove: 1,
            remove: 1
        }
    );
    assert_eq!(
        store
            .list_credentials(&CredentialFilter::default(), PageRequest::default())
            .await
            .unwrap()
            .total,
        4,
        "the unfiltered total is the kept count"
    );
}
