//! The catalog's storage: flags, verification programs, counters kept by the writes that
//! change them, and ranked prefix search — the same on every backend.

use crate::{issue, issuer_record, new_program, partner_draft, record, schema_draft};
use claimd_core::catalog::{Browse, Order, ProgramSort, SchemaSort, SearchQuery};
use claimd_core::credential::CredentialStatus;
use claimd_core::store::OnDuplicate::{Ignore, Revoke};
use claimd_core::store::{IssueOutcome, Store, StoreError};
use claimd_core::verification::{
    AcceptedCredential, PricingModel, VerificationChanges, VerificationDraft,
    VerificationProgramId, Visibility, VisibilityChange,
};
use claimd_core::{ProgramId, SchemaId, UserId};

fn listed() -> VisibilityChange {
    VisibilityChange {
        discoverable: Some(true),
        enabled: None,
    }
}

fn browse<S>(sort: S) -> Browse<S> {
    Browse {
        page: 1,
        limit: 10,
        sort,
        order: Order::Desc,
    }
}

fn search(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        terms: claimd_core::catalog::terms(text),
        page: 1,
        limit: 10,
    }
}

/// (holders, issuances) of a listed issuance program, as its catalog detail shows them.
async fn traction(store: &dyn Store, id: &ProgramId) -> (u64, u64) {
    let d = store.catalog_credential(id).await.unwrap().unwrap();
    (d.traction.holder_count, d.traction.issuance_count)
}

/// (credentials, providers) of the one listed schema's card, browsed by `sort`: the tests that
/// call it list a single schema, whichever sort they browse by.
async fn schema_counts(store: &dyn Store, sort: SchemaSort) -> (u64, u64) {
    let page = store.catalog_schemas(browse(sort)).await.unwrap();
    assert_eq!(page.total, 1);
    (page.items[0].credential_count, page.items[0].provider_count)
}

