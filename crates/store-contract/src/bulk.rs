//! The bulk issuance port ([`claimd_core::bulk::BulkStore`]): jobs, chunks, rows, counters
//! and the job lease behave alike on every backend.

use crate::issuer_with_program;
use chrono::{TimeDelta, Utc};
use claimd_core::bulk::store::NewJob;
use claimd_core::bulk::{Format, JobId, JobState, NewRow, RowCounts, RowResult, RowStatus};
use claimd_core::page::PageRequest;
use claimd_core::store::{OnDuplicate, Store, StoreError};
use claimd_core::ProgramId;
use serde_json::json;
use std::time::Duration;

fn row(n: u64, email: &str, error: Option<&str>) -> NewRow {
    NewRow {
        row_no: n,
        email: email.to_owned(),
        email_key: error.is_none().then(|| email.to_lowercase()),
        subject: error
            .is_none()
            .then(|| json!({"age": n}).as_object().unwrap().clone()),
        on_duplicate: if n.is_multiple_of(2) {
            OnDuplicate::Ignore
        } else {
            OnDuplicate::Revoke
        },
        error: error.map(str::to_owned),
    }
}

pub async fn bulk(store: &dyn Store) {
    let (_, issuer, program) = issuer_with_program(store, 7).await;
    let t0 = Utc::now();
    let new_job = |validate_only| NewJob {
        job_id: JobId::new_random(),
        program_id: program.credential_id.clone(),
        format: Format::Csv,
        validate_only,
        at: t0,
    };

    // A job needs its program.
    let mut orphan = new_job(false);
    orphan.program_id = ProgramId::new_random();
    assert!(matches!(
        store.create_bulk_job(orphan).await,
        Err(StoreError::NotFound("program"))
    ));

    // Upload: chunks in order, then VALIDATING with the totals.
    let j = store.create_bulk_job(new_job(false)).await.unwrap();
    let id = j.job_id;
    assert_eq!(j.state, JobState::Uploading);
    assert_eq!(j.counts, RowCounts::default());
    assert!(!j.paused && !j.validate_only && j.started_at.is_none());
    store
        .append_bulk_chunk(id, 0, b"email,age\n")
        .await
        .unwrap();
    store
        .append_bulk_chunk(id, 1, b"a@x.org,1\n")
        .await
        .unwrap();
    assert!(
        store.append_bulk_chunk(id, 1, b"again").await.is_err(),
        "a chunk number is written once"
    );
    // An uploading job is not for the runner.
    assert!(store
        .claim_bulk_job("a", t0, Duration::from_secs(30))
        .await
        .unwrap()
        .is_none());
    store.finish_bulk_upload(id, 3, 20, t0).await.unwrap();
    assert!(matches!(
        store.append_bulk_chunk(id, 2, b"late").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.finish_bulk_upload(id, 3, 20, t0).await,
        Err(StoreError::Conflict(_))
    ));
    let j = store.bulk_job(id).await.unwrap().unwrap();
    assert_eq!(
        (j.state, j.chunks, j.upload_bytes, j.counts.total),
        (JobState::Validating, 2, 20, 3)
    );
    assert_eq!(
        store.bulk_chunk(id, 1).await.unwrap().as_deref(),
        Some(&b"a@x.org,1\n"[..])
    );
    assert_eq!(store.bulk_chunk(id, 2).await.unwrap(), None);

    // Lease: one owner at a time until it runs out; renewals only by the holder.
    let ttl = Duration::from_secs(30);
    let got = store.claim_bulk_job("a", t0, ttl).await.unwrap().unwrap();
    assert_eq!(got.job_id, id);
    assert!(store.claim_bulk_job("b", t0, ttl).await.unwrap().is_none());
    assert!(store
        .renew_bulk_lease(id, "b", t0, ttl)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .renew_bulk_lease(id, "a", t0, ttl)
        .await
        .unwrap()
        .is_some());
    let later = t0 + TimeDelta::seconds(31);
    assert_eq!(
        store
            .claim_bulk_job("b", later, ttl)
            .await
            .unwrap()
            .map(|j| j.job_id),
        Some(id),
        "an expired lease is taken over"
    );
    assert!(store
        .renew_bulk_lease(id, "a", later, ttl)
        .await
        .unwrap()
        .is_none());

    // Rows: stored once, counted once.
    let rows = vec![
        row(1, "A@x.org", None),
        row(2, "b@x.org", None),
        row(
            3,
            "bad",
            Some("Invalid field email: is not an email address"),
        ),
    ];
    store.add_bulk_rows(id, &rows[..2]).await.unwrap();
    store.add_bulk_rows(id, &rows).await.unwrap();
    let j = store.bulk_job(id).await.unwrap().unwrap();
    assert_eq!((j.counts.validated, j.counts.invalid), (3, 1));
    let mut found = store
        .bulk_rows_by_email(id, &["a@x.org".into(), "b@x.org".into(), "c@x.org".into()])
        .await
        .unwrap();
    found.sort();
    assert_eq!(
        found,
        [("a@x.org".to_owned(), 1), ("b@x.org".to_owned(), 2)]
    );
    assert!(
        store
            .add_bulk_rows(id, &[row(4, "a@x.org", None)])
            .await
            .is_err(),
        "one valid row per address"
    );

    // Validation over: RUNNING, chunks gone.
    let t1 = t0 + TimeDelta::seconds(40);
    store
        .finish_bulk_validation(id, JobState::Running, t1)
        .await
        .unwrap();
    assert!(matches!(
        store
            .finish_bulk_validation(id, JobState::Running, t1)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.bulk_chunk(id, 0).await.unwrap(), None);
    let j = store.bulk_job(id).await.unwrap().unwrap();
    assert_eq!(
        (j.state, j.started_at.map(|t| t.timestamp())),
        (JobState::Running, Some(t1.timestamp()))
    );
    assert_eq!(j.finished_at, None);

    let pending = store.pending_bulk_rows(id, 10).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(
        (pending[0].row_no, pending[0].email_key.as_str()),
        (1, "a@x.org")
    );
    assert_eq!(pending[0].subject["age"], json!(1));
    assert_eq!(pending[0].on_duplicate, OnDuplicate::Revoke);
    assert_eq!(pending[1].on_duplicate, OnDuplicate::Ignore);
    assert_eq!(store.pending_bulk_rows(id, 1).await.unwrap().len(), 1);

    // Results: a row leaves PENDING once; counters follow exactly.
    let hash = "ab".repeat(32);
    let results = [
        RowResult {
            row_no: 1,
            status: RowStatus::Issued,
            core_claim_hash: Some(hash.clone()),
            error: None,
        },
        RowResult {
            row_no: 2,
            status: RowStatus::Failed,
            core_claim_hash: None,
            error: Some("Consent rejected by user".into()),
        },
    ];
    store
        .record_bulk_results(id, &results[..1], t1)
        .await
        .unwrap();
    store.record_bulk_results(id, &results, t1).await.unwrap();
    let j = store.bulk_job(id).await.unwrap().unwrap();
    assert_eq!(
        j.counts,
        RowCounts {
            total: 3,
            validated: 3,
            invalid: 1,
            issued: 1,
            skipped_duplicate: 0,
            failed: 1
        }
    );
    assert!(store.pending_bulk_rows(id, 10).await.unwrap().is_empty());
    let listed = store.bulk_rows(id, 0, 10).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(
        (
            listed[0].email.as_str(),
            listed[0].status,
            listed[0].core_claim_hash.as_deref()
        ),
        ("A@x.org", RowStatus::Issued, Some(hash.as_str()))
    );
    assert_eq!(listed[1].error.as_deref(), Some("Consent rejected by user"));
    assert_eq!(listed[2].status, RowStatus::Invalid);
    assert_eq!(store.bulk_rows(id, 2, 10).await.unwrap().len(), 1);
    // No credential has that hash: none on chain.
    assert_eq!(store.bulk_rows_on_chain(id).await.unwrap(), 0);

    // Control: compare-and-set on the state; Conflict names the state it found.
    let paused = store
        .change_bulk_job(id, &JobState::ACTIVE, None, Some(true), t1)
        .await
        .unwrap()
        .unwrap();
    assert!(paused.paused);
    assert!(
        store
            .claim_bulk_job("a", later, ttl)
            .await
            .unwrap()
            .is_none(),
        "a paused job is not claimed"
    );
    store
        .change_bulk_job(id, &JobState::ACTIVE, None, Some(false), t1)
        .await
        .unwrap();
    let done = store
        .change_bulk_job(
            id,
            &[JobState::Running],
            Some(JobState::Completed),
            None,
            t1,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.state, JobState::Completed);
    assert!(done.finished_at.is_some());
    match store
        .change_bulk_job(id, &JobState::ACTIVE, None, Some(true), t1)
        .await
    {
        Err(StoreError::Conflict(s)) => assert_eq!(s, "COMPLETED"),
        other => panic!("pausing a completed job: {other:?}"),
    }
    assert!(store
        .change_bulk_job(JobId::new_random(), &JobState::ACTIVE, None, Some(true), t1)
        .await
        .unwrap()
        .is_none());
    store.fail_bulk_job(id, "late", t1).await.unwrap();
    assert_eq!(
        store.bulk_job(id).await.unwrap().unwrap().state,
        JobState::Completed,
        "a finished job does not fail afterwards"
    );

    // A second job: listed first; failing it ends it; deleting it removes it whole.
    let mut second = new_job(true);
    second.at = t1;
    let second = store.create_bulk_job(second).await.unwrap();
    assert!(second.validate_only);
    store
        .append_bulk_chunk(second.job_id, 0, b"x")
        .await
        .unwrap();
    let page = store.list_bulk_jobs(PageRequest::default()).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(page.items[0].job_id, second.job_id);
    store
        .fail_bulk_job(second.job_id, "unreadable", t1)
        .await
        .unwrap();
    let failed = store.bulk_job(second.job_id).await.unwrap().unwrap();
    assert_eq!(
        (failed.state, failed.error.as_deref()),
        (JobState::Failed, Some("unreadable"))
    );
    store.delete_bulk_job(second.job_id).await.unwrap();
    assert!(store.bulk_job(second.job_id).await.unwrap().is_none());
    assert_eq!(store.bulk_chunk(second.job_id, 0).await.unwrap(), None);
    assert_eq!(
        store
            .list_bulk_jobs(PageRequest::default())
            .await
            .unwrap()
            .total,
        1
    );

    // Cancelling drops the file, keeps the job.
    let third = store.create_bulk_job(new_job(false)).await.unwrap();
    store
        .append_bulk_chunk(third.job_id, 0, b"x")
        .await
        .unwrap();
    store
        .finish_bulk_upload(third.job_id, 1, 1, t1)
        .await
        .unwrap();
    let cancelled = store
        .change_bulk_job(
            third.job_id,
            &[JobState::Uploading, JobState::Validating, JobState::Running],
            Some(JobState::Cancelled),
            None,
            t1,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert_eq!(store.bulk_chunk(third.job_id, 0).await.unwrap(), None);
    assert!(store
        .claim_bulk_job("c", later, ttl)
        .await
        .unwrap()
        .is_none());

    on_chain_counts(store, &issuer, &program, new_job(false)).await;
}

/// Rows on chain: unmarked rows are counted through their credential's status, marked ones on
/// the job; marking moves a row from one to the other without changing the total, and a
/// marked row stays counted after its credential is revoked.
async fn on_chain_counts(
    store: &dyn Store,
    issuer: &claimd_core::issuer::Issuer,
    program: &claimd_core::program::Program,
    job: NewJob,
) {
    use claimd_core::credential::CredentialStatus;
    use claimd_core::UserId;

    let at = job.at;
    let id = store.create_bulk_job(job).await.unwrap().job_id;
    store.finish_bulk_upload(id, 3, 1, at).await.unwrap();
    let rows = [
        row(1, "a@x.org", None),
        row(2, "b@x.org", None),
        row(3, "c@x.org", None),
    ];
    store.add_bulk_rows(id, &rows).await.unwrap();
    store
        .finish_bulk_validation(id, JobState::Running, at)
        .await
        .unwrap();
    let mut hashes = Vec::new();
    let mut results = Vec::new();
    for (i, email) in ["a@x.org", "b@x.org", "c@x.org"].into_iter().enumerate() {
        let user = UserId::new_random();
        let credential = crate::record(issuer.partner_id, issuer, program, user, 900 + i as u64);
        hashes.push(credential.core_claim_hash.clone());
        store
            .commit_issuance(crate::commit(
                email,
                user,
                credential,
                OnDuplicate::Ignore,
                None,
            ))
            .await
            .unwrap();
        results.push(RowResult {
            row_no: i as u64 + 1,
            status: RowStatus::Issued,
            core_claim_hash: Some(hashes[i].clone()),
            error: None,
        });
    }
    store.record_bulk_results(id, &results, at).await.unwrap();
    let on_chain = || async { store.bulk_rows_on_chain(id).await.unwrap() };
    let confirm = |hash: String, from: CredentialStatus, to: CredentialStatus| async move {
        assert!(store
            .change_credential_status(&hash, &[from], to, at)
            .await
            .unwrap());
    };
    assert_eq!(on_chain().await, 0);
    assert_eq!(store.mark_bulk_rows_on_chain(id, 10).await.unwrap(), 0);

    use CredentialStatus::{Onchain, WaitOnchain, WaitRemove};
    confirm(hashes[1].clone(), WaitOnchain, Onchain).await;
    assert_eq!(on_chain().await, 1, "an unmarked row on chain counts");
    assert_eq!(store.mark_bulk_rows_on_chain(id, 10).await.unwrap(), 1);
    assert_eq!(on_chain().await, 1, "marking keeps the total");
    assert_eq!(store.mark_bulk_rows_on_chain(id, 10).await.unwrap(), 0);

    confirm(hashes[0].clone(), WaitOnchain, Onchain).await;
    confirm(hashes[2].clone(), WaitOnchain, Onchain).await;
    assert_eq!(on_chain().await, 3);
    assert_eq!(
        store.mark_bulk_rows_on_chain(id, 1).await.unwrap(),
        1,
        "at most the limit"
    );
    assert_eq!(on_chain().await, 3);
    assert_eq!(store.mark_bulk_rows_on_chain(id, 10).await.unwrap(), 1);
    confirm(hashes[0].clone(), Onchain, WaitRemove).await;
    assert_eq!(on_chain().await, 3, "a marked row stays counted");
    assert_eq!(
        store.bulk_rows_on_chain(JobId::new_random()).await.unwrap(),
        0
    );
}
