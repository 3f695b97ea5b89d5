//! Verifying a credential against a verification program
//! (`POST /v1/credentials/verify?programId=…`, docs/DESIGN.md §2.6): what a verifier of the
//! catalog asks, answered for one presented credential, and the verifications the catalog
//! counts.
//!
//! A credential complies when it is valid (every check of [`crate::verify`]), its issuer's
//! record of it names one of the issuance programs the program accepts and is not revoked, and
//! it satisfies every condition of that accepted credential. The record decides the program:
//! a document names only its issuer and schema, and one issuer may run several programs of a
//! schema. Only compliant verifications are counted, so junk (a made-up credential, someone
//! else's program, a failed condition) cannot move a catalog count.

use crate::credential::CredentialRecord;
use crate::store::{Store, StoreError};
use crate::verification::{
    evaluate_conditions, AcceptedCredential, ConditionResult, VerificationProgram,
    VerificationProgramId,
};
use crate::verify::{issued_as, VerificationReport};
use crate::{DomainError, ProgramId};
use serde::Serialize;
use serde_json::{Map, Value};

/// The query parameter naming the program.
pub const PROGRAM_ID_PARAM: &str = "programId";

/// Reads the `programId` parameter.
pub fn parse_program_id(raw: &str) -> Result<VerificationProgramId, DomainError> {
    VerificationProgramId::parse(raw).ok_or_else(|| {
        DomainError::invalid(
            PROGRAM_ID_PARAM,
            "must be a verification program id: 1 to 64 letters, digits, - or _",
        )
    })
}

/// The program credentials can be verified against: only a listed one (discoverable and
/// enabled), as the catalog shows them. `None` for an unknown or hidden id alike, so the
/// endpoint reveals no more than the catalog does.
pub async fn listed_program(
    store: &dyn Store,
    id: &VerificationProgramId,
) -> Result<Option<VerificationProgram>, StoreError> {
    Ok(store
        .verification_program(id)
        .await?
        .filter(|p| p.visibility.listed()))
}

/// Moca's `verificationResult.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ProgramStatus {
    Compliant,
    #[serde(rename = "Non-Compliant")]
    NonCompliant,
}

/// The `program` part of a verification report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramResult {
    pub program_id: VerificationProgramId,
    pub status: ProgramStatus,
    /// The accepted issuance program the credential was issued under; `None` when it was
    /// issued under none of them (or is unknown to this service).
    pub credential_id: Option<ProgramId>,
    /// That accepted credential's conditions, each judged on the presented credential.
    pub conditions: Vec<ConditionResult>,
    /// Why, in words.
    pub detail: String,
}

/// A verification report with its judgement against a program:
/// `{"valid", "checks", "program"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramReport {
    #[serde(flatten)]
    pub report: VerificationReport,
    pub program: ProgramResult,
}

/// What is known about the presented credential, as [`judge_with`] weighs it.
pub struct Presented<'a> {
    pub valid: bool,
    /// The issuer's record of it, if this service issued it.
    pub record: Option<&'a CredentialRecord>,
    pub subject: &'a Map<String, Value>,
}

/// The judgement without the store: the record found, the schema's attributes of its program
/// given by `attributes` (asked only for an accepted program).
pub fn judge_with(
    program: &VerificationProgram,
    presented: &Presented<'_>,
    attributes: impl FnOnce(&CredentialRecord) -> Vec<crate::schema::Attribute>,
) -> ProgramResult {
    let result = |status, credential_id, conditions, detail: String| ProgramResult {
        program_id: program.program_id.clone(),
        status,
        credential_id,
        conditions,
        detail,
    };
    let Some(record) = presented.record else {
        return result(
            ProgramStatus::NonCompliant,
            None,
            vec![],
            "the credential was not issued by this service: the program accepts only \
             credentials of its issuance programs"
                .into(),
        );
    };
    let Some(accepted) = accepted_for(program, &record.program_id) else {
        return result(
            ProgramStatus::NonCompliant,
            None,
            vec![],
            "the credential was issued under an issuance program this program does not accept"
                .into(),
        );
    };
    let conditions = evaluate_conditions(accepted, &attributes(record), presented.subject);
    let failed = conditions.iter().filter(|c| !c.satisfied).count();
    let (status, detail) = if !presented.valid {
        (
            ProgramStatus::NonCompliant,
            "the credential is not valid (see checks)".to_owned(),
        )
    } else if !record.status.is_live() {
        (
            ProgramStatus::NonCompliant,
            "the credential was revoked by its issuer".to_owned(),
        )
    } else if failed > 0 {
        (
            ProgramStatus::NonCompliant,
            format!(
                "{failed} of {} conditions are not satisfied",
                conditions.len()
            ),
        )
    } else {
        (
            ProgramStatus::Compliant,
            format!(
                "a valid credential of accepted issuance program {} satisfying all {} conditions",
                accepted.credential_id,
                conditions.len()
            ),
        )
    };
    result(
        status,
        Some(accepted.credential_id.clone()),
        conditions,
        detail,
    )
}

fn accepted_for<'p>(
    program: &'p VerificationProgram,
    credential: &ProgramId,
) -> Option<&'p AcceptedCredential> {
    program
        .accepted_credentials
        .iter()
        .find(|a| &a.credential_id == credential)
}