pub async fn catalog(store: &dyn Store) {
    let partner = store.create_partner(partner_draft("Acme")).await.unwrap();
    let schema = store.create_schema(schema_draft()).await.unwrap();
    assert_eq!(schema.visibility, Visibility::default());
    assert!(!schema.visibility.listed());
    let rec = issuer_record(partner.partner_id, 3);
    let issuer = store.create_issuer(rec.clone()).await.unwrap();
    let rec2 = issuer_record(partner.partner_id, 4);
    store.create_issuer(rec2.clone()).await.unwrap();
    let program = new_program(store, &rec.issuer_did, schema.schema_id, "Gold members").await;
    let other = new_program(store, &rec2.issuer_did, schema.schema_id, "Silver tier").await;

    // Hidden until listed; flags change one at a time; unknown ids are None.
    assert_eq!(
        store
            .catalog_schemas(browse(SchemaSort::CreatedAt))
            .await
            .unwrap()
            .total,
        0
    );
    assert!(store
        .catalog_schema(schema.schema_id)
        .await
        .unwrap()
        .is_none());
    let s = store
        .set_schema_visibility(schema.schema_id, listed())
        .await
        .unwrap()
        .unwrap();
    assert!(s.visibility.listed());
    assert_eq!(
        store
            .schema(schema.schema_id)
            .await
            .unwrap()
            .unwrap()
            .visibility,
        s.visibility
    );
    assert!(store
        .set_schema_visibility(SchemaId::new_random(), listed())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .set_program_visibility(&ProgramId::new_random(), listed())
        .await
        .unwrap()
        .is_none());
    assert_eq!(schema_counts(store, SchemaSort::Title).await, (0, 0));

    // Listing programs moves the schema's counts.
    let p = store
        .set_program_visibility(&program.credential_id, listed())
        .await
        .unwrap()
        .unwrap();
    assert!(p.visibility.listed());
    store
        .set_program_visibility(&other.credential_id, listed())
        .await
        .unwrap();
    assert_eq!(
        schema_counts(store, SchemaSort::CredentialCount).await,
        (2, 2)
    );
    let off = VisibilityChange {
        discoverable: None,
        enabled: Some(false),
    };
    store
        .set_program_visibility(&other.credential_id, off)
        .await
        .unwrap();
    assert_eq!(
        schema_counts(store, SchemaSort::ProviderCount).await,
        (1, 1)
    );
    assert!(store
        .catalog_credential(&other.credential_id)
        .await
        .unwrap()
        .is_none());
    let detail = store
        .catalog_schema(schema.schema_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.credentials.len(), 1);
    assert_eq!(detail.credentials[0].credential_id, program.credential_id);
    assert_eq!(detail.credentials[0].category, "Membership");
    assert_eq!(detail.credentials[0].issuer.issuer_id, issuer.issuer_id);

    // A verification program; its accepted programs must exist.
    let accepted = vec![AcceptedCredential {
        credential_id: program.credential_id.clone(),
        conditions: vec!["age >= 18".into()],
    }];
    let vp_draft = VerificationDraft {
        name: "Adults club".into(),
        description: "entry".into(),
        verifier_name: "Club Verifier".into(),
        verifier_did: "did:web:club.example".into(),
        accepted_credentials: accepted.clone(),
        pricing_model: PricingModel::Free,
        visibility: Visibility::default(),
    };
    let at = chrono::DateTime::from_timestamp_millis(1_790_000_000_123).unwrap();
    let mut bad = vp_draft.clone();
    bad.accepted_credentials[0].credential_id = ProgramId::new_random();
    assert!(matches!(
        store
            .create_verification_program(VerificationProgramId::new_random(), bad, at)
            .await,
        Err(StoreError::NotFound("issuance program"))
    ));
    let id = VerificationProgramId::new_random();
    let vp = store
        .create_verification_program(id.clone(), vp_draft.clone(), at)
        .await
        .unwrap();
    assert_eq!(vp.program_id, id);
    assert_eq!(vp.accepted_credentials, accepted);
    assert_eq!((vp.created_at, vp.updated_at), (at, at));
    assert_eq!(vp.pricing_model, PricingModel::Free);
    assert_eq!(
        store.verification_program(&id).await.unwrap(),
        Some(vp.clone())
    );
    assert!(store
        .verification_program(&VerificationProgramId::new_random())
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .list_verification_programs(Default::default())
            .await
            .unwrap()
            .items,
        vec![vp.clone()]
    );
    // Not listed yet: no demand, not in the catalog.
    // The demand count of the schema's first listed issuance program, as its detail shows it.
    let demand = async || {
        let detail = store.catalog_schema(schema.schema_id).await.unwrap();
        detail.unwrap().credentials[0].traction.demand_count
    };
    assert_eq!(demand().await, 0);
    assert!(store.catalog_program(&id).await.unwrap().is_none());

    let later = at + chrono::Duration::seconds(5);
    let changes = VerificationChanges {
        name: Some("Adults only club".into()),
        visibility: listed(),
        accepted_credentials: Some(vec![
            AcceptedCredential {
                credential_id: program.credential_id.clone(),
                conditions: vec!["age >= 21".into()],
            },
            AcceptedCredential {
                credential_id: other.credential_id.clone(),
                conditions: vec![],
            },
        ]),
        ..Default::default()
    };
    let vp = store
        .update_verification_program(&id, changes, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(vp.name, "Adults only club");
    assert_eq!(vp.updated_at, later);
    assert_eq!(vp.created_at, at);
    assert_eq!(vp.accepted_credentials.len(), 2);
    assert!(store
        .update_verification_program(
            &VerificationProgramId::new_random(),
            Default::default(),
            later
        )
        .await
        .unwrap()
        .is_none());
    assert_eq!(demand().await, 1);
    let programs = store
        .catalog_programs(browse(ProgramSort::Name))
        .await
        .unwrap();
    assert_eq!(programs.total, 1);
    assert_eq!(programs.items[0].credential_count, 2);
    let detail = store.catalog_program(&id).await.unwrap().unwrap();
    // The hidden accepted program is left out.
    assert_eq!(detail.accepted_credentials.len(), 1);
    assert_eq!(
        detail.accepted_credentials[0].verification_conditions,
        ["age >= 21"]
    );
    assert_eq!(detail.verifier_info.verifier_did, "did:web:club.example");
    let cd = store
        .catalog_credential(&program.credential_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cd.programs.len(), 1);
    assert_eq!(cd.programs[0].program_id, id);
    assert_eq!(cd.data_points.len(), 2);
    assert_eq!(cd.issuer.issuer_did, rec.issuer_did);

    // Issuance and revocation move the counters, in their own transactions.
    assert_eq!(traction(store, &program.credential_id).await, (0, 0));
    let (ann, bob) = (UserId::new_random(), UserId::new_random());
    let p = partner.partner_id;
    let a1 = record(p, &issuer, &program, ann, 101);
    let out = issue(store, "ann@x.io", ann, a1.clone(), Revoke, None).await;
    assert_eq!(out, IssueOutcome::Issued);
    let b1 = record(p, &issuer, &program, bob, 102);
    let out = issue(store, "bob@x.io", bob, b1.clone(), Revoke, None).await;
    assert_eq!(out, IssueOutcome::Issued);
    assert_eq!(traction(store, &program.credential_id).await, (2, 2));
    // A duplicate revoked by a new issuance: one more issuance, same holders.
    let a2 = record(p, &issuer, &program, ann, 103);
    let out = issue(store, "ann@x.io", ann, a2, Revoke, None).await;
    assert_eq!(out, IssueOutcome::Issued);
    assert_eq!(traction(store, &program.credential_id).await, (2, 3));
    // A refused issuance (ignore) changes nothing.
    let a3 = record(p, &issuer, &program, ann, 104);
    let out = issue(store, "ann@x.io", ann, a3, Ignore, None).await;
    assert!(matches!(out, IssueOutcome::Existing { .. }));
    assert_eq!(traction(store, &program.credential_id).await, (2, 3));
    // Publication (WAIT_ONCHAIN → ONCHAIN) keeps the holder; revocation drops it, once.
    let at = chrono::Utc::now();
    let live = CredentialStatus::LIVE;
    assert!(store
        .change_credential_status(
            &b1.core_claim_hash,
            &[CredentialStatus::WaitOnchain],
            CredentialStatus::Onchain,
            at
        )
        .await
        .unwrap());
    assert_eq!(traction(store, &program.credential_id).await, (2, 3));
    claimd_core::commit::revoke(store, &b1.core_claim_hash, at)
        .await
        .unwrap();
    assert_eq!(traction(store, &program.credential_id).await, (1, 3));
    claimd_core::commit::revoke(store, &b1.core_claim_hash, at)
        .await
        .unwrap();
    assert!(!store
        .change_credential_status(&b1.core_claim_hash, &live, CredentialStatus::WaitRemove, at)
        .await
        .unwrap());
    assert_eq!(traction(store, &program.credential_id).await, (1, 3));
    let detail = store
        .catalog_schema(schema.schema_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(detail.credentials[0].traction.holder_count, 1);
    assert_eq!(detail.credentials[0].traction.issuance_count, 3);

    // Issuances at once share group transactions, some of whose issuances are refused and
    // rolled back (a second credential for the same user, with `ignore`): the counters follow
    // exactly the kept ones.
    let users: Vec<UserId> = (0..24).map(|_| UserId::new_random()).collect();
    let outcomes = futures::future::join_all(users.iter().enumerate().flat_map(|(i, &u)| {
        let email = format!("many{i}@x.io");
        [200 + 2 * i as u64, 201 + 2 * i as u64].map(|nonce| {
            let c = crate::commit(
                &email,
                u,
                record(p, &issuer, &program, u, nonce),
                claimd_core::store::OnDuplicate::Ignore,
                None,
            );
            store.commit_issuance(c)
        })
    }))
    .await;
    let issued = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(IssueOutcome::Issued)))
        .count() as u64;
    assert_eq!(issued, 24, "one per user: {outcomes:?}");
    assert_eq!(
        traction(store, &program.credential_id).await,
        (1 + 24, 3 + 24)
    );

    // Search: prefixes, visibility, totals, ranking.
    let r = store.catalog_search(&search("gol mem")).await.unwrap();
    assert_eq!(r.credentials.total, 1);
    assert_eq!(r.credentials.items[0].credential_id, program.credential_id);
    assert_eq!(r.credentials.items[0].issuer.issuer_id, issuer.issuer_id);
    assert!(r.credentials.items[0].relevance > 0.0);
    assert_eq!(r.meta.total_results, 1);
    // Silver tier is disabled: not found, and its issuer has nothing listed.
    let r = store.catalog_search(&search("silver")).await.unwrap();
    assert_eq!((r.credentials.total, r.issuers.total), (0, 0));
    let r = store.catalog_search(&search("issu")).await.unwrap();
    assert_eq!(r.issuers.total, 1);
    assert_eq!(r.issuers.items[0].issuer_id, issuer.issuer_id);
    let r = store.catalog_search(&search("club")).await.unwrap();
    assert_eq!(r.programs.total, 1);
    assert_eq!(r.programs.items[0].program_id, id);
    // The schema's title and type, and the program's id, are searched too.
    let r = store.catalog_search(&search("membersh")).await.unwrap();
    assert_eq!(r.credentials.total, 1);
    let r = store
        .catalog_search(&search(&program.credential_id.0[..8]))
        .await
        .unwrap();
    assert_eq!(r.credentials.total, 1);
    // Ranking: the better match first.
    store
        .set_program_visibility(
            &other.credential_id,
            VisibilityChange {
                discoverable: None,
                enabled: Some(true),
            },
        )
        .await
        .unwrap();
    let r = store.catalog_search(&search("silver")).await.unwrap();
    assert_eq!(r.credentials.total, 1);
    let r = store.catalog_search(&search("memb")).await.unwrap();
    assert_eq!(r.credentials.total, 2);
    assert_eq!(
        r.credentials.items[0].credential_id, program.credential_id,
        "name and schema match"
    );
    assert!(r.credentials.items[0].relevance > r.credentials.items[1].relevance);
    // Paging of a group; nothing is syntax.
    let mut q = search("memb");
    (q.page, q.limit) = (2, 1);
    let r = store.catalog_search(&q).await.unwrap();
    assert_eq!((r.credentials.items.len(), r.credentials.total), (1, 2));
    let r = store.catalog_search(&search("\"*) OR (")).await.unwrap();
    assert_eq!(r.meta.total_results, 0);
    let r = store.catalog_search(&search("or")).await.unwrap();
    assert_eq!(r.meta.total_results, 0);
    // A renamed verification program is found by its new name only.
    let rename = VerificationChanges {
        name: Some("Seniors lounge".into()),
        ..Default::default()
    };
    store
        .update_verification_program(&id, rename, later)
        .await
        .unwrap();
    assert_eq!(
        store
            .catalog_search(&search("lounge"))
            .await
            .unwrap()
            .programs
            .total,
        1
    );
    assert_eq!(
        store
            .catalog_search(&search("adults"))
            .await
            .unwrap()
            .programs
            .total,
        0
    );

    // Disabling the verification program takes its demand away.
    let disable = VerificationChanges {
        visibility: off,
        ..Default::default()
    };
    store
        .update_verification_program(&id, disable, later)
        .await
        .unwrap();
    assert_eq!(demand().await, 0);
    assert_eq!(
        store
            .catalog_programs(browse(ProgramSort::CreatedAt))
            .await
            .unwrap()
            .total,
        0
    );
    assert!(store.catalog_program(&id).await.unwrap().is_none());
}

