//! The operator's use cases: registering partners, schemas, issuers and programs, and
//! recording consent. Handlers of the operator API (and through it the CLI) call these.

use crate::credential::CredentialRecord;
use crate::issuer::{Issuer, NewIssuer, SealedIssuerKeys};
use crate::partner::{NewPartner, Partner, PartnerPatch};
use crate::program::{NewProgram, Program};
use crate::schema::{NewSchema, Schema};
use crate::secrets::MasterKey;
use crate::store::{IssuerRecord, Store, StoreError};
use crate::user::{Consent, ConsentRequest};
use crate::verification::{
    check_conditions, AcceptedCredential, NewVerificationProgram, UncheckedAccepted,
    VerificationProgram, VerificationProgramId, VerificationProgramPatch, VisibilityChange,
};
use crate::{identity, DomainError, IssuerId, PartnerId, ProgramId, SchemaId};
use claimd_clock::{SharedClock, SystemClock};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A resource the request names (not the one in the path) does not exist, e.g. an
    /// accepted issuance program: a 404 like an unknown resource in the path.
    #[error("{0}")]
    Unknown(String),
    #[error("{0}")]
    Internal(String),
}

/// Labels binding sealed keys to their issuer (see [`crate::secrets`]).
pub fn eth_key_label(id: IssuerId) -> String {
    format!("issuer-eth-key:{id}")
}

pub fn bjj_key_label(id: IssuerId) -> String {
    format!("issuer-bjj-key:{id}")
}

pub struct Operator {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) master_key: MasterKey,
    did: identity::DidSettings,
    pub(crate) clock: SharedClock,
}

impl Operator {
    pub fn new(store: Arc<dyn Store>, master_key: MasterKey, did: identity::DidSettings) -> Self {
        Operator {
            store,
            master_key,
            did,
            clock: SystemClock::shared(),
        }
    }

    /// Reads time from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    pub fn master_key(&self) -> &MasterKey {
        &self.master_key
    }

    pub async fn create_partner(&self, req: NewPartner) -> Result<Partner, OperatorError> {
        Ok(self.store.create_partner(req.validate()?).await?)
    }

    pub async fn update_partner(
        &self,
        id: PartnerId,
        req: PartnerPatch,
    ) -> Result<Option<Partner>, OperatorError> {
        Ok(self.store.update_partner(id, req.validate()?).await?)
    }

    pub async fn create_schema(&self, req: NewSchema) -> Result<Schema, OperatorError> {
        Ok(self.store.create_schema(req.validate()?).await?)
    }

    /// Generates the issuer's Ethereum and Baby Jubjub keys, derives its DID from the Ethereum
    /// address, and stores the keys sealed under the master key.
    pub async fn create_issuer(&self, req: NewIssuer) -> Result<Issuer, OperatorError> {
        let draft = req.validate()?;
        let issuer_id = IssuerId::new_random();
        let keys = identity::IssuerKeys::generate();
        let address = keys.eth_address();
        let did = identity::issuer_did(&self.did, &address)
            .map_err(|e| OperatorError::Internal(format!("cannot derive issuer DID: {e}")))?;
        let record = IssuerRecord {
            issuer_id,
            partner_id: draft.partner_id,
            name: draft.name,
            issuer_did: did,
            eth_address: identity::checksum_address(&address),
            keys: SealedIssuerKeys {
                eth_key: self
                    .master_key
                    .seal(&eth_key_label(issuer_id), keys.eth_secret()),
                bjj_key: self
                    .master_key
                    .seal(&bjj_key_label(issuer_id), keys.bjj_seed()),
            },
        };
        Ok(self.store.create_issuer(record).await?)
    }

    pub async fn create_program(&self, req: NewProgram) -> Result<Program, OperatorError> {
        let draft = req.validate()?;
        Ok(self
            .store
            .create_program(ProgramId::new_random(), draft)
            .await?)
    }

    /// The domain's clock (catalog answers are stamped with it).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub async fn set_schema_visibility(
        &self,
        id: SchemaId,
        change: VisibilityChange,
    ) -> Result<Option<Schema>, OperatorError> {
        Ok(self
            .store
            .set_schema_visibility(id, change.validate()?)
            .await?)
    }

    pub async fn set_program_visibility(
        &self,
        id: &ProgramId,
        change: VisibilityChange,
    ) -> Result<Option<Program>, OperatorError> {
        Ok(self
            .store
            .set_program_visibility(id, change.validate()?)
            .await?)
    }

    /// Checks every accepted credential's conditions against its schema, then stores the
    /// program with a new id.
    pub async fn create_verification_program(
        &self,
        req: NewVerificationProgram,
    ) -> Result<VerificationProgram, OperatorError> {
        let mut v = req.validate()?;
        v.draft.accepted_credentials = self.check_accepted(v.accepted).await?;
        Ok(self
            .store
            .create_verification_program(
                VerificationProgramId::new_random(),
                v.draft,
                self.clock.now(),
            )
            .await?)
    }

    pub async fn update_verification_program(
        &self,
        id: &VerificationProgramId,
        req: VerificationProgramPatch,
    ) -> Result<Option<VerificationProgram>, OperatorError> {
        let mut v = req.validate()?;
        if let Some(accepted) = v.accepted {
            v.changes.accepted_credentials = Some(self.check_accepted(accepted).await?);
        }
        Ok(self
            .store
            .update_verification_program(id, v.changes, self.clock.now())
            .await?)
    }

    async fn check_accepted(
        &self,
        accepted: Vec<UncheckedAccepted>,
    ) -> Result<Vec<AcceptedCredential>, OperatorError> {
        let mut out = Vec::with_capacity(accepted.len());
        for (i, a) in accepted.into_iter().enumerate() {
            let unknown = || {
                OperatorError::Unknown(format!(
                    "Unknown issuance program {} (acceptedCredentials[{i}].credentialId)",
                    a.credential_id
                ))
            };
            let program = self
                .store
                .program(&a.credential_id)
                .await?
                .ok_or_else(unknown)?;
            let schema = self.store.program_schema(&program).await?;
            out.push(check_conditions(i, a, &schema.attributes)?);
        }
        Ok(out)
    }

    pub async fn set_consent(&self, req: ConsentRequest) -> Result<Consent, OperatorError> {
        Ok(self
            .store
            .set_consent(req.validate()?, self.clock.now())
            .await?)
    }

    /// Revokes a live credential (see [`crate::commit::revoke`]): the credential as it is now,
    /// `None` if no credential has that hash.
    pub async fn revoke_credential(
        &self,
        core_claim_hash: &str,
    ) -> Result<Option<CredentialRecord>, OperatorError> {
        Ok(crate::commit::revoke(self.store.as_ref(), core_claim_hash, self.clock.now()).await?)
    }
}