/// Judges the verified credential `vc` (whose report is `report`) against `program`, and
/// counts it if it complies. Reads the issuer's record and the schema: a few rows by key.
pub async fn judge(
    store: &dyn Store,
    program: &VerificationProgram,
    vc: &Value,
    report: &VerificationReport,
) -> Result<ProgramResult, StoreError> {
    let record = match issued_as(vc) {
        Some(named) => store
            .credential(&named.core_claim_hash)
            .await?
            .filter(|r| r.issuer_did == named.issuer_did),
        None => None,
    };
    let attributes = match &record {
        Some(r) if accepted_for(program, &r.program_id).is_some() => {
            store
                .schema(r.schema_id)
                .await?
                .ok_or_else(|| {
                    StoreError::Internal(format!("schema {} of a credential", r.schema_id))
                })?
                .attributes
        }
        _ => vec![],
    };
    let empty = Map::new();
    let presented = Presented {
        valid: report.valid,
        record: record.as_ref(),
        subject: vc
            .get("credentialSubject")
            .and_then(Value::as_object)
            .unwrap_or(&empty),
    };
    let mut result = judge_with(program, &presented, |_| attributes);
    if result.status == ProgramStatus::Compliant {
        let credential = result
            .credential_id
            .clone()
            .ok_or_else(|| StoreError::Internal("compliant without a credential".into()))?;
        // Counted only while the program still accepts it: an operator may have changed the
        // list since it was read, and then the answer follows the count.
        if !store
            .record_verification(&program.program_id, &credential)
            .await?
        {
            result.status = ProgramStatus::NonCompliant;
            result.detail = "the program no longer accepts this credential".into();
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::CredentialStatus;
    use crate::schema::{Attribute, AttributeType};
    use crate::verification::{PricingModel, Visibility};
    use chrono::DateTime;

    fn program() -> VerificationProgram {
        let at = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        VerificationProgram {
            program_id: VerificationProgramId("prg_1".into()),
            name: "Adults".into(),
            description: String::new(),
            verifier_name: "Bar".into(),
            verifier_did: "did:web:bar.example".into(),
            accepted_credentials: vec![AcceptedCredential {
                credential_id: ProgramId("c1".into()),
                conditions: vec!["age >= 18".into()],
            }],
            pricing_model: PricingModel::Free,
            verification_count: 0,
            visibility: Visibility {
                discoverable: true,
                enabled: true,
            },
            created_at: at,
            updated_at: at,
        }
    }

    fn attrs(_: &CredentialRecord) -> Vec<Attribute> {
        vec![Attribute {
            name: "age".into(),
            kind: AttributeType::Integer,
            title: None,
            description: None,
            required: true,
        }]
    }

    fn judged(valid: bool, record: Option<&CredentialRecord>, age: u32) -> ProgramResult {
        let subject = serde_json::json!({"age": age});
        let presented = Presented {
            valid,
            record,
            subject: subject.as_object().unwrap(),
        };
        judge_with(&program(), &presented, attrs)
    }

    #[test]
    fn compliant_only_when_valid_accepted_live_and_satisfied() {
        let live = CredentialRecord::sample("c1", CredentialStatus::Onchain);
        let ok = judged(true, Some(&live), 30);
        assert_eq!(ok.status, ProgramStatus::Compliant, "{ok:?}");
        assert_eq!(ok.credential_id, Some(ProgramId("c1".into())));
        assert_eq!(
            ok.conditions,
            [ConditionResult {
                condition: "age >= 18".into(),
                satisfied: true
            }]
        );
        let json = serde_json::to_value(&ok).unwrap();
        assert_eq!(json["status"], "Compliant");
        assert_eq!(json["programId"], "prg_1");

        let young = judged(true, Some(&live), 17);
        assert_eq!(young.status, ProgramStatus::NonCompliant);
        assert!(!young.conditions[0].satisfied);
        assert!(young.detail.contains("1 of 1"), "{}", young.detail);
        assert_eq!(
            serde_json::to_value(&young).unwrap()["status"],
            "Non-Compliant"
        );

        let invalid = judged(false, Some(&live), 30);
        assert_eq!(invalid.status, ProgramStatus::NonCompliant);
        assert!(invalid.conditions[0].satisfied);
        assert!(invalid.detail.contains("not valid"));

        let revoked = CredentialRecord::sample("c1", CredentialStatus::WaitRemove);
        let r = judged(true, Some(&revoked), 30);
        assert_eq!(r.status, ProgramStatus::NonCompliant);
        assert!(r.detail.contains("revoked"));

        let other = CredentialRecord::sample("c2", CredentialStatus::Onchain);
        let r = judged(true, Some(&other), 30);
        assert_eq!(r.status, ProgramStatus::NonCompliant);
        assert_eq!((r.credential_id, r.conditions.len()), (None, 0));

        let r = judged(true, None, 30);
        assert_eq!(r.status, ProgramStatus::NonCompliant);
        assert!(r.detail.contains("not issued by this service"));
    }

    #[test]
    fn program_ids_are_checked() {
        assert!(parse_program_id("prg_4kT9-x").is_ok());
        for bad in ["", "a b", "prg/1", &"x".repeat(65)] {
            let e = parse_program_id(bad).unwrap_err();
            assert!(e.to_string().starts_with("programId"), "{e}");
        }
    }
}