/// Asserts the four places a verification is counted: (verification program's count in
/// browse, in its detail; issuance program's in its detail; the verification program's in the
/// credential detail's `programs[]`). One helper, so that every step checks all four.
async fn assert_verification_counts(
    store: &dyn Store,
    vp: &VerificationProgramId,
    credential: &ProgramId,
    expected: (u64, u64, u64, u64),
) {
    let card = store
        .catalog_programs(browse(ProgramSort::VerificationCount))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|c| &c.program_id == vp)
        .unwrap();
    let detail = store.catalog_program(vp).await.unwrap().unwrap();
    let c = store.catalog_credential(credential).await.unwrap().unwrap();
    let listed = c.programs.iter().find(|p| &p.program_id == vp).unwrap();
    let counts = (
        card.verification_count,
        detail.traction.verification_count,
        c.traction.verification_count,
        listed.verification_count,
    );
    assert_eq!(
        counts, expected,
        "verification counts of {vp:?} accepting {credential:?}"
    );
}

/// Counting a verification: both counts in one transaction, only for an accepted pair.
pub async fn catalog_verifications(store: &dyn Store) {
    let partner = store.create_partner(partner_draft("Acme")).await.unwrap();
    let schema = store.create_schema(schema_draft()).await.unwrap();
    let rec = issuer_record(partner.partner_id, 3);
    store.create_issuer(rec.clone()).await.unwrap();
    let gold = new_program(store, &rec.issuer_did, schema.schema_id, "Gold")
        .await
        .credential_id;
    let silver = new_program(store, &rec.issuer_did, schema.schema_id, "Silver")
        .await
        .credential_id;
    for p in [&gold, &silver] {
        store.set_program_visibility(p, listed()).await.unwrap();
    }
    let at = chrono::DateTime::from_timestamp_millis(1_790_000_000_123).unwrap();
    let vp_of = |name: &str, accepts: &ProgramId| VerificationDraft {
        name: name.into(),
        description: String::new(),
        verifier_name: "Club".into(),
        verifier_did: "did:web:club.example".into(),
        accepted_credentials: vec![AcceptedCredential {
            credential_id: accepts.clone(),
            conditions: vec!["age >= 18".into()],
        }],
        pricing_model: PricingModel::Free,
        visibility: Visibility {
            discoverable: true,
            enabled: true,
        },
    };
    let adults = VerificationProgramId::new_random();
    store
        .create_verification_program(adults.clone(), vp_of("Adults", &gold), at)
        .await
        .unwrap();
    let seniors = VerificationProgramId::new_random();
    store
        .create_verification_program(seniors.clone(), vp_of("Seniors", &gold), at)
        .await
        .unwrap();
    assert_verification_counts(store, &adults, &gold, (0, 0, 0, 0)).await;

    assert!(store.record_verification(&adults, &gold).await.unwrap());
    assert!(store.record_verification(&adults, &gold).await.unwrap());
    assert_verification_counts(store, &adults, &gold, (2, 2, 2, 2)).await;
    // The issuance program counts every program's verifications; each program its own.
    assert!(store.record_verification(&seniors, &gold).await.unwrap());
    assert_verification_counts(store, &seniors, &gold, (1, 1, 3, 1)).await;
    assert_verification_counts(store, &adults, &gold, (2, 2, 3, 2)).await;
    assert_eq!(
        store
            .verification_program(&adults)
            .await
            .unwrap()
            .unwrap()
            .verification_count,
        2
    );

    // Not accepted, or unknown: nothing counted anywhere.
    assert!(!store.record_verification(&adults, &silver).await.unwrap());
    assert!(!store
        .record_verification(&VerificationProgramId::new_random(), &gold)
        .await
        .unwrap());
    assert!(!store
        .record_verification(&adults, &ProgramId::new_random())
        .await
        .unwrap());
    assert_verification_counts(store, &adults, &gold, (2, 2, 3, 2)).await;
    assert_eq!(
        store
            .catalog_credential(&silver)
            .await
            .unwrap()
            .unwrap()
            .traction
            .verification_count,
        0
    );

    // Sorting by the count follows it.
    let top = store
        .catalog_programs(browse(ProgramSort::VerificationCount))
        .await
        .unwrap();
    assert_eq!(top.items[0].program_id, adults);

    // Concurrent verifications all count (atomic increments, no lost update).
    let runs = (0..8).map(|_| store.record_verification(&seniors, &gold));
    for counted in futures::future::join_all(runs).await {
        assert!(counted.unwrap());
    }
    assert_verification_counts(store, &seniors, &gold, (9, 9, 11, 9)).await;

    // Once the program stops accepting it, a verification of it no longer counts.
    let changes = VerificationChanges {
        accepted_credentials: Some(vec![AcceptedCredential {
            credential_id: silver.clone(),
            conditions: vec![],
        }]),
        ..Default::default()
    };
    store
        .update_verification_program(&adults, changes, at)
        .await
        .unwrap();
    assert!(!store.record_verification(&adults, &gold).await.unwrap());
    assert!(store.record_verification(&adults, &silver).await.unwrap());
    let c = store.catalog_credential(&gold).await.unwrap().unwrap();
    assert_eq!(c.traction.verification_count, 11);
    let c = store.catalog_credential(&silver).await.unwrap().unwrap();
    assert_eq!(c.traction.verification_count, 1);
    assert_eq!(
        store
            .catalog_program(&adults)
            .await
            .unwrap()
            .unwrap()
            .traction
            .verification_count,
        3
    );
}
